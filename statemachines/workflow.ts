/**
 * Workflow DAG -> Amazon States Language (JSONPath only). A workflow's JOB nodes run in
 * dependency levels like a pipeline's nodes (see compile.ts): a level with one job is a plain
 * sequence of states, a level with several is one Parallel state with a branch per job.
 * TRIGGER nodes only say how a workflow starts; they compile to nothing.
 *
 * Each job is two Tasks: "Record run" asks the workflow-step Lambda to record a batch for the
 * job (holding one of its run slots) and to answer the job's deployed state machine version;
 * "Run" starts that version with `states:startExecution.sync:2`, named after the batch, and
 * waits for it to end. A failure anywhere goes to the job's "Record failure" Task, then to its
 * Fail state; a failing Parallel branch fails the Parallel, which stops the other branches.
 * See README.md in this folder.
 */
import {
  SLUICE_ERRORS,
  STATES_ERRORS,
  TRANSIENT_ERRORS,
  WORKFLOW_STEP_ACTIONS,
  type WorkflowStepAction,
} from '#core/engine/contract';
import {
  type Block,
  type Json,
  type JsonObject,
  layoutLevels,
  StateNames,
  type States,
  scheduleLevels,
} from './compile.ts';

/** A JOB node of a validated workflow (acyclic, parents exist and are JOB nodes). */
export interface WorkflowJobNode {
  /** The workflow node's id. */
  key: string;
  /** The job (pipeline) the node runs. */
  jobId: string;
  /** Shown in state names and failure causes. */
  jobName: string;
  /** JOB parents only (TRIGGER parents are dropped before compiling). */
  parents: string[];
  /** The job's run timeout: how long its own state machine may run. */
  timeoutSeconds: number;
}

export interface WorkflowCompileRequest {
  workflowId: string;
  /** Any order; the output does not depend on it. */
  nodes: WorkflowJobNode[];
  /** The workflow-step Lambda that records runs and failures. */
  stepArn: string;
}

/** The record and failure Tasks: a DynamoDB write or two, and a first deployment of a job version. */
export const STEP_TIMEOUT_SECONDS = 300;
/** Room between a job's own timeout and the Task waiting for it (starting, finalizing). */
export const START_MARGIN_SECONDS = 600;
/** Step Functions' longest Standard execution. */
const MAX_EXECUTION_SECONDS = 365 * 24 * 3600;

const WORKFLOW_FAILED = 'Workflow failed';
const NO_JOBS = 'No jobs';
/** The workflow execution's id: state data keeps the execution input, so every scope can read it. */
const EXECUTION_ID = { 'workflow_execution_id.$': '$.workflow_execution_id' } as const;

export function compileWorkflow(request: WorkflowCompileRequest): string {
  const levels = scheduleLevels(request.nodes);
  const names = new StateNames();
  const comment = `Sluice workflow ${request.workflowId}`;

  if (levels.length === 0) {
    const machine: JsonObject = {
      Comment: comment,
      StartAt: NO_JOBS,
      States: { [NO_JOBS]: { Type: 'Succeed' } },
    };
    return JSON.stringify(machine, null, 2);
  }

  const ctx: Context = { request, names, syncResource: syncResourceFor(request.stepArn) };
  const timeoutSeconds = levels.reduce(
    (total, level) => total + STEP_TIMEOUT_SECONDS + Math.max(...level.map(runTimeout)),
    0,
  );
  const { flow, failure } = layoutLevels({
    levels,
    names,
    failedState: WORKFLOW_FAILED,
    entryName: (index) => entryName(ctx, levels[index] ?? [], index),
    block: (node, next) => jobBlock(ctx, node, next),
  });

  const [first] = flow;
  if (!first) throw new Error('compileWorkflow: no states');
  const machine: JsonObject = {
    Comment: comment,
    StartAt: first[0],
    TimeoutSeconds: Math.min(timeoutSeconds, MAX_EXECUTION_SECONDS),
    States: { ...Object.fromEntries(flow), ...failure },
  };
  return JSON.stringify(machine, null, 2);
}

interface Context {
  request: WorkflowCompileRequest;
  names: StateNames;
  syncResource: string;
}

const stepNameOf = (node: WorkflowJobNode) => ({ key: node.key, stepName: node.jobName });

function entryName(ctx: Context, level: WorkflowJobNode[], index: number): string {
  const [only] = level;
  if (level.length === 1 && only) return ctx.names.node(stepNameOf(only), 'Record run');
  return ctx.names.parallel(index);
}

/** How long the Run Task waits for the job's execution. */
function runTimeout(node: WorkflowJobNode): number {
  return node.timeoutSeconds + START_MARGIN_SECONDS;
}

/** `arn:<partition>:states:::states:startExecution.sync:2` in the partition of the step Lambda. */
function syncResourceFor(stepArn: string): string {
  const partition = stepArn.split(':')[1] || 'aws';
  return `arn:${partition}:states:::states:startExecution.sync:2`;
}

/**
 * One job in one scope (the top level or a Parallel branch): record, run, then `next` (or
 * End); its failure recorder and Fail state live in the same scope, as ASL requires.
 */
function jobBlock(ctx: Context, node: WorkflowJobNode, next: string | undefined): Block {
  const { names, request } = ctx;
  const named = stepNameOf(node);
  const record = names.node(named, 'Record run');
  const run = names.node(named, 'Run');
  const recorder = names.node(named, 'Record failure');
  const failed = names.node(named, 'Failed');
  const catchToRecorder: Json = [{ ErrorEquals: [STATES_ERRORS.all], ResultPath: '$.error', Next: recorder }];
  const stepParameters = (action: WorkflowStepAction): JsonObject => ({
    ...EXECUTION_ID,
    action,
    node_id: node.key,
    job_id: node.jobId,
  });

  const flow: Array<[string, JsonObject]> = [
    [
      record,
      {
        Type: 'Task',
        Resource: request.stepArn,
        Parameters: stepParameters(WORKFLOW_STEP_ACTIONS.record),
        // { batch_id, pipeline_id, pipeline_version, state_machine }, read by the Run Task.
        ResultPath: '$.run',
        TimeoutSeconds: STEP_TIMEOUT_SECONDS,
        Retry: [
          transientRetry(),
          // The job is running elsewhere at its concurrency limit: wait for a slot (about a day at most).
          {
            ErrorEquals: [SLUICE_ERRORS.jobBusy],
            IntervalSeconds: 10,
            MaxAttempts: 300,
            BackoffRate: 1.5,
            MaxDelaySeconds: 300,
            JitterStrategy: 'FULL',
          },
        ],
        Catch: catchToRecorder,
        Next: run,
      },
    ],
    [
      run,
      withTransition(
        {
          Type: 'Task',
          Resource: ctx.syncResource,
          Parameters: {
            'StateMachineArn.$': '$.run.state_machine',
            // Execution names are unique per state machine: one batch, one execution.
            'Name.$': '$.run.batch_id',
            Input: {
              'batch_id.$': '$.run.batch_id',
              'pipeline_id.$': '$.run.pipeline_id',
              'pipeline_version.$': '$.run.pipeline_version',
              'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
            },
          },
          ResultPath: null,
          TimeoutSeconds: runTimeout(node),
          Catch: catchToRecorder,
        },
        next,
      ),
    ],
  ];

  const failure: States = {
    [recorder]: {
      Type: 'Task',
      Resource: request.stepArn,
      Parameters: { ...stepParameters(WORKFLOW_STEP_ACTIONS.fail), 'error.$': '$.error' },
      ResultPath: null,
      TimeoutSeconds: STEP_TIMEOUT_SECONDS,
      Retry: [transientRetry()],
      // A recorder that fails still ends the workflow, keeping the job's error in `$.error`.
      Catch: [{ ErrorEquals: [STATES_ERRORS.all], ResultPath: '$.recorder_error', Next: failed }],
      Next: failed,
    },
    [failed]: {
      Type: 'Fail',
      // Every failed workflow execution ends with it (a branch's error is passed on unchanged).
      Error: SLUICE_ERRORS.jobFailed,
      Cause: `Job ${node.jobName} (node ${node.key}) failed`,
    },
  };
  return { start: record, flow, failure };
}

function transientRetry(): JsonObject {
  return {
    ErrorEquals: [...TRANSIENT_ERRORS],
    IntervalSeconds: 2,
    MaxAttempts: 3,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  };
}

function withTransition(state: JsonObject, next: string | undefined): JsonObject {
  return next === undefined ? { ...state, End: true } : { ...state, Next: next };
}

/** Task states that start a job (the ones a local engine answers itself), sorted. */
export function runStateNames(definition: string | object): string[] {
  const root = (typeof definition === 'string' ? JSON.parse(definition) : definition) as MachineLike;
  const found: string[] = [];
  const walk = (machine: MachineLike | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (state.Type === 'Task' && state.Resource?.endsWith(':states:::states:startExecution.sync:2')) {
        found.push(name);
      }
      for (const branch of state.Branches ?? []) walk(branch);
    }
  };
  walk(root);
  return found.sort();
}

interface MachineLike {
  States?: Record<string, { Type?: string; Resource?: string; Branches?: MachineLike[] }>;
}

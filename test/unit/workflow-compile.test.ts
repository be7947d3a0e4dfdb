import { createRequire } from 'node:module';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type FindJob,
  type FindTrigger,
  jobNodes,
  type ParseJobCondition,
  reasonOf,
  triggerIdsOf,
  validateWorkflow,
} from '#core/workflows/model';
import { taskStateNames } from '../../statemachines/compile.ts';
import {
  compileWorkflow,
  runStateNames,
  type WorkflowCompileRequest,
  type WorkflowJobNode,
} from '../../statemachines/workflow.ts';

type AslValidator = (
  definition: object,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: Array<{ message?: string }>; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const STEP = 'arn:aws:lambda:ap-northeast-2:123456789012:function:sluice-workflow-step';

const job = (
  key: string,
  jobName: string,
  parents: string[] = [],
  timeoutSeconds = 3600,
): WorkflowJobNode => ({
  key,
  jobId: `pl-${key.padStart(22, '0')}`,
  jobName,
  parents,
  timeoutSeconds,
});

const request = (
  nodes: WorkflowJobNode[],
  extra: Partial<WorkflowCompileRequest> = {},
): WorkflowCompileRequest => ({
  workflowId: 'wf-0001',
  nodes,
  stepArn: STEP,
  ...extra,
});

const WORKFLOWS: Record<string, WorkflowJobNode[]> = {
  single: [job('1', 'load orders')],
  chain: [job('1', 'extract'), job('2', 'transform', ['1']), job('3', 'publish', ['2'])],
  fanOut: [job('1', 'A'), job('2', 'B', ['1'], 600), job('3', 'C', ['1'], 7200)],
  diamond: [job('1', 'A'), job('2', 'B', ['1']), job('3', 'C', ['1']), job('4', 'D', ['2', '3'])],
};

function validate(definition: string): void {
  const result = aslValidator(JSON.parse(definition));
  if (!result.isValid) console.error(result.errorsText('\n'));
  expect(result.isValid).toBe(true);
}

describe('compileWorkflow', () => {
  for (const [name, nodes] of Object.entries(WORKFLOWS)) {
    it(`compiles the ${name} workflow to valid ASL`, () => {
      const definition = compileWorkflow(request(nodes));
      expect(definition).toMatchSnapshot();
      validate(definition);
    });
  }

  it('is byte-identical whatever the node order', () => {
    for (const nodes of Object.values(WORKFLOWS)) {
      const expected = compileWorkflow(request(nodes));
      expect(compileWorkflow(request([...nodes].reverse()))).toBe(expected);
    }
  });

  it('records each job, then starts its state machine version and waits for it', () => {
    const machine = JSON.parse(compileWorkflow(request(WORKFLOWS.single ?? [])));
    expect(machine.StartAt).toBe('Record run 1 load orders');
    const record = machine.States['Record run 1 load orders'];
    expect(record).toMatchObject({
      Type: 'Task',
      Resource: STEP,
      Parameters: {
        'workflow_execution_id.$': '$.workflow_execution_id',
        action: 'record',
        node_id: '1',
        job_id: 'pl-0000000000000000000001',
      },
      ResultPath: '$.run',
      Next: 'Run 1 load orders',
    });
    expect(record.Retry.map((r: any) => r.ErrorEquals)).toEqual([
      expect.arrayContaining(['Sluice.Transient', 'Lambda.ServiceException']),
      ['Sluice.JobBusy'],
    ]);
    const run = machine.States['Run 1 load orders'];
    expect(run).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      Parameters: {
        'StateMachineArn.$': '$.run.state_machine',
        'Name.$': '$.run.batch_id',
        Input: {
          'batch_id.$': '$.run.batch_id',
          'pipeline_id.$': '$.run.pipeline_id',
          'pipeline_version.$': '$.run.pipeline_version',
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      ResultPath: null,
      TimeoutSeconds: 3600 + 600,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Record failure 1 load orders' }],
      End: true,
    });
    expect(machine.States['Failed 1 load orders']).toEqual({
      Type: 'Fail',
      Error: 'Sluice.JobFailed',
      Cause: 'Job load orders (node 1) failed',
    });
    expect(JSON.stringify(machine)).not.toMatch(/JSONata|QueryLanguage/);
  });

  it('runs independent jobs in one Parallel state whose failure fails the workflow', () => {
    const machine = JSON.parse(compileWorkflow(request(WORKFLOWS.fanOut ?? [])));
    expect(machine.States['Record run 1 A'].Next).toBe('Run 1 A');
    expect(machine.States['Run 1 A'].Next).toBe('Parallel level 2');
    const parallel = machine.States['Parallel level 2'];
    expect(parallel.Branches.map((b: any) => b.StartAt)).toEqual(['Record run 2 B', 'Record run 3 C']);
    expect(parallel.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Workflow failed' },
    ]);
    expect(machine.States['Workflow failed']).toEqual({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
    // Each level waits for its slowest job: 300 s to record plus the job's timeout and margin.
    expect(machine.TimeoutSeconds).toBe(300 + 4200 + 300 + 7800);
  });

  it('names the sync resource in the partition of the step function', () => {
    const machine = JSON.parse(
      compileWorkflow(request(WORKFLOWS.single ?? [], { stepArn: STEP.replace('arn:aws:', 'arn:aws-cn:') })),
    );
    expect(machine.States['Run 1 load orders'].Resource).toBe(
      'arn:aws-cn:states:::states:startExecution.sync:2',
    );
  });

  it('compiles a workflow without jobs to one Succeed state', () => {
    expect(JSON.parse(compileWorkflow(request([])))).toEqual({
      Comment: 'Sluice workflow wf-0001',
      StartAt: 'No jobs',
      States: { 'No jobs': { Type: 'Succeed' } },
    });
  });

  it('lists the Run Tasks a local engine answers itself', () => {
    const definition = compileWorkflow(request(WORKFLOWS.diamond ?? []));
    expect(runStateNames(definition)).toEqual(['Run 1 A', 'Run 2 B', 'Run 3 C', 'Run 4 D']);
    expect(taskStateNames(definition)).toHaveLength(12);
  });
});

describe('a compiled workflow on aws-local-stepfunctions', () => {
  beforeAll(() => {
    const P = Promise as unknown as { withResolvers?: unknown };
    if (typeof P.withResolvers !== 'function') {
      P.withResolvers = <T>() => {
        let resolve!: (value: T) => void;
        let reject!: (reason?: unknown) => void;
        const promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      };
    }
  });

  const input = { workflow_execution_id: 'wfx-1', workflow_id: 'wf-0001' };

  /** Runs a workflow where each job "runs" for a few ms; `failing` jobs end FAILED. */
  async function execute(nodes: WorkflowJobNode[], failing: string[] = []) {
    const definition = compileWorkflow(request(nodes));
    const calls: Array<{ state: string; event: any }> = [];
    const runs = new Set(runStateNames(definition));
    const handlers: Record<string, (event: any) => Promise<any>> = {};
    for (const state of taskStateNames(definition)) {
      handlers[state] = async (event: any) => {
        calls.push({ state, event });
        if (!runs.has(state)) {
          if (event.action === 'record') {
            return {
              batch_id: `batch-${event.node_id}`,
              pipeline_id: event.job_id,
              pipeline_version: 1,
              state_machine: `sm-${event.node_id}`,
            };
          }
          return {};
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
        const node = event.Name.slice('batch-'.length);
        if (failing.includes(node)) {
          throw Object.assign(
            new Error(
              JSON.stringify({
                Status: 'FAILED',
                Error: 'Sluice.StepFailed',
                Cause: `Step 2 of ${node} failed`,
              }),
            ),
            {
              name: 'States.TaskFailed',
            },
          );
        }
        return { Status: 'SUCCEEDED' };
      };
    }
    const execution = new StateMachine(JSON.parse(definition)).run(input as any, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: { Execution: { Id: 'arn:wfx-1', Input: input as any, Name: 'wfx-1' } },
    });
    try {
      return { calls, output: await execution.result, error: undefined };
    } catch (error) {
      return { calls, output: undefined, error: error as Error };
    }
  }

  const recorded = (calls: Array<{ event: any }>, action: string) =>
    calls.filter((c) => c.event.action === action).map((c) => c.event.node_id);

  it('records and starts every job once, parents first', async () => {
    const { calls, error } = await execute(WORKFLOWS.diamond ?? []);
    expect(error).toBeUndefined();
    expect(recorded(calls, 'record').sort()).toEqual(['1', '2', '3', '4']);
    const started = calls.filter((c) => c.event.Name).map((c) => c.event);
    expect(started.find((e) => e.Name === 'batch-4')).toEqual({
      StateMachineArn: 'sm-4',
      Name: 'batch-4',
      Input: {
        batch_id: 'batch-4',
        pipeline_id: 'pl-0000000000000000000004',
        pipeline_version: 1,
        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'arn:wfx-1',
      },
    });
    const order = calls.map((c) => c.event.node_id ?? c.event.Name.slice(6));
    expect(order.indexOf('4')).toBeGreaterThan(order.lastIndexOf('2'));
    expect(order.indexOf('4')).toBeGreaterThan(order.lastIndexOf('3'));
  });

  it('never records the job after a failed one in a chain', async () => {
    const { calls, error } = await execute(WORKFLOWS.chain ?? [], ['1']);
    expect(error).toBeInstanceOf(ExecutionError);
    const cause = error?.cause as Error | undefined;
    expect(cause?.name).toBe('Sluice.JobFailed');
    expect(cause?.message).toBe('Job extract (node 1) failed');
    expect(recorded(calls, 'record')).toEqual(['1']);
    const fail = calls.find((c) => c.event.action === 'fail')?.event;
    expect(fail).toMatchObject({
      node_id: '1',
      workflow_execution_id: 'wfx-1',
      error: { Error: 'States.TaskFailed' },
    });
    expect(reasonOf(fail.error)).toBe('Step 2 of 1 failed');
  });

  it('fails the workflow when one of two parallel jobs fails, and starts nothing after them', async () => {
    const { calls, error } = await execute(WORKFLOWS.diamond ?? [], ['2']);
    expect((error?.cause as Error | undefined)?.message).toBe('Job B (node 2) failed');
    expect(recorded(calls, 'fail')).toEqual(['2']);
    expect(recorded(calls, 'record')).not.toContain('4');
  });
});

describe('workflow validation', () => {
  const A = `pl-${'0'.repeat(21)}a`;
  const B = `pl-${'0'.repeat(21)}b`;
  const MISSING = `pl-${'0'.repeat(20)}zz`;
  const findJob: FindJob = async (id) =>
    [A, B].includes(id) ? { id, name: `job ${id.slice(-1)}` } : undefined;
  const jobNode = (id: number, jobId: string, parents: number[] = []) => ({
    id,
    name: `node ${id}`,
    type: 'JOB',
    parentNodeIds: parents,
    jobId,
  });
  const triggerNode = (id: number) => ({
    id,
    name: 'every hour',
    type: 'TRIGGER',
    parentNodeIds: [],
    triggerId: 'trg-1',
  });

  async function problems(nodes: unknown[]) {
    const result = await validateWorkflow(nodes, findJob);
    return result.problems.map((p) => ({ nodeId: p.nodeId, field: p.field, message: p.message }));
  }

  it('accepts a trigger starting two chained jobs and compiles only the jobs', async () => {
    const nodes = [triggerNode(1), jobNode(2, A, [1]), jobNode(3, B, [2])];
    const result = await validateWorkflow(nodes, findJob);
    expect(result).toMatchObject({ valid: true, problems: [] });
    expect(jobNodes(result.nodes)).toEqual([
      { key: '2', jobId: A, name: 'node 2', parents: [] },
      { key: '3', jobId: B, name: 'node 3', parents: ['2'] },
    ]);
  });

  it('rejects an unknown node type', async () => {
    expect(await problems([jobNode(1, A), { ...jobNode(2, A), type: 'SCRIPT' }])).toEqual([
      { nodeId: '2', field: 'type', message: '"SCRIPT" is not a node type; use one of TRIGGER, JOB' },
    ]);
  });

  it('names every node of a cycle', async () => {
    expect(
      await problems([jobNode(1, A, [3]), jobNode(2, A, [1]), jobNode(3, B, [2]), jobNode(4, B)]),
    ).toEqual([
      { nodeId: '1', field: 'parentNodeIds', message: 'is part of a cycle through nodes 1, 3, 2' },
      { nodeId: '3', field: 'parentNodeIds', message: 'is part of a cycle through nodes 1, 3, 2' },
      { nodeId: '2', field: 'parentNodeIds', message: 'is part of a cycle through nodes 1, 3, 2' },
    ]);
  });

  it('rejects a node that is its own parent', async () => {
    expect(await problems([jobNode(1, A, [1])])).toEqual([
      { nodeId: '1', field: 'parentNodeIds', message: 'is part of a cycle through nodes 1' },
    ]);
  });

  it('rejects a dangling parent', async () => {
    expect(await problems([jobNode(1, A), jobNode(2, B, [1, 9])])).toEqual([
      { nodeId: '2', field: 'parentNodeIds', message: 'parent 9 does not exist' },
    ]);
  });

  it('rejects a JOB node whose job does not exist, or that names none', async () => {
    const { jobId: _omitted, ...noJob } = jobNode(2, A);
    expect(await problems([jobNode(1, MISSING), noJob, jobNode(3, 'not-a-job')])).toEqual([
      { nodeId: '1', field: 'jobId', message: `job ${MISSING} does not exist` },
      {
        nodeId: '2',
        field: 'jobId',
        message: "is required for a JOB node (or give the job's id as the node's id)",
      },
      { nodeId: '3', field: 'jobId', message: 'job not-a-job does not exist' },
    ]);
  });

  it('rejects a TRIGGER node without a trigger id, or with parents', async () => {
    const { triggerId: _omitted, ...noTrigger } = triggerNode(1);
    expect(
      await problems([noTrigger, { ...triggerNode(2), parentNodeIds: [3] }, jobNode(3, A, [1])]),
    ).toEqual([
      {
        nodeId: '1',
        field: 'triggerId',
        message: "is required for a TRIGGER node (or give the trigger's id as the node's id)",
      },
      { nodeId: '2', field: 'parentNodeIds', message: 'must be empty: a TRIGGER node starts the workflow' },
    ]);
  });

  it('rejects a JOB node whose parent is neither a JOB nor a TRIGGER', async () => {
    expect(await problems([{ ...triggerNode(1), type: 'NOTE' }, jobNode(2, A, [1])])).toEqual([
      { nodeId: '1', field: 'type', message: '"NOTE" is not a node type; use one of TRIGGER, JOB' },
      { nodeId: '2', field: 'parentNodeIds', message: 'parent 1 is not a JOB or TRIGGER node' },
    ]);
  });

  it('requires at least one JOB node', async () => {
    expect(await problems([triggerNode(1)])).toEqual([
      { nodeId: null, field: 'nodes', message: 'must contain at least one JOB node' },
    ]);
  });

  it('rejects duplicate ids and nodes that are not objects', async () => {
    expect(await problems([jobNode(1, A), jobNode(1, B), 'x'])).toEqual([
      { nodeId: '1', field: 'id', message: 'is used by more than one node' },
      { nodeId: null, field: 'nodes.2', message: 'must be an object' },
    ]);
  });

  it('lists every problem of every node at once', async () => {
    const result = await validateWorkflow(
      [
        { id: -1, type: 'JOB', parentNodeIds: 'x' },
        { id: 2, name: 'n', type: 'TRIGGER', parentNodeIds: [] },
      ],
      findJob,
    );
    expect(result.valid).toBe(false);
    expect(result.problems.map((p) => `${p.index}:${p.field}`)).toEqual([
      '0:id',
      '0:name',
      '0:parentNodeIds',
      '0:jobId',
      '1:triggerId',
    ]);
  });
  describe("in Data Flow's form (a node's id is its job's or trigger's id)", () => {
    const T = `trg-${'0'.repeat(21)}t`;
    const findTrigger: FindTrigger = async (id) => (id === T ? { id, name: 'hourly' } : undefined);
    const parseJobCondition: ParseJobCondition = (value) => {
      const c = value as { timeout?: unknown; nrn?: unknown };
      if (typeof c.timeout === 'number' && c.timeout > 1440) {
        return { problems: [{ field: 'timeout', message: 'must be at most 1440' }] };
      }
      return { condition: c as { timeout?: number; nrn?: string } };
    };
    const validate = (nodes: unknown[]) =>
      validateWorkflow(nodes, findJob, { findTrigger, parseJobCondition });

    it('takes the ids as the trigger and job, parents by those ids, and keeps the jobCondition', async () => {
      const nodes = [
        { id: T, name: 'hourly', type: 'TRIGGER', parentNodeIds: [], triggerRule: 'RECURRING' },
        {
          id: A,
          name: 'job a',
          type: 'JOB',
          parentNodeIds: [T],
          jobCondition: { timeout: 30, nrn: 'nrn:PUB:IAM::1:Role/x' },
        },
        { id: B, name: 'job b', type: 'JOB', parentNodeIds: [A] },
      ];

      const result = await validate(nodes);

      expect(result.problems).toEqual([]);
      expect(result.nodes.map((n) => [n.type, n.triggerId ?? n.jobId, n.jobCondition])).toEqual([
        ['TRIGGER', T, undefined],
        ['JOB', A, { timeout: 30, nrn: 'nrn:PUB:IAM::1:Role/x' }],
        ['JOB', B, undefined],
      ]);
      expect(jobNodes(result.nodes)).toEqual([
        {
          key: A,
          jobId: A,
          name: 'job a',
          parents: [],
          jobCondition: { timeout: 30, nrn: 'nrn:PUB:IAM::1:Role/x' },
        },
        { key: B, jobId: B, name: 'job b', parents: [A] },
      ]);
      expect(triggerIdsOf(result.nodes)).toEqual([T]);
    });

    it('names the node whose id is no job or trigger, a bad jobCondition field and a bad triggerRule', async () => {
      const nodes = [
        { id: 'trg-gone', name: 't', type: 'TRIGGER', parentNodeIds: [], triggerRule: 'WEEKLY' },
        { id: MISSING, name: 'j', type: 'JOB', parentNodeIds: ['trg-gone'] },
        { id: A, name: 'a', type: 'JOB', parentNodeIds: [], jobCondition: { timeout: 5000 } },
        { id: 7, name: 'numbered', type: 'TRIGGER', parentNodeIds: [], triggerId: 'trg-nope' },
      ];

      const result = await validate(nodes);

      expect(result.valid).toBe(false);
      expect(result.problems.map((p) => ({ nodeId: p.nodeId, field: p.field, message: p.message }))).toEqual([
        {
          nodeId: 'trg-gone',
          field: 'id',
          message:
            'trigger trg-gone does not exist (a TRIGGER node without triggerId names its trigger by its id)',
        },
        { nodeId: 'trg-gone', field: 'triggerRule', message: 'must be one of RECURRING, ONE_TIME, NONE' },
        {
          nodeId: MISSING,
          field: 'id',
          message: `job ${MISSING} does not exist (a JOB node without jobId names its job by its id)`,
        },
        { nodeId: A, field: 'jobCondition.timeout', message: 'must be at most 1440' },
        { nodeId: '7', field: 'triggerId', message: 'trigger trg-nope does not exist' },
      ]);
      // What a draft would store: every node, as far as it could be read.
      expect(result.nodes.map((n) => n.triggerId ?? n.jobId)).toEqual(['trg-gone', MISSING, A, 'trg-nope']);
    });
  });
});

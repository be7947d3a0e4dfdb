/**
 * The local run engine: the same compiled definitions Step Functions runs, executed by
 * aws-local-stepfunctions in this process. Every Task of a pipeline calls the step worker
 * in-process, and each execution's end is reported to the finalizer in the shape of the
 * EventBridge event AWS sends, so the batch bookkeeping is the AWS code path.
 *
 * Workflows are a second kind of deployment. Their record/fail Tasks call the workflow-step
 * logic in-process; their `states:startExecution.sync:2` Tasks are answered here: the job's
 * execution starts in this engine and the Task waits until it has ended and been finalized,
 * then succeeds or fails with States.TaskFailed and the child's status as its cause, as on
 * AWS. Stopping a workflow execution stops the job executions it is waiting for.
 *
 * Definitions are kept under the data directory, so a version deployed before a restart
 * still starts afterwards. Executions themselves do not survive a restart: the host marks
 * the batches they belonged to failed when it starts again, and this engine reports the
 * workflow executions it was running as failed (they leave a marker file while they run).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { LocalAthena, QueryResultsTask, StartQueryTask } from '#core/engine/athena-local';
import type { ExecutionInput, WorkerEvent } from '#core/engine/contract';
import { ATHENA_RESOURCES, SLUICE_ERRORS, STATES_ERRORS } from '#core/engine/contract';
import type { Engine, ExecutionState } from '#core/engine/engine';
import type { ExecutionStatusDetail } from '#core/engine/finalize';
import type { WorkflowStepEvent } from '#core/workflows/steps';
import { taskStateNames } from '../statemachines/compile.ts';
import { runStateNames } from '../statemachines/workflow.ts';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 lacks it.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export interface LocalEngineOptions {
  dataDir: string;
  region: string;
  /** Runs one Task of a pipeline (the step worker). */
  worker(event: WorkerEvent, signal: AbortSignal): Promise<unknown>;
  /** Runs a workflow's record/fail Task (the workflow-step logic). */
  workflowStep(event: WorkflowStepEvent): Promise<unknown>;
  /**
   * Answers the Athena Task states of pipelines with stages on Athena (DuckDB in this process,
   * functions/core/engine/athena-local.ts). Without it such a Task fails.
   */
  athena?: LocalAthena;
  /** Receives each execution's terminal status (the finalizer). */
  onStatus(detail: ExecutionStatusDetail): Promise<void>;
  /** Keeps the host's shutdown waiting for this work. */
  track(work: Promise<unknown>): void;
  log(line: string): void;
}

interface Running {
  abort(): void;
  /** Settles once the execution has ended and its status has been handed to `onStatus`. */
  done: Promise<ExecutionStatusDetail>;
}

export interface LocalEngine extends Engine {
  /** Aborts every execution (host shutdown) and waits for their tasks to settle. */
  stopAll(): Promise<void>;
}

type TaskHandler = (input: unknown) => Promise<unknown>;

/** What a `startExecution.sync:2` Task sends (statemachines/workflow.ts). */
interface StartExecutionTask {
  StateMachineArn: string;
  Name: string;
  Input: ExecutionInput;
}

const ACCOUNT = '000000000000';
/** Workflow deployments are `local:<workflow id>:wf-<digest>`, pipeline versions `local:<id>:v<n>-<digest>`. */
const isWorkflowRef = (ref: string) => ref.split(':')[2]?.startsWith('wf-') ?? false;
const ENDED_KEPT = 10_000;
const HOST_STOPPED_CAUSE = 'The local host stopped while this workflow was running; run it again.';

export function createLocalEngine(options: LocalEngineOptions): LocalEngine {
  const root = join(options.dataDir, 'engine');
  const markers = join(root, '_workflow-executions');
  // Building a StateMachine validates the definition (100+ ms): once per definition, not per run.
  const machines = new Map<
    string,
    { machine: StateMachine; tasks: string[]; runs: Set<string>; resources: Map<string, string> }
  >();
  const running = new Map<string, Running>();
  // How recent executions ended, for the reconciler (the newest ENDED_KEPT; none survive a restart).
  const ended = new Map<string, ExecutionStatusDetail>();
  let closing = false;
  const workflowStep = options.workflowStep;

  /** Refs are `local:<pipeline or workflow id>:<file>`. */
  const idOf = (ref: string) => {
    const [scheme, id] = ref.split(':');
    if (scheme !== 'local' || !id) throw new Error(`Not a local state machine: ${ref}`);
    return id;
  };
  const stateMachineArn = (id: string) =>
    `arn:aws:states:${options.region}:${ACCOUNT}:stateMachine:sluice-local-${id}`;
  const executionArnOf = (ref: string, name: string) =>
    `arn:aws:states:${options.region}:${ACCOUNT}:execution:sluice-local-${idOf(ref)}:${name}`;
  const fileOf = (ref: string) => {
    const [, id, name] = ref.split(':');
    return join(root, id ?? '_', `${name ?? '_'}.json`);
  };

  function load(ref: string, text: string) {
    const parsed = JSON.parse(text);
    const loaded = {
      machine: new StateMachine(parsed, { validationOptions: { checkArn: false, checkPaths: false } }),
      tasks: taskStateNames(parsed),
      runs: new Set(runStateNames(parsed)),
      resources: taskResources(parsed),
    };
    machines.set(ref, loaded);
    return loaded;
  }

  async function machineOf(ref: string) {
    return machines.get(ref) ?? load(ref, await readFile(fileOf(ref), 'utf8'));
  }

  async function store(ref: string, text: string): Promise<string> {
    await mkdir(join(root, idOf(ref)), { recursive: true });
    await writeFile(fileOf(ref), text);
    load(ref, text);
    return ref;
  }

  /** Task handlers by state name: a pipeline's call the step worker; a workflow's record and start runs. */
  function handlersFor(
    ref: string,
    tasks: string[],
    runs: Set<string>,
    resources: Map<string, string>,
    signal: AbortSignal,
  ) {
    const handler = (name: string): TaskHandler => {
      const resource = resources.get(name);
      if (resource === ATHENA_RESOURCES.startQuery || resource === ATHENA_RESOURCES.queryResults) {
        return (input) => athenaTask(resource, input, signal);
      }
      if (!isWorkflowRef(ref)) return (input) => options.worker(input as WorkerEvent, signal);
      if (runs.has(name)) return (input) => runJob(input as StartExecutionTask, signal);
      return (input) => workflowStep(input as WorkflowStepEvent);
    };
    return Object.fromEntries(tasks.map((name) => [name, handler(name)]));
  }

  /** An Athena Task of a pipeline, answered by the local Athena (DuckDB). */
  async function athenaTask(resource: string, input: unknown, signal: AbortSignal): Promise<unknown> {
    const athena = options.athena;
    if (!athena) {
      const error = new Error('This host has no local Athena to run the query.');
      error.name = STATES_ERRORS.taskFailed;
      throw error;
    }
    return resource === ATHENA_RESOURCES.startQuery
      ? athena.startQuery(input as StartQueryTask, signal)
      : athena.queryResults(input as QueryResultsTask);
  }

  /** A workflow's Run Task: start the job's execution here and wait for its end, as `.sync:2` does. */
  async function runJob(task: StartExecutionTask, parent: AbortSignal): Promise<unknown> {
    const input: ExecutionInput = {
      batch_id: task.Input.batch_id,
      pipeline_id: task.Input.pipeline_id,
      pipeline_version: task.Input.pipeline_version,
    };
    const child = launch(task.StateMachineArn, task.Name, input);
    // A stopped workflow stops the job it is waiting for.
    const stopChild = () => child.abort();
    parent.addEventListener('abort', stopChild, { once: true });
    try {
      const detail = await child.done;
      const described = { ExecutionArn: detail.executionArn, Name: detail.name, Status: detail.status };
      if (detail.status === 'SUCCEEDED') return { ...described, Output: {} };
      const failure = new Error(
        JSON.stringify({ ...described, Error: detail.error ?? null, Cause: detail.cause ?? null }),
      );
      failure.name = STATES_ERRORS.taskFailed;
      throw failure;
    } finally {
      parent.removeEventListener('abort', stopChild);
    }
  }

  async function execute(
    executionArn: string,
    ref: string,
    name: string,
    input: unknown,
    controller: AbortController,
  ): Promise<ExecutionStatusDetail> {
    const { machine, tasks, runs, resources } = await machineOf(ref);
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: handlersFor(ref, tasks, runs, resources, controller.signal) as never,
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input as never,
          StartTime: new Date().toISOString(),
        },
      },
    });
    // A stop aborts the execution (no further state starts) and, through the same signal,
    // interrupts the task that is running.
    controller.signal.addEventListener('abort', () => execution.abort(), { once: true });
    const base = { executionArn, stateMachineArn: stateMachineArn(idOf(ref)), name };
    try {
      await execution.result;
      return { ...base, status: 'SUCCEEDED' };
    } catch (error) {
      if (error instanceof ExecutionAbortedError) return { ...base, status: 'ABORTED' };
      if (error instanceof ExecutionTimeoutError) return { ...base, status: 'TIMED_OUT' };
      const failure = failureOf(error);
      return { ...base, status: 'FAILED', error: failure.error, cause: failure.cause };
    }
  }

  /**
   * Starts an execution named `name` of `ref` (once: a second call joins the first). It stays
   * known as running until the finalizer has recorded its end.
   */
  function launch(ref: string, name: string, input: unknown, marker?: string): Running {
    const executionArn = executionArnOf(ref, name);
    const known = running.get(executionArn);
    if (known) return known;
    const controller = new AbortController();
    const done = (async () => {
      // StartExecution answers before anything runs; so does this.
      await new Promise((r) => setImmediate(r));
      const detail = await execute(executionArn, ref, name, input, controller).catch(
        (error: unknown): ExecutionStatusDetail => {
          options.log(`execution ${name} could not run: ${(error as Error).message}`);
          return { executionArn, name, status: 'FAILED', error: SLUICE_ERRORS.engineError };
        },
      );
      try {
        // Executions cut off by a shutdown stay `running`; the next start marks them failed.
        if (!closing) {
          await options
            .onStatus(detail)
            .catch((error: unknown) => options.log(`finalizing ${name} failed: ${(error as Error).message}`));
          if (marker) await rm(marker, { force: true });
        }
      } finally {
        ended.set(executionArn, detail);
        if (ended.size > ENDED_KEPT) ended.delete(ended.keys().next().value as string);
        running.delete(executionArn);
      }
      return detail;
    })();
    const entry = { abort: () => controller.abort(), done };
    running.set(executionArn, entry);
    options.track(done);
    return entry;
  }

  /** Workflow executions that were running when the host last stopped end as failed now. */
  async function recoverInterrupted(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const files = await readdir(markers).catch(() => [] as string[]);
    for (const file of files) {
      const path = join(markers, file);
      const detail = JSON.parse(await readFile(path, 'utf8')) as ExecutionStatusDetail;
      await options
        .onStatus({
          ...detail,
          status: 'FAILED',
          error: SLUICE_ERRORS.hostStopped,
          cause: HOST_STOPPED_CAUSE,
        })
        .catch((error: unknown) =>
          options.log(`recovering ${detail.name} failed: ${(error as Error).message}`),
        );
      await rm(path, { force: true });
    }
    if (files.length > 0)
      options.log(`Marked ${files.length} workflow execution(s) interrupted by the last stop as failed.`);
  }
  options.track(recoverInterrupted());

  return {
    async deploy({ pipelineId, version, definition: text }) {
      // One file per distinct definition of a version (run settings are compiled in).
      const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
      return store(`local:${pipelineId}:v${version}-${digest}`, text);
    },

    async deployWorkflow({ workflowId, definition: text }) {
      const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
      return store(`local:${workflowId}:wf-${digest}`, text);
    },

    async start({ ref, input }) {
      launch(ref, input.batch_id, input);
      return executionArnOf(ref, input.batch_id);
    },

    async startWorkflow({ ref, input }) {
      const name = input.workflow_execution_id;
      const executionArn = executionArnOf(ref, name);
      const marker = join(markers, `${name}.json`);
      await mkdir(markers, { recursive: true });
      await writeFile(
        marker,
        JSON.stringify({ executionArn, stateMachineArn: stateMachineArn(idOf(ref)), name }),
      );
      launch(ref, name, input, marker);
      return executionArn;
    },

    executionIdOf: executionArnOf,

    async executionState(executionArn): Promise<ExecutionState> {
      // A finished execution counts as unknown: its status has been handed to the finalizer.
      return running.has(executionArn) ? 'RUNNING' : 'UNKNOWN';
    },

    async describeExecution(executionArn) {
      if (running.has(executionArn)) {
        const name = executionArn.split(':').pop() ?? '';
        return { executionArn, name, status: 'RUNNING' };
      }
      return ended.get(executionArn);
    },

    async stop(executionArn) {
      running.get(executionArn)?.abort();
    },

    async remove(id) {
      for (const ref of [...machines.keys()]) if (ref.startsWith(`local:${id}:`)) machines.delete(ref);
      await rm(join(root, id), { recursive: true, force: true });
    },

    async stopAll() {
      closing = true;
      const all = [...running.values()];
      for (const r of all) r.abort();
      await Promise.all(all.map((r) => r.done.catch(() => undefined)));
    },
  };
}

/** The Resource of every Task state by name, in Parallel branches and Map processors too. */
function taskResources(definition: unknown): Map<string, string> {
  interface Machine {
    States?: Record<
      string,
      { Type?: string; Resource?: string; Branches?: Machine[]; ItemProcessor?: Machine; Iterator?: Machine }
    >;
  }
  const found = new Map<string, string>();
  const walk = (machine: Machine | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (state.Type === 'Task' && state.Resource) found.set(name, state.Resource);
      for (const branch of state.Branches ?? []) walk(branch);
      walk(state.ItemProcessor ?? state.Iterator);
    }
  };
  walk(definition as Machine);
  return found;
}

function failureOf(error: unknown): { error: string; cause: string } {
  // ExecutionError wraps the state's error; its name/message carry the ASL Error/Cause.
  const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
  const inner = e.cause ?? e;
  return { error: inner.name ?? STATES_ERRORS.runtime, cause: inner.message ?? '' };
}

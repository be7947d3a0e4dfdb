/**
 * The local run engine: the same compiled definitions Step Functions runs, executed by
 * aws-local-stepfunctions in this process. Every Task calls the step worker in-process, and
 * each execution's end is reported to the finalizer in the shape of the EventBridge event
 * AWS sends, so the batch bookkeeping is the AWS code path.
 *
 * Definitions are kept under the data directory, so a version deployed before a restart
 * still starts afterwards. Executions themselves do not survive a restart: the host marks
 * the batches they belonged to failed when it starts again.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { Engine } from '#core/engine/engine';
import type { ExecutionStatusDetail } from '#core/engine/finalize';
import type { ExecutionInput, WorkerEvent } from '#core/pipelines/model';
import { taskStateNames } from '../statemachines/compile.ts';

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
  /** Runs one Task (the step worker). */
  worker(event: WorkerEvent, signal: AbortSignal): Promise<unknown>;
  /** Receives each execution's terminal status (the finalizer). */
  onStatus(detail: ExecutionStatusDetail): Promise<void>;
  /** Keeps the host's shutdown waiting for this work. */
  track(work: Promise<unknown>): void;
  log(line: string): void;
}

interface Running {
  abort(): void;
  done: Promise<void>;
}

export interface LocalEngine extends Engine {
  /** Aborts every execution (host shutdown) and waits for their tasks to settle. */
  stopAll(): Promise<void>;
}

const ACCOUNT = '000000000000';

export function createLocalEngine(options: LocalEngineOptions): LocalEngine {
  const root = join(options.dataDir, 'engine');
  // Building a StateMachine validates the definition (100+ ms): once per definition, not per run.
  const machines = new Map<string, { machine: StateMachine; tasks: string[] }>();
  const running = new Map<string, Running>();
  let closing = false;
  const stateMachineArn = (pipelineId: string) =>
    `arn:aws:states:${options.region}:${ACCOUNT}:stateMachine:sluice-local-${pipelineId}`;
  const fileOf = (ref: string) => {
    const [, pipelineId, name] = ref.split(':');
    return join(root, pipelineId ?? '_', `${name ?? '_'}.json`);
  };

  function load(ref: string, text: string) {
    const parsed = JSON.parse(text);
    const loaded = {
      machine: new StateMachine(parsed, { validationOptions: { checkArn: false, checkPaths: false } }),
      tasks: taskStateNames(parsed),
    };
    machines.set(ref, loaded);
    return loaded;
  }

  async function machineOf(ref: string) {
    return machines.get(ref) ?? load(ref, await readFile(fileOf(ref), 'utf8'));
  }

  async function execute(
    executionArn: string,
    ref: string,
    input: ExecutionInput,
    controller: AbortController,
  ) {
    const { machine, tasks } = await machineOf(ref);
    const handlers = Object.fromEntries(
      tasks.map((name) => [
        name,
        (taskInput: unknown) => options.worker(taskInput as WorkerEvent, controller.signal) as never,
      ]),
    );
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: {
          Id: executionArn,
          Name: input.batch_id,
          Input: input as never,
          StartTime: new Date().toISOString(),
        },
      },
    });
    // A stop aborts the execution (no further state starts) and, through the same signal,
    // interrupts the step that is running.
    controller.signal.addEventListener('abort', () => execution.abort(), { once: true });
    let detail: ExecutionStatusDetail;
    const base = { executionArn, stateMachineArn: stateMachineArn(input.pipeline_id), name: input.batch_id };
    try {
      await execution.result;
      detail = { ...base, status: 'SUCCEEDED' };
    } catch (error) {
      if (error instanceof ExecutionAbortedError) detail = { ...base, status: 'ABORTED' };
      else if (error instanceof ExecutionTimeoutError) detail = { ...base, status: 'TIMED_OUT' };
      else {
        const failure = failureOf(error);
        detail = { ...base, status: 'FAILED', error: failure.error, cause: failure.cause };
      }
    }
    return detail;
  }

  return {
    async deploy({ pipelineId, version, definition: text }) {
      // One file per distinct definition of a version (run settings are compiled in).
      const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
      const ref = `local:${pipelineId}:v${version}-${digest}`;
      await mkdir(join(root, pipelineId), { recursive: true });
      await writeFile(fileOf(ref), text);
      load(ref, text);
      return ref;
    },

    async start({ ref, input }) {
      const executionArn = `arn:aws:states:${options.region}:${ACCOUNT}:execution:sluice-local-${input.pipeline_id}:${input.batch_id}`;
      if (running.has(executionArn)) return executionArn;
      const controller = new AbortController();
      const done = (async () => {
        // StartExecution answers before anything runs; so does this.
        await new Promise((r) => setImmediate(r));
        const detail = await execute(executionArn, ref, input, controller).catch(
          (error: unknown): ExecutionStatusDetail => {
            options.log(`execution ${input.batch_id} could not run: ${(error as Error).message}`);
            return { executionArn, name: input.batch_id, status: 'FAILED', error: 'Sluice.EngineError' };
          },
        );
        running.delete(executionArn);
        // Executions cut off by a shutdown stay `running`; the next start marks them failed.
        if (closing) return;
        await options
          .onStatus(detail)
          .catch((error: unknown) =>
            options.log(`finalizing ${input.batch_id} failed: ${(error as Error).message}`),
          );
      })();
      running.set(executionArn, { abort: () => controller.abort(), done });
      options.track(done);
      return executionArn;
    },

    async stop(executionArn) {
      running.get(executionArn)?.abort();
    },

    async remove(pipelineId) {
      for (const ref of [...machines.keys()])
        if (ref.startsWith(`local:${pipelineId}:`)) machines.delete(ref);
      await rm(join(root, pipelineId), { recursive: true, force: true });
    },

    async stopAll() {
      closing = true;
      const all = [...running.values()];
      for (const r of all) r.abort();
      await Promise.all(all.map((r) => r.done.catch(() => undefined)));
    },
  };
}

function failureOf(error: unknown): { error: string; cause: string } {
  // ExecutionError wraps the state's error; its name/message carry the ASL Error/Cause.
  const e = error as { name?: string; message?: string; cause?: { name?: string; message?: string } };
  const inner = e.cause ?? e;
  return { error: inner.name ?? 'States.Runtime', cause: inner.message ?? '' };
}

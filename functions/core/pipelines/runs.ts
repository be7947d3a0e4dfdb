/**
 * Batches: one run of one pipeline version. The batch record is written (pending) before any
 * execution starts; `dispatchPending` then starts waiting batches while the pipeline has a
 * free run slot (`active_runs < max_concurrent_runs`, claimed with a conditional update).
 * Both the API and the finalizer dispatch, after their own write, so a run never waits for
 * a slot that was freed before it was queued.
 *
 * A batch leaves `running` exactly once, by a conditional update from running/pending to a
 * terminal state (completed, failed, stop); whoever wins that update releases the slot.
 * Every write of a batch, its traces and the pipeline's run slots goes through the run store
 * (run-store.ts); this module holds the use cases.
 */
import { createHash } from 'node:crypto';
import { compilePipeline } from '../../../statemachines/compile.ts';
import type { Principal } from '../auth/principal.ts';
import { getItem, pageRequest, queryAll } from '../db.ts';
import { BadStateError, NotFoundError } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { logger, metrics } from '../observability.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';

import { deletePrefix } from '../storage.ts';
import { resolveEngines } from './engine-choice.ts';
import {
  type PipelineItem,
  pipelineKey,
  recordDeployment,
  requirePipeline,
  requireRunnable,
  requireVersion,
  type VersionItem,
} from './pipelines.ts';
import { planRerun } from './rerun.ts';
import {
  activeBatches,
  allBatchesOf,
  type BatchItem,
  type BatchOutcome,
  batchesPage,
  claimSlot,
  deleteBatchRecord,
  deleteBatchTraces,
  freeAllSlots,
  getBatch,
  type NewBatch,
  pendingBatches,
  promoteBatch,
  recordBatch,
  releaseSlot,
  type StepRecord,
  setEngineRef,
  setExecutionId,
  setSlotsHeld,
  settleBatch,
  TERMINAL,
  waitingBatches,
} from './run-store.ts';
import { compileStagesOf, type EngineChoice, stagesOf } from './stages.ts';

export {
  type BatchItem,
  type BatchStatus,
  runDayKey,
  type StepRecord,
  type StepState,
  TERMINAL,
} from './run-store.ts';

export function batchView(b: BatchItem) {
  return {
    id: b.id,
    pipeline_id: b.pipeline_id,
    pipeline_version: b.pipeline_version,
    name: b.name,
    deployment: b.deployment,
    status: b.status,
    created_at: b.created_at,
    started_at: b.started_at,
    finished_at: b.finished_at ?? null,
    ...(b.error ? { error: b.error } : {}),
    ...(b.trigger_id ? { trigger_id: b.trigger_id, trigger_name: b.trigger_name } : {}),
    ...(b.workflow_execution_id ? { workflow_execution_id: b.workflow_execution_id } : {}),
    ...(b.rerun_of ? { rerun_of: b.rerun_of, reused_stages: b.reused_stages ?? [] } : {}),
    ...(b.stage_engines ? { engine: b.engine ?? 'AUTO', stage_engines: b.stage_engines } : {}),
    state: { state: b.status, steps: b.steps },
  };
}

export async function findBatch(id: string): Promise<BatchItem | undefined> {
  return getBatch(id);
}

export async function requireBatch(id: string, pipelineId?: string): Promise<BatchItem> {
  const batch = await findBatch(id);
  if (!batch || (pipelineId !== undefined && batch.pipeline_id !== pipelineId))
    throw new NotFoundError('BATCH', id);
  return batch;
}

export async function latestBatch(pipelineId: string): Promise<BatchItem> {
  await requirePipeline(pipelineId);
  const page = await batchesPage(pipelineId, { limit: 1 });
  const latest = page.items[0];
  if (!latest) throw new NotFoundError('BATCH', `latest of ${pipelineId}`);
  return (await findBatch(latest.id)) ?? latest;
}

export async function listBatches(pipelineId: string, limit?: number, token?: string) {
  await requirePipeline(pipelineId);
  const page = await batchesPage(pipelineId, pageRequest(limit, token));
  return dhubList(page.items.map(batchView), page.next);
}

export interface RunRequest {
  version?: number;
  principal: Pick<Principal, 'username'>;
  parameters?: Record<string, unknown>;
  /** Run settings for this run only (Data Flow's jobCondition). */
  overrides?: {
    timeout_minutes?: number;
    num_workers?: number;
    worker_type?: string;
    engine?: EngineChoice;
  };
  trigger?: { id: string; name: string };
  workflowExecutionId?: string;
  /** A rerun: the batch it reruns and the stages it takes from it (rerun.ts). */
  rerun?: { of: string; stages: string[] };
}

/**
 * Reruns a batch that has ended: a new batch of the latest version (or `version`) that takes the
 * results of the original's unchanged, succeeded stages instead of running them (rerun.ts).
 */
export async function rerunBatch(
  pipelineId: string,
  batchId: string,
  request: Pick<RunRequest, 'version' | 'principal'>,
): Promise<{ batch: BatchItem; started: boolean }> {
  const original = await requireBatch(batchId, pipelineId);
  const { version, reuse } = await planRerun(pipelineId, original, request.version);
  return createRun(pipelineId, {
    version: version.version,
    principal: request.principal,
    ...(original.parameters ? { parameters: original.parameters } : {}),
    rerun: { of: original.id, stages: reuse },
  });
}

/**
 * Records a batch for the pipeline and starts it if a run slot is free; otherwise it waits
 * (pending). `started` tells whether this call started it (a fast run may already be over).
 */
export async function createRun(
  pipelineId: string,
  request: RunRequest,
): Promise<{ batch: BatchItem; started: boolean }> {
  const pipeline = await requirePipeline(pipelineId);
  const version = await requireVersion(pipeline, request.version);
  requireRunnable(pipeline, version);
  const id = newId('batch');
  const engines = await enginesOf(pipeline, version, request);
  // Reruns reuse DuckDB stages only: stages planned with Athena nodes have other ids and outputs.
  const run =
    engines.engines && request.rerun ? { ...request, rerun: { ...request.rerun, stages: [] } } : request;
  const batch = await recordBatch({ ...newBatch(pipeline, version, run, id), ...engines });
  // Ids are unique: only a broken id source could make the record exist already.
  if (!batch) throw new Error(`Batch ${id} already exists.`);
  metrics.addMetric('RunsRequested', 'Count', 1);
  // Deployed here, by the caller that may deploy: whoever starts a waiting run later (the
  // finalizer or the reconciler, when a slot frees) only starts it.
  try {
    const ref = await deployment(batch, version);
    await setEngineRef(id, ref);
  } catch (error) {
    logger.error('could not deploy a batch', { batchId: id, error: error as Error });
    await finishBatch(id, 'failed', NOT_STARTED);
    return { batch: (await findBatch(id)) ?? batch, started: false };
  }
  const started = await dispatchPending(pipelineId);
  return { batch: (await findBatch(id)) ?? batch, started: started.has(id) };
}

/** A new batch of the pipeline version, waiting (`pending`) in the run queue. */
function newBatch(
  pipeline: PipelineItem,
  version: VersionItem,
  request: RunRequest,
  id: string,
): NewBatch & { status: 'pending' } {
  const steps: Record<string, StepRecord> = {};
  for (const node of version.plan) steps[node.step] = { state: 'none', offsets: {} };
  return {
    id,
    pipeline_id: pipeline.id,
    pipeline_version: version.version,
    name: pipeline.name,
    deployment: `run-pipeline/${pipeline.name}`,
    status: 'pending',
    steps,
    created_at: new Date().toISOString(),
    created_by: request.principal.username,
    started_at: null,
    finished_at: null,
    timeout_minutes: request.overrides?.timeout_minutes ?? pipeline.timeout_minutes,
    num_workers: request.overrides?.num_workers ?? pipeline.num_workers,
    ...((request.overrides?.worker_type ?? pipeline.worker_type)
      ? { worker_type: request.overrides?.worker_type ?? pipeline.worker_type }
      : {}),
    ...(request.parameters ? { parameters: request.parameters } : {}),
    ...(request.trigger ? { trigger_id: request.trigger.id, trigger_name: request.trigger.name } : {}),
    ...(request.workflowExecutionId ? { workflow_execution_id: request.workflowExecutionId } : {}),
    ...(request.rerun ? { rerun_of: request.rerun.of, reused_stages: request.rerun.stages } : {}),
  };
}

/**
 * The engine of each node and stage of a new batch: the run's engine (its jobCondition), else
 * the pipeline's, AUTO resolved from the size of the inputs now (engine-choice.ts).
 */
async function enginesOf(
  pipeline: PipelineItem,
  version: VersionItem,
  request: RunRequest,
): Promise<Pick<BatchItem, 'engine' | 'engines' | 'stage_engines'>> {
  const choice = request.overrides?.engine ?? pipeline.engine ?? 'AUTO';
  const engines = await resolveEngines(version.plan, choice);
  const planned = stagesOf(version.plan, 'DUCKDB', engines);
  return {
    engine: choice,
    ...(engines ? { engines } : {}),
    stage_engines: Object.fromEntries(
      planned.stages.map((s) => [s.id, s.engine === 'ATHENA' ? 'ATHENA' : 'DUCKDB']),
    ),
  };
}

/** Whether a new run of the pipeline would have to wait: every slot taken, or runs already waiting. */
export async function runWouldWait(
  pipeline: Pick<PipelineItem, 'id' | 'active_runs' | 'max_concurrent_runs'>,
) {
  if (pipeline.active_runs >= pipeline.max_concurrent_runs) return true;
  const waiting = await waitingBatches(pipeline.id, 1, false);
  return waiting.length > 0;
}

/**
 * Starts waiting batches of a pipeline, oldest first, while it has free run slots; answers
 * the ids of the batches it started.
 */
export async function dispatchPending(pipelineId: string): Promise<Set<string>> {
  const started = new Set<string>();
  for (;;) {
    const waiting = await waitingBatches(pipelineId, 5);
    if (waiting.length === 0) return started;
    if (!(await claimSlot(pipelineId))) return started;
    let promoted: BatchItem | undefined;
    for (const candidate of waiting) {
      promoted = await promoteBatch(candidate.id);
      if (promoted) break;
    }
    if (!promoted) {
      await releaseSlot(pipelineId);
      continue;
    }
    if (await startExecution(promoted)) started.add(promoted.id);
  }
}

const MAX_RUN_MINUTES = 1440;
const NOT_STARTED = 'The run could not be started; see the service logs for the request id.';

/**
 * What a deployment depends on besides the version: the run settings, and the compiler's
 * generation (`s`: one Task per stage), so that versions deployed by an older compiler are
 * deployed again rather than reused.
 */
const settingsKey = (b: BatchItem) =>
  `s-t${b.timeout_minutes}-w${b.num_workers}${b.worker_type && b.worker_type !== 'DEFAULT' ? `-${b.worker_type}` : ''}${athenaKey(b.engines)}`;

/** The nodes on Athena, when any (each distinct set compiles to another definition). */
function athenaKey(engines: BatchItem['engines']): string {
  const athena = Object.entries(engines ?? {})
    .filter(([, e]) => e === 'ATHENA')
    .map(([key]) => key)
    .sort();
  return athena.length === 0
    ? ''
    : `-a${createHash('sha256').update(athena.join(',')).digest('hex').slice(0, 12)}`;
}

/** The run settings a deployed definition depends on. */
export type RunSettings = Pick<BatchItem, 'timeout_minutes' | 'num_workers' | 'worker_type' | 'engines'>;

/** Where the queries of Athena stages run: the engine's workgroup (any name on the local host). */
const LOCAL_WORKGROUP = 'sluice-local';

/** The state machine definition of a version run with these settings: one Task per stage. */
export function definitionOf(version: VersionItem, settings: RunSettings): string {
  return compilePipeline({
    pipelineId: version.pipeline_id,
    version: version.version,
    stages: compileStagesOf(version.plan, settings.engines),
    athenaWorkgroup: platform().settings.pipelines.athenaWorkgroup ?? LOCAL_WORKGROUP,
    // Data Flow's timeout 0 means no limit of the job's own: the platform's longest run applies.
    timeoutSeconds: (settings.timeout_minutes || MAX_RUN_MINUTES) * 60,
    maxConcurrency: settings.num_workers,
    workerArn: workerArnFor(settings.worker_type),
  });
}

/** Deploys the batch's version (once per run settings) and returns what to start it from. */
async function deployment(batch: BatchItem, version: VersionItem): Promise<string> {
  const key = settingsKey(batch);
  const known = version.engine_refs?.[key];
  if (known) return known;
  const definition = definitionOf(version, batch);
  const ref = await platform().engine.deploy({
    pipelineId: batch.pipeline_id,
    version: version.version,
    definition,
  });
  await recordDeployment(batch.pipeline_id, version.version, key, ref);
  return ref;
}

async function startExecution(batch: BatchItem): Promise<boolean> {
  try {
    const ref =
      batch.engine_ref ??
      (await deployment(
        batch,
        await requireVersion(await requirePipeline(batch.pipeline_id), batch.pipeline_version),
      ));
    const executionId = await platform().engine.start({
      ref,
      input: { batch_id: batch.id, pipeline_id: batch.pipeline_id, pipeline_version: batch.pipeline_version },
    });
    await setExecutionId(batch.id, executionId);
    metrics.addMetric('RunsStarted', 'Count', 1);
    return true;
  } catch (error) {
    logger.error('could not start a batch', { batchId: batch.id, error: error as Error });
    await finishBatch(batch.id, 'failed', NOT_STARTED);
    return false;
  }
}

/**
 * Records a run that a workflow's state machine starts itself (`startExecution.sync:2`)
 * instead of this module: the batch is written `running`, holding one of the pipeline's run
 * slots, its version is deployed, and the reference to start is answered with the batch.
 * Answers undefined when the pipeline has no free slot (the caller waits and asks again).
 * Asking again with the same batch id answers the same batch, so a retried call is harmless.
 */
export async function recordRun(
  pipelineId: string,
  request: RunRequest,
  batchId: string,
): Promise<{ batch: BatchItem; ref: string } | undefined> {
  const known = await findBatch(batchId);
  if (known && (known.pipeline_id !== pipelineId || TERMINAL.includes(known.status))) {
    throw new BadStateError(`Batch ${batchId} is not a run in progress of pipeline ${pipelineId}.`);
  }
  const pipeline = await requirePipeline(pipelineId);
  const version = await requireVersion(pipeline, known?.pipeline_version ?? request.version);
  if (known) return { batch: known, ref: await deployment(known, version) };
  requireRunnable(pipeline, version);
  if (!(await claimSlot(pipelineId))) return undefined;
  const queued = {
    ...newBatch(pipeline, version, request, batchId),
    ...(await enginesOf(pipeline, version, request)),
  };
  const steps: Record<string, StepRecord> = {};
  for (const name of Object.keys(queued.steps)) steps[name] = { state: 'pending', offsets: {} };
  const batch = await recordBatch({
    ...queued,
    status: 'running',
    started_at: queued.created_at,
    steps,
    holds_slot: true,
  });
  if (!batch) {
    // A concurrent call with the same id won: it holds the slot for this batch.
    await releaseSlot(pipelineId);
    return recordRun(pipelineId, request, batchId);
  }
  metrics.addMetric('RunsRequested', 'Count', 1);
  try {
    const ref = await deployment(batch, version);
    const executionId = platform().engine.executionIdOf(ref, batch.id);
    await setExecutionId(batch.id, executionId);
    metrics.addMetric('RunsStarted', 'Count', 1);
    return { batch: { ...batch, execution_id: executionId }, ref };
  } catch (error) {
    logger.error('could not deploy a recorded batch', { batchId: batch.id, error: error as Error });
    await finishBatch(batch.id, 'failed', NOT_STARTED);
    throw error;
  }
}

/**
 * Moves a batch to a terminal state, once: later calls (a duplicate event, a stop racing the
 * end of the run) change nothing. Steps still running are marked failed, and waiting runs of
 * the pipeline get the freed slot.
 */
export async function finishBatch(
  batchId: string,
  outcome: BatchOutcome,
  reason?: string,
  /** false when recovering after a restart: slots are reset and dispatched afterwards. */
  handOver = true,
): Promise<BatchItem | undefined> {
  const settled = await settleBatch(batchId, outcome, reason);
  if (!settled) return undefined;
  const { before } = settled;
  metrics.addMetric(
    outcome === 'completed' ? 'RunsCompleted' : outcome === 'failed' ? 'RunsFailed' : 'RunsStopped',
    'Count',
    1,
  );
  await platform().events({
    source: 'sluice.pipelines',
    'detail-type': 'Batch Finished',
    detail: {
      pipelineId: before.pipeline_id,
      pipelineName: before.name,
      batchId,
      status: outcome,
      ...(before.trigger_id ? { triggerId: before.trigger_id } : {}),
      ...(before.workflow_execution_id ? { workflowExecutionId: before.workflow_execution_id } : {}),
    },
  });
  if (!handOver) return findBatch(batchId);
  if (before.holds_slot) await releaseSlot(before.pipeline_id);
  await dispatchPending(before.pipeline_id);
  return findBatch(batchId);
}

/** Stops a batch: it becomes `stop` at once, no further step starts and the running one is cancelled. */
export async function stopBatch(pipelineId: string, batchId: string): Promise<void> {
  const batch = await requireBatch(batchId, pipelineId);
  if (TERMINAL.includes(batch.status)) {
    throw new BadStateError(`Batch ${batchId} has already finished (${batch.status}).`);
  }
  const stopped = await finishBatch(batchId, 'stop', 'Stopped on request.');
  const executionId = stopped?.execution_id ?? (await findBatch(batchId))?.execution_id;
  if (executionId) await platform().engine.stop(executionId, 'Stopped on request.');
}

/** Deletes a batch with its traces and run data, stopping it first when it is still running. */
export async function deleteBatch(pipelineId: string, batchId: string): Promise<void> {
  const batch = await requireBatch(batchId, pipelineId);
  if (!TERMINAL.includes(batch.status)) {
    await finishBatch(batchId, 'stop', 'Stopped because the batch was deleted.');
    if (batch.execution_id) await platform().engine.stop(batch.execution_id, 'Batch deleted.');
  }
  await deleteBatchTraces(batchId);
  await deletePrefix(`runs/${batchId}/`);
  await deleteBatchRecord(batch);
}

/** Removes every batch of a pipeline (its delete); running ones need `force`. */
export async function removeRuns(pipelineId: string, force: boolean): Promise<void> {
  const batches = await allBatchesOf(pipelineId);
  const active = batches.filter((b) => !TERMINAL.includes(b.status));
  if (active.length > 0 && !force) {
    throw new BadStateError(
      `Pipeline ${pipelineId} has ${active.length} unfinished batch(es); stop them or delete with ?force=true.`,
    );
  }
  for (const batch of batches) await deleteBatch(pipelineId, batch.id);
}

/** The `{pipeline_id}/` and `{id}` forms of GET /batches, told apart by id prefix and slash. */
export function parseBatchPath(
  proxy: string,
):
  | { kind: 'list'; pipelineId: string }
  | { kind: 'one'; pipelineId: string; batchId: string }
  | { kind: 'ref'; ref: string } {
  const parts = proxy.split('/');
  const trailing = parts.at(-1) === '';
  const segments = trailing ? parts.slice(0, -1) : parts;
  if (segments.length === 1 && segments[0]) {
    return trailing ? { kind: 'list', pipelineId: segments[0] } : { kind: 'ref', ref: segments[0] };
  }
  if (segments.length === 2 && segments[0] && segments[1]) {
    return { kind: 'one', pipelineId: segments[0], batchId: segments[1] };
  }
  throw new NotFoundError('BATCH', proxy);
}

/** GET /batches/{ref}: a batch id answers that batch, anything else is a pipeline id (its latest batch). */
export async function batchByRef(ref: string): Promise<BatchItem> {
  if (isId('batch', ref) || ref.startsWith('batch-')) return requireBatch(ref);
  return latestBatch(ref);
}

/**
 * A host restart loses the executions it was running: those batches are marked failed with
 * the reason, and waiting batches get their slots back. Local host only (AWS executions
 * outlive any process).
 */
export async function failInterruptedBatches(): Promise<number> {
  const active = await activeBatches();
  for (const batch of active) {
    await finishBatch(
      batch.id,
      'failed',
      'The local host stopped while this batch was running; run it again.',
      false,
    );
  }
  // Nothing runs in a host that just started: every slot is free.
  const pipelines = await queryAll<PipelineItem>({
    index: 'gsi1',
    partition: 'PIPELINES',
    filter: { FilterExpression: 'active_runs > :zero', ExpressionAttributeValues: { ':zero': 0 } },
  });
  for (const pipeline of pipelines) await freeAllSlots(pipeline.id);
  const waiting = await pendingBatches();
  for (const id of new Set(waiting.map((b) => b.pipeline_id))) await dispatchPending(id);
  return active.length;
}

/** Batches holding or waiting for a run slot (the reconciler's worklist): one Query each. */
export async function unfinishedBatches(): Promise<{ active: BatchItem[]; waiting: BatchItem[] }> {
  const [active, waiting] = await Promise.all([activeBatches(), pendingBatches()]);
  return { active, waiting };
}

/**
 * Gives a pipeline back the run slots that no batch holds (a process that died between taking
 * a slot and recording its batch), then starts what waits for them. Answers the batches started.
 */
export async function repairSlots(pipelineId: string): Promise<Set<string>> {
  const pipeline = await getItem<PipelineItem>(pipelineKey(pipelineId), 'META');
  if (!pipeline) return new Set();
  const holders = (await activeBatches(pipelineId)).filter((b) => b.holds_slot).length;
  if (pipeline.active_runs > holders) {
    const repaired = await setSlotsHeld(pipelineId, pipeline.active_runs, holders);
    if (repaired) {
      logger.warn('gave back run slots that no batch held', {
        pipelineId,
        slots: pipeline.active_runs - holders,
      });
    }
  }
  return dispatchPending(pipelineId);
}

/** The step worker a run's worker type invokes (LARGE has its own, bigger function). */
export function workerArnFor(workerType: string | undefined): string {
  const config = platform().settings.pipelines;
  return workerType === 'LARGE' ? config.largeStepWorkerArn : config.stepWorkerArn;
}

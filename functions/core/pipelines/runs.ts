/**
 * Batches: one run of one pipeline version. The batch record is written (pending) before any
 * execution starts; `dispatchPending` then starts waiting batches while the pipeline has a
 * free run slot (`active_runs < max_concurrent_runs`, claimed with a conditional update).
 * Both the API and the finalizer dispatch, after their own write, so a run never waits for
 * a slot that was freed before it was queued.
 *
 * A batch leaves `running` exactly once, by a conditional update from running/pending to a
 * terminal state (completed, failed, stop); whoever wins that update releases the slot.
 * Step states and offsets are nested attributes updated in place, never read-modify-write,
 * so parallel steps cannot lose each other's updates.
 */
import { compilePipeline } from '../../../statemachines/compile.ts';
import type { Principal } from '../auth/principal.ts';
import {
  deleteItem,
  getItem,
  type Item,
  pageRequest,
  putItem,
  putNew,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import { BadStateError, NotFoundError } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { logger, metrics } from '../observability.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';

import { deletePrefix } from '../storage.ts';
import {
  type PipelineItem,
  pipelineKey,
  recordDeployment,
  requirePipeline,
  requireRunnable,
  requireVersion,
  type VersionItem,
} from './pipelines.ts';

export type BatchStatus = 'pending' | 'scheduled' | 'running' | 'stop' | 'completed' | 'failed';
export type StepState = 'none' | 'pending' | 'running' | 'success' | 'failed';
export const TERMINAL: readonly BatchStatus[] = ['stop', 'completed', 'failed'];

export interface StepRecord {
  state: StepState;
  offsets: Record<string, number>;
}

export interface BatchItem extends Item {
  id: string;
  pipeline_id: string;
  pipeline_version: number;
  name: string;
  deployment: string;
  status: BatchStatus;
  /** By step name (node names made unique). */
  steps: Record<string, StepRecord>;
  created_at: string;
  created_by: string;
  started_at: string | null;
  finished_at: string | null;
  execution_id?: string;
  /** What the engine starts the run from (its deployed version), written when the run is recorded. */
  engine_ref?: string;
  /** Set while the batch holds one of the pipeline's run slots. */
  holds_slot?: boolean;
  error?: string;
  timeout_minutes: number;
  num_workers: number;
  /** Worker size of the run (Data Flow's workerType); absent = DEFAULT. */
  worker_type?: string;
  parameters?: Record<string, unknown>;
  /** The trigger that started the run, if one did. */
  trigger_id?: string;
  trigger_name?: string;
  /** The workflow execution the run belongs to, if any. */
  workflow_execution_id?: string;
}

export const batchKey = (id: string) => `BATCH#${id}`;
const QUEUE = { pending: 'PENDING', active: 'ACTIVE' } as const;
const queueSk = (pipelineId: string, batchId: string) => `${pipelineId}#${batchId}`;

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
    finished_at: b.finished_at,
    ...(b.error ? { error: b.error } : {}),
    ...(b.trigger_id ? { trigger_id: b.trigger_id, trigger_name: b.trigger_name } : {}),
    ...(b.workflow_execution_id ? { workflow_execution_id: b.workflow_execution_id } : {}),
    state: { state: b.status, steps: b.steps },
  };
}

export async function findBatch(id: string): Promise<BatchItem | undefined> {
  return getItem<BatchItem>(batchKey(id));
}

export async function requireBatch(id: string, pipelineId?: string): Promise<BatchItem> {
  const batch = await findBatch(id);
  if (!batch || (pipelineId !== undefined && batch.pipeline_id !== pipelineId))
    throw new NotFoundError('BATCH', id);
  return batch;
}

export async function latestBatch(pipelineId: string): Promise<BatchItem> {
  await requirePipeline(pipelineId);
  const page = await queryPage<BatchItem>(
    { index: 'gsi1', partition: `BATCHES#${pipelineId}`, newestFirst: true },
    { limit: 1 },
  );
  const latest = page.items[0];
  if (!latest) throw new NotFoundError('BATCH', `latest of ${pipelineId}`);
  return (await findBatch(latest.id)) ?? latest;
}

export async function listBatches(pipelineId: string, limit?: number, token?: string) {
  await requirePipeline(pipelineId);
  const page = await queryPage<BatchItem>(
    { index: 'gsi1', partition: `BATCHES#${pipelineId}`, newestFirst: true },
    pageRequest(limit, token),
  );
  return dhubList(page.items.map(batchView), page.next);
}

export interface RunRequest {
  version?: number;
  principal: Pick<Principal, 'username'>;
  parameters?: Record<string, unknown>;
  /** Run settings for this run only (Data Flow's jobCondition). */
  overrides?: { timeout_minutes?: number; num_workers?: number; worker_type?: string };
  trigger?: { id: string; name: string };
  workflowExecutionId?: string;
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
  const batch = newBatch(pipeline, version, request, newId('batch'));
  const id = batch.id;
  await putNew(batch);
  await recordRunDay(batch);
  await noteLastRun(pipelineId, 'pending', batch.created_at);
  metrics.addMetric('RunsRequested', 'Count', 1);
  // Deployed here, by the caller that may deploy: whoever starts a waiting run later (the
  // finalizer or the reconciler, when a slot frees) only starts it.
  try {
    const ref = await deployment(batch, version);
    await updateItem(batchKey(id), 'META', {
      UpdateExpression: 'SET engine_ref = :ref',
      ExpressionAttributeValues: { ':ref': ref },
    });
  } catch (error) {
    logger.error('could not deploy a batch', { batchId: id, error: error as Error });
    await finishBatch(id, 'failed', NOT_STARTED);
    return { batch: (await findBatch(id)) ?? batch, started: false };
  }
  const started = await dispatchPending(pipelineId);
  return { batch: (await findBatch(id)) ?? batch, started: started.has(id) };
}

/** A new batch record of the pipeline version, waiting (`pending`) in the run queue. */
function newBatch(pipeline: PipelineItem, version: VersionItem, request: RunRequest, id: string): BatchItem {
  const steps: Record<string, StepRecord> = {};
  for (const node of version.plan) steps[node.step] = { state: 'none', offsets: {} };
  return {
    pk: batchKey(id),
    sk: 'META',
    gsi1pk: `BATCHES#${pipeline.id}`,
    gsi1sk: id,
    gsi2pk: QUEUE.pending,
    gsi2sk: queueSk(pipeline.id, id),
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
  };
}

/** Whether a new run of the pipeline would have to wait: every slot taken, or runs already waiting. */
export async function runWouldWait(
  pipeline: Pick<PipelineItem, 'id' | 'active_runs' | 'max_concurrent_runs'>,
) {
  if (pipeline.active_runs >= pipeline.max_concurrent_runs) return true;
  const waiting = await queryPage<BatchItem>(
    { index: 'gsi2', partition: QUEUE.pending, sortPrefix: `${pipeline.id}#` },
    { limit: 1 },
    false,
  );
  return waiting.items.length > 0;
}

async function claimSlot(pipelineId: string): Promise<boolean> {
  const claimed = await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = active_runs + :one',
    ConditionExpression: 'attribute_exists(pk) AND active_runs < max_concurrent_runs',
    ExpressionAttributeValues: { ':one': 1 },
  });
  return claimed !== undefined;
}

async function releaseSlot(pipelineId: string): Promise<void> {
  await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = active_runs - :one',
    ConditionExpression: 'attribute_exists(pk) AND active_runs > :zero',
    ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
  });
}

/**
 * Starts waiting batches of a pipeline, oldest first, while it has free run slots; answers
 * the ids of the batches it started.
 */
export async function dispatchPending(pipelineId: string): Promise<Set<string>> {
  const started = new Set<string>();
  for (;;) {
    const waiting = await queryPage<BatchItem>(
      { index: 'gsi2', partition: QUEUE.pending, sortPrefix: `${pipelineId}#` },
      { limit: 5 },
    );
    if (waiting.items.length === 0) return started;
    if (!(await claimSlot(pipelineId))) return started;
    let promoted: BatchItem | undefined;
    for (const candidate of waiting.items) {
      promoted = await promote(candidate.id);
      if (promoted) break;
    }
    if (!promoted) {
      await releaseSlot(pipelineId);
      continue;
    }
    if (await startExecution(promoted)) started.add(promoted.id);
  }
}

/** pending → running for the holder of a fresh slot; undefined when the batch moved on meanwhile. */
async function promote(batchId: string): Promise<BatchItem | undefined> {
  const current = await findBatch(batchId);
  if (current?.status !== 'pending') return undefined;
  const steps: Record<string, StepRecord> = {};
  for (const name of Object.keys(current.steps)) steps[name] = { state: 'pending', offsets: {} };
  return updateItem<BatchItem>(batchKey(batchId), 'META', {
    UpdateExpression:
      'SET #status = :running, started_at = :now, steps = :steps, holds_slot = :yes, gsi2pk = :active',
    ConditionExpression: '#status = :pending',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':running': 'running',
      ':pending': 'pending',
      ':now': new Date().toISOString(),
      ':steps': steps,
      ':yes': true,
      ':active': QUEUE.active,
    },
  });
}

const MAX_RUN_MINUTES = 1440;
const NOT_STARTED = 'The run could not be started; see the service logs for the request id.';

const settingsKey = (b: BatchItem) =>
  `t${b.timeout_minutes}-w${b.num_workers}${b.worker_type && b.worker_type !== 'DEFAULT' ? `-${b.worker_type}` : ''}`;

/** Deploys the batch's version (once per run settings) and returns what to start it from. */
async function deployment(batch: BatchItem, version: VersionItem): Promise<string> {
  const key = settingsKey(batch);
  const known = version.engine_refs?.[key];
  if (known) return known;
  const definition = compilePipeline({
    pipelineId: batch.pipeline_id,
    version: version.version,
    nodes: version.plan.map((n) => ({
      key: n.key,
      stepName: n.step,
      parents: n.parents,
      partitioned: n.kind === 'source',
    })),
    // Data Flow's timeout 0 means no limit of the job's own: the platform's longest run applies.
    timeoutSeconds: (batch.timeout_minutes || MAX_RUN_MINUTES) * 60,
    maxConcurrency: batch.num_workers,
    workerArn: workerArnFor(batch.worker_type),
  });
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
    await updateItem(batchKey(batch.id), 'META', {
      UpdateExpression: 'SET execution_id = :id',
      ExpressionAttributeValues: { ':id': executionId },
    });
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
  const queued = newBatch(pipeline, version, request, batchId);
  const steps: Record<string, StepRecord> = {};
  for (const name of Object.keys(queued.steps)) steps[name] = { state: 'pending', offsets: {} };
  const batch: BatchItem = {
    ...queued,
    status: 'running',
    started_at: queued.created_at,
    steps,
    holds_slot: true,
    gsi2pk: QUEUE.active,
  };
  if (!(await putNew(batch))) {
    // A concurrent call with the same id won: it holds the slot for this batch.
    await releaseSlot(pipelineId);
    return recordRun(pipelineId, request, batchId);
  }
  await recordRunDay(batch);
  await noteLastRun(pipelineId, 'running', batch.created_at);
  metrics.addMetric('RunsRequested', 'Count', 1);
  try {
    const ref = await deployment(batch, version);
    const executionId = platform().engine.executionIdOf(ref, batch.id);
    await updateItem(batchKey(batch.id), 'META', {
      UpdateExpression: 'SET execution_id = :id',
      ExpressionAttributeValues: { ':id': executionId },
    });
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
  outcome: 'completed' | 'failed' | 'stop',
  reason?: string,
  /** false when recovering after a restart: slots are reset and dispatched afterwards. */
  handOver = true,
): Promise<BatchItem | undefined> {
  const now = new Date().toISOString();
  const before = await settle(batchId, outcome, now, reason);
  if (!before) return undefined;
  metrics.addMetric(
    outcome === 'completed' ? 'RunsCompleted' : outcome === 'failed' ? 'RunsFailed' : 'RunsStopped',
    'Count',
    1,
  );
  await recordRunDay({ ...before, status: outcome, finished_at: now, started_at: before.started_at ?? now });
  await noteLastRun(before.pipeline_id, outcome, now);
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

/** What a step the run never finished becomes: running ones failed, waiting ones never started. */
function settledState(state: StepState, outcome: BatchStatus): StepState | undefined {
  if (state === 'running') return outcome === 'completed' ? 'success' : 'failed';
  if (state === 'pending') return outcome === 'completed' ? 'success' : 'none';
  return undefined;
}

/**
 * The terminal update: the status and every unfinished step in one conditional write, so no
 * reader sees a finished batch with steps still waiting. A step that moved meanwhile (a worker
 * reporting) fails the condition and the batch is read again. Answers the batch as it was, or
 * undefined when it had already finished.
 */
async function settle(
  batchId: string,
  outcome: 'completed' | 'failed' | 'stop',
  now: string,
  reason: string | undefined,
): Promise<BatchItem | undefined> {
  for (;;) {
    const current = await findBatch(batchId);
    if (!current || TERMINAL.includes(current.status)) return undefined;
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':outcome': outcome, ':now': now, ':was': current.status };
    const sets = ['#status = :outcome', 'finished_at = :now', 'started_at = if_not_exists(started_at, :now)'];
    const conditions = ['#status = :was'];
    if (reason) {
      names['#error'] = 'error';
      values[':reason'] = reason;
      sets.push('#error = :reason');
    }
    Object.entries(current.steps).forEach(([name, step], i) => {
      const next = settledState(step.state, outcome);
      if (!next) return;
      names['#state'] = 'state';
      names[`#s${i}`] = name;
      values[`:next${i}`] = next;
      values[`:was${i}`] = step.state;
      sets.push(`steps.#s${i}.#state = :next${i}`);
      conditions.push(`steps.#s${i}.#state = :was${i}`);
    });
    const done = await updateItem<BatchItem>(batchKey(batchId), 'META', {
      UpdateExpression: `SET ${sets.join(', ')} REMOVE gsi2pk, gsi2sk, holds_slot`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (done) return current;
  }
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
  const items = await queryAll<Item & { sk: string }>({ partition: batchKey(batchId) });
  for (const item of items) if (item.sk !== 'META') await deleteItem(batchKey(batchId), item.sk);
  await deletePrefix(`runs/${batchId}/`);
  await deleteItem(runDayKey(batch.created_at.slice(0, 10)), `${batch.created_at}#${batch.id}`);
  await deleteItem(batchKey(batchId));
}

/** Removes every batch of a pipeline (its delete); running ones need `force`. */
export async function removeRuns(pipelineId: string, force: boolean): Promise<void> {
  const batches = await queryAll<BatchItem>({ index: 'gsi1', partition: `BATCHES#${pipelineId}` });
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
  const active = await queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.active });
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
  for (const pipeline of pipelines) {
    await updateItem(pipelineKey(pipeline.id), 'META', {
      UpdateExpression: 'SET active_runs = :zero',
      ExpressionAttributeValues: { ':zero': 0 },
    });
  }
  const waiting = await queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.pending });
  for (const id of new Set(waiting.map((b) => b.pipeline_id))) await dispatchPending(id);
  return active.length;
}

/** Batches holding or waiting for a run slot (the reconciler's worklist): one Query each. */
export async function unfinishedBatches(): Promise<{ active: BatchItem[]; waiting: BatchItem[] }> {
  const [active, waiting] = await Promise.all([
    queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.active }),
    queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.pending }),
  ]);
  return { active, waiting };
}

/**
 * Gives a pipeline back the run slots that no batch holds (a process that died between taking
 * a slot and recording its batch), then starts what waits for them. Answers the batches started.
 */
export async function repairSlots(pipelineId: string): Promise<Set<string>> {
  const pipeline = await getItem<PipelineItem>(pipelineKey(pipelineId), 'META');
  if (!pipeline) return new Set();
  const holders = (
    await queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.active, sortPrefix: `${pipelineId}#` })
  ).filter((b) => b.holds_slot).length;
  if (pipeline.active_runs > holders) {
    const repaired = await updateItem(pipelineKey(pipelineId), 'META', {
      UpdateExpression: 'SET active_runs = :holders',
      ConditionExpression: 'active_runs = :seen',
      ExpressionAttributeValues: { ':holders': holders, ':seen': pipeline.active_runs },
    });
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

/**
 * One small item per run in the partition of the day it was created (UTC), kept in step
 * with the run's status: the dashboard reads a day with one Query instead of scanning runs.
 */
export const runDayKey = (day: string) => `RUNDAY#${day}`;

async function recordRunDay(batch: BatchItem): Promise<void> {
  const day = batch.created_at.slice(0, 10);
  const started = batch.started_at ? Date.parse(batch.started_at) : undefined;
  const finished = batch.finished_at ? Date.parse(batch.finished_at) : undefined;
  await putItem({
    pk: runDayKey(day),
    sk: `${batch.created_at}#${batch.id}`,
    entity: 'run-day',
    batch_id: batch.id,
    pipeline_id: batch.pipeline_id,
    status: batch.status,
    created_at: batch.created_at,
    ...(started !== undefined && finished !== undefined ? { duration_ms: finished - started } : {}),
    ...(batch.finished_at ? { finished_at: batch.finished_at } : {}),
  });
}

/** The pipeline item keeps its latest run's status and time (Data Flow's lastExecution*). */
async function noteLastRun(pipelineId: string, status: BatchStatus, at: string): Promise<void> {
  await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET last_run_status = :s, last_run_at = :at',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(last_run_at) OR last_run_at <= :at)',
    ExpressionAttributeValues: { ':s': status, ':at': at },
  });
}

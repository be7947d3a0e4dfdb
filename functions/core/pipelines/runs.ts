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
import { pipelinesConfig } from '../config.ts';
import {
  deleteItem,
  getItem,
  type Item,
  pageRequest,
  putNew,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import { engine } from '../engine/engine.ts';
import { BadStateError, NotFoundError } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { logger, metrics } from '../observability.ts';
import { dhubList } from '../paging.ts';
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
  /** Set while the batch holds one of the pipeline's run slots. */
  holds_slot?: boolean;
  error?: string;
  timeout_minutes: number;
  num_workers: number;
  parameters?: Record<string, unknown>;
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
  const steps: Record<string, StepRecord> = {};
  for (const node of version.plan) steps[node.step] = { state: 'none', offsets: {} };
  const batch: BatchItem = {
    pk: batchKey(id),
    sk: 'META',
    gsi1pk: `BATCHES#${pipelineId}`,
    gsi1sk: id,
    gsi2pk: QUEUE.pending,
    gsi2sk: queueSk(pipelineId, id),
    id,
    pipeline_id: pipelineId,
    pipeline_version: version.version,
    name: pipeline.name,
    deployment: `run-pipeline/${pipeline.name}`,
    status: 'pending',
    steps,
    created_at: new Date().toISOString(),
    created_by: request.principal.username,
    started_at: null,
    finished_at: null,
    timeout_minutes: pipeline.timeout_minutes,
    num_workers: pipeline.num_workers,
    ...(request.parameters ? { parameters: request.parameters } : {}),
  };
  await putNew(batch);
  metrics.addMetric('RunsRequested', 'Count', 1);
  const started = await dispatchPending(pipelineId);
  return { batch: (await findBatch(id)) ?? batch, started: started.has(id) };
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

const settingsKey = (b: BatchItem) => `t${b.timeout_minutes}-w${b.num_workers}`;

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
    timeoutSeconds: batch.timeout_minutes * 60,
    maxConcurrency: batch.num_workers,
    workerArn: pipelinesConfig().stepWorkerArn,
  });
  const ref = await (await engine()).deploy({
    pipelineId: batch.pipeline_id,
    version: version.version,
    definition,
  });
  await recordDeployment(batch.pipeline_id, version.version, key, ref);
  return ref;
}

async function startExecution(batch: BatchItem): Promise<boolean> {
  try {
    const pipeline = await requirePipeline(batch.pipeline_id);
    const version = await requireVersion(pipeline, batch.pipeline_version);
    const ref = await deployment(batch, version);
    const executionId = await (await engine()).start({
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
    await finishBatch(
      batch.id,
      'failed',
      'The run could not be started; see the service logs for the request id.',
    );
    return false;
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
  const before = await updateItem<BatchItem>(batchKey(batchId), 'META', {
    UpdateExpression: `SET #status = :outcome, finished_at = :now, started_at = if_not_exists(started_at, :now)${
      reason ? ', #error = :reason' : ''
    } REMOVE gsi2pk, gsi2sk, holds_slot`,
    ConditionExpression: '#status IN (:pending, :scheduled, :running)',
    ExpressionAttributeNames: { '#status': 'status', ...(reason ? { '#error': 'error' } : {}) },
    ExpressionAttributeValues: {
      ':outcome': outcome,
      ':now': now,
      ':pending': 'pending',
      ':scheduled': 'scheduled',
      ':running': 'running',
      ...(reason ? { ':reason': reason } : {}),
    },
    ReturnValues: 'ALL_OLD',
  });
  if (!before) return undefined;
  metrics.addMetric(
    outcome === 'completed' ? 'RunsCompleted' : outcome === 'failed' ? 'RunsFailed' : 'RunsStopped',
    'Count',
    1,
  );
  await settleSteps(before, outcome);
  if (!handOver) return findBatch(batchId);
  if (before.holds_slot) await releaseSlot(before.pipeline_id);
  await dispatchPending(before.pipeline_id);
  return findBatch(batchId);
}

/** Steps the run never finished: running ones failed, waiting ones never started. */
async function settleSteps(batch: BatchItem, outcome: BatchStatus): Promise<void> {
  for (const [name, step] of Object.entries(batch.steps)) {
    let next: StepState | undefined;
    if (step.state === 'running') next = outcome === 'completed' ? 'success' : 'failed';
    else if (step.state === 'pending') next = outcome === 'completed' ? 'success' : 'none';
    if (!next) continue;
    await updateItem(batchKey(batch.id), 'META', {
      UpdateExpression: 'SET steps.#name.#state = :next',
      ConditionExpression: 'steps.#name.#state = :was',
      ExpressionAttributeNames: { '#name': name, '#state': 'state' },
      ExpressionAttributeValues: { ':next': next, ':was': step.state },
    });
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
  if (executionId) await (await engine()).stop(executionId, 'Stopped on request.');
}

/** Deletes a batch with its traces and run data, stopping it first when it is still running. */
export async function deleteBatch(pipelineId: string, batchId: string): Promise<void> {
  const batch = await requireBatch(batchId, pipelineId);
  if (!TERMINAL.includes(batch.status)) {
    await finishBatch(batchId, 'stop', 'Stopped because the batch was deleted.');
    if (batch.execution_id) await (await engine()).stop(batch.execution_id, 'Batch deleted.');
  }
  const items = await queryAll<Item & { sk: string }>({ partition: batchKey(batchId) });
  for (const item of items) if (item.sk !== 'META') await deleteItem(batchKey(batchId), item.sk);
  await deletePrefix(`runs/${batchId}/`);
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

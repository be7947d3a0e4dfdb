/**
 * The run store: the only code that writes run records. It owns their keys and every write to
 * them, as named operations that the API's runs code (runs.ts), the step worker, the finalizer
 * and the reconciler (through runs.ts) call:
 *
 * - the batch (`BATCH#{id}` / `META`): listed per pipeline through gsi1 (`BATCHES#{pipeline}`,
 *   newest first) and, while it waits for or holds a run slot, through gsi2 (`PENDING` /
 *   `ACTIVE`, sorted `{pipeline}#{batch}`);
 * - its traces (`TRACE#{position}` in the batch's partition, in execution order);
 * - the run-day index (`RUNDAY#{day}`, one small item per run, read by the dashboard);
 * - the run bookkeeping on the pipeline item: its run slots (`active_runs`) and its last run.
 *
 * dynalite has no transactions, so each write is one conditional single-item update. A batch
 * leaves pending/running exactly once (`settleBatch`), whoever asks; step states and offsets
 * are nested attributes updated in place, never read-modify-write, so parallel steps cannot
 * lose each other's updates, and they are only written while the batch runs.
 */
import {
  deleteItem,
  getItem,
  type Item,
  putItem,
  putNew,
  type QueryPage,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import type { PageRequest } from '../paging.ts';
import { pipelineKey } from './pipelines.ts';

export type BatchStatus = 'pending' | 'scheduled' | 'running' | 'stop' | 'completed' | 'failed';
export type StepState = 'none' | 'pending' | 'running' | 'success' | 'failed';
export const TERMINAL: readonly BatchStatus[] = ['stop', 'completed', 'failed'];
export type BatchOutcome = 'completed' | 'failed' | 'stop';

export interface StepRecord {
  state: StepState;
  offsets: Record<string, number>;
}

/** A batch's own fields (what its writer describes; the store adds the keys). */
export interface BatchFields {
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
  /** The batch this one reruns (rerun.ts). */
  rerun_of?: string;
  /** The stages whose results this batch takes from `rerun_of` instead of running them. */
  reused_stages?: string[];
  /** The engine asked for (the pipeline's, or the run's jobCondition); absent = AUTO. */
  engine?: 'AUTO' | 'DUCKDB' | 'ATHENA';
  /** The engine each node runs on, chosen when the batch was recorded; absent = DuckDB throughout. */
  engines?: Record<string, 'DUCKDB' | 'ATHENA'>;
  /** The engine of each stage of the batch's plan (by stage id), as it ran. */
  stage_engines?: Record<string, 'DUCKDB' | 'ATHENA'>;
}

/** A stored batch: its fields and its keys. */
export interface BatchItem extends Item, BatchFields {}

/** A new batch: waiting in the run queue, or already running (holding a slot). */
export type NewBatch = BatchFields & { status: 'pending' | 'running' };

export type TraceState = 'running' | 'success' | 'failed';

export interface TraceItem extends Item {
  batch_id: string;
  node_id: string;
  node_name: string;
  node_type: string;
  position: number;
  state: TraceState;
  started_at: string;
  finished_at?: string;
  duration_ms?: number;
  rows_in: number;
  rows_out: number;
  bytes_in: number;
  bytes_out: number;
  partitions?: number;
  error?: string;
  logs: string[];
  sample?: { columns: string[]; rows: unknown[][] };
  /** The batch whose result of this node a rerun took instead of running it. */
  reused_from?: string;
  /** The engine the node's stage ran on. */
  engine?: 'DUCKDB' | 'ATHENA';
}

/** What identifies a node's trace within its batch: enough to write it when it does not exist yet. */
export type TraceStart = Pick<TraceItem, 'batch_id' | 'node_id' | 'node_name' | 'node_type' | 'position'> &
  Pick<Partial<TraceItem>, 'engine'>;

export type TraceCounts = Partial<Record<'rows_in' | 'rows_out' | 'bytes_in' | 'bytes_out', number>>;

const batchKey = (id: string) => `BATCH#${id}`;
const batchesOf = (pipelineId: string) => `BATCHES#${pipelineId}`;
const TRACE = 'TRACE#';
const traceSk = (position: number) => `${TRACE}${String(position).padStart(4, '0')}`;
/** The run queue (gsi2): batches waiting for a run slot, and batches holding one. */
const QUEUE = { pending: 'PENDING', active: 'ACTIVE' } as const;
const queueSk = (pipelineId: string, batchId: string) => `${pipelineId}#${batchId}`;

/**
 * One small item per run in the partition of the day it was created (UTC), kept in step
 * with the run's status: the dashboard reads a day with one Query instead of scanning runs.
 */
export const runDayKey = (day: string) => `RUNDAY#${day}`;
const runDaySk = (batch: Pick<BatchItem, 'created_at' | 'id'>) => `${batch.created_at}#${batch.id}`;

// ---------------------------------------------------------------------------------------------
// Reading batches

export function getBatch(id: string): Promise<BatchItem | undefined> {
  return getItem<BatchItem>(batchKey(id));
}

/** One page of a pipeline's batches, newest first. */
export function batchesPage(pipelineId: string, page: PageRequest): Promise<QueryPage<BatchItem>> {
  return queryPage<BatchItem>({ index: 'gsi1', partition: batchesOf(pipelineId), newestFirst: true }, page);
}

/** Every batch of a pipeline (its delete). */
export function allBatchesOf(pipelineId: string): Promise<BatchItem[]> {
  return queryAll<BatchItem>({ index: 'gsi1', partition: batchesOf(pipelineId) });
}

/** The oldest batches of a pipeline waiting for a run slot. */
export function waitingBatches(pipelineId: string, limit: number, lookAhead = true): Promise<BatchItem[]> {
  return queryPage<BatchItem>(
    { index: 'gsi2', partition: QUEUE.pending, sortPrefix: `${pipelineId}#` },
    { limit },
    lookAhead,
  ).then((page) => page.items);
}

/** Batches holding a run slot (running), of one pipeline or of all. */
export function activeBatches(pipelineId?: string): Promise<BatchItem[]> {
  return queryAll<BatchItem>({
    index: 'gsi2',
    partition: QUEUE.active,
    ...(pipelineId !== undefined ? { sortPrefix: `${pipelineId}#` } : {}),
  });
}

/** Batches of every pipeline waiting for a run slot. */
export function pendingBatches(): Promise<BatchItem[]> {
  return queryAll<BatchItem>({ index: 'gsi2', partition: QUEUE.pending });
}

// ---------------------------------------------------------------------------------------------
// Writing batches

/**
 * Records a new batch (waiting in the run queue when `pending`, holding a slot when `running`),
 * its run-day item and the pipeline's last run. Answers the stored batch, or undefined when a
 * batch with the same id already exists (nothing is written then).
 */
export async function recordBatch(batch: NewBatch): Promise<BatchItem | undefined> {
  const item: BatchItem = {
    pk: batchKey(batch.id),
    sk: 'META',
    gsi1pk: batchesOf(batch.pipeline_id),
    gsi1sk: batch.id,
    gsi2pk: batch.status === 'pending' ? QUEUE.pending : QUEUE.active,
    gsi2sk: queueSk(batch.pipeline_id, batch.id),
    ...batch,
  };
  if (!(await putNew(item))) return undefined;
  await recordRunDay(item);
  await noteLastRun(item.pipeline_id, item.status, item.created_at);
  return item;
}

/** Notes what the engine starts the batch from (its deployed version). */
export async function setEngineRef(batchId: string, ref: string): Promise<void> {
  await updateItem(batchKey(batchId), 'META', {
    UpdateExpression: 'SET engine_ref = :ref',
    ExpressionAttributeValues: { ':ref': ref },
  });
}

/** Notes the id of the batch's execution, so that it can be stopped. */
export async function setExecutionId(batchId: string, executionId: string): Promise<void> {
  await updateItem(batchKey(batchId), 'META', {
    UpdateExpression: 'SET execution_id = :id',
    ExpressionAttributeValues: { ':id': executionId },
  });
}

/**
 * pending → running for the holder of a fresh run slot: every step becomes pending and the
 * batch moves to the active queue. Undefined when the batch moved on meanwhile.
 */
export async function promoteBatch(batchId: string): Promise<BatchItem | undefined> {
  const current = await getBatch(batchId);
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

/** What a step the run never finished becomes: running ones failed, waiting ones never started. */
function settledState(state: StepState, outcome: BatchStatus): StepState | undefined {
  if (state === 'running') return outcome === 'completed' ? 'success' : 'failed';
  if (state === 'pending') return outcome === 'completed' ? 'success' : 'none';
  return undefined;
}

/**
 * Moves a batch to a terminal state, once: the status and every unfinished step in one
 * conditional write, so no reader sees a finished batch with steps still waiting. A step that
 * moved meanwhile (a worker reporting) fails the condition and the batch is read again. The
 * batch leaves the run queue; its run-day item and the pipeline's last run follow. Answers the
 * batch as it was before and the time it finished, or undefined when it had already finished.
 */
export async function settleBatch(
  batchId: string,
  outcome: BatchOutcome,
  reason: string | undefined,
): Promise<{ before: BatchItem; finishedAt: string } | undefined> {
  const now = new Date().toISOString();
  for (;;) {
    const current = await getBatch(batchId);
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
    if (!done) continue;
    await recordRunDay({
      ...current,
      status: outcome,
      finished_at: now,
      started_at: current.started_at ?? now,
    });
    await noteLastRun(current.pipeline_id, outcome, now);
    return { before: current, finishedAt: now };
  }
}

/** Removes everything in a batch's partition but the batch itself (its traces). */
export async function deleteBatchTraces(batchId: string): Promise<void> {
  const items = await queryAll<Item & { sk: string }>({ partition: batchKey(batchId) });
  for (const item of items) if (item.sk !== 'META') await deleteItem(batchKey(batchId), item.sk);
}

/** Removes a batch and its run-day item (after its traces: see deleteBatchTraces). */
export async function deleteBatchRecord(batch: Pick<BatchItem, 'id' | 'created_at'>): Promise<void> {
  await deleteItem(runDayKey(batch.created_at.slice(0, 10)), runDaySk(batch));
  await deleteItem(batchKey(batch.id));
}

async function recordRunDay(batch: BatchItem): Promise<void> {
  const day = batch.created_at.slice(0, 10);
  const started = batch.started_at ? Date.parse(batch.started_at) : undefined;
  const finished = batch.finished_at ? Date.parse(batch.finished_at) : undefined;
  await putItem({
    pk: runDayKey(day),
    sk: runDaySk(batch),
    entity: 'run-day',
    batch_id: batch.id,
    pipeline_id: batch.pipeline_id,
    status: batch.status,
    created_at: batch.created_at,
    ...(started !== undefined && finished !== undefined ? { duration_ms: finished - started } : {}),
    ...(batch.finished_at ? { finished_at: batch.finished_at } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Steps of a running batch (the step worker)

/** Step states and offsets to set in one write (`recordSteps`). */
export interface StepChanges {
  states?: Readonly<Record<string, 'running' | 'success' | 'failed'>>;
  /** Rows per step of one partition. */
  offsets?: { partition: number; rows: ReadonlyArray<{ step: string; rows: number }> };
}

/**
 * Sets several steps' states and offsets in one write while the batch runs (the nodes of one
 * stage as they start and finish); false when it no longer runs (nothing written).
 */
export async function recordSteps(batchId: string, changes: StepChanges): Promise<boolean> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':running': 'running' };
  const sets: string[] = [];
  let n = 0;
  for (const [step, state] of Object.entries(changes.states ?? {})) {
    names[`#s${n}`] = step;
    names['#state'] = 'state';
    values[`:v${n}`] = state;
    sets.push(`steps.#s${n}.#state = :v${n}`);
    n += 1;
  }
  if (changes.offsets && changes.offsets.rows.length > 0) {
    names['#p'] = `partition_${changes.offsets.partition}`;
    for (const r of changes.offsets.rows) {
      names[`#s${n}`] = r.step;
      values[`:v${n}`] = r.rows;
      sets.push(`steps.#s${n}.offsets.#p = :v${n}`);
      n += 1;
    }
  }
  if (sets.length === 0) return true;
  const updated = await updateItem(batchKey(batchId), 'META', {
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
  return updated !== undefined;
}

/** The attribute of the batch item that keeps a partitioned source's plan (`recordSourcePlan`). */
const sourcePlanAttribute = (sourceKey: string) => `source_plan_${sourceKey}`;

/**
 * Keeps a partitioned source's plan on the batch item while the batch runs (a small plan only:
 * the item is read on every status request), so that the stages after it find it in the batch
 * they read anyway instead of in S3. False when the batch no longer runs (nothing written).
 */
export async function recordSourcePlan(batchId: string, sourceKey: string, plan: object): Promise<boolean> {
  const updated = await updateItem(batchKey(batchId), 'META', {
    UpdateExpression: 'SET #plan = :plan',
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: { '#plan': sourcePlanAttribute(sourceKey), '#status': 'status' },
    ExpressionAttributeValues: { ':plan': plan, ':running': 'running' },
  });
  return updated !== undefined;
}

/** A source's plan kept on the batch by `recordSourcePlan`, if it was. */
export function sourcePlanOf<T>(batch: BatchItem, sourceKey: string): T | undefined {
  return (batch as Record<string, unknown>)[sourcePlanAttribute(sourceKey)] as T | undefined;
}

/** Sets several steps' state at once while the batch runs; false when it no longer runs. */
export function markSteps(
  batchId: string,
  steps: readonly string[],
  state: 'running' | 'success' | 'failed',
): Promise<boolean> {
  return recordSteps(batchId, { states: Object.fromEntries(steps.map((step) => [step, state])) });
}

/** Records the rows several steps wrote for one partition at once, while the batch runs. */
export async function recordOffsets(
  batchId: string,
  partition: number,
  rows: ReadonlyArray<{ step: string; rows: number }>,
): Promise<void> {
  await recordSteps(batchId, { offsets: { partition, rows } });
}

// ---------------------------------------------------------------------------------------------
// Traces

export function getTrace(batchId: string, position: number): Promise<TraceItem | undefined> {
  return getItem<TraceItem>(batchKey(batchId), traceSk(position));
}

/** A batch's traces in execution order. */
export function tracesOf(batchId: string): Promise<TraceItem[]> {
  return queryAll<TraceItem>({ partition: batchKey(batchId), sortPrefix: TRACE });
}

/** Writes a node's trace as it starts running (or, with `extra`, as it already is). */
export async function startTrace(start: TraceStart, extra: Partial<TraceItem> = {}): Promise<void> {
  const trace: TraceItem = {
    pk: batchKey(start.batch_id),
    sk: traceSk(start.position),
    ...start,
    state: 'running',
    started_at: new Date().toISOString(),
    rows_in: 0,
    rows_out: 0,
    bytes_in: 0,
    bytes_out: 0,
    logs: [],
    ...extra,
  };
  await putItem(trace);
}

/** Adds to a trace's counters (partitions report concurrently) and appends log lines. */
export async function addToTrace(
  batchId: string,
  position: number,
  counts: TraceCounts,
  logs: string[] = [],
): Promise<void> {
  const adds = Object.entries(counts).filter(([, v]) => v !== undefined && v !== 0);
  const parts: string[] = [];
  const values: Record<string, unknown> = {};
  if (adds.length > 0) parts.push(`ADD ${adds.map(([k]) => `${k} :${k}`).join(', ')}`);
  for (const [k, v] of adds) values[`:${k}`] = v;
  if (logs.length > 0) {
    parts.push('SET #logs = list_append(#logs, :logs)');
    values[':logs'] = logs;
  }
  if (parts.length === 0) return;
  await updateItem(batchKey(batchId), traceSk(position), {
    UpdateExpression: parts.join(' '),
    ConditionExpression: 'attribute_exists(pk)',
    ...(logs.length > 0 ? { ExpressionAttributeNames: { '#logs': 'logs' } } : {}),
    ExpressionAttributeValues: values,
  });
}

/** Sets the first rows of a node's output on its trace. */
export async function setTraceSample(batchId: string, position: number, sample: TraceItem['sample']) {
  await updateItem(batchKey(batchId), traceSk(position), {
    UpdateExpression: 'SET #sample = :sample',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#sample': 'sample' },
    ExpressionAttributeValues: { ':sample': sample },
  });
}

/** Ends a node's trace (writing it whole when it was never started), with its duration. */
export async function finishTrace(
  start: TraceStart,
  state: 'success' | 'failed',
  extra: { error?: string; sample?: TraceItem['sample'] } = {},
): Promise<void> {
  const current = await getTrace(start.batch_id, start.position);
  const finished = new Date();
  const started = current ? Date.parse(current.started_at) : finished.getTime();
  const sets = ['#state = :state', 'finished_at = :finished', 'duration_ms = :duration'];
  const values: Record<string, unknown> = {
    ':state': state,
    ':finished': finished.toISOString(),
    ':duration': finished.getTime() - started,
  };
  if (extra.error !== undefined) {
    sets.push('#error = :error');
    values[':error'] = extra.error;
  }
  if (extra.sample) {
    sets.push('#sample = :sample');
    values[':sample'] = extra.sample;
  }
  if (!current) {
    await startTrace(start, { state, finished_at: finished.toISOString(), duration_ms: 0, ...extra });
    return;
  }
  await updateItem(batchKey(start.batch_id), traceSk(start.position), {
    UpdateExpression: `SET ${sets.join(', ')}`,
    ExpressionAttributeNames: {
      '#state': 'state',
      ...(extra.error !== undefined ? { '#error': 'error' } : {}),
      ...(extra.sample ? { '#sample': 'sample' } : {}),
    },
    ExpressionAttributeValues: values,
  });
}

// ---------------------------------------------------------------------------------------------
// Run slots and the last run, on the pipeline item

/** Takes one of the pipeline's run slots; false when every slot is taken. */
export async function claimSlot(pipelineId: string): Promise<boolean> {
  const claimed = await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = active_runs + :one',
    ConditionExpression: 'attribute_exists(pk) AND active_runs < max_concurrent_runs',
    ExpressionAttributeValues: { ':one': 1 },
  });
  return claimed !== undefined;
}

/** Gives one run slot back. */
export async function releaseSlot(pipelineId: string): Promise<void> {
  await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = active_runs - :one',
    ConditionExpression: 'attribute_exists(pk) AND active_runs > :zero',
    ExpressionAttributeValues: { ':one': 1, ':zero': 0 },
  });
}

/** Frees every run slot of a pipeline (nothing runs in a host that just started). */
export async function freeAllSlots(pipelineId: string): Promise<void> {
  await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = :zero',
    ExpressionAttributeValues: { ':zero': 0 },
  });
}

/**
 * Sets the pipeline's taken slots to the number of batches holding one, unless the count moved
 * from `seen` meanwhile; answers whether it was set.
 */
export async function setSlotsHeld(pipelineId: string, seen: number, holders: number): Promise<boolean> {
  const repaired = await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET active_runs = :holders',
    ConditionExpression: 'active_runs = :seen',
    ExpressionAttributeValues: { ':holders': holders, ':seen': seen },
  });
  return repaired !== undefined;
}

/** The pipeline item keeps its latest run's status and time (Data Flow's lastExecution*). */
async function noteLastRun(pipelineId: string, status: BatchStatus, at: string): Promise<void> {
  await updateItem(pipelineKey(pipelineId), 'META', {
    UpdateExpression: 'SET last_run_status = :s, last_run_at = :at',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(last_run_at) OR last_run_at <= :at)',
    ExpressionAttributeValues: { ':s': status, ':at': at },
  });
}

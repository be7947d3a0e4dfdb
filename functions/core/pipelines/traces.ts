/**
 * Traces: one record per node of a batch, written by the step worker as the node runs
 * (state, times, rows and bytes in and out, error, log lines, the first rows of output).
 * They live in the batch's partition, in execution order.
 *
 * Two views: the tutorial's `GET /traces?pipeline_id=&batch_id=` (per-node records), and the
 * D.Hub Traces API's trace object (`/traces/pipelines/...`, `/traces/steps/...`), built from
 * the batch record and these records. The run store (run-store.ts) writes and reads them.
 */
import { pageRequest } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { encodeToken } from '../paging.ts';
import { requirePipeline } from './pipelines.ts';
import {
  type BatchItem,
  batchesPage,
  type StepRecord,
  type StepState,
  type TraceItem,
  tracesOf,
} from './run-store.ts';
import { batchView, latestBatch, requireBatch } from './runs.ts';

export function traceView(t: TraceItem) {
  return {
    node_id: t.node_id,
    node_name: t.node_name,
    node_type: t.node_type,
    state: t.state,
    started_at: t.started_at,
    finished_at: t.finished_at ?? null,
    duration_ms: t.duration_ms ?? null,
    rows_in: t.rows_in,
    rows_out: t.rows_out,
    bytes_in: t.bytes_in,
    bytes_out: t.bytes_out,
    ...(t.partitions !== undefined ? { partitions: t.partitions } : {}),
    error: t.error ?? null,
    logs: t.logs,
    sample: t.sample ?? null,
    ...(t.reused_from ? { reused: true, reused_from: t.reused_from } : {}),
    ...(t.engine ? { engine: t.engine } : {}),
  };
}

/** Traces of a batch (or of the pipeline's latest batch when only the pipeline is named). */
export async function listTraces(pipelineId: string | undefined, batchId: string | undefined) {
  if (!pipelineId && !batchId) {
    throw ValidationError.of([{ field: 'query.batch_id', message: 'pipeline_id or batch_id is required' }]);
  }
  const batch = batchId ? await requireBatch(batchId, pipelineId) : await latestBatch(pipelineId as string);
  const traces = await tracesOf(batch.id);
  const view = batchView(batch);
  return {
    pipeline_id: batch.pipeline_id,
    batch_id: batch.id,
    status: view.status,
    started_at: view.started_at,
    finished_at: view.finished_at,
    ...(batch.error ? { error: batch.error } : {}),
    traces: traces.map(traceView),
  };
}

// ---------------------------------------------------------------------------------------------
// The D.Hub Traces API

/** ISO time as epoch milliseconds (the Traces API's unit), null when absent. */
function epochMs(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The Traces API names a finished step `completed`; the batch object's `success`. */
function traceState(state: StepState | TraceItem['state']): string {
  return state === 'success' ? 'completed' : state;
}

/** The step's error message, never a stack: the first line of what the worker recorded. */
function errorLine(error: string | undefined): string | null {
  if (!error) return null;
  return error.split('\n')[0] ?? error;
}

export interface StepTrace {
  state: string;
  offsets: Record<string, number>;
  comment: string | null;
  stacktrace: string | null;
  start_time: number | null;
  end_time: number | null;
  [extra: string]: unknown;
}

function stepTrace(step: StepRecord | undefined, trace: TraceItem | undefined): StepTrace {
  const partitions = step?.offsets ?? {};
  const records = trace?.rows_out ?? Object.values(partitions).reduce((sum, rows) => sum + rows, 0);
  return {
    state: traceState(step?.state ?? trace?.state ?? 'none'),
    offsets: { records, ...partitions },
    comment: null,
    stacktrace: errorLine(trace?.error),
    start_time: epochMs(trace?.started_at),
    end_time: epochMs(trace?.finished_at),
    ...(trace ? { node_id: trace.node_id, node_type: trace.node_type } : {}),
  };
}

/** Step names in execution order: traced steps by position, then the ones that never ran. */
function stepOrder(batch: BatchItem, traces: TraceItem[]): string[] {
  const traced = [...traces].sort((a, b) => a.position - b.position).map((t) => t.node_name);
  const rest = Object.keys(batch.steps ?? {}).filter((name) => !traced.includes(name));
  return [...new Set([...traced, ...rest])];
}

/**
 * A batch as the Traces API shows it: `{id, name, deployment, state: {state, steps: {<step>:
 * {state, offsets, comment, stacktrace, start_time, end_time}}}, start_time, end_time}`, times
 * in epoch milliseconds. `offsets.records` is the rows the step wrote (next to the batch's
 * per-partition offsets), `stacktrace` the step's error message.
 */
export function traceObject(batch: BatchItem, traces: TraceItem[]) {
  const byName = new Map(traces.map((t) => [t.node_name, t]));
  const steps: Record<string, StepTrace> = {};
  for (const name of stepOrder(batch, traces)) steps[name] = stepTrace(batch.steps?.[name], byName.get(name));
  return {
    id: batch.id,
    name: batch.name,
    deployment: batch.deployment,
    state: { state: batch.status, steps },
    start_time: epochMs(batch.started_at),
    end_time: epochMs(batch.finished_at),
    pipeline_id: batch.pipeline_id,
    pipeline_version: batch.pipeline_version,
  };
}

/** GET /traces/pipelines/{pipeline_id}: the trace of the pipeline's latest batch (404 when none). */
export async function latestTrace(pipelineId: string) {
  const batch = await latestBatch(pipelineId);
  return traceObject(batch, await tracesOf(batch.id));
}

/** GET /traces/pipelines/{pipeline_id}/{batch_id}. */
export async function batchTrace(pipelineId: string, batchId: string) {
  const batch = await requireBatch(batchId, pipelineId);
  return traceObject(batch, await tracesOf(batch.id));
}

/** Batches whose traces are read at once while building a history page. */
const HISTORY_READS = 16;

/**
 * GET /traces/pipelines/{pipeline_id}/: the pipeline's batches newest first as trace objects,
 * `{items: {<batch id>: <trace object>}, token}` (`limit` 1-1000, default 100; `token` is null
 * on the last page).
 */
export async function traceHistory(pipelineId: string, limit?: number, token?: string) {
  await requirePipeline(pipelineId);
  const page = await batchesPage(pipelineId, pageRequest(limit, token));
  const traced: Array<ReturnType<typeof traceObject>> = [];
  for (let i = 0; i < page.items.length; i += HISTORY_READS) {
    const slice = page.items.slice(i, i + HISTORY_READS);
    traced.push(...(await Promise.all(slice.map(async (b) => traceObject(b, await tracesOf(b.id))))));
  }
  const items: Record<string, ReturnType<typeof traceObject>> = {};
  for (const trace of traced) items[trace.id] = trace;
  return { items, token: encodeToken(page.next) };
}

/**
 * GET /traces/steps/{batch_id}: every step of a batch with all that was recorded for it, in
 * execution order: the trace object's step fields plus rows and bytes in and out, duration,
 * log lines and the first rows of output.
 */
export async function stepTraces(batchId: string) {
  const batch = await requireBatch(batchId);
  const traces = await tracesOf(batch.id);
  const byName = new Map(traces.map((t) => [t.node_name, t]));
  const steps: Record<string, StepTrace> = {};
  for (const name of stepOrder(batch, traces)) {
    const trace = byName.get(name);
    steps[name] = {
      ...stepTrace(batch.steps?.[name], trace),
      rows_in: trace?.rows_in ?? 0,
      rows_out: trace?.rows_out ?? 0,
      bytes_in: trace?.bytes_in ?? 0,
      bytes_out: trace?.bytes_out ?? 0,
      duration_ms: trace?.duration_ms ?? null,
      logs: trace?.logs ?? [],
      sample: trace?.sample ?? null,
      ...(trace?.engine ? { engine: trace.engine } : {}),
    };
  }
  return {
    id: batch.id,
    pipeline_id: batch.pipeline_id,
    state: batch.status,
    start_time: epochMs(batch.started_at),
    end_time: epochMs(batch.finished_at),
    steps,
  };
}

/** The forms of the greedy `/traces/pipelines/{proxy+}` route: `{pipeline_id}/` and `{pipeline_id}/{batch_id}/`. */
export function parseTracePath(
  proxy: string,
):
  | { kind: 'history'; pipelineId: string }
  | { kind: 'one'; pipelineId: string; batchId: string }
  | undefined {
  const segments = proxy.endsWith('/') ? proxy.slice(0, -1).split('/') : proxy.split('/');
  if (segments.some((s) => s === '')) return undefined;
  if (segments.length === 1 && proxy.endsWith('/'))
    return { kind: 'history', pipelineId: segments[0] as string };
  if (segments.length === 2)
    return { kind: 'one', pipelineId: segments[0] as string, batchId: segments[1] as string };
  return undefined;
}

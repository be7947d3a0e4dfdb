/**
 * Traces: one record per node of a batch, written by the step worker as the node runs
 * (state, times, rows and bytes in and out, error, log lines, the first rows of output).
 * They live in the batch's partition, in execution order.
 */
import type { Item } from '../db.ts';
import { queryAll } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { batchKey, batchView, latestBatch, requireBatch } from './runs.ts';

export interface TraceItem extends Item {
  batch_id: string;
  node_id: string;
  node_name: string;
  node_type: string;
  position: number;
  state: 'running' | 'success' | 'failed';
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
}

export const traceSk = (position: number) => `TRACE#${String(position).padStart(4, '0')}`;

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
  };
}

/** Traces of a batch (or of the pipeline's latest batch when only the pipeline is named). */
export async function listTraces(pipelineId: string | undefined, batchId: string | undefined) {
  if (!pipelineId && !batchId) {
    throw ValidationError.of([{ field: 'query.batch_id', message: 'pipeline_id or batch_id is required' }]);
  }
  const batch = batchId ? await requireBatch(batchId, pipelineId) : await latestBatch(pipelineId as string);
  const traces = await queryAll<TraceItem>({ partition: batchKey(batch.id), sortPrefix: 'TRACE#' });
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

/**
 * The Data Flow API's shapes over Sluice records: names, dates, paging, and executions (a
 * job execution is a batch). Jobs, workflows and triggers all use these.
 */
import { z } from 'zod';
import type { BatchItem, BatchStatus } from '../pipelines/runs.ts';

/** Names of jobs, workflows and triggers: 3-100 of [A-Za-z0-9_-], first a letter or `_`. */
export const dataflowNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]{2,99}$/,
    'must be 3 to 100 characters of letters, digits, _ and -, starting with a letter or _',
  );

/** ISO 8601 with an explicit offset (`+00:00`), as Data Flow writes dates. */
export function dataflowDate(iso: string | null | undefined): string | null {
  if (!iso) return null;
  return `${new Date(iso).toISOString().slice(0, 19)}+00:00`;
}

export const pageQuerySchema = z.object({
  page: z.coerce.number().int('must be an integer').min(0, 'must be 0 or more').default(0),
  limit: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be 1 or more')
    .max(1000, 'must be at most 1000')
    .default(1000),
});

/** Data Flow's list body. */
export function dataflowPage<T>(all: T[], page: number, limit: number) {
  return { list: all.slice(page * limit, (page + 1) * limit), count: all.length, page, limit };
}

export const EXECUTION_STATUSES = ['READY', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export function executionStatus(status: BatchStatus): ExecutionStatus {
  switch (status) {
    case 'pending':
    case 'scheduled':
      return 'READY';
    case 'running':
      return 'RUNNING';
    case 'completed':
      return 'COMPLETED';
    case 'failed':
      return 'FAILED';
    default:
      return 'CANCELED';
  }
}

/** A batch as a Data Flow job execution. */
export function executionView(b: BatchItem) {
  const started = b.started_at ? Date.parse(b.started_at) : undefined;
  const ended = b.finished_at ? Date.parse(b.finished_at) : undefined;
  return {
    jobExecutionId: b.id,
    jobId: b.pipeline_id,
    jobName: b.name,
    jobCondition: {
      workerType: b.worker_type ?? 'DEFAULT',
      numWorker: b.num_workers,
      timeout: b.timeout_minutes,
    },
    status: executionStatus(b.status),
    startDate: dataflowDate(b.started_at),
    endDate: dataflowDate(b.finished_at),
    createdDate: dataflowDate(b.created_at),
    /** Milliseconds from start to end (or to now while running). */
    runningTime: started === undefined ? 0 : (ended ?? Date.now()) - started,
    ...(b.trigger_id ? { triggerId: b.trigger_id, triggerName: b.trigger_name } : {}),
    type: b.workflow_execution_id ? 'WORKFLOW' : 'JOB',
    ...(b.workflow_execution_id ? { workflowExecutionId: b.workflow_execution_id } : {}),
    ...(b.error ? { errorMessage: b.error } : {}),
  };
}

/**
 * The Data Flow API's shapes over Sluice records: names, dates, paging, and executions (a
 * job execution is a batch). Jobs, workflows and triggers all use these.
 *
 * Dates are written in SLUICE_DEFAULT_TIMEZONE with its offset, as Data Flow writes them in
 * Korean time (`2024-07-10T14:16:01+09:00`); the setting is read when this module loads, so a
 * bad value stops the functions that serve Data Flow at start.
 */
import * as z from 'zod';
import type { BatchItem, BatchStatus } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import { requireSetting, SETTING } from '../settings.ts';
import { formatInZone } from '../triggers/schedule.ts';

/** Names of jobs, workflows and triggers: 3-100 of [A-Za-z0-9_-], first a letter or `_`. */
export const dataflowNameSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_-]{2,99}$/,
    'must be 3 to 100 characters of letters, digits, _ and -, starting with a letter or _',
  );

/** ISO 8601 to the second with the zone's offset (`+09:00`, `+00:00` for UTC), as Data Flow writes dates. */
export function dataflowDate(iso: string | null | undefined): string | null {
  if (!iso) return null;
  return formatInZone(Date.parse(iso), platform().settings.dataflow.defaultTimezone);
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

/** The API path of a job's (pipeline's) definition at one version: Sluice's `scriptPath`. */
export const versionPath = (jobId: string, version: number) =>
  `/api/v1/pipelines/${jobId}/versions/${version}`;

/** The S3 folder runs write to, or one run's own folder under it: Sluice's `logPath`. */
export const runsFolder = (batchId?: string) =>
  `s3://${requireSetting(platform().settings.storage.dataBucket, SETTING.dataBucket)}/runs/${batchId === undefined ? '' : `${batchId}/`}`;

/** A batch as a Data Flow job execution (jobCondition paths: see dataflow/jobs.ts). */
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
      // Sluice's own: shown when the run was not left to AUTO (Data Flow's shape otherwise).
      ...(b.engine && b.engine !== 'AUTO' ? { engine: b.engine } : {}),
      nrn: b.execution_id ?? '',
      scriptPath: versionPath(b.pipeline_id, b.pipeline_version),
      logPath: runsFolder(b.id),
      consoleLogPath: `/api/v1/batches/${b.pipeline_id}/${b.id}`,
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

/**
 * Data Flow jobs: the pipeline store seen through NAVER Cloud Data Flow's API. A job created
 * here is a pipeline (with no collection) and every pipeline is a job; an execution is a batch.
 * runCondition maps onto the pipeline's run settings: `timeout` (minutes, 0-1440; 0 = no limit
 * of the job's own, the platform's 1,440 minutes apply) → the run's timeout, `numWorker` → the
 * fan-out concurrency of partitioned steps, `workerType` → the step worker's size.
 *
 * Data Flow's `nrn`, `scriptPath` and `logPath` name NAVER Cloud resources (an IAM role, Object
 * Storage folders). Sluice accepts them in requests and ignores them; in responses they name
 * Sluice's counterparts:
 * - `nrn`: '' for a job (runs execute as the deployment's own role, nothing per job); for an
 *   execution, the engine's execution id (the Step Functions execution ARN on AWS), '' until it starts;
 * - `scriptPath`: the API path of the definition that runs (`/api/v1/pipelines/{id}/versions/{n}`:
 *   the job's current version, or the version the execution ran). Definitions live in the table,
 *   not in S3, so there is no object folder to name;
 * - `logPath`: the S3 folder runs write to, `s3://{data bucket}/runs/` for a job and the run's
 *   own `s3://{data bucket}/runs/{executionId}/` for an execution: the output parts of the nodes
 *   it writes (stage outputs, nodes marked `materialize`), so it is empty for a run whose
 *   stages wrote nothing in between (the run's record is at `consoleLogPath`);
 * - `consoleLogPath` (executions): the API path of the run's step-by-step record,
 *   `/api/v1/batches/{jobId}/{executionId}` (states, row offsets, errors).
 */
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { queryAll } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { pipelineNodesSchema } from '../pipelines/node-shape.ts';
import {
  deletePipeline,
  findPipeline,
  insertPipeline,
  type PipelineItem,
  requireVersion,
  updatePipeline,
  verifyNodes,
} from '../pipelines/pipelines.ts';
import { type BatchItem, createRun, dispatchPending, findBatch, removeRuns } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import { parametersSchema } from '../schemas.ts';
import { deleteTriggersOfJob, triggersOfJob } from '../triggers/triggers.ts';
import { jobConditionSchema, runConditionSchema, runSettingsShape } from './job-condition.ts';
import {
  dataflowDate,
  dataflowNameSchema,
  dataflowPage,
  executionStatus,
  executionView,
  pageQuerySchema,
  runsFolder,
  versionPath,
} from './views.ts';

export const JOB_STATUSES = [
  'RUNNABLE',
  'RUNNING',
  'DELETED',
  'UNKNOWN',
  'DRAFT',
  'STOPPED',
  'EDITING',
] as const;

const nodesSchema = pipelineNodesSchema;

export const createJobSchema = z.object({
  name: dataflowNameSchema,
  description: z.string().max(2000, 'must be at most 2000 characters').optional(),
  nodes: nodesSchema,
  runCondition: runConditionSchema.optional(),
  isTemp: z.boolean().optional(),
});

export const updateJobSchema = z.object({
  name: dataflowNameSchema,
  description: z.string().max(2000, 'must be at most 2000 characters').optional(),
  nodes: nodesSchema,
  isTemp: z.boolean().optional(),
});

export const verifyJobSchema = z.object({ name: dataflowNameSchema, nodes: nodesSchema });

export const executeJobSchema = z
  .object({
    jobCondition: jobConditionSchema.nullish(),
    parameters: parametersSchema.optional(),
  })
  .default({});

/**
 * updateJobExecuteConfig: the documented `{jobCondition: {...}}`, or Sluice's flat
 * `{workerType?, numWorker?, timeout?}`; not both. A setting left out keeps its value.
 */
export const executeConfigSchema = z
  .object({ ...runSettingsShape, jobCondition: jobConditionSchema.nullish() })
  .superRefine((body, ctx) => {
    if (!body.jobCondition) return;
    for (const key of ['workerType', 'numWorker', 'timeout'] as const) {
      if (body[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'give the settings either inside jobCondition or at the top level, not both',
        });
      }
    }
  });

export const listJobsSchema = pageQuerySchema.extend({
  name: z.string().max(100).optional(),
  status: z.enum(JOB_STATUSES, { message: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
});

export function jobStatus(p: PipelineItem): (typeof JOB_STATUSES)[number] {
  if (p.is_temp || !p.valid) return 'DRAFT';
  if (p.active_runs > 0) return 'RUNNING';
  if (p.verified_version !== p.version) return 'EDITING';
  return 'RUNNABLE';
}

/** A job's runCondition (also the base of a workflow JOB node's jobCondition). */
export function runCondition(p: PipelineItem) {
  return {
    workerType: p.worker_type ?? 'DEFAULT',
    numWorker: p.num_workers,
    timeout: p.timeout_minutes,
    // Sluice's own setting, shown once a job has one (Data Flow's shape is kept otherwise).
    ...(p.engine ? { engine: p.engine } : {}),
    nrn: '',
    scriptPath: versionPath(p.id, p.version),
    logPath: runsFolder(),
  };
}

function jobSummary(p: PipelineItem) {
  return {
    jobId: p.id,
    /** Data Flow's resource id of a job is its id. */
    resourceId: p.id,
    /** Sluice has no switched-off jobs: one that cannot run is DRAFT or EDITING instead. */
    disabled: false,
    name: p.name,
    description: p.description,
    type: 'DATAFLOW',
    status: jobStatus(p),
    runCondition: runCondition(p),
    createdDate: dataflowDate(p.created_at),
    updatedDate: dataflowDate(p.updated_at),
    lastExecutionStatus: p.last_run_status ? executionStatus(p.last_run_status as BatchItem['status']) : null,
    lastExecutionDate: dataflowDate(p.last_run_at),
  };
}

async function jobView(p: PipelineItem) {
  const version = await requireVersion(p);
  return { ...jobSummary(p), nodes: version.nodes, ...(version.valid ? {} : { problems: version.problems }) };
}

async function requireJob(id: string): Promise<PipelineItem> {
  const p = await findPipeline(id);
  if (!p) throw new NotFoundError('JOB', id);
  return p;
}

/** The pipeline (or run) settings a runCondition / jobCondition changes; absent ones are kept. */
export const runSettings = (c: z.output<typeof runConditionSchema> | null | undefined) => ({
  ...(c?.timeout !== undefined ? { timeout_minutes: c.timeout } : {}),
  ...(c?.numWorker !== undefined ? { num_workers: c.numWorker } : {}),
  ...(c?.workerType !== undefined ? { worker_type: c.workerType } : {}),
  ...(c?.engine !== undefined ? { engine: c.engine } : {}),
});

export async function createJob(input: z.output<typeof createJobSchema>, principal: Principal) {
  const { item } = await insertPipeline(
    {
      name: input.name,
      description: input.description,
      nodes: input.nodes,
      is_temp: input.isTemp,
      ...runSettings(input.runCondition),
    },
    principal,
  );
  return jobView(item);
}

export async function getJob(id: string) {
  return jobView(await requireJob(id));
}

export async function listJobs(q: z.output<typeof listJobsSchema>) {
  const all = await queryAll<PipelineItem>({ index: 'gsi1', partition: 'PIPELINES' });
  const needle = q.name?.toLowerCase();
  const jobs = all
    .filter((p) => !needle || p.name.toLowerCase().includes(needle))
    .map(jobSummary)
    .filter((j) => !q.status || j.status === q.status)
    .sort((a, b) => ((a.createdDate ?? '') < (b.createdDate ?? '') ? 1 : -1));
  return dataflowPage(jobs, q.page, q.limit);
}

export async function updateJob(id: string, input: z.output<typeof updateJobSchema>, principal: Principal) {
  await requireJob(id);
  const updated = await updatePipeline(
    id,
    {
      name: input.name,
      ...(input.description !== undefined ? { description: input.description } : {}),
      nodes: input.nodes,
      is_temp: input.isTemp ?? false,
      verify: true,
    },
    principal,
    dispatchPending,
  );
  return jobView((await findPipeline(updated.id)) as PipelineItem);
}

export async function updateExecuteConfig(
  id: string,
  input: z.output<typeof executeConfigSchema>,
  principal: Principal,
) {
  await requireJob(id);
  const change = runSettings(input.jobCondition ?? input);
  if (Object.keys(change).length > 0) await updatePipeline(id, change, principal, dispatchPending);
  return jobView(await requireJob(id));
}

/** Every problem per node, for nodes not saved anywhere yet. */
export async function verifyJob(input: z.output<typeof verifyJobSchema>) {
  const { result, echoed } = await verifyNodes(input.nodes);
  return {
    name: input.name,
    valid: result.valid,
    problems: result.problems,
    nodes: echoed,
  };
}

/**
 * Deletes a job (= pipeline), through either API: with triggers it answers 409 unless `force`,
 * which deletes them first; unfinished runs likewise need `force`.
 */
export async function deleteJob(id: string, force: boolean, kind: 'JOB' | 'PIPELINE' = 'JOB') {
  if (!(await findPipeline(id))) throw new NotFoundError(kind, id);
  const triggers = await triggersOfJob(id);
  if (triggers.length > 0) {
    if (!force) {
      throw new ConflictError(
        `${kind === 'JOB' ? 'Job' : 'Pipeline'} ${id} has ${triggers.length} trigger(s) (${triggers.map((t) => t.name).join(', ')}); delete them first or pass ?force=true.`,
      );
    }
    await deleteTriggersOfJob(id);
  }
  await deletePipeline(id, force, removeRuns, async (pipelineId) => platform().engine.remove(pipelineId));
}

export async function executeJob(id: string, input: z.output<typeof executeJobSchema>, principal: Principal) {
  await requireJob(id);
  const parameters = input.parameters ?? input.jobCondition?.parameters;
  const { batch } = await createRun(id, {
    principal,
    ...(parameters ? { parameters } : {}),
    overrides: runSettings(input.jobCondition),
  });
  return executionView(batch);
}

export async function listExecutions(id: string, page: number, limit: number) {
  await requireJob(id);
  const batches = await queryAll<BatchItem>({ index: 'gsi1', partition: `BATCHES#${id}`, newestFirst: true });
  return dataflowPage(batches.map(executionView), page, limit);
}

export async function getExecution(jobId: string, executionId: string) {
  await requireJob(jobId);
  const batch = await findBatch(executionId);
  if (!batch || batch.pipeline_id !== jobId) throw new NotFoundError('EXECUTION', executionId);
  return executionView(batch);
}

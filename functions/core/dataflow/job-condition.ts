/**
 * Run settings as Data Flow states them: a job's runCondition and the jobCondition of one run or
 * of a workflow's JOB node. Their own module, so the workflow model can name them without the jobs
 * service.
 */
import * as z from 'zod';
import { engineSchema } from '../pipelines/engine-choice.ts';
import { parametersSchema } from '../schemas.ts';

/** Worker sizes: DEFAULT is the step worker as deployed, LARGE the bigger one (README). */
export const WORKER_TYPES = ['DEFAULT', 'LARGE'] as const;

/**
 * The run settings of a job or of one run. Data Flow documents numWorker 2-10 and timeout 0-1440
 * (1-1440 in its newest pages); Sluice keeps the wider ranges it has always taken (numWorker 1-40,
 * as the pipelines API; timeout 0 = no limit of the job's own), which hold every documented value.
 * `DATAFLOW`, the workerType the reference text names as default, is taken as `DEFAULT`.
 */
export const runSettingsShape = {
  workerType: z
    .preprocess(
      (v) => (v === 'DATAFLOW' ? 'DEFAULT' : v),
      z.enum(WORKER_TYPES, { message: `must be one of ${WORKER_TYPES.join(', ')}` }),
    )
    .optional(),
  numWorker: z
    .number()
    .int('must be an integer')
    .min(1, 'must be 1 or more')
    .max(40, 'must be at most 40')
    .optional(),
  timeout: z
    .number()
    .int('must be an integer')
    .min(0, 'must be 0 or more')
    .max(1440, 'must be at most 1440')
    .optional(),
  /** Sluice's own: where the stages run, AUTO (by input size), DUCKDB or ATHENA. */
  engine: engineSchema.optional(),
};

export const runConditionSchema = z.object(runSettingsShape);

const ignoredPath = z.string().max(1024, 'must be at most 1024 characters').nullish();

/**
 * Data Flow's `jobCondition` (executeJob, updateJobExecuteConfig, workflow JOB nodes): the run
 * settings, plus the NAVER Cloud `nrn`, `scriptPath` and `logPath`, taken and ignored, and the
 * newest pages' `parameters` (an executeJob without top-level `parameters` runs with these; a job
 * keeps no saved parameters, so updateJobExecuteConfig ignores them).
 */
export const jobConditionSchema = z.object({
  ...runSettingsShape,
  nrn: ignoredPath,
  scriptPath: ignoredPath,
  logPath: ignoredPath,
  parameters: parametersSchema.nullish(),
});

export type JobCondition = z.output<typeof jobConditionSchema>;

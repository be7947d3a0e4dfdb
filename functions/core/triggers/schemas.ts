/** Request schemas of triggers, and the enums they and the stored records share. */
import * as z from 'zod';
import { dataflowNameSchema } from '../dataflow/views.ts';

export const TRIGGER_TYPES = ['SCHEDULED', 'EVENT', 'NONE'] as const;
export const RULE_TYPES = ['RECURRING', 'ONE_TIME', 'NONE'] as const;
export const RULE_INTERVALS = ['HOUR', 'DAY', 'WEEK', 'MONTH'] as const;
export const EVENT_KINDS = ['OBJECT_CREATED', 'DATASET_UPDATED', 'RUN_FINISHED'] as const;
export const RUN_STATUSES = ['COMPLETED', 'FAILED', 'CANCELED'] as const;
export const ON_BUSY = ['QUEUE', 'SKIP'] as const;
export const TARGET_TYPES = ['JOB', 'WORKFLOW'] as const;

export type TriggerType = (typeof TRIGGER_TYPES)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];
export type OnBusy = (typeof ON_BUSY)[number];

/** An enum that also takes lower or mixed case (`recurring`), as Data Flow clients send both. */
function upperEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toUpperCase() : v),
    z.enum(values, { message: `must be one of ${values.join(', ')}` }),
  );
}

const triggerRuleSchema = z.object({
  type: upperEnum(RULE_TYPES),
  interval: upperEnum(RULE_INTERVALS).nullish(),
  time: z.string().max(16, 'must be at most 16 characters').nullish(),
  dayOfWeek: z
    .array(z.string().max(16, 'must be at most 16 characters'))
    .max(7, 'must list at most 7 days')
    .nullish(),
  dateOfMonth: z
    .union([
      z.array(z.union([z.string().max(3, 'must be at most 3 characters'), z.number().int()])).max(32),
      z.string().max(100, 'must be at most 100 characters'),
    ])
    .nullish(),
  executionDate: z.string().max(64, 'must be at most 64 characters').nullish(),
});

const eventSchema = z.object({
  kind: upperEnum(EVENT_KINDS),
  /** OBJECT_CREATED */
  bucket: z.string().max(63, 'must be at most 63 characters').nullish(),
  prefix: z.string().max(1024, 'must be at most 1024 characters').nullish(),
  /** DATASET_UPDATED: a dataset id, or a collection (`database`) and dataset (`table`) by name or id. */
  datasetId: z.string().max(64, 'must be at most 64 characters').nullish(),
  database: z.string().max(200, 'must be at most 200 characters').nullish(),
  table: z.string().max(200, 'must be at most 200 characters').nullish(),
  /** RUN_FINISHED: the job (pipeline) whose runs count, and which outcomes (default: any). */
  jobId: z.string().max(64, 'must be at most 64 characters').nullish(),
  pipelineId: z.string().max(64, 'must be at most 64 characters').nullish(),
  statuses: z.array(upperEnum(RUN_STATUSES)).min(1, 'must list at least one status').max(3).nullish(),
});

const targetSchema = z.object({
  type: upperEnum(TARGET_TYPES).default('JOB'),
  jobId: z.string().max(64, 'must be at most 64 characters').nullish(),
  /** Same as jobId (a job is a pipeline). */
  pipelineId: z.string().max(64, 'must be at most 64 characters').nullish(),
  /** For type WORKFLOW: the workflow a firing runs. */
  workflowId: z.string().max(64, 'must be at most 64 characters').nullish(),
});

export const createTriggerSchema = z.object({
  name: dataflowNameSchema,
  description: z.string().max(2000, 'must be at most 2000 characters').nullish(),
  type: upperEnum(TRIGGER_TYPES),
  triggerRule: triggerRuleSchema.nullish(),
  /**
   * EventBridge Scheduler expression: cron(...), rate(...) or at(...). `rate(n seconds)` only when
   * SLUICE_ALLOW_SECOND_SCHEDULES=true (local hosts and tests).
   */
  cron: z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters').nullish(),
  timezone: z.string().max(64, 'must be at most 64 characters').nullish(),
  event: eventSchema.nullish(),
  target: targetSchema.nullish(),
  onBusy: upperEnum(ON_BUSY).nullish(),
  enabled: z.boolean().nullish(),
});

export type CreateTriggerInput = z.output<typeof createTriggerSchema>;

export const listTriggersQuerySchema = z.object({
  name: z.string().max(100, 'must be at most 100 characters').optional(),
});

/** PATCH of a trigger: only whether it is switched on. */
export const updateTriggerSchema = z.strictObject(
  {
    enabled: z.boolean({ message: 'is required: true to switch the trigger on, false to switch it off' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `only "enabled" can be changed; not ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : undefined,
  },
);

export type UpdateTriggerInput = z.output<typeof updateTriggerSchema>;

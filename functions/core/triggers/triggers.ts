/**
 * Triggers: Data Flow's SCHEDULED / EVENT / NONE triggers. As in Data Flow a trigger needs no
 * target: a workflow's TRIGGER node names it, and each firing starts every (non-draft) workflow
 * that does (resolved when it fires, workflows/store.ts). Sluice also lets a trigger name a
 * `target` itself, a job (a pipeline) or a workflow, which a firing starts as well.
 *
 * A SCHEDULED trigger carries Data Flow's `triggerRule` or an EventBridge `cron(...)`/`rate(...)`/
 * `at(...)` expression with a time zone (SLUICE_DEFAULT_TIMEZONE unless given); its schedule is
 * computed once, when it is created, and stored with it. An EVENT trigger carries one event rule
 * (an object created under an S3 prefix, a dataset getting a new version, another job's run
 * finishing), stored as the EventBridge pattern that selects those events. The trigger runtime (runtime.ts) arms the schedule
 * or pattern, whether or not the trigger has a target; firing is fire.ts.
 *
 * Records, all in the trigger's partition `TRIGGER#<id>`:
 * - META, listed under gsi1 `TRIGGERS`;
 * - `REF#<jobId>` per job the trigger names (its target, the job whose runs it waits for), listed
 *   under gsi2 `JOBTRIGGERS#<jobId>`, so a job's triggers are one Query;
 * - `FIRE#<delivery id>`, short-lived claims that make a redelivered event start one run only.
 */
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { findCollectionByRef } from '../catalog/collections.ts';
import { findDataset, findDatasetByRef } from '../catalog/datasets.ts';
import { dataflowDate, dataflowNameSchema, dataflowPage, type pageQuerySchema } from '../dataflow/views.ts';
import { deleteItem, getItem, type Item, putItem, putNew, queryAll, updateItem } from '../db.ts';
import { ConflictError, type FieldProblem, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { claimName, normalizeName, releaseName } from '../names.ts';
import { findPipeline } from '../pipelines/pipelines.ts';
import { platform } from '../platform/platform.ts';
import { findWorkflow } from '../workflows/store.ts';
import { type EventPattern, validatePattern } from './pattern.ts';
import type { ArmedTrigger, Schedule } from './runtime.ts';
import {
  nextRuns,
  resolveTimezone,
  ScheduleError,
  scheduleFromExpression,
  scheduleFromRule,
  type TriggerRule,
} from './schedule.ts';

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

/** A batch's terminal status for each Data Flow execution status (see dataflow/views.ts). */
const BATCH_STATUS_OF: Record<RunStatus, string> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELED: 'stop',
};

/** The longest and shortest `rate(n seconds)`, when second schedules are allowed at all. */
const SECOND_RATE_RANGE = { min: 1, max: 3600 } as const;

// ---------------------------------------------------------------------------------------------
// Request schema

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

// ---------------------------------------------------------------------------------------------
// Records

export type TriggerEvent =
  | { kind: 'OBJECT_CREATED'; bucket: string; prefix: string }
  | {
      kind: 'DATASET_UPDATED';
      /** Set when the dataset existed when the trigger was made; otherwise it matches by name. */
      dataset_id?: string;
      collection_id?: string;
      database?: string;
      table?: string;
    }
  | { kind: 'RUN_FINISHED'; job_id: string; statuses: RunStatus[] };

export interface TriggerItem extends Item {
  id: string;
  name: string;
  description: string;
  type: TriggerType;
  /** Data Flow's rule as given (NONE for EVENT and NONE triggers and for cron schedules). */
  trigger_rule: TriggerRule;
  /** The expression as given, normalised (cron schedules only). */
  cron?: string;
  timezone: string;
  schedule?: Schedule;
  event?: TriggerEvent;
  pattern?: EventPattern;
  target?: { type: 'JOB'; job_id: string } | { type: 'WORKFLOW'; workflow_id: string };
  on_busy: OnBusy;
  enabled: boolean;
  created_at: string;
  updated_at: string;
  created_by: string;
  last_fired_at?: string;
  /** The batch the last firing started. */
  last_batch_id?: string;
}

export const triggerKey = (id: string) => `TRIGGER#${id}`;
const LIST = 'TRIGGERS';
const refSk = (jobId: string) => `REF#${jobId}`;
const jobRefs = (jobId: string) => `JOBTRIGGERS#${jobId}`;
const NAME_SCOPE = 'TRIGGER';

export async function findTrigger(id: string): Promise<TriggerItem | undefined> {
  return getItem<TriggerItem>(triggerKey(id));
}

export async function requireTrigger(id: string): Promise<TriggerItem> {
  const item = await findTrigger(id);
  if (!item) throw new NotFoundError('TRIGGER', id);
  return item;
}

// ---------------------------------------------------------------------------------------------
// Views

const RATE_UNIT_MS: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};
const SECOND_RATE = /^rate\(\s*(\d+)\s+(second|seconds)\s*\)$/i;

/** When the trigger fires next, if it is an enabled schedule. */
export function nextRunOf(t: TriggerItem, now = new Date()): Date | undefined {
  if (!t.enabled || !t.schedule) return undefined;
  const rate = /^rate\((\d+) (second|minute|hour|day)s?\)$/.exec(t.schedule.expression);
  if (rate) {
    // Rates count from the last firing (or from creation), as the schedule started then.
    const period = Number(rate[1]) * (RATE_UNIT_MS[rate[2] ?? ''] ?? 60_000);
    const anchor = Date.parse(t.last_fired_at ?? t.created_at);
    const steps = Math.max(1, Math.ceil((now.getTime() - anchor) / period));
    return new Date(anchor + steps * period);
  }
  return nextRuns(t.schedule, now, 1)[0];
}

function ruleView(rule: TriggerRule) {
  const dates = rule.dateOfMonth;
  return {
    type: rule.type,
    interval: rule.interval ?? null,
    time: rule.time ?? null,
    dayOfWeek: rule.dayOfWeek ?? [],
    // Data Flow's string ("15", "-1"); several dates given as an array come back comma-separated.
    dateOfMonth: dates === undefined ? null : Array.isArray(dates) ? dates.join(',') : dates,
    executionDate: rule.executionDate ?? null,
  };
}

function eventView(e: TriggerEvent) {
  switch (e.kind) {
    case 'OBJECT_CREATED':
      return { kind: e.kind, bucket: e.bucket, prefix: e.prefix };
    case 'DATASET_UPDATED':
      return {
        kind: e.kind,
        ...(e.dataset_id ? { datasetId: e.dataset_id } : {}),
        ...(e.database !== undefined ? { database: e.database, table: e.table } : {}),
      };
    default:
      return { kind: e.kind, jobId: e.job_id, statuses: e.statuses };
  }
}

/** A trigger in Data Flow's shape, with Sluice's additions. */
export function triggerView(t: TriggerItem, now = new Date()) {
  return {
    triggerId: t.id,
    name: t.name,
    description: t.description,
    type: t.type,
    triggerRule: ruleView(t.trigger_rule),
    cron: t.cron ?? null,
    timezone: t.timezone,
    ...(t.schedule ? { scheduleExpression: t.schedule.expression } : {}),
    ...(t.event ? { event: eventView(t.event) } : {}),
    target: !t.target
      ? null
      : t.target.type === 'WORKFLOW'
        ? { type: t.target.type, workflowId: t.target.workflow_id }
        : { type: t.target.type, jobId: t.target.job_id },
    onBusy: t.on_busy,
    enabled: t.enabled,
    createdDate: dataflowDate(t.created_at),
    updatedDate: dataflowDate(t.updated_at),
    lastFiredDate: dataflowDate(t.last_fired_at),
    lastExecutionId: t.last_batch_id ?? null,
    nextRunDate: dataflowDate(nextRunOf(t, now)?.toISOString()),
  };
}

export type TriggerView = ReturnType<typeof triggerView>;

/**
 * The kind of schedule, as a workflow's TRIGGER node shows it (Data Flow's `triggerRule` string):
 * the rule's type, or for an expression, ONE_TIME for `at(...)` and RECURRING otherwise.
 */
export function ruleTypeOf(t: TriggerItem): (typeof RULE_TYPES)[number] {
  if (t.trigger_rule.type !== 'NONE') return t.trigger_rule.type;
  if (!t.schedule) return 'NONE';
  return 'at' in t.schedule.local ? 'ONE_TIME' : 'RECURRING';
}

/**
 * What the runtime needs to arm a trigger; undefined for triggers that never fire by themselves
 * (type NONE). A trigger without a target is armed too: what it starts is resolved when it fires
 * (the workflows that name it), and a firing that finds nothing to start is only logged.
 */
export function armedOf(t: TriggerItem): ArmedTrigger | undefined {
  if (t.type === 'SCHEDULED' && t.schedule) {
    return { triggerId: t.id, name: t.name, enabled: t.enabled, schedule: t.schedule };
  }
  if (t.type === 'EVENT' && t.pattern) {
    return { triggerId: t.id, name: t.name, enabled: t.enabled, pattern: t.pattern };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Schedules and patterns

/** Field names of schedule.ts, as request fields. */
function scheduleField(field: string): string {
  if (field === 'expression') return 'body.cron';
  return `body.${field}`;
}

function secondsSchedule(expression: string, timezone: string): Schedule | undefined {
  const m = SECOND_RATE.exec(expression);
  if (!m) return undefined;
  if (!platform().settings.triggers.allowSecondSchedules) {
    throw new ScheduleError(
      'expression',
      'schedules in seconds are not supported: the shortest rate is rate(1 minute). ' +
        '(A local host started with SLUICE_ALLOW_SECOND_SCHEDULES=true accepts them, for tests.)',
    );
  }
  const value = Number(m[1]);
  if (value < SECOND_RATE_RANGE.min || value > SECOND_RATE_RANGE.max) {
    throw new ScheduleError(
      'expression',
      `rate(${m[1]} ${m[2]}): the value must be ${SECOND_RATE_RANGE.min} to ${SECOND_RATE_RANGE.max}.`,
    );
  }
  return {
    expression: `rate(${value} ${value === 1 ? 'second' : 'seconds'})`,
    timezone,
    local: { cron: '* * * * * *', interval: value },
  };
}

/** The schedule of a SCHEDULED trigger, or a validation error naming the request field. */
export function buildSchedule(
  input: { triggerRule?: TriggerRule | null; cron?: string | null; timezone?: string | null },
  now = new Date(),
): Schedule {
  try {
    if (input.cron) {
      const tz = resolveTimezone(input.timezone ?? undefined);
      return secondsSchedule(input.cron, tz) ?? scheduleFromExpression(input.cron, tz, now);
    }
    return scheduleFromRule(input.triggerRule as TriggerRule, input.timezone ?? undefined, now);
  } catch (error) {
    if (error instanceof ScheduleError)
      throw ValidationError.field(scheduleField(error.field), error.message);
    throw error;
  }
}

/** The EventBridge pattern that selects the events of an event rule. */
export function eventPatternOf(e: TriggerEvent): EventPattern {
  let pattern: EventPattern;
  switch (e.kind) {
    case 'OBJECT_CREATED':
      pattern = {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [e.bucket] },
          // EventBridge refuses an empty prefix matcher: no prefix means any key.
          ...(e.prefix ? { object: { key: [{ prefix: e.prefix }] } } : {}),
        },
      };
      break;
    case 'DATASET_UPDATED':
      pattern = {
        source: ['sluice.catalog'],
        'detail-type': ['Dataset Version Published'],
        detail: e.dataset_id
          ? { datasetId: [e.dataset_id] }
          : // Dataset names compare case-insensitively, as the catalog does.
            { collectionId: [e.collection_id], datasetName: [{ 'equals-ignore-case': e.table }] },
      };
      break;
    default:
      pattern = {
        source: ['sluice.pipelines'],
        'detail-type': ['Batch Finished'],
        detail: {
          pipelineId: [e.job_id],
          ...(e.statuses.length < RUN_STATUSES.length
            ? { status: e.statuses.map((s) => BATCH_STATUS_OF[s]) }
            : {}),
        },
      };
  }
  validatePattern(pattern);
  return pattern;
}

// ---------------------------------------------------------------------------------------------
// Create

const present = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

/** Cross-field rules that the schema cannot say; every problem at once. */
function shapeProblems(input: CreateTriggerInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const rule = input.triggerRule;
  const hasRule = present(rule) && rule.type !== 'NONE';
  const hasCron = present(input.cron);
  if (input.type === 'SCHEDULED') {
    if (hasRule && hasCron) {
      problems.push({ field: 'body.cron', message: 'give either triggerRule or cron, not both' });
    } else if (!hasRule && !hasCron) {
      problems.push({
        field: 'body.triggerRule',
        message: 'is required for a SCHEDULED trigger: a RECURRING or ONE_TIME rule (or give cron)',
      });
    }
  } else {
    if (hasRule) {
      problems.push({ field: 'body.triggerRule.type', message: `must be NONE for a ${input.type} trigger` });
    }
    if (hasCron) problems.push({ field: 'body.cron', message: 'only SCHEDULED triggers take cron' });
  }
  if (input.type === 'EVENT' && !present(input.event)) {
    problems.push({ field: 'body.event', message: 'is required for an EVENT trigger' });
  }
  if (input.type !== 'EVENT' && present(input.event)) {
    problems.push({ field: 'body.event', message: 'only EVENT triggers take an event' });
  }
  const target = input.target;
  if (present(target) && target.type === 'WORKFLOW' && !target.workflowId) {
    problems.push({ field: 'body.target.workflowId', message: 'is required for a WORKFLOW target' });
  }
  if (present(target) && target.type !== 'WORKFLOW' && !target.jobId && !target.pipelineId) {
    problems.push({ field: 'body.target.jobId', message: 'is required' });
  }
  const event = input.type === 'EVENT' ? input.event : undefined;
  if (!event) return problems;
  if (event.kind === 'OBJECT_CREATED') {
    const buckets = platform().settings.pipelines.buckets;
    if (!event.bucket) {
      problems.push({ field: 'body.event.bucket', message: 'is required for OBJECT_CREATED' });
    } else if (!buckets.includes(event.bucket)) {
      problems.push({
        field: 'body.event.bucket',
        message:
          buckets.length === 0
            ? 'no bucket is configured for pipelines (SLUICE_BUCKETS / sluice:buckets)'
            : `must be one of the configured buckets: ${buckets.join(', ')}`,
      });
    }
  } else if (event.kind === 'DATASET_UPDATED') {
    const byId = present(event.datasetId);
    const byName = present(event.database) || present(event.table);
    if (byId && byName) {
      problems.push({
        field: 'body.event.datasetId',
        message: 'give either datasetId or database and table',
      });
    } else if (!byId) {
      if (!event.database)
        problems.push({ field: 'body.event.database', message: 'is required (or give datasetId)' });
      if (!event.table)
        problems.push({ field: 'body.event.table', message: 'is required (or give datasetId)' });
    }
  } else if (!event.jobId && !event.pipelineId) {
    problems.push({ field: 'body.event.jobId', message: 'is required for RUN_FINISHED' });
  }
  return problems;
}

/** Resolves what the event names (datasets, jobs) and returns the stored form. */
async function resolveEvent(
  event: NonNullable<CreateTriggerInput['event']>,
  problems: FieldProblem[],
): Promise<TriggerEvent | undefined> {
  if (event.kind === 'OBJECT_CREATED') {
    return { kind: 'OBJECT_CREATED', bucket: event.bucket as string, prefix: event.prefix ?? '' };
  }
  if (event.kind === 'DATASET_UPDATED') {
    if (event.datasetId) {
      if (!(await findDataset(event.datasetId))) {
        problems.push({ field: 'body.event.datasetId', message: `no dataset ${event.datasetId}` });
        return undefined;
      }
      return { kind: 'DATASET_UPDATED', dataset_id: event.datasetId };
    }
    const collection = await findCollectionByRef(event.database as string);
    if (!collection) {
      problems.push({ field: 'body.event.database', message: `no collection "${event.database}"` });
      return undefined;
    }
    const table = event.table as string;
    // A dataset that does not exist yet (a TARGET_CATALOG creates it) is matched by name.
    const dataset = await findDatasetByRef(collection.id, table);
    return {
      kind: 'DATASET_UPDATED',
      ...(dataset ? { dataset_id: dataset.id } : { collection_id: collection.id }),
      database: event.database as string,
      table,
    };
  }
  const jobId = (event.jobId ?? event.pipelineId) as string;
  if (!(await findPipeline(jobId))) {
    problems.push({ field: 'body.event.jobId', message: `no job ${jobId}` });
    return undefined;
  }
  return { kind: 'RUN_FINISHED', job_id: jobId, statuses: event.statuses ?? [...RUN_STATUSES] };
}

function storedRule(input: CreateTriggerInput): TriggerRule {
  const rule = input.triggerRule;
  if (!rule || input.type !== 'SCHEDULED' || present(input.cron)) return { type: 'NONE' };
  return {
    type: rule.type,
    ...(present(rule.interval) ? { interval: rule.interval } : {}),
    ...(present(rule.time) ? { time: rule.time } : {}),
    ...(present(rule.dayOfWeek) ? { dayOfWeek: rule.dayOfWeek } : {}),
    ...(present(rule.dateOfMonth)
      ? { dateOfMonth: Array.isArray(rule.dateOfMonth) ? rule.dateOfMonth.map(String) : rule.dateOfMonth }
      : {}),
    ...(present(rule.executionDate) ? { executionDate: rule.executionDate } : {}),
  };
}

export async function createTrigger(input: CreateTriggerInput, principal: Pick<Principal, 'username'>) {
  const problems = shapeProblems(input);
  if (problems.length > 0) throw ValidationError.of(problems);

  const now = new Date();
  const schedule =
    input.type === 'SCHEDULED'
      ? buildSchedule({ triggerRule: storedRule(input), cron: input.cron, timezone: input.timezone }, now)
      : undefined;
  const timezone = schedule?.timezone ?? buildTimezone(input.timezone);
  const event = input.type === 'EVENT' && input.event ? await resolveEvent(input.event, problems) : undefined;
  const workflowId = input.target?.type === 'WORKFLOW' ? (input.target.workflowId ?? undefined) : undefined;
  const jobId =
    input.target && input.target.type !== 'WORKFLOW'
      ? ((input.target.jobId ?? input.target.pipelineId) as string)
      : undefined;
  if (jobId && !(await findPipeline(jobId))) {
    problems.push({ field: 'body.target.jobId', message: `no job ${jobId}` });
  }
  if (workflowId && !(await findWorkflow(workflowId))) {
    problems.push({ field: 'body.target.workflowId', message: `no workflow ${workflowId}` });
  }
  if (event?.kind === 'RUN_FINISHED' && event.job_id === jobId) {
    problems.push({
      field: 'body.event.jobId',
      message: 'a job cannot be triggered by its own runs finishing (it would run forever)',
    });
  }
  if (problems.length > 0) throw ValidationError.of(problems);

  const id = newId('trigger');
  const at = now.toISOString();
  const item: TriggerItem = {
    pk: triggerKey(id),
    sk: 'META',
    gsi1pk: LIST,
    gsi1sk: id,
    id,
    name: input.name,
    description: input.description ?? '',
    type: input.type,
    trigger_rule: storedRule(input),
    ...(schedule && input.cron ? { cron: schedule.expression } : {}),
    timezone,
    ...(schedule ? { schedule } : {}),
    ...(event ? { event, pattern: eventPatternOf(event) } : {}),
    ...(jobId ? { target: { type: 'JOB' as const, job_id: jobId } } : {}),
    ...(workflowId ? { target: { type: 'WORKFLOW' as const, workflow_id: workflowId } } : {}),
    on_busy: input.onBusy ?? 'QUEUE',
    enabled: input.enabled ?? true,
    created_at: at,
    updated_at: at,
    created_by: principal.username,
  };

  if (!(await claimName(NAME_SCOPE, item.name, id, holdsName(item.name)))) {
    throw new ConflictError(`A trigger named "${item.name}" already exists.`);
  }
  const refs = new Set<string>();
  if (jobId) refs.add(jobId);
  if (workflowId) refs.add(workflowId);
  if (event?.kind === 'RUN_FINISHED') refs.add(event.job_id);
  try {
    await putItem(item);
    for (const ref of refs) {
      await putItem({
        pk: triggerKey(id),
        sk: refSk(ref),
        gsi2pk: jobRefs(ref),
        gsi2sk: id,
        trigger_id: id,
        job_id: ref,
      });
    }
    const armed = armedOf(item);
    if (armed) await platform().triggers.register(armed);
  } catch (error) {
    // Nothing half-made stays behind: no record without its schedule or rule, and the reverse.
    await platform()
      .triggers.unregister(id)
      .catch(() => undefined);
    await removeRecords(id);
    await releaseName(NAME_SCOPE, item.name, id);
    throw error;
  }
  return triggerView(item, now);
}

function buildTimezone(timezone: string | null | undefined): string {
  try {
    return resolveTimezone(timezone ?? undefined);
  } catch (error) {
    if (error instanceof ScheduleError)
      throw ValidationError.field(scheduleField(error.field), error.message);
    throw error;
  }
}

const holdsName = (name: string) => async (ownerId: string) => {
  const owner = await findTrigger(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

// ---------------------------------------------------------------------------------------------
// Read, list, delete

export async function getTrigger(id: string) {
  return triggerView(await requireTrigger(id));
}

/** Every trigger, newest first (a Query of the list partition; triggers are few). */
export async function allTriggers(): Promise<TriggerItem[]> {
  const items = await queryAll<TriggerItem>({ index: 'gsi1', partition: LIST });
  return items.sort((a, b) => (a.id < b.id ? 1 : -1));
}

export async function listTriggers(
  query: { name?: string | undefined },
  page: z.output<typeof pageQuerySchema>,
) {
  const needle = query.name?.toLowerCase();
  const now = new Date();
  const list = (await allTriggers())
    .filter((t) => !needle || t.name.toLowerCase().includes(needle))
    .map((t) => triggerView(t, now));
  return dataflowPage(list, page.page, page.limit);
}

async function removeRecords(id: string): Promise<void> {
  const items = await queryAll<Item & { sk: string }>({ partition: triggerKey(id) });
  // META last: while it exists, the trigger can still be found and deleted again.
  for (const item of items) if (item.sk !== 'META') await deleteItem(triggerKey(id), item.sk);
  await deleteItem(triggerKey(id));
}

/** Deletes a trigger: its schedule or rule first, so it cannot fire once this answers. */
export async function deleteTrigger(id: string): Promise<void> {
  const trigger = await requireTrigger(id);
  if (armedOf(trigger)) await platform().triggers.unregister(id);
  await removeRecords(id);
  await releaseName(NAME_SCOPE, trigger.name, id);
}

/** Triggers that start a job or wait for its runs (a job with any cannot be deleted unforced). */
export async function triggersOfJob(jobId: string): Promise<TriggerView[]> {
  const refs = await queryAll<Item & { trigger_id: string }>({ index: 'gsi2', partition: jobRefs(jobId) });
  const now = new Date();
  const found: TriggerView[] = [];
  for (const ref of refs) {
    const trigger = await findTrigger(ref.trigger_id);
    if (trigger) found.push(triggerView(trigger, now));
  }
  return found;
}

/** Deletes every trigger of a job (the forced delete of the job). */
export async function deleteTriggersOfJob(jobId: string): Promise<number> {
  const triggers = await triggersOfJob(jobId);
  for (const t of triggers) {
    try {
      await deleteTrigger(t.triggerId);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  return triggers.length;
}

// ---------------------------------------------------------------------------------------------
// Firing bookkeeping (fire.ts)

/** Claims one delivery of a firing; false when it was claimed already (a redelivery). */
export async function claimDelivery(triggerId: string, deliveryId: string): Promise<boolean> {
  return putNew({
    pk: triggerKey(triggerId),
    sk: `FIRE#${deliveryId}`,
    // Redeliveries come within the retry window (hours); keep the claim for two days.
    ttl: Math.floor(Date.now() / 1000) + 2 * 86_400,
  });
}

export async function releaseDelivery(triggerId: string, deliveryId: string): Promise<void> {
  await deleteItem(triggerKey(triggerId), `FIRE#${deliveryId}`);
}

/**
 * Records a firing. A ONE_TIME schedule (an `at` instant) is spent once it fired: the trigger is
 * switched off, which the caller follows with disarming it.
 */
export async function recordFiring(trigger: TriggerItem, batchId: string): Promise<{ spent: boolean }> {
  const now = new Date().toISOString();
  const spent = trigger.schedule !== undefined && 'at' in trigger.schedule.local;
  await updateItem(triggerKey(trigger.id), 'META', {
    UpdateExpression: `SET last_fired_at = :now, last_batch_id = :batch${spent ? ', enabled = :off, updated_at = :now' : ''}`,
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':now': now, ':batch': batchId, ...(spent ? { ':off': false } : {}) },
  });
  return { spent };
}

/** Arms every stored trigger with the installed runtime (the local host, at start). */
export async function armAllTriggers(): Promise<number> {
  const runtime = platform().triggers;
  let armed = 0;
  for (const trigger of await allTriggers()) {
    const spec = armedOf(trigger);
    if (!spec) continue;
    await runtime.register(spec);
    if (spec.enabled) armed += 1;
  }
  return armed;
}

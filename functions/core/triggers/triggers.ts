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
 * finishing), stored as the EventBridge pattern that selects those events. The trigger runtime
 * (runtime.ts) arms the schedule or pattern, whether or not the trigger has a target; firing is
 * fire.ts, and which deliveries have started their targets is kept by delivery.ts.
 *
 * The feature's layers: schemas.ts (requests), store.ts (records and keys), views.ts (responses)
 * and this module, the use cases.
 */
import type { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { findCollectionByRef, findDataset, findDatasetByRef } from '../catalog/store.ts';
import { dataflowPage, type pageQuerySchema } from '../dataflow/views.ts';
import { ConflictError, type FieldProblem, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { findPipeline } from '../pipelines/pipelines.ts';
import { platform } from '../platform/platform.ts';
import { findWorkflow } from '../workflows/store.ts';
import { type EventPattern, validatePattern } from './pattern.ts';
import type { ArmedTrigger, Schedule } from './runtime.ts';
import {
  resolveTimezone,
  ScheduleError,
  scheduleFromExpression,
  scheduleFromRule,
  type TriggerRule,
} from './schedule.ts';
import { type CreateTriggerInput, RUN_STATUSES, type RunStatus, type UpdateTriggerInput } from './schemas.ts';
import {
  allTriggers,
  claimTriggerName,
  findTrigger,
  newTriggerItem,
  putTrigger,
  releaseTriggerName,
  removeTriggerRecords,
  setTriggerEnabled,
  type TriggerEvent,
  type TriggerItem,
  triggerIdsNaming,
} from './store.ts';
import { type TriggerView, triggerView } from './views.ts';

/** A batch's terminal status for each Data Flow execution status (see dataflow/views.ts). */
const BATCH_STATUS_OF: Record<RunStatus, string> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELED: 'stop',
};

const SECOND_RATE = /^rate\(\s*(\d+)\s+(second|seconds)\s*\)$/i;

/** The longest and shortest `rate(n seconds)`, when second schedules are allowed at all. */
const SECOND_RATE_RANGE = { min: 1, max: 3600 } as const;

export async function requireTrigger(id: string): Promise<TriggerItem> {
  const item = await findTrigger(id);
  if (!item) throw new NotFoundError('TRIGGER', id);
  return item;
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
  const item = newTriggerItem({
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
  });

  if (!(await claimTriggerName(item.name, id))) {
    throw new ConflictError(`A trigger named "${item.name}" already exists.`);
  }
  const refs = new Set<string>();
  if (jobId) refs.add(jobId);
  if (workflowId) refs.add(workflowId);
  if (event?.kind === 'RUN_FINISHED') refs.add(event.job_id);
  try {
    await putTrigger(item, refs);
    const armed = armedOf(item);
    if (armed) await platform().triggers.register(armed);
  } catch (error) {
    // Nothing half-made stays behind: no record without its schedule or rule, and the reverse.
    await platform()
      .triggers.unregister(id)
      .catch(() => undefined);
    await removeTriggerRecords(id);
    await releaseTriggerName(item);
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

export async function getTrigger(id: string) {
  return triggerView(await requireTrigger(id));
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

/** Deletes a trigger: its schedule or rule first, so it cannot fire once this answers. */
export async function deleteTrigger(id: string): Promise<void> {
  const trigger = await requireTrigger(id);
  if (armedOf(trigger)) await platform().triggers.unregister(id);
  await removeTriggerRecords(id);
  await releaseTriggerName(trigger);
}

/**
 * Switches a trigger on or off. Off: the record first (a firing already under way finds it off),
 * then its schedule or rule is removed, as delete does, the trigger itself staying. On: the
 * record, then the schedule or rule is made again as create makes it (a failure switches the
 * record back off). Asking for the state it is in changes nothing.
 */
export async function updateTrigger(id: string, input: UpdateTriggerInput) {
  const trigger = await requireTrigger(id);
  if (trigger.enabled === input.enabled) return triggerView(trigger);
  const now = new Date();
  if (input.enabled && trigger.schedule && 'at' in trigger.schedule.local) {
    const at = new Date(trigger.schedule.local.at);
    if (at.getTime() <= now.getTime()) {
      throw new ConflictError(
        `The one-time trigger "${trigger.name}" was due at ${at.toISOString()}, which has passed; create a new trigger instead.`,
      );
    }
  }
  const item = await setTriggerEnabled(id, input.enabled, now);
  if (!item) throw new NotFoundError('TRIGGER', id);
  const armed = armedOf(item);
  if (armed && !input.enabled) await platform().triggers.unregister(id);
  if (armed && input.enabled) {
    try {
      await platform().triggers.register(armed);
    } catch (error) {
      await setTriggerEnabled(id, false).catch(() => undefined);
      throw error;
    }
  }
  return triggerView(item, now);
}

/** Triggers that start a job or wait for its runs (a job with any cannot be deleted unforced). */
export async function triggersOfJob(jobId: string): Promise<TriggerView[]> {
  const now = new Date();
  const found: TriggerView[] = [];
  for (const id of await triggerIdsNaming(jobId)) {
    const trigger = await findTrigger(id);
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

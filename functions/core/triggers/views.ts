/** Triggers as the API shows them (Data Flow's shape, with Sluice's additions). */
import { dataflowDate } from '../dataflow/views.ts';
import { nextRuns, type TriggerRule } from './schedule.ts';
import type { RULE_TYPES } from './schemas.ts';
import type { TriggerEvent, TriggerItem } from './store.ts';

const RATE_UNIT_MS: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

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

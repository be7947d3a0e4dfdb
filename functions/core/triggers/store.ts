/**
 * Triggers as stored, and the only code that knows their keys. Records, all in the trigger's
 * partition `TRIGGER#<id>`:
 * - META, listed under gsi1 `TRIGGERS`;
 * - `REF#<jobId>` per job (or workflow) the trigger names (its target, the job whose runs it
 *   waits for), listed under gsi2 `JOBTRIGGERS#<jobId>`, so a job's triggers are one Query;
 * - a name guard (names.ts) keeping trigger names unique.
 */
import { deleteItem, getItem, type Item, putItem, queryAll, updateItem } from '../db.ts';
import { claimName, normalizeName, releaseName } from '../names.ts';
import type { EventPattern } from './pattern.ts';
import type { Schedule } from './runtime.ts';
import type { TriggerRule } from './schedule.ts';
import type { OnBusy, RunStatus, TriggerType } from './schemas.ts';

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

/** A trigger's own fields (its item adds the table's keys). */
export interface TriggerFields {
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

export type TriggerItem = Item & TriggerFields;

const triggerKey = (id: string) => `TRIGGER#${id}`;
const LIST = 'TRIGGERS';
const refSk = (jobId: string) => `REF#${jobId}`;
const jobRefs = (jobId: string) => `JOBTRIGGERS#${jobId}`;
const NAME_SCOPE = 'TRIGGER';

export async function findTrigger(id: string): Promise<TriggerItem | undefined> {
  return getItem<TriggerItem>(triggerKey(id));
}

/** Every trigger, newest first (a Query of the list partition; triggers are few). */
export async function allTriggers(): Promise<TriggerItem[]> {
  const items = await queryAll<TriggerItem>({ index: 'gsi1', partition: LIST });
  return items.sort((a, b) => (a.id < b.id ? 1 : -1));
}

const holdsName = (name: string) => async (ownerId: string) => {
  const owner = await findTrigger(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

/** Claims a new trigger's name; false when another trigger holds it. */
export const claimTriggerName = (name: string, id: string) =>
  claimName(NAME_SCOPE, name, id, holdsName(name));

export const releaseTriggerName = (trigger: Pick<TriggerItem, 'name' | 'id'>) =>
  releaseName(NAME_SCOPE, trigger.name, trigger.id);

/** A new trigger's item, listed among all triggers. */
export function newTriggerItem(fields: TriggerFields): TriggerItem {
  return { pk: triggerKey(fields.id), sk: 'META', gsi1pk: LIST, gsi1sk: fields.id, ...fields };
}

/** Writes the trigger and one reference per job or workflow it names. */
export async function putTrigger(item: TriggerItem, refs: Iterable<string>): Promise<void> {
  await putItem(item);
  for (const ref of refs) {
    await putItem({
      pk: triggerKey(item.id),
      sk: refSk(ref),
      gsi2pk: jobRefs(ref),
      gsi2sk: item.id,
      trigger_id: item.id,
      job_id: ref,
    });
  }
}

/** Removes every record of the trigger, META last: while it exists the trigger can be deleted again. */
export async function removeTriggerRecords(id: string): Promise<void> {
  const items = await queryAll<Item & { sk: string }>({ partition: triggerKey(id) });
  for (const item of items) if (item.sk !== 'META') await deleteItem(triggerKey(id), item.sk);
  await deleteItem(triggerKey(id));
}

/** The ids of the triggers that name a job or workflow. */
export async function triggerIdsNaming(jobId: string): Promise<string[]> {
  const refs = await queryAll<Item & { trigger_id: string }>({ index: 'gsi2', partition: jobRefs(jobId) });
  return refs.map((r) => r.trigger_id);
}

/**
 * Records a firing. A ONE_TIME schedule (an `at` instant) is spent once it fired: the trigger is
 * switched off, which the caller follows with disarming it.
 */
export async function recordFiring(
  trigger: TriggerItem,
  batchId: string,
  at = new Date(),
): Promise<{ spent: boolean }> {
  const now = at.toISOString();
  const spent = trigger.schedule !== undefined && 'at' in trigger.schedule.local;
  await updateItem(triggerKey(trigger.id), 'META', {
    UpdateExpression: `SET last_fired_at = :now, last_batch_id = :batch${spent ? ', enabled = :off, updated_at = :now' : ''}`,
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':now': now, ':batch': batchId, ...(spent ? { ':off': false } : {}) },
  });
  return { spent };
}

/**
 * Switches the trigger on or off (the record only; the caller arms or disarms it). Undefined when
 * the trigger no longer exists.
 */
export async function setTriggerEnabled(
  id: string,
  enabled: boolean,
  at = new Date(),
): Promise<TriggerItem | undefined> {
  return updateItem<TriggerItem>(triggerKey(id), 'META', {
    UpdateExpression: 'SET enabled = :enabled, updated_at = :now',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':enabled': enabled, ':now': at.toISOString() },
  });
}

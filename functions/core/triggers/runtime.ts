/**
 * The trigger runtime: whatever makes stored triggers fire. The triggers API arms a trigger when
 * it is created or switched on, and disarms it when it is deleted or switched off, through this
 * interface only. On AWS it is the
 * EventBridge Scheduler / EventBridge rules adapter (aws.ts); on the local platform its
 * in-process scheduler and bus (local.ts).
 *
 * Either way a firing ends in `fireTrigger` (fire.ts), which resolves what the trigger starts
 * (its target, the workflows whose TRIGGER nodes name it) and records each run as a batch.
 */
import type { EventPattern } from './pattern.ts';

/** When a SCHEDULED trigger fires (made from its rule or expression by schedule.ts). */
export interface Schedule {
  /** EventBridge Scheduler expression: cron(m h dom mon dow y) | rate(n unit) | at(yyyy-mm-ddThh:mm:ss) */
  expression: string;
  /** IANA name (the expression is evaluated in it). */
  timezone: string;
  /**
   * What the local host runs with croner, in `timezone`:
   * - `cron`: a 6-field pattern with seconds (7 fields when the EventBridge year field is not `*`).
   *   Rate schedules add `interval`, croner's option of the same name (seconds between runs), to be
   *   passed as `new Cron(cron, { timezone, interval })`; their pattern alone fires every minute.
   * - `at`: the ISO instant of a one-time schedule.
   */
  local: { cron: string; interval?: number } | { at: string };
}

/** What a runtime needs to know about a trigger to make it fire. */
export interface ArmedTrigger {
  triggerId: string;
  name: string;
  /**
   * A trigger created disabled keeps its schedule or rule, switched off (AWS), or none at all
   * (local); one switched off later has none on either (PATCH unregisters it).
   */
  enabled: boolean;
  /** SCHEDULED triggers. */
  schedule?: Schedule;
  /** EVENT triggers: an EventBridge event pattern. */
  pattern?: EventPattern;
}

export interface TriggerRuntime {
  /** Creates or replaces the trigger's schedule or rule. */
  register(trigger: ArmedTrigger): Promise<void>;
  /** Removes the trigger's schedule or rule; an unknown id is not an error. */
  unregister(triggerId: string): Promise<void>;
}

/**
 * Why a trigger fired, as handed to `fireTrigger`. `id` identifies the delivery (an EventBridge
 * event id, a Scheduler execution id): a redelivery with the same id starts no second run.
 */
export interface FireCause {
  kind: 'schedule' | 'event';
  id?: string;
  time?: string;
  source?: string;
  detailType?: string;
  detail?: Record<string, unknown>;
}

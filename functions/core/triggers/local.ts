/**
 * The trigger runtime of the local host: croner jobs stand in for EventBridge Scheduler, and an
 * in-process bus stands in for EventBridge rules on the default bus. The host feeds the bus with
 * Sluice's own events (through `useEventSink`) and with S3 "Object Created" events from s3rver, in
 * the EventBridge envelope, and each event is matched against every armed EVENT trigger's
 * pattern with the same semantics as EventBridge (pattern.ts).
 *
 * Firings run in the background (the host's task tracker), so publishing an event never waits
 * for the runs it starts. Each carries a delivery id as on AWS (the event's id; the trigger and
 * the scheduled instant for a schedule), so a delivery made twice starts its runs once
 * (delivery.ts), here as there.
 */
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { SluiceEvent } from '../events.ts';
import { type EventPattern, matchesPattern } from './pattern.ts';
import type { ArmedTrigger, FireCause, TriggerRuntime } from './runtime.ts';

/** An event as EventBridge delivers it to rules. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

const LOCAL_ACCOUNT = '000000000000';

export function busEvent(
  source: string,
  detailType: string,
  detail: Record<string, unknown>,
  options: { region?: string; resources?: string[] } = {},
): BusEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: options.region ?? 'us-east-1',
    resources: options.resources ?? [],
    detail,
  };
}

/** What S3 sends to EventBridge when an object is created (in a bucket with EventBridge on). */
export function objectCreatedEvent(bucket: string, key: string, size: number, region?: string): BusEvent {
  return busEvent(
    'aws.s3',
    'Object Created',
    {
      version: '0',
      bucket: { name: bucket },
      object: { key, size },
      'request-id': randomUUID(),
      requester: LOCAL_ACCOUNT,
      reason: 'PutObject',
    },
    { resources: [`arn:aws:s3:::${bucket}`], ...(region ? { region } : {}) },
  );
}

export function sluiceBusEvent(event: SluiceEvent, region?: string): BusEvent {
  return busEvent(event.source, event['detail-type'], event.detail, region ? { region } : {});
}

export interface LocalTriggerRuntimeOptions {
  /** Starts the trigger's run (fireTrigger). */
  fire(triggerId: string, cause: FireCause): Promise<unknown>;
  /** Keeps background work known to the host, which waits for it when stopping. */
  track(work: Promise<unknown>): void;
  log(line: string): void;
}

export class LocalTriggerRuntime implements TriggerRuntime {
  private readonly jobs = new Map<string, Cron>();
  private readonly patterns = new Map<string, EventPattern>();
  private stopped = false;

  constructor(private readonly options: LocalTriggerRuntimeOptions) {}

  async register(trigger: ArmedTrigger): Promise<void> {
    this.drop(trigger.triggerId);
    if (this.stopped || !trigger.enabled) return;
    if (trigger.pattern) {
      this.patterns.set(trigger.triggerId, trigger.pattern);
      return;
    }
    const schedule = trigger.schedule;
    if (!schedule) return;
    const id = trigger.triggerId;
    // As Scheduler's execution id: one delivery per scheduled instant.
    const onTime = (at: Date) => {
      const time = at.toISOString();
      this.fire(id, { kind: 'schedule', id: `${id}@${time}`, time });
    };
    // croner runs a job a few milliseconds after its (whole-second) instant.
    const onRun = (job: Cron) =>
      onTime(new Date(Math.floor((job.currentRun() ?? new Date()).getTime() / 1000) * 1000));
    const common = { catch: true, unref: true, name: `trigger:${id}` } as const;
    if ('at' in schedule.local) {
      // A one-time trigger whose instant passed while the host was down fires now, as Scheduler
      // (which never stops) would have fired it then.
      const at = new Date(schedule.local.at);
      if (at.getTime() <= Date.now()) onTime(at);
      else this.jobs.set(id, new Cron(at, { ...common, maxRuns: 1 }, onRun));
      return;
    }
    this.jobs.set(
      id,
      new Cron(
        schedule.local.cron,
        {
          ...common,
          timezone: schedule.timezone,
          ...(schedule.local.interval ? { interval: schedule.local.interval } : {}),
        },
        onRun,
      ),
    );
  }

  async unregister(triggerId: string): Promise<void> {
    this.drop(triggerId);
  }

  /** Hands an event to every armed EVENT trigger whose pattern matches it; answers how many. */
  publish(event: BusEvent): number {
    if (this.stopped) return 0;
    let matched = 0;
    for (const [id, pattern] of this.patterns) {
      if (!matchesPattern(pattern, event as unknown as Record<string, unknown>)) continue;
      matched += 1;
      this.fire(id, {
        kind: 'event',
        id: event.id,
        time: event.time,
        source: event.source,
        detailType: event['detail-type'],
        detail: event.detail,
      });
    }
    return matched;
  }

  /** Ids of the armed triggers (schedules and patterns). */
  armed(): string[] {
    return [...this.jobs.keys(), ...this.patterns.keys()];
  }

  /** Stops every schedule and ignores events from now on (host shutdown). */
  stopAll(): void {
    this.stopped = true;
    for (const id of [...this.jobs.keys()]) this.drop(id);
    this.patterns.clear();
  }

  private drop(triggerId: string): void {
    this.jobs.get(triggerId)?.stop();
    this.jobs.delete(triggerId);
    this.patterns.delete(triggerId);
  }

  private fire(triggerId: string, cause: FireCause): void {
    this.options.track(
      this.options.fire(triggerId, cause).catch((error: unknown) => {
        this.options.log(`trigger ${triggerId} failed to fire: ${(error as Error).message}`);
      }),
    );
  }
}

export function createLocalTriggerRuntime(options: LocalTriggerRuntimeOptions): LocalTriggerRuntime {
  return new LocalTriggerRuntime(options);
}

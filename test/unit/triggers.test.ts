import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#core/errors';
import { createLocalTriggerRuntime, objectCreatedEvent, sluiceBusEvent } from '#core/triggers/local';
import { matchesPattern } from '#core/triggers/pattern';
import type { FireCause } from '#core/triggers/runtime';
import { onTestPlatform } from './test-platform.ts';

process.env.SLUICE_TABLE ??= 'sluice-unit';
process.env.SLUICE_DATA_BUCKET ??= 'sluice-data';
delete process.env.SLUICE_ALLOW_SECOND_SCHEDULES;
const { buildSchedule, eventPatternOf } = await import('#core/triggers/triggers');
const { nextRunOf } = await import('#core/triggers/views');

onTestPlatform();
type TriggerItem = import('#core/triggers/store').TriggerItem;

const matches = (pattern: Record<string, unknown>, event: object) =>
  matchesPattern(pattern, event as Record<string, unknown>);

const batchFinished = (pipelineId: string, status: string) =>
  sluiceBusEvent({
    source: 'sluice.pipelines',
    'detail-type': 'Batch Finished',
    detail: { pipelineId, pipelineName: 'a', batchId: 'batch-1', status },
  });

const versionPublished = (datasetId: string, datasetName: string, collectionId: string) =>
  sluiceBusEvent({
    source: 'sluice.catalog',
    'detail-type': 'Dataset Version Published',
    detail: { datasetId, datasetName, collectionId, version: 2 },
  });

describe('trigger event patterns', () => {
  it('select objects created under the prefix in the bucket, and nothing else', () => {
    const pattern = eventPatternOf({ kind: 'OBJECT_CREATED', bucket: 'landing', prefix: 'in/daily/' });
    expect(matches(pattern, objectCreatedEvent('landing', 'in/daily/2025-01-01.csv', 10))).toBe(true);
    expect(matches(pattern, objectCreatedEvent('landing', 'in/weekly/x.csv', 10))).toBe(false);
    expect(matches(pattern, objectCreatedEvent('other', 'in/daily/x.csv', 10))).toBe(false);
  });

  it('select every object of the bucket when the prefix is empty', () => {
    const pattern = eventPatternOf({ kind: 'OBJECT_CREATED', bucket: 'landing', prefix: '' });
    expect(pattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['landing'] } },
    });
    expect(matches(pattern, objectCreatedEvent('landing', 'anything', 1))).toBe(true);
  });

  it('select new versions of a dataset by id', () => {
    const pattern = eventPatternOf({ kind: 'DATASET_UPDATED', dataset_id: 'ds-1' });
    expect(matches(pattern, versionPublished('ds-1', 'orders', 'col-1'))).toBe(true);
    expect(matches(pattern, versionPublished('ds-2', 'orders', 'col-1'))).toBe(false);
    expect(matches(pattern, objectCreatedEvent('landing', 'ds-1', 1))).toBe(false);
  });

  it('select a dataset that does not exist yet by collection and case-insensitive name', () => {
    const pattern = eventPatternOf({
      kind: 'DATASET_UPDATED',
      collection_id: 'col-1',
      database: 'sales',
      table: 'Orders',
    });
    expect(matches(pattern, versionPublished('ds-9', 'orders', 'col-1'))).toBe(true);
    expect(matches(pattern, versionPublished('ds-9', 'orders', 'col-2'))).toBe(false);
    expect(matches(pattern, versionPublished('ds-9', 'orders_old', 'col-1'))).toBe(false);
  });

  it('map run statuses onto batch outcomes (CANCELED is a stopped batch)', () => {
    const completed = eventPatternOf({ kind: 'RUN_FINISHED', job_id: 'pl-a', statuses: ['COMPLETED'] });
    expect(matches(completed, batchFinished('pl-a', 'completed'))).toBe(true);
    expect(matches(completed, batchFinished('pl-a', 'failed'))).toBe(false);
    expect(matches(completed, batchFinished('pl-b', 'completed'))).toBe(false);
    const canceled = eventPatternOf({ kind: 'RUN_FINISHED', job_id: 'pl-a', statuses: ['CANCELED'] });
    expect(matches(canceled, batchFinished('pl-a', 'stop'))).toBe(true);
  });

  it('leave the status out when every outcome counts', () => {
    const any = eventPatternOf({
      kind: 'RUN_FINISHED',
      job_id: 'pl-a',
      statuses: ['COMPLETED', 'FAILED', 'CANCELED'],
    });
    expect(any).toEqual({
      source: ['sluice.pipelines'],
      'detail-type': ['Batch Finished'],
      detail: { pipelineId: ['pl-a'] },
    });
  });
});

describe('trigger schedules', () => {
  const fieldOf = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).extras.errors?.map((e) => e.field);
    }
    throw new Error('no error');
  };

  it('name the request field of a bad rule, expression or time zone', () => {
    expect(
      fieldOf(() => buildSchedule({ triggerRule: { type: 'RECURRING', interval: 'DAY', time: '25:00' } })),
    ).toEqual(['body.triggerRule.time']);
    expect(fieldOf(() => buildSchedule({ cron: 'cron(0 0 * * * *)' }))).toEqual(['body.cron']);
    expect(fieldOf(() => buildSchedule({ cron: 'rate(5 minutes)', timezone: 'Mars/Olympus' }))).toEqual([
      'body.timezone',
    ]);
  });

  it('refuse seconds unless the host allows them for tests', () => {
    expect(fieldOf(() => buildSchedule({ cron: 'rate(2 seconds)' }))).toEqual(['body.cron']);
  });

  it('give the next run of a rate from the last firing', () => {
    const trigger = {
      enabled: true,
      created_at: '2025-01-01T00:00:00.000Z',
      last_fired_at: '2025-01-01T00:10:00.000Z',
      schedule: buildSchedule({ cron: 'rate(15 minutes)' }),
    } as TriggerItem;
    expect(nextRunOf(trigger, new Date('2025-01-01T00:12:00.000Z'))?.toISOString()).toBe(
      '2025-01-01T00:25:00.000Z',
    );
    expect(nextRunOf({ ...trigger, enabled: false }, new Date())).toBeUndefined();
  });
});

describe('the local trigger runtime', () => {
  const started: Promise<unknown>[] = [];
  const setup = () => {
    const fire = vi.fn(async (_id: string, _cause: FireCause) => undefined);
    const runtime = createLocalTriggerRuntime({ fire, track: (work) => started.push(work), log: () => {} });
    return { fire, runtime };
  };

  afterEach(async () => {
    await Promise.all(started.splice(0));
  });

  it('fires the EVENT triggers whose pattern matches an event, with the event as cause', async () => {
    const { fire, runtime } = setup();
    await runtime.register({
      triggerId: 'trg-a',
      name: 'a',
      enabled: true,
      pattern: eventPatternOf({ kind: 'OBJECT_CREATED', bucket: 'landing', prefix: 'in/' }),
    });
    await runtime.register({
      triggerId: 'trg-b',
      name: 'b',
      enabled: true,
      pattern: eventPatternOf({ kind: 'OBJECT_CREATED', bucket: 'landing', prefix: 'out/' }),
    });

    expect(runtime.publish(objectCreatedEvent('landing', 'in/x.csv', 3))).toBe(1);

    expect(fire).toHaveBeenCalledTimes(1);
    expect(fire).toHaveBeenCalledWith(
      'trg-a',
      expect.objectContaining({
        kind: 'event',
        source: 'aws.s3',
        detailType: 'Object Created',
        detail: expect.objectContaining({ object: { key: 'in/x.csv', size: 3 } }),
      }),
    );
  });

  it('stops firing a trigger once it is unregistered, disabled or the host stops', async () => {
    const { fire, runtime } = setup();
    const armed = {
      triggerId: 'trg-a',
      name: 'a',
      enabled: true,
      pattern: eventPatternOf({ kind: 'OBJECT_CREATED', bucket: 'landing', prefix: '' }),
    };
    await runtime.register(armed);
    await runtime.unregister('trg-a');
    expect(runtime.publish(objectCreatedEvent('landing', 'x', 1))).toBe(0);
    await runtime.register({ ...armed, enabled: false });
    expect(runtime.armed()).toEqual([]);
    await runtime.register(armed);
    runtime.stopAll();
    expect(runtime.publish(objectCreatedEvent('landing', 'x', 1))).toBe(0);
    expect(fire).not.toHaveBeenCalled();
  });

  it('runs schedules on croner in the schedule’s time zone', async () => {
    const { fire, runtime } = setup();
    await runtime.register({
      triggerId: 'trg-s',
      name: 's',
      enabled: true,
      schedule: {
        expression: 'rate(1 second)',
        timezone: 'UTC',
        local: { cron: '* * * * * *', interval: 1 },
      },
    });
    await vi.waitFor(
      () => expect(fire).toHaveBeenCalledWith('trg-s', expect.objectContaining({ kind: 'schedule' })),
      {
        timeout: 3_000,
      },
    );
    runtime.stopAll();
  });

  it('fires a one-time trigger at once when its instant passed while the host was down', async () => {
    const { fire, runtime } = setup();
    await runtime.register({
      triggerId: 'trg-o',
      name: 'o',
      enabled: true,
      schedule: {
        expression: 'at(2020-01-01T00:00:00)',
        timezone: 'UTC',
        local: { at: '2020-01-01T00:00:00.000Z' },
      },
    });
    expect(fire).toHaveBeenCalledWith('trg-o', expect.objectContaining({ kind: 'schedule' }));
    expect(runtime.armed()).toEqual([]);
  });
});

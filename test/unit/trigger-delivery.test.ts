/**
 * One start per delivery (Powertools idempotency, triggers/delivery.ts) against the local
 * DynamoDB stand-in: the guard alone, then `fireTrigger` and the local bus firing through it.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Stores } from '#core/clients';
import { putItem } from '#core/db';
import type { Engine } from '#core/engine/engine';
import { type Platform, runOn } from '#core/platform/platform';
import { DELIVERY_RECORDS, type Delivery, startOnce } from '#core/triggers/delivery';
import { fireTrigger } from '#core/triggers/fire';
import { createLocalTriggerRuntime, objectCreatedEvent } from '#core/triggers/local';
import type { TriggerRuntime } from '#core/triggers/runtime';
import { startTestTable, type TestTable } from './dynalite.ts';
import { testPlatform } from './test-platform.ts';

let table: TestTable;
let stores: Stores;

beforeAll(async () => {
  table = await startTestTable({
    SLUICE_WORKFLOW_STEP_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:sluice-workflow-step',
  });
  stores = testPlatform({ settings: table.settings }).stores;
});

afterAll(async () => {
  await table?.stop();
});

let serial = 0;
/** A delivery no other test uses. */
const delivery = (overrides: Partial<Delivery> = {}): Delivery => {
  serial += 1;
  return { triggerId: 'trg-a', deliveryId: `delivery-${serial}`, targetId: 'wf-a', ...overrides };
};

/** A start that counts its runs and answers which run it was. */
const counter = () => {
  let runs = 0;
  const start = async () => {
    runs += 1;
    return { run: runs };
  };
  return { start, runs: () => runs };
};

describe('a delivery guard', () => {
  it('starts a target once when the same delivery comes twice', async () => {
    const { start, runs } = counter();
    const first = delivery();

    const a = await startOnce(stores, first, start);
    const b = await startOnce(stores, { ...first }, start);

    expect(runs()).toBe(1);
    expect(a).toEqual({ outcome: { run: 1 }, duplicate: false });
    expect(b).toEqual({ outcome: { run: 1 }, duplicate: true });
  });

  it('starts it again for a delivery with another id', async () => {
    const { start, runs } = counter();

    await startOnce(stores, delivery(), start);
    const again = await startOnce(stores, delivery(), start);

    expect(runs()).toBe(2);
    expect(again).toEqual({ outcome: { run: 2 }, duplicate: false });
  });

  it('starts each trigger and each target that one event reaches', async () => {
    const { start, runs } = counter();
    const event = delivery();

    await startOnce(stores, event, start);
    await startOnce(stores, { ...event, triggerId: 'trg-b' }, start);
    await startOnce(stores, { ...event, targetId: 'pl-b' }, start);

    expect(runs()).toBe(3);
  });

  it('lets the retry of a delivery whose start failed start it', async () => {
    const { start, runs } = counter();
    const failing = delivery();
    const broken = async () => {
      throw new Error('engine unavailable');
    };

    await expect(startOnce(stores, failing, broken)).rejects.toThrow('engine unavailable');
    const retried = await startOnce(stores, failing, start);

    expect(runs()).toBe(1);
    expect(retried.duplicate).toBe(false);
  });

  it('holds a redelivery off while the first start is in progress', async () => {
    const { start, runs } = counter();
    const busy = delivery();
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = () => {};
    const running = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slow = async () => {
      entered();
      await released;
      return start();
    };

    const first = startOnce(stores, busy, slow);
    await running;
    await expect(startOnce(stores, busy, start)).rejects.toMatchObject({
      name: 'IdempotencyAlreadyInProgressError',
    });
    release();

    expect((await first).duplicate).toBe(false);
    expect(runs()).toBe(1);
  });

  it('keeps its record in the table, in one partition, expiring by the table’s TTL attribute', async () => {
    const { start } = counter();
    const before = Math.floor(Date.now() / 1000);

    await startOnce(stores, delivery(), start);

    const records = await stores.ddb.send(
      new QueryCommand({
        TableName: stores.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': DELIVERY_RECORDS.partition },
      }),
    );
    const record = records.Items?.find((item) => item.data?.outcome?.run === 1 && item.ttl >= before);
    expect(record).toMatchObject({
      pk: 'IDEMPOTENCY#trigger-fire',
      sk: expect.stringMatching(/^trigger-fire#/),
      status: 'COMPLETED',
      data: { outcome: { run: 1 } },
    });
    expect(record?.ttl).toBeGreaterThanOrEqual(before + DELIVERY_RECORDS.expiresAfterSeconds);
    expect(record?.ttl).toBeLessThanOrEqual(before + DELIVERY_RECORDS.expiresAfterSeconds + 5);
  });
});

// ---------------------------------------------------------------------------------------------
// Firing: the trigger-fire Lambda and the local scheduler and bus both end in fireTrigger.

const TRIGGER = 'trg-0123456789abcdefghjkmn';
const WORKFLOW = 'wf-0123456789abcdefghjkmnpq';
const JOB = 'pl-0123456789abcdefghjkmnpq';
const CREATED = '2025-03-01T00:00:00.000Z';

/** Workflow executions the engine was asked to start. */
let starts: unknown[];

/** The engine's workflow side, as the local or Step Functions engine answers it. */
const engine = {
  deployWorkflow: async () => `local:${WORKFLOW}:wf-test`,
  startWorkflow: async (request: unknown) => {
    starts.push(request);
    return `execution-${starts.length}`;
  },
} as Partial<Engine> as Engine;

const quietTriggers: TriggerRuntime = { register: async () => undefined, unregister: async () => undefined };

let platform: Platform;

beforeAll(async () => {
  platform = testPlatform({ settings: table.settings, engine, triggers: quietTriggers });
  await runOn(platform, async () => {
    await putItem({
      pk: `TRIGGER#${TRIGGER}`,
      sk: 'META',
      id: TRIGGER,
      name: 'landing_files',
      description: '',
      type: 'EVENT',
      target: { type: 'WORKFLOW', workflow_id: WORKFLOW },
      on_busy: 'QUEUE',
      enabled: true,
      created_at: CREATED,
      updated_at: CREATED,
      created_by: 'admin',
    });
    await putItem({
      pk: `WF#${WORKFLOW}`,
      sk: 'META',
      id: WORKFLOW,
      name: 'workflow001',
      description: '',
      is_temp: false,
      nodes: [
        { id: TRIGGER, name: 'landing_files', type: 'TRIGGER', parentNodeIds: [], triggerId: TRIGGER },
        { id: JOB, name: 'job001', type: 'JOB', parentNodeIds: [TRIGGER], jobId: JOB },
      ],
      created_at: CREATED,
      updated_at: CREATED,
      created_by: 'admin',
    });
    await putItem({
      pk: `PL#${JOB}`,
      sk: 'META',
      id: JOB,
      name: 'job001',
      version: 1,
      valid: true,
      timeout_minutes: 60,
      num_workers: 1,
      max_concurrent_runs: 1,
      active_runs: 0,
    });
  });
});

beforeEach(() => {
  starts = [];
});

describe('firing a trigger', () => {
  it('starts its workflow once for two deliveries with the same id, and again for a new id', async () => {
    const fire = (id: string) => runOn(platform, () => fireTrigger(TRIGGER, { kind: 'schedule', id }));

    const first = await fire('exec-1');
    const redelivered = await fire('exec-1');
    const next = await fire('exec-2');

    expect(starts).toHaveLength(2);
    expect(first).toMatchObject({ fired: true, targets: [{ workflowId: WORKFLOW, started: true }] });
    expect(redelivered).toEqual({
      fired: false,
      reason: 'nothing-started',
      targets: [{ type: 'WORKFLOW', workflowId: WORKFLOW, started: false, reason: 'duplicate' }],
    });
    expect(next).toMatchObject({ fired: true, targets: [{ workflowId: WORKFLOW, started: true }] });
  });

  it('on the local bus, starts one run for an event delivered twice', async () => {
    const fired: Promise<unknown>[] = [];
    const bus = createLocalTriggerRuntime({
      fire: (id, cause) => runOn(platform, () => fireTrigger(id, cause)),
      track: (work) => fired.push(work),
      log: () => undefined,
    });
    await bus.register({
      triggerId: TRIGGER,
      name: 'landing_files',
      enabled: true,
      pattern: { source: ['aws.s3'], 'detail-type': ['Object Created'] },
    });
    const event = objectCreatedEvent('landing', 'in/a.csv', 3);

    bus.publish(event);
    await Promise.all(fired.splice(0));
    bus.publish(event);
    await Promise.all(fired.splice(0));
    bus.publish(objectCreatedEvent('landing', 'in/b.csv', 3));
    await Promise.all(fired.splice(0));
    bus.stopAll();

    expect(starts).toHaveLength(2);
  });
});

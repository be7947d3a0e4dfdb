/**
 * The event handlers check their input with the Powertools parser before anything runs: a valid
 * event reaches its service; a malformed one is logged (which fields, never the values) and
 * dropped, answered rather than thrown, so it is not retried. Stores are the local DynamoDB
 * stand-in; the query engine and trigger runtime are ports the test gives.
 */
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getItem, putItem } from '#core/db';
import {
  executionStatusChangeSchema,
  objectCreatedSchema,
  queryStateChangeSchema,
  triggerFireSchema,
} from '#core/event-schemas';
import { logger } from '#core/observability';
import { type Platform, runOn } from '#core/platform/platform';
import type { QueryEngine } from '#core/query/engine';
import { busEvent, objectCreatedEvent } from '#core/triggers/local';
import { handler as finalizer } from '#functions/finalizer';
import { onObjectCreated } from '#functions/ingest';
import { handler as queryEvents } from '#functions/query-events';
import { handler as triggerFire } from '#functions/trigger-fire';
import { startTestTable, type TestTable } from './dynalite.ts';
import { testPlatform } from './test-platform.ts';

let table: TestTable;
let platform: Platform;
/** What the ports were asked. */
const synced: string[] = [];
const unregistered: string[] = [];

beforeAll(async () => {
  table = await startTestTable();
  platform = testPlatform({
    settings: table.settings,
    queryEngine: {
      syncExecution: async (id: string) => {
        synced.push(id);
        return undefined;
      },
    } as Partial<QueryEngine> as QueryEngine,
    triggers: {
      register: async () => undefined,
      unregister: async (id) => {
        unregistered.push(id);
      },
    },
  });
});

afterAll(async () => {
  await table?.stop();
});

afterEach(() => {
  vi.restoreAllMocks();
  synced.length = 0;
  unregistered.length = 0;
});

const context = {
  functionName: 'sluice-unit',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:sluice-unit',
  memoryLimitInMB: '128',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 60_000,
} as Partial<Context> as Context;

type Invocable = (event: unknown, context: Context) => Promise<unknown>;
const invoke = (handler: unknown, event: unknown) =>
  runOn(platform, () => (handler as Invocable)(event, context));

/** The error lines logged while `work` ran. */
async function errorsLoggedBy(work: () => Promise<unknown>) {
  const error = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
  const result = await work();
  return { result, logged: error.mock.calls };
}

// ---------------------------------------------------------------------------------------------
// Events as AWS sends them

const statusChange = (detail: Record<string, unknown>) =>
  busEvent('aws.states', 'Step Functions Execution Status Change', {
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:sluice-pl:${detail.name}`,
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:sluice-pl',
    startDate: 1_700_000_000_000,
    stopDate: 1_700_000_060_000,
    input: '{}',
    output: null,
    error: null,
    cause: null,
    ...detail,
  });

const queryStateChange = (detail: Record<string, unknown>) =>
  busEvent('aws.athena', 'Athena Query State Change', {
    currentState: 'SUCCEEDED',
    previousState: 'RUNNING',
    queryExecutionId: '2b7d3f4c-1a2b-4c5d-8e9f-0a1b2c3d4e5f',
    sequenceNumber: '3',
    statementType: 'DML',
    versionId: '0',
    workgroupName: 'sluice',
    ...detail,
  });

describe('the finalizer', () => {
  it('settles the batch of a valid execution status change', async () => {
    const batchId = 'batch-01finalizerunit00000000';
    await runOn(platform, () =>
      putItem({
        pk: `BATCH#${batchId}`,
        sk: 'META',
        id: batchId,
        pipeline_id: 'pl-01finalizerunit0000000000',
        name: 'job001',
        status: 'running',
        steps: {},
        created_at: '2025-03-01T00:00:00.000Z',
      }),
    );

    const { logged } = await errorsLoggedBy(() =>
      invoke(finalizer, statusChange({ name: batchId, status: 'SUCCEEDED' })),
    );

    expect(logged).toEqual([]);
    const batch = await runOn(platform, () => getItem(`BATCH#${batchId}`));
    expect(batch).toMatchObject({ status: 'completed' });
  });

  it('drops an event without a status, logging which field is wrong', async () => {
    const event = statusChange({ name: 'batch-01finalizerunit00000001' });
    delete (event.detail as Record<string, unknown>).status;

    const { result, logged } = await errorsLoggedBy(() => invoke(finalizer, event));

    expect(result).toBeNull();
    expect(logged).toEqual([
      [
        'finalizer: malformed event dropped',
        expect.objectContaining({
          eventId: event.id,
          detailType: 'Step Functions Execution Status Change',
          issues: [expect.stringMatching(/^detail\.status: /)],
        }),
      ],
    ]);
  });

  it('drops an event of another kind than its rule selects', async () => {
    const { result, logged } = await errorsLoggedBy(() =>
      invoke(finalizer, busEvent('aws.athena', 'Athena Query State Change', {})),
    );

    expect(result).toBeNull();
    expect(logged).toHaveLength(1);
  });
});

describe('the query-events handler', () => {
  it('brings the query of a valid Athena state change up to date', async () => {
    await invoke(queryEvents, queryStateChange({}));

    expect(synced).toEqual(['2b7d3f4c-1a2b-4c5d-8e9f-0a1b2c3d4e5f']);
  });

  it('drops an event without a query execution id, logging it, and reads nothing', async () => {
    const event = queryStateChange({ queryExecutionId: undefined });

    const { result, logged } = await errorsLoggedBy(() => invoke(queryEvents, event));

    expect(result).toBeNull();
    expect(synced).toEqual([]);
    expect(logged).toEqual([
      [
        'query-events: malformed event dropped',
        expect.objectContaining({ issues: [expect.stringMatching(/^detail\.queryExecutionId: /)] }),
      ],
    ]);
  });
});

describe('the trigger-fire handler', () => {
  it('fires the trigger of a valid schedule input (here one that is gone: its schedule is removed)', async () => {
    const result = await invoke(triggerFire, {
      triggerId: 'trg-01gone00000000000000000',
      eventId: '5f0c2a34-9d7e-4d59-a8a4-0e2a4a2b9e51',
      time: '2025-03-01T10:00:00Z',
    });

    expect(result).toEqual({ fired: false, reason: 'missing' });
    expect(unregistered).toEqual(['trg-01gone00000000000000000']);
  });

  it('drops an input without a trigger id, logging it, and fires nothing', async () => {
    const { result, logged } = await errorsLoggedBy(() =>
      invoke(triggerFire, { eventId: 'e-1', time: '2025-03-01T10:00:00Z' }),
    );

    expect(result).toEqual({ fired: false, reason: 'malformed' });
    expect(unregistered).toEqual([]);
    expect(logged).toEqual([
      [
        'trigger-fire: malformed event dropped',
        expect.objectContaining({ issues: [expect.stringMatching(/^triggerId: /)] }),
      ],
    ]);
  });
});

describe('the ingest of uploaded objects', () => {
  it('takes the event the local host sends for an upload', async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const event = objectCreatedEvent('sluice-data', 'uploads/ds-1/upl-0unknown.csv', 10);

    await invoke(onObjectCreated, event);

    // Parsed and handed to the ingest, which finds no such upload.
    expect(info).toHaveBeenCalledWith('upload already handled or unknown; ignoring the event', {
      uploadId: 'upl-0unknown',
    });
  });

  it('drops an event without an object key, logging it', async () => {
    const event = objectCreatedEvent('sluice-data', 'uploads/ds-1/upl-0unknown.csv', 10);
    delete (event.detail.object as Record<string, unknown>).key;

    const { result, logged } = await errorsLoggedBy(() => invoke(onObjectCreated, event));

    expect(result).toBeNull();
    expect(logged).toEqual([
      [
        'ingest: malformed event dropped',
        expect.objectContaining({
          source: 'aws.s3',
          issues: [expect.stringMatching(/^detail\.object\.key: /)],
        }),
      ],
    ]);
  });
});

describe('the event schemas', () => {
  it('take what the trigger rules and schedules send the fire function', () => {
    const fromRule = {
      triggerId: 'trg-a',
      eventId: '8b1c1f4e-2a3b-4c5d-9e8f-7a6b5c4d3e2f',
      time: '2025-03-01T10:00:00Z',
      source: 'aws.s3',
      detailType: 'Object Created',
      detail: { bucket: { name: 'landing' }, object: { key: 'in/a.csv' } },
    };
    const fromSchedule = {
      triggerId: 'trg-a',
      eventId: 'c0ffee00-0000-4000-8000-000000000000',
      time: '2025-03-01T10:00:00Z',
    };

    expect(triggerFireSchema.parse(fromRule)).toEqual(fromRule);
    expect(triggerFireSchema.parse(fromSchedule)).toEqual(fromSchedule);
  });

  it('take the local host’s S3 event, and refuse one S3 would not send', () => {
    const local = objectCreatedEvent('sluice-data', 'uploads/ds-1/upl-1.csv', 10, 'us-east-1');

    expect(objectCreatedSchema.parse(local).detail.object).toEqual({
      key: 'uploads/ds-1/upl-1.csv',
      size: 10,
    });
    expect(objectCreatedSchema.safeParse({ ...local, source: 'sluice.catalog' }).success).toBe(false);
  });

  it('take an upload from an IPv6 client', () => {
    const event = objectCreatedEvent('sluice-data', 'uploads/ds-1/upl-1.csv', 10);
    event.detail['source-ip-address'] = '2001:db8::1';

    expect(objectCreatedSchema.safeParse(event).success).toBe(true);
  });

  it('take a status change in the shape the local engine reports it', () => {
    const failed = busEvent('aws.states', 'Step Functions Execution Status Change', {
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:sluice-local-pl-1:batch-1',
      name: 'batch-1',
      status: 'FAILED',
      error: 'Sluice.EngineError',
    });

    expect(executionStatusChangeSchema.parse(failed).detail).toEqual(failed.detail);
  });

  it('keep the detail fields the services read, and nothing is required that AWS may leave out', () => {
    const status = executionStatusChangeSchema.parse(statusChange({ name: 'batch-1', status: 'FAILED' }));
    const query = queryStateChangeSchema.parse(queryStateChange({ previousState: undefined }));

    expect(status.detail).toMatchObject({ name: 'batch-1', status: 'FAILED', error: null, cause: null });
    expect(query.detail.queryExecutionId).toBe('2b7d3f4c-1a2b-4c5d-8e9f-0a1b2c3d4e5f');
  });
});

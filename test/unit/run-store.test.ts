/**
 * The run store's racing writes, against a mocked DynamoDB: the exact conditional updates that
 * settle a batch once and record a step only while its batch runs.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { onTestPlatform } from './test-platform.ts';

process.env.SLUICE_TABLE ??= 'sluice-unit';
process.env.SLUICE_DATA_BUCKET ??= 'sluice-data';
const { markSteps, recordSourcePlan, recordSteps, settleBatch, sourcePlanOf } = await import(
  '#core/pipelines/run-store'
);

onTestPlatform();

const ddb = mockClient(DynamoDBDocumentClient);
const meta = { $metadata: {} };
const lostRace = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', ...meta });

const BATCH = 'batch-0123456789abcdefghjkmn';
const PIPELINE = 'pl-0123456789abcdefghjkmp';
const batch = (steps: Record<string, string>, status = 'running') => ({
  pk: `BATCH#${BATCH}`,
  sk: 'META',
  id: BATCH,
  pipeline_id: PIPELINE,
  status,
  steps: Object.fromEntries(Object.entries(steps).map(([name, state]) => [name, { state, offsets: {} }])),
  created_at: '2025-01-02T03:04:05.000Z',
  started_at: '2025-01-02T03:04:06.000Z',
  finished_at: null,
});

beforeEach(() => {
  ddb.reset();
});

describe('settling a batch', () => {
  it('writes the outcome and every unfinished step in one conditional update, then the run day and last run', async () => {
    ddb.on(GetCommand).resolves({ Item: batch({ read: 'success', sql: 'running', write: 'pending' }) });
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    ddb.on(PutCommand).resolves({});

    const settled = await settleBatch(BATCH, 'failed', 'A step failed.');

    expect(settled?.before.status).toBe('running');
    const [terminal, lastRun] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(terminal).toMatchObject({
      Key: { pk: `BATCH#${BATCH}`, sk: 'META' },
      UpdateExpression:
        'SET #status = :outcome, finished_at = :now, started_at = if_not_exists(started_at, :now), #error = :reason, steps.#s1.#state = :next1, steps.#s2.#state = :next2 REMOVE gsi2pk, gsi2sk, holds_slot',
      ConditionExpression: '#status = :was AND steps.#s1.#state = :was1 AND steps.#s2.#state = :was2',
      ExpressionAttributeNames: { '#s1': 'sql', '#s2': 'write' },
      ExpressionAttributeValues: {
        ':outcome': 'failed',
        ':was': 'running',
        ':next1': 'failed',
        ':next2': 'none',
      },
    });
    expect(lastRun).toMatchObject({
      Key: { pk: `PL#${PIPELINE}`, sk: 'META' },
      ExpressionAttributeValues: { ':s': 'failed', ':at': settled?.finishedAt },
    });
    expect(ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item)).toEqual([
      expect.objectContaining({
        pk: 'RUNDAY#2025-01-02',
        sk: `2025-01-02T03:04:05.000Z#${BATCH}`,
        status: 'failed',
        finished_at: settled?.finishedAt,
      }),
    ]);
  });

  it('reads the batch again when a step moved meanwhile', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: batch({ sql: 'running' }) })
      .resolves({ Item: batch({ sql: 'success' }) });
    ddb.on(UpdateCommand).rejectsOnce(lostRace()).resolves({ Attributes: {} });
    ddb.on(PutCommand).resolves({});

    await settleBatch(BATCH, 'completed', undefined);

    const [lost, won] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(lost?.ConditionExpression).toBe('#status = :was AND steps.#s0.#state = :was0');
    expect(won?.ConditionExpression).toBe('#status = :was');
  });

  it('changes nothing when the batch has already finished', async () => {
    ddb.on(GetCommand).resolves({ Item: batch({ sql: 'success' }, 'stop') });

    const settled = await settleBatch(BATCH, 'completed', undefined);

    expect(settled).toBeUndefined();
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });
});

describe('recording a step', () => {
  it('answers false, writing nothing, once the batch no longer runs', async () => {
    ddb.on(UpdateCommand).rejects(lostRace());

    const marked = await markSteps(BATCH, ['sql'], 'success');

    expect(marked).toBe(false);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: `BATCH#${BATCH}`, sk: 'META' },
      UpdateExpression: 'SET steps.#s0.#state = :v0',
      ConditionExpression: '#status = :running',
      ExpressionAttributeNames: { '#s0': 'sql', '#state': 'state' },
      ExpressionAttributeValues: { ':v0': 'success', ':running': 'running' },
    });
  });

  it('writes one node finishing, the next starting and a partition offset in one update', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: batch({ a: 'success', b: 'running' }) });

    const written = await recordSteps(BATCH, {
      states: { a: 'success', b: 'running' },
      offsets: { partition: 2, rows: [{ step: 'a', rows: 7 }] },
    });

    expect(written).toBe(true);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: 'SET steps.#s0.#state = :v0, steps.#s1.#state = :v1, steps.#s2.offsets.#p = :v2',
      ExpressionAttributeNames: { '#s0': 'a', '#s1': 'b', '#s2': 'a', '#p': 'partition_2' },
      ExpressionAttributeValues: { ':v0': 'success', ':v1': 'running', ':v2': 7 },
    });
  });
});

describe('a source plan kept on the batch', () => {
  const plan = { groups: [['datasets/ds-1/v1/part-00000.parquet']], rows: [6], fused_into: 's2', logs: [] };

  it('is written as its own attribute of the batch item, only while the batch runs, and read back from it', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: {} });

    expect(await recordSourcePlan(BATCH, '1', plan)).toBe(true);

    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      Key: { pk: `BATCH#${BATCH}`, sk: 'META' },
      UpdateExpression: 'SET #plan = :plan',
      ConditionExpression: '#status = :running',
      ExpressionAttributeNames: { '#plan': 'source_plan_1', '#status': 'status' },
      ExpressionAttributeValues: { ':plan': plan, ':running': 'running' },
    });
    const item = { ...batch({}), source_plan_1: plan };
    expect(sourcePlanOf(item as never, '1')).toEqual(plan);
    expect(sourcePlanOf(item as never, '2')).toBeUndefined();
  });

  it('is not written once the batch has ended', async () => {
    ddb.on(UpdateCommand).rejects(lostRace());

    expect(await recordSourcePlan(BATCH, '1', plan)).toBe(false);
  });
});

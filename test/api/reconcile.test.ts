/**
 * The reconciler on a local host of its own (it runs every second here, with a one-second grace
 * period): records whose end was lost are settled from what the engine knows. A lost end is made
 * by writing the record back the way it was before the finalizer ran, straight into the host's
 * DynamoDB stand-in.
 */
import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogHelpers, sqlOverDataset } from './catalog-helpers.ts';
import { ADMIN, client, type RunningHost, startHost, unique, until } from './harness.ts';

let host: RunningHost;
let api: ReturnType<typeof client>;
let db: DynamoDBDocumentClient;
let token: string;
/** The catalog helpers, bound to this file's host once it runs. */
const catalog = () => catalogHelpers(api, () => token);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  const dynamoPort = await freePort();
  host = await startHost({
    env: {
      SLUICE_DYNAMODB_PORT: String(dynamoPort),
      SLUICE_RECONCILE_INTERVAL_SECONDS: '1',
      SLUICE_RECONCILE_GRACE_SECONDS: '1',
    },
  });
  api = client(host.url);
  token = await api.login(ADMIN.username, ADMIN.password);
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: `http://127.0.0.1:${dynamoPort}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
}, 120_000);

afterAll(async () => {
  db?.destroy();
  await host?.stop();
});

const TABLE = 'sluice';

async function pipelineOver(sql: string, extra: Record<string, unknown> = {}) {
  const col = await catalog().newCollection('reconcile');
  const ds = await catalog().newDataset(col, 'src', 'k,v\n1,a\n2,b\n');
  const res = await api.post(
    '/api/v1/pipelines',
    {
      name: unique('reconcile'),
      collection_id: col,
      nodes: sqlOverDataset({ collection: col, dataset: ds, sql, input: 'src' }),
      ...extra,
    },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

async function batchOf(pipelineId: string, batchId: string) {
  const res = await api.get(`/api/v1/batches/${pipelineId}/${batchId}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function runToEnd(pipelineId: string) {
  const started = await api.post(`/api/v1/pipelines/${pipelineId}/run`, {}, { token });
  expect(started.status, started.text).toBe(200);
  return until(
    'the batch to end',
    () => batchOf(pipelineId, started.body.batch_id),
    (b) => ['completed', 'failed', 'stop'].includes(b.status),
    60_000,
  );
}

/** The batch once the reconciler has moved it on from `running`. */
function settledBatch(pipelineId: string, batchId: string) {
  return until(
    'the reconciler to settle the batch',
    () => batchOf(pipelineId, batchId),
    (b) => b.status !== 'running',
    20_000,
  );
}

/** Puts a finished batch back as it was while running, as if the finalizer never ran. */
async function loseTheEnd(pipelineId: string, batchId: string, set: Record<string, unknown> = {}) {
  const extra = Object.keys(set);
  const written = await db.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: { pk: `BATCH#${batchId}`, sk: 'META' },
      UpdateExpression: `SET #status = :running, gsi2pk = :active, gsi2sk = :queue${extra
        .map((_k, i) => `, #x${i} = :x${i}`)
        .join('')} REMOVE finished_at, #error`,
      ExpressionAttributeNames: {
        '#status': 'status',
        '#error': 'error',
        ...Object.fromEntries(extra.map((k, i) => [`#x${i}`, k])),
      },
      ExpressionAttributeValues: {
        ':running': 'running',
        ':active': 'ACTIVE',
        ':queue': `${pipelineId}#${batchId}`,
        ...Object.fromEntries(extra.map((k, i) => [`:x${i}`, set[k]])),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  // Asserted on the write itself: the reconciler may settle the batch again at any moment.
  expect(written.Attributes?.status).toBe('running');
}

describe('the reconciler', () => {
  it('settles a completed batch whose status change was dropped', async () => {
    const pipelineId = await pipelineOver('SELECT k, upper(v) AS v FROM src');
    const batch = await runToEnd(pipelineId);
    expect(batch.status).toBe('completed');

    await loseTheEnd(pipelineId, batch.id);

    const settled = await settledBatch(pipelineId, batch.id);
    expect(settled.status).toBe('completed');
    expect(settled.finished_at).toEqual(expect.any(String));
  });

  it('settles a failed batch with the engine’s reason', async () => {
    const pipelineId = await pipelineOver('SELECT no_such_column FROM src');
    const batch = await runToEnd(pipelineId);
    expect(batch.status).toBe('failed');
    const reason = batch.error as string;
    expect(reason).toMatch(/transform/);

    await loseTheEnd(pipelineId, batch.id);

    const settled = await settledBatch(pipelineId, batch.id);
    expect(settled.status).toBe('failed');
    expect(settled.error).toBe(reason);
  });

  it('fails a running batch whose execution the engine does not know, with a reason', async () => {
    const pipelineId = await pipelineOver('SELECT * FROM src');
    const batch = await runToEnd(pipelineId);
    await loseTheEnd(pipelineId, batch.id, {
      execution_id: 'arn:aws:states:us-east-1:000000000000:execution:sluice-local-gone:nothing',
    });

    const settled = await settledBatch(pipelineId, batch.id);
    expect(settled.status).toBe('failed');
    expect(settled.error).toMatch(/no longer knows/);
  });

  it('gives back a run slot that no batch holds, so a waiting batch starts and completes', async () => {
    const pipelineId = await pipelineOver('SELECT * FROM src', { max_concurrent_runs: 1 });
    // A process died after taking the pipeline's only slot and before recording its batch.
    await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: `PL#${pipelineId}`, sk: 'META' },
        UpdateExpression: 'SET active_runs = :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    const started = await api.post(`/api/v1/pipelines/${pipelineId}/run`, {}, { token });
    expect(started.status, started.text).toBe(200);
    // Read from the answer itself: under load the reconciler may start it before a second request.
    expect(started.body.status).toBe('pending');

    const done = await until(
      'the waiting batch to run',
      () => batchOf(pipelineId, started.body.batch_id),
      (b) => ['completed', 'failed'].includes(b.status),
      30_000,
    );
    expect(done.status).toBe('completed');
    // The slot is given back just after the batch settles.
    const slots = await until(
      'the run slot to be free',
      async () =>
        (await db.send(new GetCommand({ TableName: TABLE, Key: { pk: `PL#${pipelineId}`, sk: 'META' } })))
          .Item?.active_runs,
      (n) => n === 0,
      10_000,
    );
    expect(slots).toBe(0);
  });

  it('settles a workflow execution whose status change was dropped', async () => {
    const pipelineId = await pipelineOver('SELECT * FROM src');
    const workflow = await api.post(
      '/api/v1/workflows',
      {
        name: unique('wf').replaceAll('-', '_'),
        nodes: [{ id: 1, name: 'only', type: 'JOB', parentNodeIds: [], jobId: pipelineId }],
      },
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);
    const workflowId = workflow.body.workflowId ?? workflow.body.id;
    const started = await api.post(`/api/v1/workflows/${workflowId}/executions`, {}, { token });
    expect(started.status, started.text).toBe(200);
    const executionId = started.body.workflowExecutionId as string;
    const path = `/api/v1/workflows/${workflowId}/executions/${executionId}`;
    const ended = await until(
      'the workflow execution to end',
      async () => (await api.get(path, { token })).body,
      (x) => x.status === 'COMPLETED' || x.status === 'FAILED',
      60_000,
    );
    expect(ended.status).toBe('COMPLETED');

    const written = await db.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: `WFX#${executionId}`, sk: 'META' },
        UpdateExpression: 'SET #status = :running, gsi2pk = :open, gsi2sk = :id REMOVE finished_at',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':running': 'RUNNING', ':open': 'WFX_OPEN', ':id': executionId },
        ReturnValues: 'ALL_NEW',
      }),
    );
    expect(written.Attributes?.status).toBe('RUNNING');

    const settled = await until(
      'the reconciler to settle the workflow execution',
      async () => (await api.get(path, { token })).body,
      (x) => x.status !== 'RUNNING',
      20_000,
    );
    expect(settled.status).toBe('COMPLETED');
    expect(settled.endDate).toEqual(expect.any(String));
  });
});

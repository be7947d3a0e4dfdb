/**
 * The Batches API (seed 001). Its cURL examples run with curl exactly as the seed writes them,
 * only `https://api.dhub.io` replaced by the local host and the example ids by real ones (the
 * token comes from the environment, as in tutorial.test.ts). Each test has its own collection.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, unique, until } from './harness.ts';

const exec = promisify(execFile);
const host = inject('hostUrl');
const api = client(host);
let token: string;
const { newCollection } = catalogHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

/** Runs a cURL script with TOKEN and the given ids in the environment; answers the parsed body. */
async function curl(script: string, vars: Record<string, string>): Promise<any> {
  const { stdout } = await exec('bash', ['-c', `set -euo pipefail\n${script}`], {
    env: { ...process.env, TOKEN: token, ...vars },
  });
  return JSON.parse(stdout);
}

// ---------------------------------------------------------------------------------------------
// Helpers

const TERMINAL = ['completed', 'failed', 'stop'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function getBatch(pipelineId: string, batchId: string) {
  const res = await api.get(`/api/v1/batches/${pipelineId}/${batchId}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** Polls until the batch is completed, failed or stopped (up to 60 s). */
function waitForBatch(pipelineId: string, batchId: string) {
  return until(
    `batch ${batchId} to finish`,
    () => getBatch(pipelineId, batchId),
    (b) => TERMINAL.includes(b.status),
  );
}

function waitUntilRunning(pipelineId: string, batchId: string, step: string) {
  return until(
    `step "${step}" of ${batchId} to run`,
    () => getBatch(pipelineId, batchId),
    (b) => b.state.steps[step]?.state === 'running' || TERMINAL.includes(b.status),
  );
}

async function createBatch(pipelineId: string, query = ''): Promise<string> {
  const res = await api.post(`/api/v1/batches/${pipelineId}${query}`, undefined, { token });
  expect(res.status, res.text).toBe(200);
  expect(res.body.item).toMatch(/^batch-/);
  return res.body.item;
}

async function newPipeline(collectionId: string, nodes: unknown[], name = unique('pipeline')) {
  const res = await api.post('/api/v1/pipelines', { name, collection_id: collectionId, nodes }, { token });
  expect(res.status, res.text).toBe(201);
  expect(res.body.problems, JSON.stringify(res.body.problems)).toEqual([]);
  return res.body as { id: string; name: string; version: number };
}

const SALES_CSV = 'region,qty\nnorth,3\nsouth,5\nnorth,1\neast,7\n';

function salesNodes(collectionId: string, datasetId: string) {
  return [
    {
      id: 1,
      name: 'extract',
      type: 'SOURCE_CATALOG',
      parentNodeIds: [],
      database: collectionId,
      table: datasetId,
    },
    {
      id: 2,
      name: 'transform',
      type: 'TRANSFORM_FILTER',
      parentNodeIds: [1],
      filterType: 'AND',
      filterConditionList: [{ name: 'qty', operator: 'GTE', value: 3 }],
    },
    {
      id: 3,
      name: 'load',
      type: 'TARGET_CATALOG',
      parentNodeIds: [2],
      database: collectionId,
      table: 'big sales',
      updateType: 'OVERWRITE',
    },
  ];
}

/** A collection with a small dataset and the extract → transform → load pipeline over it. */
async function salesPipeline(name = unique('sales-pipeline')) {
  const col = await newCollection('batches');
  const ds = await api.post('/api/v1/datasets', { name: 'sales', collection_id: col }, { token });
  expect(ds.status, ds.text).toBe(201);
  expect((await api.upload(ds.body.id, SALES_CSV, token)).status).toBe(200);
  const pipeline = await newPipeline(col, salesNodes(col, ds.body.id), name);
  return { col, dataset: ds.body.id as string, pipeline };
}

/** A pipeline whose SQL step keeps DuckDB busy for minutes: only a stop ends it. */
async function slowPipeline() {
  const { col, dataset } = await salesPipeline();
  return newPipeline(col, [
    { id: 1, name: 'extract', type: 'SOURCE_CATALOG', parentNodeIds: [], database: col, table: dataset },
    {
      id: 2,
      name: 'transform',
      type: 'TRANSFORM_SQL',
      parentNodeIds: [1],
      sourceNameList: [{ parentId: 1, newName: 'src' }],
      sql: 'SELECT sum(hash(a.range * b.range)) AS n FROM src, range(100000) a, range(100000) b',
    },
    {
      id: 3,
      name: 'load',
      type: 'TARGET_CATALOG',
      parentNodeIds: [2],
      database: col,
      table: 'never written',
      updateType: 'OVERWRITE',
    },
  ]);
}

const UNKNOWN_PIPELINE = `pl-${'0'.repeat(22)}`;

// ---------------------------------------------------------------------------------------------

describe('the seed 001 cURL examples', () => {
  it('runs a batch: POST /batches/{pipeline_id} answers the new batch id as item', async () => {
    // Arrange
    const { pipeline } = await salesPipeline();

    // Act
    const body = await curl(
      `curl -X POST ${host}/api/v1/batches/\${PIPELINE_ID} \\
-H "Authorization: Bearer \${TOKEN}"`,
      { PIPELINE_ID: pipeline.id },
    );

    // Assert
    expect(Object.keys(body)).toEqual(['item']);
    expect(body.item).toMatch(/^batch-/);
    const batch = await waitForBatch(pipeline.id, body.item);
    expect(batch).toMatchObject({ id: body.item, pipeline_id: pipeline.id, status: 'completed' });
  });

  it('reads the latest batch: GET /batches/{pipeline_id} with name, deployment, state and per-step offsets', async () => {
    // Arrange
    const name = unique('sales-pipeline');
    const { pipeline } = await salesPipeline(name);
    await waitForBatch(pipeline.id, await createBatch(pipeline.id));
    const latestId = await createBatch(pipeline.id);
    await waitForBatch(pipeline.id, latestId);

    // Act
    const body = await curl(
      `curl ${host}/api/v1/batches/\${PIPELINE_ID} \\
-H "Authorization: Bearer \${TOKEN}"`,
      { PIPELINE_ID: pipeline.id },
    );

    // Assert
    expect(body).toMatchObject({
      id: latestId,
      pipeline_id: pipeline.id,
      pipeline_version: 1,
      name,
      deployment: `run-pipeline/${name}`,
      status: 'completed',
      state: {
        state: 'completed',
        steps: {
          extract: { state: 'success', offsets: { partition_0: 4 } },
          transform: { state: 'success', offsets: { partition_0: 3 } },
          load: { state: 'success', offsets: { partition_0: 3 } },
        },
      },
    });
    expect(Object.keys(body.state.steps)).toEqual(['extract', 'transform', 'load']);
    expect(body.created_at).toMatch(ISO);
    expect(body.started_at).toMatch(ISO);
    expect(body.finished_at).toMatch(ISO);
    expect(Date.parse(body.finished_at)).toBeGreaterThanOrEqual(Date.parse(body.started_at));
    expect(body.error).toBeUndefined();
  });

  it('stops a running batch: PUT /batches/{pipeline_id}/{batch_id}/stop', async () => {
    // Arrange
    const pipeline = await slowPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitUntilRunning(pipeline.id, batchId, 'transform');

    // Act
    const body = await curl(
      `curl -X PUT ${host}/api/v1/batches/\${PIPELINE_ID}/\${BATCH_ID}/stop \\
-H "Authorization: Bearer \${TOKEN}"`,
      { PIPELINE_ID: pipeline.id, BATCH_ID: batchId },
    );

    // Assert
    expect(body).toEqual({ message: 'Batch stopped successfully' });
    const batch = await getBatch(pipeline.id, batchId);
    expect(batch.status).toBe('stop');
    expect(batch.state.state).toBe('stop');
    expect(batch.state.steps.transform.state).not.toBe('success');
    expect(batch.state.steps.load.state).toBe('none');
  });

  it('deletes a batch: DELETE /batches/{pipeline_id}/{batch_id}, after which it is not found', async () => {
    // Arrange
    const { pipeline } = await salesPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitForBatch(pipeline.id, batchId);

    // Act
    const body = await curl(
      `curl -X DELETE ${host}/api/v1/batches/\${PIPELINE_ID}/\${BATCH_ID} \\
-H "Authorization: Bearer \${TOKEN}"`,
      { PIPELINE_ID: pipeline.id, BATCH_ID: batchId },
    );

    // Assert
    expect(body).toEqual({ message: 'Batch deleted successfully' });
    const gone = await api.get(`/api/v1/batches/${pipeline.id}/${batchId}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(gone.body).toMatchObject({ status: 404, errorType: 'resource-not-found/BATCH' });
    const traces = await api.get(`/api/v1/traces?pipeline_id=${pipeline.id}&batch_id=${batchId}`, { token });
    expect(traces.status).toBe(404);
  });
});

describe('the other batch routes', () => {
  it('deletes a running batch by stopping it first', async () => {
    const pipeline = await slowPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitUntilRunning(pipeline.id, batchId, 'transform');

    const res = await api.del(`/api/v1/batches/${pipeline.id}/${batchId}`, { token });

    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ message: 'Batch deleted successfully' });
    expect((await api.get(`/api/v1/batches/${pipeline.id}/${batchId}`, { token })).status).toBe(404);
    // The pipeline's run slot was released: the next batch runs.
    const next = await createBatch(pipeline.id);
    await waitUntilRunning(pipeline.id, next, 'transform');
    const stop = await api.put(`/api/v1/batches/${pipeline.id}/${next}/stop`, undefined, { token });
    expect(stop.status, stop.text).toBe(200);
  });

  it('reads one batch: GET /batches/{pipeline_id}/{batch_id} answers the same shape as the latest', async () => {
    const { pipeline } = await salesPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitForBatch(pipeline.id, batchId);

    const one = await api.get(`/api/v1/batches/${pipeline.id}/${batchId}`, { token });
    const latest = await api.get(`/api/v1/batches/${pipeline.id}`, { token });

    expect(one.status).toBe(200);
    expect(one.body).toEqual(latest.body);
    expect(one.body).toMatchObject({ id: batchId, pipeline_id: pipeline.id, status: 'completed' });
  });

  it('answers 404 for a batch of another pipeline', async () => {
    const a = await salesPipeline();
    const b = await newPipeline(a.col, []);
    const batchId = await createBatch(a.pipeline.id);
    await waitForBatch(a.pipeline.id, batchId);

    const res = await api.get(`/api/v1/batches/${b.id}/${batchId}`, { token });

    expect(res.status).toBe(404);
    expect(res.body.errorType).toBe('resource-not-found/BATCH');
  });

  it('lists batches with a trailing slash, each item a JSON string, paged newest first until the token is null', async () => {
    // Arrange
    const col = await newCollection('batches');
    const pipeline = await newPipeline(col, []);
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await createBatch(pipeline.id);
      await waitForBatch(pipeline.id, id);
      made.push(id);
    }

    // Act
    const seen: string[] = [];
    const pages: Array<{ ids: string[]; token: string | null }> = [];
    let next: string | null | undefined;
    do {
      const res = await api.get(
        `/api/v1/batches/${pipeline.id}/?limit=1${next ? `&token=${encodeURIComponent(next)}` : ''}`,
        { token },
      );
      expect(res.status, res.text).toBe(200);
      const items = res.body.items as Record<string, string>;
      for (const [id, json] of Object.entries(items)) {
        expect(typeof json).toBe('string');
        const batch = JSON.parse(json);
        expect(batch).toMatchObject({
          id,
          pipeline_id: pipeline.id,
          name: pipeline.name,
          deployment: `run-pipeline/${pipeline.name}`,
          status: 'completed',
          state: { state: 'completed', steps: {} },
        });
        seen.push(id);
      }
      next = res.body.token;
      pages.push({ ids: Object.keys(items), token: res.body.token ?? null });
      expect(pages.length).toBeLessThanOrEqual(5);
    } while (next);

    // Assert
    expect(seen).toEqual([...made].reverse());
    // One batch a page; the page with the oldest batch is the last one and has a null token.
    expect(pages.map((p) => p.ids)).toEqual([...made].reverse().map((id) => [id]));
    expect(pages.at(-1)?.token).toBeNull();
    const all = await api.get(`/api/v1/batches/${pipeline.id}/`, { token });
    expect(Object.keys(all.body.items)).toEqual([...made].reverse());
    expect(all.body.token ?? null).toBeNull();
  });

  it('reads a batch by its id alone, the tutorial form GET /batches/{batch_id}', async () => {
    const { pipeline } = await salesPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitForBatch(pipeline.id, batchId);

    const res = await api.get(`/api/v1/batches/${batchId}`, { token });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: batchId, pipeline_id: pipeline.id, status: 'completed' });
    expect(res.body.started_at).toMatch(ISO);
    expect(res.body.finished_at).toMatch(ISO);
  });

  it('refuses to stop a batch that has finished with 409 bad-state', async () => {
    const { pipeline } = await salesPipeline();
    const batchId = await createBatch(pipeline.id);
    await waitForBatch(pipeline.id, batchId);

    const res = await api.put(`/api/v1/batches/${pipeline.id}/${batchId}/stop`, undefined, { token });

    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(res.body.errorType).toBe('bad-state');
    expect((await getBatch(pipeline.id, batchId)).status).toBe('completed');
  });

  it('answers 404 resource-not-found/PIPELINE for an unknown pipeline', async () => {
    const responses = [
      await api.post(`/api/v1/batches/${UNKNOWN_PIPELINE}`, undefined, { token }),
      await api.get(`/api/v1/batches/${UNKNOWN_PIPELINE}`, { token }),
      await api.get(`/api/v1/batches/${UNKNOWN_PIPELINE}/?limit=1`, { token }),
    ];

    for (const res of responses) {
      expect(res.status, res.text).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.errorType).toBe('resource-not-found/PIPELINE');
    }
  });

  it('runs an earlier version with ?pipeline_version=1 after a PUT made version 2', async () => {
    // Arrange
    const { col, dataset, pipeline } = await salesPipeline();
    const v2 = await api.put(
      `/api/v1/pipelines/${pipeline.id}`,
      {
        nodes: [
          {
            id: 1,
            name: 'extract',
            type: 'SOURCE_CATALOG',
            parentNodeIds: [],
            database: col,
            table: dataset,
          },
          {
            id: 3,
            name: 'load everything',
            type: 'TARGET_CATALOG',
            parentNodeIds: [1],
            database: col,
            table: 'all sales',
            updateType: 'OVERWRITE',
          },
        ],
      },
      { token },
    );
    expect(v2.status, v2.text).toBe(200);
    expect(v2.body.version).toBe(2);

    // Act
    const oldId = await createBatch(pipeline.id, '?pipeline_version=1');
    const old = await waitForBatch(pipeline.id, oldId);
    const newId = await createBatch(pipeline.id);
    const current = await waitForBatch(pipeline.id, newId);

    // Assert
    expect(old.status).toBe('completed');
    expect(old.pipeline_version).toBe(1);
    expect(Object.keys(old.state.steps)).toEqual(['extract', 'transform', 'load']);
    expect(current.status).toBe('completed');
    expect(current.pipeline_version).toBe(2);
    expect(Object.keys(current.state.steps)).toEqual(['extract', 'load everything']);
    const missing = await api.post(`/api/v1/batches/${pipeline.id}?pipeline_version=3`, undefined, { token });
    expect(missing.status).toBe(404);
  });
});

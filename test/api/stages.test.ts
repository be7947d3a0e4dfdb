/**
 * Run engine v2 on the shared local host: a version's plan of stages, a stage run as one DuckDB
 * program (nothing written between its nodes, every node still traced with exact rows), a source
 * of one partition run by the stage that reads it, a partitioned source fanned out, and a node
 * marked `materialize` written as a stage boundary. Outputs are exact in every shape.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, until } from './harness.ts';
import { catalogSource, catalogTarget, pipelineHelpers, SLOW_SQL, sqlNode } from './pipeline-helpers.ts';

const api = client(inject('hostUrl'));
let token: string;
const { newCollection, newDataset } = catalogHelpers(api, () => token);
const { newPipeline, runToEnd, traces, datasetNamed, table } = pipelineHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

const SALES_CSV = [
  'region,amount,qty',
  'north,10,1',
  'south,4,2',
  'north,7.5,1',
  'east,5,3',
  'south,5.5,1',
  'north,1,9',
].join('\n');

/** source -> filter (row-wise) -> key (SQL) -> aggregate -> dataset, as the benchmark runs. */
function chain(col: string, dataset: string, target: string, materialize?: number) {
  const nodes: Array<Record<string, unknown>> = [
    catalogSource(1, 'extract', col, dataset),
    {
      id: 2,
      name: 'small orders',
      type: 'TRANSFORM_FILTER',
      parentNodeIds: [1],
      filterType: 'AND',
      filterConditionList: [{ name: 'qty', operator: 'LTE', value: 3 }],
    },
    sqlNode(3, 'key', 2, 'orders', 'SELECT *, upper(region) AS zone FROM orders'),
    {
      id: 4,
      name: 'by zone',
      type: 'TRANSFORM_AGGREGATE',
      parentNodeIds: [3],
      groupByList: ['zone'],
      aggregateFieldList: [
        { name: 'amount', ResultName: 'total', function: 'SUM' },
        { name: '*', ResultName: 'orders', function: 'COUNT' },
      ],
    },
    catalogTarget(5, 'load', 4, col, target),
  ];
  return nodes.map((n) => (n.id === materialize ? { ...n, materialize: true } : n));
}

const EXPECTED = [
  ['EAST', 5, 1],
  ['NORTH', 17.5, 2],
  ['SOUTH', 9.5, 2],
];
const sorted = (rows: unknown[][]) => [...rows].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
const byNode = (list: any[]): Record<string, any> => Object.fromEntries(list.map((t) => [t.node_id, t]));

describe('the plan of a version', () => {
  it('shows the stages, their boundaries and the compiled definition', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, chain(col, sales, 'zones'));

    const res = await api.get(`/api/v1/pipelines/${pipeline.id}/versions/1/plan`, { token });

    expect(res.status, res.text).toBe(200);
    expect(res.body.stages).toEqual([
      {
        id: 's1',
        engine: 'DUCKDB',
        partitioned: true,
        source: '1',
        nodes: [
          { id: '1', name: 'extract', type: 'SOURCE_CATALOG' },
          { id: '2', name: 'small orders', type: 'TRANSFORM_FILTER' },
        ],
        after: [],
        outputs: ['2'],
        targets: [],
        boundaries: [{ reason: 'partitions', detail: expect.stringContaining('per partition') }],
      },
      {
        id: 's2',
        engine: 'DUCKDB',
        partitioned: false,
        nodes: [
          { id: '3', name: 'key', type: 'TRANSFORM_SQL' },
          { id: '4', name: 'by zone', type: 'TRANSFORM_AGGREGATE' },
          { id: '5', name: 'load', type: 'TARGET_CATALOG' },
        ],
        after: ['s1'],
        outputs: [],
        targets: ['5'],
        boundaries: [{ reason: 'all-rows', detail: expect.stringContaining('every partition') }],
      },
    ]);
    // One Task per stage: plan, partitions and seal for s1, one run for s2.
    const tasks = JSON.stringify(res.body.definition).match(/"Type":"Task"/g) ?? [];
    expect(tasks).toHaveLength(6); // 4 work Tasks + 2 failure recorders
    expect(res.body.definition.StartAt).toBe('Plan s1 extract small orders');
  });

  it('answers 404 for a version that does not exist and 409 for a draft', async () => {
    const col = await newCollection('stages');
    const pipeline = await newPipeline(col, []);
    const missing = await api.get(`/api/v1/pipelines/${pipeline.id}/versions/9/plan`, { token });
    expect(missing.status, missing.text).toBe(404);

    const draft = await api.post(
      '/api/v1/pipelines',
      {
        name: `draft-${Date.now()}`,
        collection_id: col,
        nodes: [{ id: 1, name: 'x', type: 'TRANSFORM_SQL' }],
      },
      { token },
    );
    expect(draft.status, draft.text).toBe(201);
    const planned = await api.get(`/api/v1/pipelines/${draft.body.id}/versions/1/plan`, { token });
    expect(planned.status, planned.text).toBe(409);
    expect(planned.body.errorType).toBe('bad-state');
  });
});

describe('a batch on the fused engine', () => {
  it('runs a one-partition source inside the stage that reads it, writing nothing between nodes', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, chain(col, sales, 'zones'));

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    expect(sorted((await table(await datasetNamed(col, 'zones'))).data)).toEqual(EXPECTED);
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['1']).toMatchObject({ state: 'success', rows_in: 6, rows_out: 6, partitions: 1, bytes_out: 0 });
    expect(t['2']).toMatchObject({ state: 'success', rows_in: 6, rows_out: 5, bytes_out: 0 });
    expect(t['3']).toMatchObject({ state: 'success', rows_in: 5, rows_out: 5, bytes_out: 0 });
    expect(t['4']).toMatchObject({ state: 'success', rows_in: 5, rows_out: 3, bytes_out: 0 });
    expect(t['5']).toMatchObject({ state: 'success', rows_in: 3, rows_out: 3 });
    expect(t['2'].sample.rows).toHaveLength(5);
    expect(t['4'].sample.columns).toEqual(['zone', 'total', 'orders']);
    for (const step of ['extract', 'small orders', 'key', 'by zone', 'load']) {
      expect(batch.state.steps[step], step).toEqual({ state: 'success', offsets: expect.any(Object) });
    }
    expect(batch.state.steps['by zone'].offsets).toEqual({ partition_0: 3 });
  });

  it('fans a source of several partitions out, then reads their outputs together, with the same result', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV.split('\n').slice(0, 4).join('\n'));
    const rest = ['region,amount,qty', ...SALES_CSV.split('\n').slice(4)].join('\n');
    const up = await api.upload(sales, rest, token, '?mode=append');
    expect(up.status, up.text).toBe(200);
    const pipeline = await newPipeline(col, chain(col, sales, 'zones'));

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    expect(sorted((await table(await datasetNamed(col, 'zones'))).data)).toEqual(EXPECTED);
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['1']).toMatchObject({ rows_out: 6, partitions: 2 });
    // The filter ran in each partition and its output was written for the next stage.
    expect(t['2']).toMatchObject({ rows_in: 6, rows_out: 5, partitions: 2 });
    expect(t['2'].bytes_out).toBeGreaterThan(0);
    expect(batch.state.steps['small orders'].offsets).toEqual({ partition_0: 3, partition_1: 2 });
    expect(t['3']).toMatchObject({ rows_in: 5, rows_out: 5 });
  });

  it('writes a node marked materialize and starts a stage after it, with the same result', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, chain(col, sales, 'zones', 3));

    const plan = await api.get(`/api/v1/pipelines/${pipeline.id}/versions/1/plan`, { token });
    expect(
      plan.body.stages.map((s: { id: string; nodes: Array<{ id: string }> }) => s.nodes.map((n) => n.id)),
    ).toEqual([['1', '2'], ['3'], ['4', '5']]);
    expect(plan.body.stages[2].boundaries).toEqual([
      { reason: 'materialize', detail: expect.stringContaining('materialize') },
    ]);
    const saved = await api.get(`/api/v1/pipelines/${pipeline.id}/versions/1`, { token });
    expect(saved.body.nodes[2].materialize).toBe(true);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    expect(sorted((await table(await datasetNamed(col, 'zones'))).data)).toEqual(EXPECTED);
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['3']).toMatchObject({ rows_in: 5, rows_out: 5 });
    expect(t['3'].bytes_out).toBeGreaterThan(0);
    expect(t['4']).toMatchObject({ rows_in: 5, rows_out: 3, bytes_out: 0 });
  });

  it("gives nodes that keep their rows (select, rename, define) their input's count", async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      { id: 2, name: 'pick', type: 'TRANSFORM_SELECT', parentNodeIds: [1], fieldList: ['region', 'qty'] },
      {
        id: 3,
        name: 'rename',
        type: 'TRANSFORM_RENAME',
        parentNodeIds: [2],
        renameFieldList: [{ name: 'region', newName: 'area' }],
      },
      {
        id: 4,
        name: 'as double',
        type: 'TRANSFORM_DEFINE',
        parentNodeIds: [3],
        defineFieldList: [{ name: 'qty', newType: 'double' }],
      },
      catalogTarget(5, 'load', 4, col, 'picked'),
    ]);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    for (const key of ['2', '3', '4', '5']) expect(t[key], key).toMatchObject({ rows_in: 6, rows_out: 6 });
    expect(t['4'].sample.columns).toEqual(['area', 'qty']);
    const out = await table(await datasetNamed(col, 'picked'));
    expect(out.total_rows).toBe(6);
    expect(out.data[0]).toEqual(['north', 1]);
  });

  it('counts exact rows through SQL that keeps its rows, or does not, before an aggregate', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    // [the key node's SQL, its rows out, the groups]: a plain projection keeps the 5 rows the
    // filter passes (the aggregate's own pass counts all three nodes), a WHERE drops one, and
    // unnest doubles them.
    const cases: Array<[string, number, number]> = [
      ['SELECT *, upper(region) AS zone FROM orders', 5, 3],
      ['SELECT *, upper(region) AS zone FROM orders WHERE amount > 4', 4, 3],
      ['SELECT *, upper(region) AS zone, unnest([1, 2]) AS copy FROM orders', 10, 3],
    ];
    for (const [sql, keyRows, groups] of cases) {
      const nodes = chain(col, sales, `zones-${keyRows}`).map((n) =>
        n.id === 3 ? sqlNode(3, 'key', 2, 'orders', sql) : n,
      );
      const pipeline = await newPipeline(col, nodes);

      const batch = await runToEnd(pipeline.id);

      expect(batch.status, batch.error).toBe('completed');
      const t = byNode((await traces(pipeline.id, batch.id)).traces);
      expect(t['2'], sql).toMatchObject({ rows_in: 6, rows_out: 5 });
      expect(t['3'], sql).toMatchObject({ rows_in: 5, rows_out: keyRows });
      expect(t['4'], sql).toMatchObject({ rows_in: keyRows, rows_out: groups });
      expect(batch.state.steps['small orders'].offsets, sql).toEqual({ partition_0: 5 });
      expect(batch.state.steps.key.offsets, sql).toEqual({ partition_0: keyRows });
    }
  });

  it('counts a filter through a select before an aggregate, exactly', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const nodes = chain(col, sales, 'zones').map((n) =>
      n.id === 3
        ? {
            id: 3,
            name: 'key',
            type: 'TRANSFORM_SELECT',
            parentNodeIds: [2],
            fieldList: ['region', 'amount'],
          }
        : n.id === 4
          ? { ...n, groupByList: ['region'] }
          : n,
    );
    const pipeline = await newPipeline(col, nodes);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['2']).toMatchObject({ rows_in: 6, rows_out: 5 });
    expect(t['3']).toMatchObject({ rows_in: 5, rows_out: 5 });
    expect(t['4']).toMatchObject({ rows_in: 5, rows_out: 3 });
    expect(t['2'].sample.rows).toHaveLength(5);
  });

  it('records an error in the rows of a projection on that node, not on the aggregate that reads it', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const nodes = chain(col, sales, 'zones').map((n) =>
      n.id === 3
        ? sqlNode(3, 'key', 2, 'orders', 'SELECT *, CAST(region AS INTEGER) AS zone FROM orders')
        : n,
    );
    const pipeline = await newPipeline(col, nodes);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status).toBe('failed');
    expect(batch.error).toBe('Step 3 (key) failed');
    expect(batch.state.steps['small orders'].state).toBe('success');
    expect(batch.state.steps.key.state).toBe('failed');
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    // The filter's rows were to come from the aggregate's pass: counted on their own instead.
    expect(t['2']).toMatchObject({ state: 'success', rows_in: 6, rows_out: 5 });
    expect(t['3']).toMatchObject({ state: 'failed', error: expect.stringMatching(/^Conversion Error/) });
  });

  it('stops a node whose first rows are read beside the program, and its step ends', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    // The slow node is counted by the aggregate's pass; its sample (which never ends either) runs
    // on a second connection, which a stop must interrupt too.
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      sqlNode(2, 'slow sql', 1, 'src', SLOW_SQL),
      {
        id: 3,
        name: 'count',
        type: 'TRANSFORM_AGGREGATE',
        parentNodeIds: [2],
        groupByList: [],
        aggregateFieldList: [{ name: '*', ResultName: 'n', function: 'COUNT' }],
      },
      catalogTarget(4, 'load', 3, col, 'never-written'),
    ]);
    const started = await api.post(`/api/v1/pipelines/${pipeline.id}/run`, {}, { token });
    expect(started.status, started.text).toBe(200);
    const batchId = started.body.batch_id as string;
    await until(
      'the aggregate to run',
      () => api.get(`/api/v1/batches/${pipeline.id}/${batchId}`, { token }),
      (b) => b.body.state?.steps?.count?.state === 'running',
    );

    const stopped = await api.put(`/api/v1/batches/${pipeline.id}/${batchId}/stop`, undefined, { token });

    expect(stopped.status, stopped.text).toBe(200);
    // The worker returns (both connections interrupted) and closes the nodes it was running.
    const closed = await until(
      'the stopped nodes to be closed',
      async () => byNode((await traces(pipeline.id, batchId)).traces),
      (t) => t['2']?.state === 'failed' && t['3']?.state === 'failed',
      15_000,
    );
    expect(closed['2'].error).toMatch(/^Stopped/);
    expect(closed['4']).toBeUndefined();
  });

  it('names the node that failed inside a fused stage, leaving the nodes after it unrun', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const nodes = chain(col, sales, 'zones').map((n) =>
      n.id === 3 ? sqlNode(3, 'key', 2, 'orders', 'SELECT no_such_column FROM orders') : n,
    );
    const pipeline = await newPipeline(col, nodes);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status).toBe('failed');
    expect(batch.error).toBe('Step 3 (key) failed');
    expect(batch.state.steps.extract.state).toBe('success');
    expect(batch.state.steps['small orders'].state).toBe('success');
    expect(batch.state.steps.key.state).toBe('failed');
    expect(batch.state.steps['by zone'].state).toBe('none');
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['3']).toMatchObject({ state: 'failed', error: expect.stringMatching(/no_such_column/) });
    expect(t['4']).toBeUndefined();
  });
});

describe('rerun from failure', () => {
  it('fixes the failing node in a new version and reruns, reusing the unchanged stage before it', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    // Node 2 is materialized, so its stage's output is written and a rerun can reuse it.
    const broken = chain(col, sales, 'zones', 2).map((n) =>
      n.id === 3 ? sqlNode(3, 'key', 2, 'orders', 'SELECT no_such_column FROM orders') : n,
    );
    const pipeline = await newPipeline(col, broken);
    const failed = await runToEnd(pipeline.id);
    expect(failed.status).toBe('failed');

    // 409 for a batch that has not ended is covered by the same path; here it has.
    const fixed = await api.put(
      `/api/v1/pipelines/${pipeline.id}`,
      { nodes: chain(col, sales, 'zones', 2) },
      { token },
    );
    expect(fixed.status, fixed.text).toBe(200);
    expect(fixed.body.version).toBe(2);

    const rerun = await api.post(`/api/v1/batches/${pipeline.id}/${failed.id}/rerun`, {}, { token });
    expect(rerun.status, rerun.text).toBe(201);
    expect(rerun.body).toMatchObject({ rerun_of: failed.id, reused_stages: ['s1'], pipeline_version: 2 });
    const batch = await until(
      'the rerun to end',
      async () => (await api.get(`/api/v1/batches/${pipeline.id}/${rerun.body.id}`, { token })).body,
      (b) => ['completed', 'failed', 'stop'].includes(b.status),
      60_000,
    );

    expect(batch.status, batch.error).toBe('completed');
    expect(sorted((await table(await datasetNamed(col, 'zones'))).data)).toEqual(EXPECTED);
    const t = byNode((await traces(pipeline.id, batch.id)).traces);
    expect(t['1']).toMatchObject({ state: 'success', rows_out: 6, reused: true, reused_from: failed.id });
    expect(t['2']).toMatchObject({ state: 'success', rows_in: 6, rows_out: 5, reused: true });
    expect(t['3']).toMatchObject({ state: 'success', rows_in: 5, rows_out: 5 });
    expect(t['3'].reused).toBeUndefined();
    expect(batch.state.steps['small orders']).toEqual(failed.state.steps['small orders']);
  });

  it('runs in full when an upstream node changed; refuses a batch that has not ended (409) or does not exist (404)', async () => {
    const col = await newCollection('stages');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, chain(col, sales, 'zones', 2));
    const first = await runToEnd(pipeline.id);
    expect(first.status).toBe('completed');
    const changed = chain(col, sales, 'zones', 2).map((n) =>
      n.id === 2 ? { ...n, filterConditionList: [{ name: 'qty', operator: 'LTE', value: 2 }] } : n,
    );
    expect((await api.put(`/api/v1/pipelines/${pipeline.id}`, { nodes: changed }, { token })).status).toBe(
      200,
    );

    const rerun = await api.post(`/api/v1/batches/${pipeline.id}/${first.id}/rerun`, {}, { token });
    expect(rerun.status, rerun.text).toBe(201);
    expect(rerun.body.reused_stages).toEqual([]);
    const missing = await api.post(`/api/v1/batches/${pipeline.id}/batch-nope/rerun`, {}, { token });
    expect(missing.status).toBe(404);

    // A batch still running cannot be rerun: a SQL step that only a stop ends.
    const slow = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      sqlNode(2, 'slow', 1, 'src', SLOW_SQL),
    ]);
    const started = await api.post(`/api/v1/pipelines/${slow.id}/run`, {}, { token });
    expect(started.status, started.text).toBe(200);
    const running = await api.post(
      `/api/v1/batches/${slow.id}/${started.body.batch_id}/rerun`,
      {},
      { token },
    );
    expect(running.status, running.text).toBe(409);
    expect(running.body.errorType).toBe('bad-state');
    const stop = await api.put(`/api/v1/batches/${slow.id}/${started.body.batch_id}/stop`, undefined, {
      token,
    });
    expect(stop.status, stop.text).toBe(200);
  });
});

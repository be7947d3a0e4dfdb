/**
 * The Athena engine on the local host: stages on ATHENA compile to Athena Task states, which the
 * local engine answers with DuckDB (functions/core/engine/athena-local.ts), so the orchestration
 * path of AWS runs end to end. The same pipeline forced to ATHENA and to DUCKDB must give the same
 * outputs exactly; AUTO picks ATHENA past SLUICE_ATHENA_THRESHOLD_BYTES (a host of its own).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, localS3, type RunningHost, startHost, unique } from './harness.ts';
import { catalogSource, catalogTarget, pipelineHelpers } from './pipeline-helpers.ts';

const api = client(inject('hostUrl'));
const s3 = localS3(inject('s3Url'));
const BUCKET = 'sluice-test-external';

let token: string;
const { newCollection, newDataset } = catalogHelpers(api, () => token);
const { newPipeline, runToEnd, traces, datasetNamed, table, waitForBatch } = pipelineHelpers(
  api,
  () => token,
);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

const SALES_CSV = [
  'region,product,qty,price',
  'north,apple,3,1.5',
  'south,apple,5,1.5',
  'north,pear,2,2.0',
  'north,apple,4,1.5',
  'south,pear,1,2.0',
  'east,plum,10,0.5',
].join('\n');

const REGIONS_CSV = ['region,manager', 'north,ana', 'south,bo', 'west,cy'].join('\n');

async function listKeys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

async function readObject(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

/** The seed-style pipeline: filter, join, aggregate, and targets to the catalog and to S3. */
function seedNodes(col: string, sales: string, regions: string, tag: string, prefix: string) {
  return [
    catalogSource(1, 'extract', col, sales),
    {
      id: 2,
      name: 'big orders',
      type: 'TRANSFORM_FILTER',
      parentNodeIds: [1],
      filterType: 'AND',
      filterConditionList: [{ name: 'qty', operator: 'GTE', value: 2 }],
    },
    catalogSource(3, 'regions', col, regions),
    {
      id: 4,
      name: 'with manager',
      type: 'TRANSFORM_JOIN',
      parentNodeIds: [2, 3],
      joinType: 'LEFT_OUTER',
      leftNodeId: 2,
      rightNodeId: 3,
      joinConditionList: [{ leftField: 'region', rightField: 'region', joinOperator: 'EQ' }],
    },
    {
      id: 5,
      name: 'per region',
      type: 'TRANSFORM_AGGREGATE',
      parentNodeIds: [4],
      groupByList: ['region', 'manager'],
      aggregateFieldList: [
        { name: 'qty', ResultName: 'total_qty', function: 'SUM' },
        { name: '*', ResultName: 'orders', function: 'COUNT' },
        { name: 'price', ResultName: 'max_price', function: 'MAX' },
      ],
    },
    catalogTarget(6, 'load', 5, col, `summary ${tag}`),
    {
      id: 7,
      name: 'to parquet',
      type: 'TARGET_OBS',
      parentNodeIds: [2],
      regionNo: '1',
      bucketName: BUCKET,
      prefix: `${prefix}/parquet`,
      dataType: 'PARQUET',
      updateType: 'OVERWRITE',
    },
    {
      id: 8,
      name: 'to json',
      type: 'TARGET_OBS',
      parentNodeIds: [5],
      regionNo: '1',
      bucketName: BUCKET,
      prefix: `${prefix}/json`,
      dataType: 'JSON',
      updateType: 'OVERWRITE',
    },
  ];
}

const sortRows = (rows: unknown[][]) =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const jsonLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('a pipeline forced to ATHENA on the local host', () => {
  let col: string;
  let runs: Record<'DUCKDB' | 'ATHENA', { pipeline: string; batch: any; prefix: string }>;

  beforeAll(async () => {
    col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const regions = await newDataset(col, 'regions', REGIONS_CSV);
    const base = unique('athena-out');
    const made = {} as typeof runs;
    for (const engine of ['DUCKDB', 'ATHENA'] as const) {
      const prefix = `${base}/${engine.toLowerCase()}`;
      const pipeline = await newPipeline(col, seedNodes(col, sales, regions, engine, prefix), { engine });
      made[engine] = { pipeline: pipeline.id, batch: await runToEnd(pipeline.id), prefix };
    }
    runs = made;
  }, 120_000);

  it('completes with every stage recorded on ATHENA, and one stage only', async () => {
    const { batch } = runs.ATHENA;

    expect(batch.status, batch.error).toBe('completed');
    expect(batch.engine).toBe('ATHENA');
    expect(batch.stage_engines).toEqual({ s1: 'ATHENA' });
    expect(Object.values(batch.state.steps).map((s: any) => s.state)).toEqual(Array(8).fill('success'));
  });

  it('publishes the same dataset pages as the same pipeline on DuckDB', async () => {
    const duck = await table(await datasetNamed(col, 'summary DUCKDB'));
    const athena = await table(await datasetNamed(col, 'summary ATHENA'));

    expect(Object.values(runs.DUCKDB.batch.stage_engines)).toEqual(['DUCKDB', 'DUCKDB', 'DUCKDB', 'DUCKDB']);
    expect(athena.columns).toEqual(duck.columns);
    expect(athena.total_rows).toBe(duck.total_rows);
    expect(sortRows(athena.data)).toEqual(sortRows(duck.data));
    expect(sortRows(athena.data)).toEqual(
      [
        ['north', 'ana', 9, 3, 2],
        ['south', 'bo', 5, 1, 1.5],
        ['east', null, 10, 1, 0.5],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  it('writes the same S3 objects as on DuckDB, under the same names', async () => {
    const names = async (engine: 'DUCKDB' | 'ATHENA', kind: string) =>
      (await listKeys(`${runs[engine].prefix}/${kind}/`)).map((k) =>
        k.slice(runs[engine].prefix.length).replace(runs[engine].batch.id, '<batch>'),
      );

    expect(await names('ATHENA', 'parquet')).toEqual(await names('DUCKDB', 'parquet'));
    expect(await names('ATHENA', 'json')).toEqual(['/json/part-00000-<batch>.json']);
    const [duckJson] = await listKeys(`${runs.DUCKDB.prefix}/json/`);
    const [athenaJson] = await listKeys(`${runs.ATHENA.prefix}/json/`);
    expect(jsonLines(await readObject(athenaJson as string))).toEqual(
      jsonLines(await readObject(duckJson as string)),
    );
    const [duckParquet] = await listKeys(`${runs.DUCKDB.prefix}/parquet/`);
    const [athenaParquet] = await listKeys(`${runs.ATHENA.prefix}/parquet/`);
    expect(await readObject(athenaParquet as string)).toEqual(await readObject(duckParquet as string));
  });

  it('traces every node on ATHENA with the exact rows the DuckDB run counted', async () => {
    const duck = await traces(runs.DUCKDB.pipeline, runs.DUCKDB.batch.id);
    const athena = await traces(runs.ATHENA.pipeline, runs.ATHENA.batch.id);
    const rows = (list: any[]) => list.map((t) => [t.node_id, t.rows_in, t.rows_out]);

    expect(athena.traces.map((t: any) => t.engine)).toEqual(Array(8).fill('ATHENA'));
    expect(duck.traces.map((t: any) => t.engine)).toEqual(Array(8).fill('DUCKDB'));
    expect(rows(athena.traces)).toEqual(rows(duck.traces));
  });

  it('shows the plan on ATHENA: one stage, its queries run by the state machine', async () => {
    const res = await api.get(`/api/v1/pipelines/${runs.ATHENA.pipeline}/versions/1/plan`, { token });

    expect(res.status, res.text).toBe(200);
    expect(res.body.engine).toBe('ATHENA');
    expect(res.body.stages.map((s: any) => [s.id, s.engine, s.partitioned])).toEqual([
      ['s1', 'ATHENA', false],
    ]);
    const states = Object.values(res.body.definition.States) as any[];
    // The database, two source tables, the dataset's CTAS, two UNLOADs and the COUNT query.
    const queries = states.filter((s) => s.Resource === 'arn:aws:states:::athena:startQueryExecution.sync');
    expect(queries).toHaveLength(7);
    expect(queries.every((q) => q.Parameters.WorkGroup === 'sluice-local')).toBe(true);
  });
});

describe('a materialized node on ATHENA', () => {
  it('splits two Athena stages: the second reads the first one’s CTAS output, with the same result', async () => {
    const col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const nodes = (tag: string) => [
      catalogSource(1, 'extract', col, sales),
      {
        id: 2,
        name: 'big orders',
        type: 'TRANSFORM_FILTER',
        parentNodeIds: [1],
        materialize: true,
        filterType: 'AND',
        filterConditionList: [{ name: 'qty', operator: 'GTE', value: 2 }],
      },
      {
        id: 3,
        name: 'per product',
        type: 'TRANSFORM_AGGREGATE',
        parentNodeIds: [2],
        groupByList: ['product'],
        aggregateFieldList: [{ name: 'qty', ResultName: 'total', function: 'SUM' }],
      },
      catalogTarget(4, 'load', 3, col, `products ${tag}`),
    ];
    const duck = await newPipeline(col, nodes('duck'), { engine: 'DUCKDB' });
    const athena = await newPipeline(col, nodes('athena'), { engine: 'ATHENA' });

    const [d, a] = [await runToEnd(duck.id), await runToEnd(athena.id)];
    const plan = await api.get(`/api/v1/pipelines/${athena.id}/versions/1/plan`, { token });
    const [dTraces, aTraces] = [await traces(duck.id, d.id), await traces(athena.id, a.id)];

    expect(a.status, a.error).toBe('completed');
    expect(a.stage_engines).toEqual({ s1: 'ATHENA', s2: 'ATHENA' });
    expect(
      plan.body.stages.map((s: any) => [s.id, s.outputs, s.boundaries.map((b: any) => b.reason)]),
    ).toEqual([
      ['s1', ['2'], []],
      ['s2', [], ['materialize']],
    ]);
    expect((await table(await datasetNamed(col, 'products athena'))).data).toEqual(
      (await table(await datasetNamed(col, 'products duck'))).data,
    );
    const sampleOf = (list: any) => list.traces.find((t: any) => t.node_id === '2').sample;
    expect(sampleOf(aTraces).columns).toEqual(sampleOf(dTraces).columns);
    expect(sortRows(sampleOf(aTraces).rows)).toEqual(sortRows(sampleOf(dTraces).rows));
  });
});

describe('a failing stage on ATHENA', () => {
  it('fails the batch through the recorder, naming the node whose query failed', async () => {
    const col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(
      col,
      [
        catalogSource(1, 'extract', col, sales),
        {
          id: 2,
          name: 'broken sql',
          type: 'TRANSFORM_SQL',
          parentNodeIds: [1],
          sourceNameList: [{ parentId: 1, newName: 's' }],
          sql: 'SELECT no_such_column FROM s',
        },
        catalogTarget(3, 'load', 2, col, 'never written'),
      ],
      { engine: 'ATHENA' },
    );

    const batch = await runToEnd(pipeline.id);
    const list = await traces(pipeline.id, batch.id);

    expect(batch.status).toBe('failed');
    expect(batch.stage_engines).toEqual({ s1: 'ATHENA' });
    expect(batch.error).toContain('broken sql');
    expect(batch.state.steps['broken sql'].state).toBe('failed');
    const failed = list.traces.find((t: any) => t.node_id === '2');
    expect(failed).toMatchObject({ state: 'failed', engine: 'ATHENA' });
    expect(failed.error).toMatch(/no_such_column/);
  });
});

describe('engine settings', () => {
  it('refuses an engine it does not know, naming the field', async () => {
    const col = await newCollection('athena');

    const res = await api.post(
      '/api/v1/pipelines',
      { name: unique('pipeline'), collection_id: col, nodes: [], engine: 'SPARK' },
      { token },
    );

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(JSON.stringify(res.body)).toContain('engine');
  });

  it('refuses ATHENA for nodes Athena cannot run, naming engine, and keeps them on DuckDB', async () => {
    const col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    // Columns after TRANSFORM_SQL are known only once it runs; drop-duplication must list them on Athena.
    const nodes = [
      catalogSource(1, 'extract', col, sales),
      {
        id: 2,
        name: 'sql',
        type: 'TRANSFORM_SQL',
        parentNodeIds: [1],
        sourceNameList: [{ parentId: 1, newName: 's' }],
        sql: 'SELECT region FROM s',
      },
      {
        id: 3,
        name: 'dedupe',
        type: 'TRANSFORM_DROP_DUPLICATION',
        parentNodeIds: [2],
        fieldList: ['region'],
      },
      catalogTarget(4, 'load', 3, col, 'regions'),
    ];

    const refused = await api.post(
      '/api/v1/pipelines',
      { name: unique('pipeline'), collection_id: col, nodes, engine: 'ATHENA' },
      { token },
    );
    const pipeline = await newPipeline(col, nodes);
    const switched = await api.put(`/api/v1/pipelines/${pipeline.id}`, { engine: 'ATHENA' }, { token });

    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      { field: 'engine', message: expect.stringContaining('TRANSFORM_DROP_DUPLICATION') },
    ]);
    expect(switched.status).toBe(400);
    expect(switched.body.errors[0].field).toBe('engine');
    const batch = await runToEnd(pipeline.id);
    expect(batch.status, batch.error).toBe('completed');
    expect(Object.values(batch.stage_engines)).not.toContain('ATHENA');
  });

  it('keeps AUTO below the threshold on DuckDB', async () => {
    const col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      catalogTarget(2, 'load', 1, col, 'copy'),
    ]);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status, batch.error).toBe('completed');
    expect(batch.engine).toBe('AUTO');
    expect(Object.values(batch.stage_engines)).not.toContain('ATHENA');
  });

  it('runs a Data Flow job on ATHENA for one execution through jobCondition.engine', async () => {
    const col = await newCollection('athena');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const created = await api.post(
      '/api/v1/jobs',
      {
        name: unique('athena_job').replaceAll('-', '_'),
        nodes: [
          catalogSource(1, 'extract', col, sales),
          {
            id: 2,
            name: 'small',
            type: 'TRANSFORM_FILTER',
            parentNodeIds: [1],
            filterType: 'AND',
            filterConditionList: [{ name: 'qty', operator: 'LT', value: 4 }],
          },
          catalogTarget(3, 'load', 2, col, 'job output'),
        ],
      },
      { token },
    );
    expect(created.status, created.text).toBe(200);
    const id = created.body.jobId;

    const started = await api.post(
      `/api/v1/jobs/${id}/executions`,
      { jobCondition: { engine: 'ATHENA' } },
      { token },
    );

    expect(started.status, started.text).toBe(200);
    expect(started.body.jobCondition.engine).toBe('ATHENA');
    const batch = await waitForBatch(id, started.body.jobExecutionId);
    expect(batch.status, batch.error).toBe('completed');
    expect(batch.stage_engines).toEqual({ s1: 'ATHENA' });
    const out = await table(await datasetNamed(col, 'job output'));
    expect(sortRows(out.data)).toEqual(
      sortRows([
        ['north', 'apple', 3, 1.5],
        ['north', 'pear', 2, 2],
        ['south', 'pear', 1, 2],
      ]),
    );
    // The run's engine was for that run only: the job keeps no engine of its own.
    const job = await api.get(`/api/v1/jobs/${id}`, { token });
    expect(job.body.runCondition.engine).toBeUndefined();
  });

  it('keeps an engine in a job runCondition, and refuses an unknown one naming the field', async () => {
    const created = await api.post(
      '/api/v1/jobs',
      { name: unique('engine_job').replaceAll('-', '_'), nodes: [], runCondition: { engine: 'duckdb' } },
      { token },
    );
    expect(created.status, created.text).toBe(200);

    const changed = await api.put(
      `/api/v1/jobs/${created.body.jobId}/executions`,
      { jobCondition: { engine: 'ATHENA' } },
      { token },
    );
    const refused = await api.put(
      `/api/v1/jobs/${created.body.jobId}/executions`,
      { jobCondition: { engine: 'SPARK' } },
      { token },
    );

    expect(created.body.runCondition.engine).toBe('DUCKDB');
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.runCondition.engine).toBe('ATHENA');
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ field: expect.stringMatching(/jobCondition\.engine$/) }),
    ]);
  });

  it('reads S3 objects through the Athena path as DuckDB does', async () => {
    const col = await newCollection('athena');
    const base = unique('athena-in');
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${base}/csv/a.csv`,
        Body: 'id,name,score\n1,one,1.5\n2,,2.25\n',
      }),
    );
    const nodes = (tag: string) => [
      {
        id: 1,
        name: 'csv',
        type: 'SOURCE_OBS',
        parentNodeIds: [],
        regionNo: '1',
        bucketName: BUCKET,
        prefix: `${base}/csv`,
        dataType: 'CSV',
        fieldList: [
          { name: 'id', type: 'bigint' },
          { name: 'name', type: 'string' },
          { name: 'score', type: 'double' },
        ],
      },
      catalogTarget(2, 'load', 1, col, `csv ${tag}`),
    ];
    const duck = await newPipeline(col, nodes('duck'), { engine: 'DUCKDB' });
    const athena = await newPipeline(col, nodes('athena'), { engine: 'ATHENA' });

    const batches = [await runToEnd(duck.id), await runToEnd(athena.id)];

    for (const b of batches) expect(b.status, b.error).toBe('completed');
    const a = await table(await datasetNamed(col, 'csv athena'));
    const d = await table(await datasetNamed(col, 'csv duck'));
    expect(a).toEqual(d);
    expect(sortRows(a.data)).toEqual([
      [1, 'one', 1.5],
      [2, null, 2.25],
    ]);
  });
});

describe('AUTO past the threshold (a host of its own)', () => {
  let host: RunningHost;

  afterAll(async () => {
    await host?.stop();
  });

  it('runs the stages whose inputs exceed SLUICE_ATHENA_THRESHOLD_BYTES on ATHENA', async () => {
    host = await startHost({ env: { SLUICE_ATHENA_THRESHOLD_BYTES: '1' } });
    const own = client(host.url);
    const t = await own.login(ADMIN.username, ADMIN.password);
    const ownCatalog = catalogHelpers(own, () => t);
    const ownPipelines = pipelineHelpers(own, () => t);
    const col = await ownCatalog.newCollection('auto');
    const sales = await ownCatalog.newDataset(col, 'sales', SALES_CSV);
    const pipeline = await ownPipelines.newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      {
        id: 2,
        name: 'per region',
        type: 'TRANSFORM_AGGREGATE',
        parentNodeIds: [1],
        groupByList: ['region'],
        aggregateFieldList: [{ name: 'qty', ResultName: 'total_qty', function: 'SUM' }],
      },
      catalogTarget(3, 'load', 2, col, 'auto summary'),
    ]);

    const plan = await own.get(`/api/v1/pipelines/${pipeline.id}/versions/1/plan`, { token: t });
    const batch = await ownPipelines.runToEnd(pipeline.id);

    expect(plan.body.engine).toBe('AUTO');
    expect(plan.body.stages.map((s: any) => s.engine)).toEqual(['ATHENA']);
    expect(batch.status, batch.error).toBe('completed');
    expect(batch.engine).toBe('AUTO');
    expect(batch.stage_engines).toEqual({ s1: 'ATHENA' });
    const out = await ownPipelines.table(await ownPipelines.datasetNamed(col, 'auto summary'));
    expect(sortRows(out.data)).toEqual([
      ['east', 10],
      ['north', 9],
      ['south', 6],
    ]);
  }, 120_000);
});

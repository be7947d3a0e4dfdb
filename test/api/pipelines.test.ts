/**
 * Pipelines end to end against the shared local host: nodes run on DuckDB through the local
 * engine, read datasets and S3 objects, and write datasets and S3 objects that are read back.
 * Every test works in its own collection (and its own S3 prefix) because the host is shared.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { seed004Nodes } from '#test/fixtures/seed004';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, localS3, tempDir, unique, until } from './harness.ts';
import {
  catalogSource,
  catalogTarget,
  pipelineHelpers,
  SLOW_SQL,
  sqlNode,
  TERMINAL,
} from './pipeline-helpers.ts';

const api = client(inject('hostUrl'));
const s3 = localS3(inject('s3Url'));

let token: string;
const { newCollection, newDataset } = catalogHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

// ---------------------------------------------------------------------------------------------
// Helpers

const { getBatch, waitForBatch, newPipeline, run, runToEnd, traces, datasetNamed, table } = pipelineHelpers(
  api,
  () => token,
);

const sortRows = (rows: unknown[][]) =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

async function putObject(bucket: string, key: string, body: string | Buffer) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function listKeys(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

async function readObject(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

async function clearPrefix(bucket: string, prefix: string) {
  for (const key of await listKeys(bucket, prefix))
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

const SALES_CSV = [
  'region,product,qty,price',
  'north,apple,3,1.5',
  'south,apple,5,1.5',
  'north,pear,2,2.0',
  'north,apple,4,1.5',
  'south,pear,1,2.0',
  'east,plum,10,0.5',
].join('\n');

/** A pipeline reading a small dataset into a SQL step that never ends, then a target. */
async function slowPipeline(collectionId: string) {
  const ds = await newDataset(collectionId, 'sales', SALES_CSV);
  return newPipeline(collectionId, [
    catalogSource(1, 'extract', collectionId, ds),
    sqlNode(2, 'slow sql', 1, 'src', SLOW_SQL),
    catalogTarget(3, 'load', 2, collectionId, 'never-written'),
  ]);
}

// ---------------------------------------------------------------------------------------------

describe('running pipelines over datasets', () => {
  it('filters, aggregates and publishes a dataset, reporting steps, offsets and traces', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      {
        id: 2,
        name: 'big orders',
        type: 'TRANSFORM_FILTER',
        parentNodeIds: [1],
        filterType: 'AND',
        filterConditionList: [{ name: 'qty', operator: 'GTE', value: 2 }],
      },
      {
        id: 3,
        name: 'per region',
        type: 'TRANSFORM_AGGREGATE',
        parentNodeIds: [2],
        groupByList: ['region'],
        aggregateFieldList: [
          { name: 'qty', ResultName: 'total_qty', function: 'SUM' },
          { name: '*', ResultName: 'orders', function: 'COUNT' },
          { name: 'price', ResultName: 'max_price', function: 'MAX' },
        ],
      },
      catalogTarget(4, 'load', 3, col, 'region summary'),
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status).toBe('completed');
    expect(batch.state).toEqual({
      state: 'completed',
      steps: {
        extract: { state: 'success', offsets: { partition_0: 6 } },
        'big orders': { state: 'success', offsets: { partition_0: 5 } },
        'per region': { state: 'success', offsets: { partition_0: 3 } },
        load: { state: 'success', offsets: { partition_0: 3 } },
      },
    });
    const out = await table(await datasetNamed(col, 'region summary'));
    expect(out.columns).toEqual(['region', 'total_qty', 'orders', 'max_price']);
    expect(out.total_rows).toBe(3);
    expect(out.data).toEqual([
      ['east', 10, 1, 0.5],
      ['north', 9, 3, 2],
      ['south', 5, 1, 1.5],
    ]);

    const t = await traces(pipeline.id, batch.id);
    expect(t).toMatchObject({ pipeline_id: pipeline.id, batch_id: batch.id, status: 'completed' });
    expect(
      t.traces.map((x: any) => [x.node_id, x.node_name, x.node_type, x.state, x.rows_in, x.rows_out]),
    ).toEqual([
      ['1', 'extract', 'SOURCE_CATALOG', 'success', 6, 6],
      ['2', 'big orders', 'TRANSFORM_FILTER', 'success', 6, 5],
      ['3', 'per region', 'TRANSFORM_AGGREGATE', 'success', 5, 3],
      ['4', 'load', 'TARGET_CATALOG', 'success', 3, 3],
    ]);
    for (const trace of t.traces) {
      expect(trace.error).toBeNull();
      expect(Array.isArray(trace.logs)).toBe(true);
    }
    expect(t.traces[1].sample.columns).toEqual(['region', 'product', 'qty', 'price']);
    expect(t.traces[1].sample.rows).toHaveLength(5);
    expect(t.traces[2].sample).toEqual({
      columns: ['region', 'total_qty', 'orders', 'max_price'],
      rows: [
        ['east', 10, 1, 0.5],
        ['north', 9, 3, 2],
        ['south', 5, 1, 1.5],
      ],
    });
  });

  it('joins two datasets inner and left outer, prefixing colliding right-hand columns', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const customers = await newDataset(col, 'customers', 'id,name\n1,Ann\n2,Bob\n3,Cy\n');
    const orders = await newDataset(
      col,
      'orders',
      'id,customer_id,amount\n100,1,10\n101,1,20\n102,2,5\n103,9,7\n',
    );
    const join = (id: number, name: string, joinType: string) => ({
      id,
      name,
      type: 'TRANSFORM_JOIN',
      parentNodeIds: [1, 2],
      joinType,
      leftNodeId: 1,
      rightNodeId: 2,
      joinConditionList: [{ leftField: 'id', rightField: 'customer_id', joinOperator: 'EQ' }],
    });
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'customers', col, customers),
      catalogSource(2, 'orders', col, orders),
      join(3, 'inner join', 'INNER'),
      join(4, 'left join', 'LEFT_OUTER'),
      catalogTarget(5, 'inner out', 3, col, 'inner'),
      catalogTarget(6, 'left out', 4, col, 'left'),
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status, batch.error).toBe('completed');
    const inner = await table(await datasetNamed(col, 'inner'));
    expect(inner.columns).toEqual(['id', 'name', 'right_id', 'customer_id', 'amount']);
    expect(sortRows(inner.data)).toEqual(
      sortRows([
        [1, 'Ann', 100, 1, 10],
        [1, 'Ann', 101, 1, 20],
        [2, 'Bob', 102, 2, 5],
      ]),
    );
    const left = await table(await datasetNamed(col, 'left'));
    expect(left.columns).toEqual(['id', 'name', 'right_id', 'customer_id', 'amount']);
    expect(sortRows(left.data)).toEqual(
      sortRows([
        [1, 'Ann', 100, 1, 10],
        [1, 'Ann', 101, 1, 20],
        [2, 'Bob', 102, 2, 5],
        [3, 'Cy', null, null, null],
      ]),
    );
  });

  it('runs a TRANSFORM_SQL query over its named input', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      sqlNode(
        2,
        'revenue',
        1,
        'sales',
        'SELECT region, sum(qty * price) AS revenue, count(*) AS n FROM sales GROUP BY region ORDER BY revenue DESC',
      ),
      catalogTarget(3, 'load', 2, col, 'revenue'),
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status, batch.error).toBe('completed');
    expect(batch.state.steps.revenue).toEqual({ state: 'success', offsets: { partition_0: 3 } });
    const out = await table(await datasetNamed(col, 'revenue'));
    expect(out.columns).toEqual(['region', 'revenue', 'n']);
    // north 3*1.5 + 2*2 + 4*1.5 = 14.5; south 5*1.5 + 1*2 = 9.5; east 10*0.5 = 5
    expect(out.data).toEqual([
      ['north', 14.5, 3],
      ['south', 9.5, 2],
      ['east', 5, 1],
    ]);
  });

  it('fails the step and the batch when SQL references an unknown column, with DuckDB’s message and no stack', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, sales),
      sqlNode(2, 'broken sql', 1, 'sales', 'SELECT no_such_column FROM sales'),
      catalogTarget(3, 'load', 2, col, 'never'),
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status).toBe('failed');
    expect(batch.state.state).toBe('failed');
    expect(batch.state.steps.extract.state).toBe('success');
    expect(batch.state.steps['broken sql'].state).toBe('failed');
    expect(batch.state.steps.load.state).toBe('none');
    expect(batch.error).toBeTruthy();
    expect(batch.error).not.toMatch(/\n\s+at /);

    const t = await traces(pipeline.id, batch.id);
    expect(t.status).toBe('failed');
    const failed = t.traces.find((x: any) => x.node_id === '2');
    expect(failed).toMatchObject({ node_name: 'broken sql', node_type: 'TRANSFORM_SQL', state: 'failed' });
    expect(failed.error).toMatch(/Binder Error/);
    expect(failed.error).toMatch(/no_such_column/);
    expect(failed.error).not.toMatch(/\n\s+at /);
    expect(t.traces.find((x: any) => x.node_id === '3')).toBeUndefined();
  });

  /** Starts the slow pipeline's batch and waits until its SQL step is running. */
  async function runningSlowBatch() {
    const col = await newCollection('pipelines');
    const pipeline = await slowPipeline(col);
    const batchId = await run(pipeline.id);
    const running = await until(
      'the SQL step to run',
      () => getBatch(pipeline.id, batchId),
      (b) => b.state.steps['slow sql'].state === 'running' || TERMINAL.includes(b.status),
    );
    expect(running.status).toBe('running');
    return { pipeline, batchId };
  }

  it('stops a batch in the middle of a long SQL step; later steps never run', async () => {
    // Arrange
    const { pipeline, batchId } = await runningSlowBatch();

    // Act
    const stopped = await api.put(`/api/v1/batches/${pipeline.id}/${batchId}/stop`, undefined, { token });

    // Assert
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.body).toEqual({ message: 'Batch stopped successfully' });
    const batch = await waitForBatch(pipeline.id, batchId, 5_000);
    expect(batch.status).toBe('stop');
    expect(batch.state.state).toBe('stop');
    expect(batch.finished_at).toBeTruthy();
    expect(batch.state.steps.extract.state).toBe('success');
    expect(batch.state.steps['slow sql'].state).not.toBe('success');
    expect(batch.state.steps.load.state).toBe('none');
    // The pipeline's run slot is free again: its next batch starts at once (and is stopped too).
    const nextId = await run(pipeline.id);
    await until(
      'the next batch to run',
      () => getBatch(pipeline.id, nextId),
      (b) => b.state.steps['slow sql'].state === 'running' || TERMINAL.includes(b.status),
      10_000,
    );
    const stopNext = await api.put(`/api/v1/batches/${pipeline.id}/${nextId}/stop`, undefined, { token });
    expect(stopNext.status, stopNext.text).toBe(200);
    // The stopped batch stays as it was: nothing ran after the stop.
    const later = await getBatch(pipeline.id, batchId);
    expect(later.status).toBe('stop');
    expect(later.state.steps.load.state).toBe('none');
    expect(later.state.steps['slow sql'].state).not.toBe('success');
    const t = await traces(pipeline.id, batchId);
    expect(t.traces.find((n: any) => n.node_id === '3')).toBeUndefined();
  });

  it('closes the trace of a step interrupted by a stop instead of leaving it running', async () => {
    // Arrange
    const { pipeline, batchId } = await runningSlowBatch();

    // Act
    const stopped = await api.put(`/api/v1/batches/${pipeline.id}/${batchId}/stop`, undefined, { token });

    // Assert
    expect(stopped.status, stopped.text).toBe(200);
    const t = await until(
      'the trace of the stopped step to close',
      () => traces(pipeline.id, batchId),
      (x) => x.traces.find((n: any) => n.node_id === '2')?.state !== 'running',
      5_000,
    );
    const sqlTrace = t.traces.find((n: any) => n.node_id === '2');
    expect(sqlTrace.state).toBe('failed');
    expect(sqlTrace.finished_at).toBeTruthy();
  });

  it('queues concurrent runs beyond max_concurrent_runs and completes all ten, appending ten times', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const src = await newDataset(col, 'src', 'k,v\na,1\nb,2\nc,3\n');
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, src),
      catalogTarget(2, 'load', 1, col, 'appended', 'APPEND'),
    ]);

    // Act
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => api.post(`/api/v1/pipelines/${pipeline.id}/run`, {}, { token })),
    );

    // Assert
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const ids = answers.map((a) => a.body.batch_id as string);
    expect(new Set(ids).size).toBe(10);
    expect(answers.filter((a) => a.body.status === 'pending').length).toBeGreaterThanOrEqual(1);
    let maxRunning = 0;
    const finished = await until(
      'all ten batches to finish',
      async () => {
        const all = await Promise.all(ids.map((id) => getBatch(pipeline.id, id)));
        maxRunning = Math.max(maxRunning, all.filter((b) => b.status === 'running').length);
        return all;
      },
      (all) => all.every((b) => TERMINAL.includes(b.status)),
    );
    expect(finished.map((b) => b.status)).toEqual(Array(10).fill('completed'));
    expect(maxRunning).toBeLessThanOrEqual(1);
    const out = await table(await datasetNamed(col, 'appended'));
    expect(out.total_rows).toBe(30);
    expect(sortRows(out.data)).toEqual(
      sortRows(
        Array.from({ length: 10 }, () => [
          ['a', 1],
          ['b', 2],
          ['c', 3],
        ]).flat(),
      ),
    );
  });

  it('reads every part of an appended dataset as stored, with offsets and a typed sample', async () => {
    // Arrange: three uploads (one overwrite, two appends) make a version of three parts.
    const col = await newCollection('pipelines');
    const src = await newDataset(col, 'parts', 'id,city,at\n1,서울,2024-01-01\n2,부산,2024-01-02\n');
    for (const csv of ['id,city,at\n3,대구,2024-01-03\n', 'id,city,at\n4,서울,2024-01-04\n']) {
      const up = await api.upload(src, csv, token, '?mode=append');
      expect(up.status, up.text).toBe(200);
    }
    const pipeline = await newPipeline(col, [
      catalogSource(1, 'extract', col, src),
      {
        id: 2,
        name: 'only seoul',
        type: 'TRANSFORM_FILTER',
        parentNodeIds: [1],
        filterType: 'AND',
        filterConditionList: [{ name: 'city', operator: 'EQ', value: '서울' }],
      },
      catalogTarget(3, 'load', 2, col, 'seoul'),
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status).toBe('completed');
    // One partition per part, each copied as stored.
    expect(batch.state.steps.extract).toEqual({
      state: 'success',
      offsets: { partition_0: 2, partition_1: 1, partition_2: 1 },
    });
    const source = (await traces(pipeline.id, batch.id)).traces.find(
      (t: { node_id: string }) => t.node_id === '1',
    );
    expect(source).toMatchObject({ state: 'success', rows_in: 4, rows_out: 4 });
    expect(source.sample).toEqual({
      columns: ['id', 'city', 'at'],
      rows: [
        [1, '서울', '2024-01-01'],
        [2, '부산', '2024-01-02'],
      ],
    });
    const out = await table(await datasetNamed(col, 'seoul'));
    expect(sortRows(out.data)).toEqual([
      [1, '서울', '2024-01-01'],
      [4, '서울', '2024-01-04'],
    ]);
  });

  it('runs a pipeline with no nodes to completion with an empty steps map', async () => {
    const col = await newCollection('pipelines');
    const pipeline = await newPipeline(col, []);

    const batch = await runToEnd(pipeline.id);

    expect(batch.status).toBe('completed');
    expect(batch.state).toEqual({ state: 'completed', steps: {} });
    expect(Date.parse(batch.finished_at)).toBeGreaterThanOrEqual(Date.parse(batch.started_at));
  });
});

describe('running pipelines over object storage', () => {
  it('runs the seed 004 createJob nodes: the filtered rows replace the objects under aitems/dataflow1', async () => {
    // Arrange
    const bucket = 'aitems';
    const prefix = 'dataflow1/';
    await clearPrefix(bucket, prefix);
    await putObject(bucket, `${prefix}part-a.csv`, 'id,name,description\n1,A,first\n2,B,second\n3,A,third\n');
    await putObject(bucket, `${prefix}part-b.csv`, 'id,name,description\n4,C,fourth\n5,A,fifth\n');
    const col = await newCollection('pipelines');
    const pipeline = await newPipeline(col, seed004Nodes());

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status, batch.error).toBe('completed');
    expect(Object.keys(batch.state.steps)).toEqual(['Object Storage', '필터', 'Object Storage (2)']);
    for (const step of Object.values(batch.state.steps) as any[]) expect(step.state).toBe('success');
    const keys = await listKeys(bucket, prefix);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toMatch(/part-[ab]\.csv$/);
    expect(keys[0]).toMatch(/\.csv$/);
    const lines = (await readObject(bucket, keys[0] as string)).trim().split(/\r?\n/);
    expect(lines[0]).toBe('id,name,description');
    expect(lines.slice(1).sort()).toEqual(['1,A,first', '3,A,third', '5,A,fifth']);
  });

  it('reads NDJSON and Parquet objects and writes JSON to another bucket', async () => {
    // Arrange
    const bucket = 'sluice-test-external';
    const base = `${unique('obs')}/`;
    await putObject(
      bucket,
      `${base}ndjson/a.ndjson`,
      '{"id": 1, "name": "one", "score": 1.5}\n{"id": 2, "name": "two", "score": 2.25}\n',
    );
    const dir = await tempDir();
    const parquetFile = join(dir, 'b.parquet');
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    await connection.run(
      `COPY (SELECT * FROM (VALUES (3::BIGINT, 'three', 3.0::DOUBLE), (4::BIGINT, 'four', 4.5::DOUBLE)) t(id, name, score)) TO '${parquetFile}' (FORMAT parquet)`,
    );
    connection.closeSync();
    await putObject(bucket, `${base}parquet/b.parquet`, await readFile(parquetFile));
    const fields = [
      { name: 'id', type: 'bigint' },
      { name: 'name', type: 'string' },
      { name: 'score', type: 'double' },
    ];
    const source = (id: number, dataType: string, prefix: string) => ({
      id,
      name: `${dataType} source`,
      type: 'SOURCE_OBS',
      parentNodeIds: [],
      regionNo: '1',
      bucketName: bucket,
      prefix,
      dataType,
      fieldList: fields,
    });
    const col = await newCollection('pipelines');
    const pipeline = await newPipeline(col, [
      source(1, 'NDJSON', `${base}ndjson`),
      source(2, 'PARQUET', `${base}parquet`),
      { id: 3, name: 'both', type: 'TRANSFORM_UNION', parentNodeIds: [1, 2], unionType: 'ALL' },
      {
        id: 4,
        name: 'to json',
        type: 'TARGET_OBS',
        parentNodeIds: [3],
        regionNo: '1',
        bucketName: bucket,
        prefix: `${base}out`,
        dataType: 'JSON',
        updateType: 'OVERWRITE',
      },
    ]);

    // Act
    const batch = await runToEnd(pipeline.id);

    // Assert
    expect(batch.status, batch.error).toBe('completed');
    expect(batch.state.steps['NDJSON source']).toEqual({ state: 'success', offsets: { partition_0: 2 } });
    expect(batch.state.steps['PARQUET source']).toEqual({ state: 'success', offsets: { partition_0: 2 } });
    const keys = await listKeys(bucket, `${base}out/`);
    expect(keys).toHaveLength(1);
    const rows = (await readObject(bucket, keys[0] as string))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .sort((a, b) => a.id - b.id);
    expect(rows).toEqual([
      { id: 1, name: 'one', score: 1.5 },
      { id: 2, name: 'two', score: 2.25 },
      { id: 3, name: 'three', score: 3 },
      { id: 4, name: 'four', score: 4.5 },
    ]);
  });
});

describe('validating, versioning and guarding pipelines', () => {
  it('saves invalid nodes as a draft listing every problem by node and field, and refuses to run it', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const nodes = [
      {
        id: 1,
        name: 'outside bucket',
        type: 'SOURCE_OBS',
        parentNodeIds: [],
        bucketName: 'not-an-allowed-bucket',
        prefix: 'x',
        dataType: 'CSV',
        fieldList: [{ name: 'a', type: 'string' }],
      },
      {
        id: 2,
        name: 'bad filter',
        type: 'TRANSFORM_FILTER',
        parentNodeIds: [1],
        filterType: 'AND',
        filterConditionList: [{ name: 'missing_column', operator: 'EQ', value: 'x' }],
      },
      { id: 3, name: 'loop a', type: 'TRANSFORM_SELECT', parentNodeIds: [4], fieldList: ['a'] },
      { id: 4, name: 'loop b', type: 'TRANSFORM_SELECT', parentNodeIds: [3], fieldList: ['a'] },
      { id: 5, name: 'mystery', type: 'TRANSFORM_MAGIC', parentNodeIds: [2] },
    ];

    // Act
    const created = await api.post(
      '/api/v1/pipelines',
      { name: unique('draft'), collection_id: col, nodes },
      { token },
    );

    // Assert
    expect(created.status, created.text).toBe(201);
    expect(created.body.status).toBe('draft');
    const problems = created.body.problems as Array<{ nodeId: string; field: string; message: string }>;
    const has = (nodeId: string, field: string, message: RegExp) =>
      expect(problems, JSON.stringify(problems)).toContainEqual(
        expect.objectContaining({ nodeId, field, message: expect.stringMatching(message) }),
      );
    has('1', 'bucketName', /not-an-allowed-bucket/);
    has('2', 'filterConditionList.0.name', /missing_column/);
    has('3', 'parentNodeIds', /cycle/);
    has('5', 'type', /TRANSFORM_MAGIC/);
    for (const p of problems) {
      expect(typeof p.nodeId).toBe('string');
      expect(p.field).toBeTruthy();
    }

    const verified = await api.post(`/api/v1/pipelines/${created.body.id}/verify`, {}, { token });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.body).toMatchObject({ pipeline_id: created.body.id, version: 1, valid: false });
    expect(verified.body.problems).toEqual(problems);

    const runRes = await api.post(`/api/v1/pipelines/${created.body.id}/run`, {}, { token });
    expect(runRes.status).toBe(409);
    expect(runRes.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(runRes.body.errorType).toBe('bad-state');
    const batchRes = await api.post(`/api/v1/batches/${created.body.id}`, undefined, { token });
    expect(batchRes.status).toBe(409);
    expect(batchRes.body.errorType).toBe('bad-state');
  });

  it('makes a new version on every change of nodes and keeps the old ones readable', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const sales = await newDataset(col, 'sales', SALES_CSV);
    const v1Nodes = [catalogSource(1, 'extract', col, sales), catalogTarget(2, 'load', 1, col, 'copy')];
    const v2Nodes = [
      catalogSource(1, 'extract', col, sales),
      {
        id: 2,
        name: 'only north',
        type: 'TRANSFORM_FILTER',
        parentNodeIds: [1],
        filterType: 'AND',
        filterConditionList: [{ name: 'region', operator: 'EQ', value: 'north' }],
      },
      catalogTarget(3, 'load', 2, col, 'copy'),
    ];
    const pipeline = await newPipeline(col, v1Nodes);

    // Act
    const updated = await api.put(`/api/v1/pipelines/${pipeline.id}`, { nodes: v2Nodes }, { token });

    // Assert
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.version).toBe(2);
    const versions = await api.get(`/api/v1/pipelines/${pipeline.id}/versions`, { token });
    expect(versions.status).toBe(200);
    expect(
      versions.body.items.map((v: any) => ({ version: v.version, current: v.current, nodes: v.nodes })),
    ).toEqual([
      { version: 2, current: true, nodes: 3 },
      { version: 1, current: false, nodes: 2 },
    ]);
    const v1 = await api.get(`/api/v1/pipelines/${pipeline.id}/versions/1`, { token });
    expect(v1.status).toBe(200);
    expect(v1.body.version).toBe(1);
    expect(v1.body.nodes).toHaveLength(2);
    for (const [i, node] of v1Nodes.entries()) expect(v1.body.nodes[i]).toMatchObject(node);
    const current = await api.get(`/api/v1/pipelines/${pipeline.id}`, { token });
    expect(current.body.version).toBe(2);
    for (const [i, node] of v2Nodes.entries()) expect(current.body.nodes[i]).toMatchObject(node);
  });

  it('forbids a viewer to run a pipeline', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const pipeline = await newPipeline(col, []);
    const username = unique('viewer');
    const password = `${username}-secret-pw`;
    const user = await api.post('/api/v1/users', { username, password, role: 'viewer' }, { token });
    expect(user.status, user.text).toBe(201);
    const viewerToken = await api.login(username, password);

    // Act
    const runRes = await api.post(`/api/v1/pipelines/${pipeline.id}/run`, {}, { token: viewerToken });
    const batchRes = await api.post(`/api/v1/batches/${pipeline.id}`, undefined, { token: viewerToken });

    // Assert
    expect(runRes.status).toBe(403);
    expect(runRes.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(batchRes.status).toBe(403);
    expect((await api.get(`/api/v1/pipelines/${pipeline.id}`, { token: viewerToken })).status).toBe(200);
    const list = await api.get(`/api/v1/batches/${pipeline.id}/`, { token });
    expect(list.body.items).toEqual({});
  });

  it('refuses to delete a pipeline with a running batch unless forced', async () => {
    // Arrange
    const col = await newCollection('pipelines');
    const pipeline = await slowPipeline(col);
    const batchId = await run(pipeline.id);
    await until(
      'the batch to run',
      () => getBatch(pipeline.id, batchId),
      (b) => b.status === 'running' || TERMINAL.includes(b.status),
    );

    // Act
    const refused = await api.del(`/api/v1/pipelines/${pipeline.id}`, { token });
    const forced = await api.del(`/api/v1/pipelines/${pipeline.id}?force=true`, { token });

    // Assert
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.errorType).toBe('bad-state');
    expect(forced.status, forced.text).toBe(200);
    expect(forced.body.message).toBeTruthy();
    const gone = await api.get(`/api/v1/pipelines/${pipeline.id}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.errorType).toBe('resource-not-found/PIPELINE');
    expect((await api.get(`/api/v1/batches/${batchId}`, { token })).status).toBe(404);
  });
});

/**
 * Steps 1–6 of the D.Hub API tutorial (seed 000), run with cURL exactly as the tutorial
 * writes them, only `https://{host}` replaced by the local host's URL.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, ROOT } from './harness.ts';

const run = promisify(execFile);
const host = inject('hostUrl');
const env: Record<string, string> = {};

async function curl(script: string): Promise<any> {
  const { stdout } = await run('bash', ['-c', `set -euo pipefail\n${script}`], {
    cwd: join(ROOT, 'test/fixtures'),
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout);
}

describe('the D.Hub tutorial, steps 1 to 6, with cURL', () => {
  beforeAll(() => {
    expect(host).toMatch(/^http:\/\/localhost:\d+$/);
  });

  it('step 1: logs in and gets a bearer token', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/auth/login \\
-H "Content-Type: application/json" \\
-d '{
"username": "${ADMIN.username}",
"password": "${ADMIN.password}"
}'`);
    expect(body.token_type).toBe('bearer');
    expect(body.access_token).toMatch(/^eyJ/);
    expect(typeof body.refresh_token).toBe('string');
    env.TOKEN = body.access_token;
  });

  it('step 2: creates the collection', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/collections \\
-H "Authorization: Bearer \${TOKEN}" \\
-H "Content-Type: application/json" \\
-d '{
"name": "서울시 교통 분석",
"description": "서울시 교통 데이터 수집 및 분석 프로젝트"
}'`);
    expect(body).toMatchObject({
      name: '서울시 교통 분석',
      description: '서울시 교통 데이터 수집 및 분석 프로젝트',
    });
    expect(body.id).toMatch(/^col-/);
    expect(body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    env.COLLECTION_ID = body.id;
  });

  it('step 3-1: creates the dataset in the collection', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/datasets \\
-H "Authorization: Bearer \${TOKEN}" \\
-H "Content-Type: application/json" \\
-d '{
"name": "교통량 데이터",
"description": "서울시 주요 도로 교통량 측정 데이터",
"collection_id": "'\${COLLECTION_ID}'"
}'`);
    expect(body).toMatchObject({ name: '교통량 데이터', collection_id: env.COLLECTION_ID });
    expect(body.id).toMatch(/^ds-/);
    env.DATASET_ID = body.id;
  });

  it('step 3-2: uploads the CSV file', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/tables/\${DATASET_ID}/upload \\
-H "Authorization: Bearer \${TOKEN}" \\
-F "file=@traffic_data.csv"`);
    expect(body).toMatchObject({ message: 'Upload successful', rows: 1500, columns: 5 });
  });

  it('step 4: reads the first page with typed values', async () => {
    const body = await curl(`curl -s -X GET "${host}/api/v1/tables/\${DATASET_ID}?page=1&page_size=10" \\
-H "Authorization: Bearer \${TOKEN}"`);
    expect(body.columns).toEqual(['date', 'road_name', 'direction', 'traffic_count', 'avg_speed']);
    expect(body.total_rows).toBe(1500);
    expect(body.data).toHaveLength(10);
    expect(body.data[0]).toEqual(['2026-03-01', '강남대로', 'northbound', 12500, 35.2]);
    expect(body.data[1]).toEqual(['2026-03-01', '테헤란로', 'eastbound', 9800, 28.7]);
  });

  it('step 5-1: creates the pipeline', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/pipelines \\
-H "Authorization: Bearer \${TOKEN}" \\
-H "Content-Type: application/json" \\
-d '{
"name": "교통량 일별 집계",
"description": "도로별 일일 교통량을 집계하는 파이프라인",
"collection_id": "'\${COLLECTION_ID}'"
}'`);
    expect(body).toMatchObject({ name: '교통량 일별 집계', collection_id: env.COLLECTION_ID, version: 1 });
    expect(body.id).toMatch(/^pl-/);
    env.PIPELINE_ID = body.id;
  });

  it('step 5-2: runs the pipeline', async () => {
    const body = await curl(`curl -s -X POST ${host}/api/v1/pipelines/\${PIPELINE_ID}/run \\
-H "Authorization: Bearer \${TOKEN}" \\
-H "Content-Type: application/json" \\
-d '{}'`);
    expect(body.batch_id).toMatch(/^batch-/);
    expect(body.status).toBe('running');
    expect(body.started_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    env.BATCH_ID = body.batch_id;
  });

  it('step 6-1: polls the batch until it has completed', async () => {
    let body: any;
    for (let i = 0; i < 100; i++) {
      body = await curl(`curl -s -X GET ${host}/api/v1/batches/\${BATCH_ID} \\
-H "Authorization: Bearer \${TOKEN}"`);
      if (body.status === 'completed' || body.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toMatchObject({ id: env.BATCH_ID, pipeline_id: env.PIPELINE_ID, status: 'completed' });
    expect(Date.parse(body.finished_at)).toBeGreaterThanOrEqual(Date.parse(body.started_at));
  });

  it('step 6-2: reads the run traces', async () => {
    const body =
      await curl(`curl -s -X GET "${host}/api/v1/traces?pipeline_id=\${PIPELINE_ID}&batch_id=\${BATCH_ID}" \\
-H "Authorization: Bearer \${TOKEN}"`);
    expect(body).toMatchObject({ pipeline_id: env.PIPELINE_ID, batch_id: env.BATCH_ID, status: 'completed' });
    expect(body.traces).toEqual([]);
  });

  it('README: the pipeline with nodes totals traffic per road into a new dataset', async () => {
    const put = await curl(`curl -s -X PUT ${host}/api/v1/pipelines/\${PIPELINE_ID} \\
-H "Authorization: Bearer \${TOKEN}" -H "Content-Type: application/json" -d '{"nodes": [
  {"id": 1, "name": "교통량", "type": "SOURCE_CATALOG", "parentNodeIds": [],
   "database": "서울시 교통 분석", "table": "교통량 데이터"},
  {"id": 2, "name": "빠른 구간", "type": "TRANSFORM_FILTER", "parentNodeIds": [1],
   "filterType": "AND", "filterConditionList": [{"name": "avg_speed", "operator": "GTE", "value": 30}]},
  {"id": 3, "name": "도로별", "type": "TRANSFORM_AGGREGATE", "parentNodeIds": [2],
   "groupByList": ["road_name"],
   "aggregateFieldList": [{"name": "traffic_count", "ResultName": "total", "function": "SUM"},
                          {"name": "*", "ResultName": "samples", "function": "COUNT"}]},
  {"id": 4, "name": "결과", "type": "TARGET_CATALOG", "parentNodeIds": [3],
   "database": "서울시 교통 분석", "table": "도로별 합계", "updateType": "OVERWRITE"}
]}'`);
    expect(put).toMatchObject({ version: 2, status: 'valid', problems: [] });
    const run = await curl(
      `curl -s -X POST ${host}/api/v1/batches/\${PIPELINE_ID} -H "Authorization: Bearer \${TOKEN}"`,
    );
    expect(run.item).toMatch(/^batch-/);
    let batch: any;
    for (let i = 0; i < 300; i++) {
      batch = await curl(
        `curl -s ${host}/api/v1/batches/\${PIPELINE_ID} -H "Authorization: Bearer \${TOKEN}"`,
      );
      if (batch.id === run.item && ['completed', 'failed'].includes(batch.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(batch.status).toBe('completed');
    expect(Object.values(batch.state.steps).map((s: any) => s.state)).toEqual([
      'success',
      'success',
      'success',
      'success',
    ]);

    const csv = (await readFile(join(ROOT, 'test/fixtures/traffic_data.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1);
    const expected = new Map<string, [number, number]>();
    for (const line of csv) {
      const [, road, , count, speed] = line.split(',');
      if (Number(speed) < 30) continue;
      const [total, n] = expected.get(road as string) ?? [0, 0];
      expected.set(road as string, [total + Number(count), n + 1]);
    }
    const list = await curl(
      `curl -s "${host}/api/v1/datasets?collection_id=\${COLLECTION_ID}" -H "Authorization: Bearer \${TOKEN}"`,
    );
    const totals = Object.values(list.items)
      .map((v) => JSON.parse(v as string))
      .find((d) => d.name === '도로별 합계');
    env.TOTALS_ID = totals.id;
    const page = await curl(
      `curl -s "${host}/api/v1/tables/\${TOTALS_ID}?page=1&page_size=100" -H "Authorization: Bearer \${TOKEN}"`,
    );
    expect(page.columns).toEqual(['road_name', 'total', 'samples']);
    expect(page.data).toEqual(
      [...expected.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([road, [total, n]]) => [road, total, n]),
    );
  });

  it('README: a query totals traffic per road, and its result file is in the results bucket', async () => {
    const submitted = await curl(`curl -s -X POST ${host}/v1/data-query/query \\
-H "Authorization: Bearer \${TOKEN}" -H "Content-Type: application/json" \\
-H "X-Database: 서울시 교통 분석" \\
-d '{"query": "select road_name, sum(traffic_count) as total from \\"교통량 데이터\\" group by road_name order by total desc",
     "bucketName": "sluice-results", "path": "data_query/result"}'`);
    expect(submitted).toMatchObject({
      state: 'QUEUED',
      storageUrl: expect.stringMatching(/^data_query\/result\/\d{4}\/\d\d\/\d\d$/),
    });
    env.QUERY_ID = submitted.queryId;
    let body: any;
    for (let i = 0; i < 300; i++) {
      body = await curl(
        `curl -s "${host}/v1/data-query/query/\${QUERY_ID}?page=0" -H "Authorization: Bearer \${TOKEN}"`,
      );
      if (['FINISHED', 'FAILED', 'ABORTED'].includes(body.queryInfo.state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.queryInfo).toMatchObject({ state: 'FINISHED', storeType: 'BASIC', isStored: true });

    const totals = new Map<string, number>();
    const csv = (await readFile(join(ROOT, 'test/fixtures/traffic_data.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1);
    for (const line of csv) {
      const [, road, , count] = line.split(',');
      totals.set(road as string, (totals.get(road as string) ?? 0) + Number(count));
    }
    const expected = [...totals.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([road, total]) => [road, String(total)]);
    expect(body.columnData.map((c: any) => c.name)).toEqual(['road_name', 'total']);
    expect(body.queryData).toEqual(expected);
  });
});

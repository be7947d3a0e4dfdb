/**
 * Query: five statements over the 1,000,000-row dataset (count, filter, group by, top-N, a join
 * with a 1,000-row dataset) through the Data Query API on the local host, against the same SQL
 * run by DuckDB in this process over a local copy of the same Parquet parts, written to CSV as
 * the service writes its result.
 *
 * The service time is what a client sees: POST /v1/data-query/query → GET /query/{id} (polled
 * every 10 ms) answers FINISHED; it includes everything the host does for a query (records in
 * the local DynamoDB, placing the parts in a pooled sandbox, DESCRIBE, the CSV, the preview, three
 * objects to the local S3) and the client's polling. The goal allows 1.2× DuckDB plus 100 ms of
 * fixed overhead per query, so each query's ratio is (service − 100 ms) / DuckDB and the
 * reported ratio is the worst of the five. Per query the table also shows service − DuckDB.
 * Runs alternate (DuckDB, service, DuckDB, ...); medians are reported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Session } from './common.ts';
import { bigCsv, downloadParts, median, ROWS, report, session, table, uploadViaUrl } from './common.ts';

const RUNS = 5;
const TARGET = 1.2;
const FIXED_MS = 100;
const POLL_MS = 10;
const SETTLE_MS = 100;
const KEYS = 1000;

/** The statements, written against `db.traffic` / `db.roads`; `{traffic}` etc. are replaced per side. */
const QUERIES: Array<{ name: string; sql: string }> = [
  { name: 'count', sql: 'SELECT count(*) AS n FROM {traffic}' },
  {
    name: 'filter',
    sql: 'SELECT id, road_name, traffic_count FROM {traffic} WHERE traffic_count > 19000 AND is_holiday',
  },
  {
    name: 'group by',
    sql:
      'SELECT road_name, direction, sum(traffic_count) AS total, avg(avg_speed) AS speed ' +
      'FROM {traffic} GROUP BY road_name, direction ORDER BY road_name, direction',
  },
  {
    name: 'top-N',
    sql: 'SELECT id, road_name, traffic_count FROM {traffic} ORDER BY traffic_count DESC, id LIMIT 10',
  },
  {
    name: 'join',
    sql:
      'SELECT r.label, count(*) AS n, sum(t.traffic_count) AS total FROM {traffic} t ' +
      'JOIN {roads} r ON t.id % 1000 = r.k GROUP BY r.label ORDER BY r.label LIMIT 20',
  },
];

function roadsCsv(): string {
  const lines = ['k,label'];
  for (let k = 0; k < KEYS; k++) lines.push(`${k},segment-${String(k % 100).padStart(3, '0')}`);
  return `${lines.join('\n')}\n`;
}

const list = (files: string[]) => `read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`;

async function duckdbDirect(
  connection: Awaited<ReturnType<DuckDBInstance['connect']>>,
  sql: string,
  dir: string,
): Promise<{ ms: number; rows: number }> {
  const out = join(dir, 'direct.csv');
  const started = performance.now();
  const result = await connection.runAndReadAll(
    `COPY (${sql}) TO '${out}' (FORMAT csv, HEADER true, FORCE_QUOTE *)`,
  );
  const ms = performance.now() - started;
  return { ms, rows: Number(result.getRows()[0]?.[0] ?? 0) };
}

async function viaService(s: Session, sql: string, database: string): Promise<{ ms: number; rows: number }> {
  const started = performance.now();
  const res = await s.api.post(
    '/v1/data-query/query',
    { query: sql, bucketName: 'sluice-results', path: 'bench' },
    { token: s.token, headers: { 'X-Database': database } },
  );
  if (res.status !== 200) throw new Error(`query failed: ${res.status} ${res.text}`);
  const id = res.body.queryId as string;
  for (;;) {
    const got = await s.api.get(`/v1/data-query/query/${id}`, { token: s.token });
    const state = got.body?.queryInfo?.state;
    if (state === 'FINISHED')
      return { ms: performance.now() - started, rows: got.body.totalElements as number };
    if (state === 'FAILED' || state === 'ABORTED' || got.status !== 200)
      throw new Error(`query ${id} ended ${state}: ${got.text}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function main(): Promise<void> {
  const csv = await bigCsv();
  const s = await session();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-query-'));
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const name = `bench-query-${Date.now()}`;
    const { datasetId } = await uploadViaUrl(s, csv, name);
    const dataset = await s.api.get(`/api/v1/datasets/${datasetId}`, { token: s.token });
    const collectionId = dataset.body.collection_id as string;
    const roads = await s.api.post(
      '/api/v1/datasets',
      { name: 'roads', collection_id: collectionId },
      { token: s.token },
    );
    const up = await s.api.upload(roads.body.id, roadsCsv(), s.token);
    if (up.status !== 200) throw new Error(`roads upload failed: ${up.status} ${up.text}`);

    const { files: trafficFiles } = await downloadParts(s, datasetId, dir, 'traffic');
    const { files: roadFiles } = await downloadParts(s, roads.body.id, dir, 'roads');
    // The service resolves `traffic` in the X-Database collection (named like the dataset).
    const serviceSql = (sql: string) => sql.replace('{traffic}', `"${name}"`).replace('{roads}', 'roads');
    const directSql = (sql: string) =>
      sql.replace('{traffic}', list(trafficFiles)).replace('{roads}', list(roadFiles));

    const rows: (string | number)[][] = [
      ['query', 'DuckDB ms', 'service ms', 'service - DuckDB ms', `(service - ${FIXED_MS}) / DuckDB`, 'rows'],
    ];
    const figures: Record<
      string,
      { duckdb_ms: number; service_ms: number; service_minus_duckdb_ms: number; ratio: number }
    > = {};
    let worst = 0;
    for (const q of QUERIES) {
      const direct: number[] = [];
      const service: number[] = [];
      let directRows = 0;
      let serviceRows = 0;
      for (let i = 0; i < RUNS; i++) {
        // The host's work after the answer (the last record write, the sandbox's clean-up) must
        // not run into the baseline's time.
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const d = await duckdbDirect(connection, directSql(q.sql), dir);
        const v = await viaService(s, serviceSql(q.sql), name);
        direct.push(d.ms);
        service.push(v.ms);
        directRows = d.rows;
        serviceRows = v.rows;
      }
      if (directRows !== serviceRows)
        throw new Error(`${q.name}: DuckDB ${directRows} rows, service ${serviceRows}`);
      const d = median(direct);
      const v = median(service);
      const ratio = Math.max(0, v - FIXED_MS) / d;
      worst = Math.max(worst, ratio);
      figures[q.name] = {
        duckdb_ms: Math.round(d),
        service_ms: Math.round(v),
        service_minus_duckdb_ms: Math.round(v - d),
        ratio: Number(ratio.toFixed(3)),
      };
      rows.push([q.name, d.toFixed(0), v.toFixed(0), (v - d).toFixed(0), ratio.toFixed(2), serviceRows]);
    }
    console.log(`\n${ROWS.toLocaleString('en-US')} rows; median of ${RUNS} alternating runs\n`);
    table(rows);
    console.log('');
    report({
      bench: 'query',
      ratio: Number(worst.toFixed(3)),
      target: TARGET,
      fixed_ms: FIXED_MS,
      rows: ROWS,
      queries: figures,
    });
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
    await s.host.stop();
  }
}

/**
 * Data Query on the local host runs queries one after another on pooled DuckDB instances. A
 * query that follows another on the same instance must find nothing of it: not its input files,
 * not its result file, not its views, not a setting or log it changed. The file runs on a host of
 * its own, so that no other test's query takes the instance in between and the queries below
 * really do share one (each checks the instance's folder, `allowed_directories`, to know).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, type Client, client, type RunningHost, startHost, unique, until } from './harness.ts';

const DQ = '/v1/data-query';
const FINAL = ['FINISHED', 'FAILED', 'ABORTED'];
/** A value only dataset `a` holds; it must never show up in another query's answer. */
const SECRET = `secret-${randomBytes(8).toString('hex')}`;

let host: RunningHost;
let api: Client;
let token: string;
let database: string;

beforeAll(async () => {
  host = await startHost();
  api = client(host.url);
  token = await api.login(ADMIN.username, ADMIN.password);
  const { newDataset } = catalogHelpers(api, () => token);
  database = unique('pool');
  const created = await api.post('/api/v1/collections', { name: database }, { token });
  expect(created.status, created.text).toBe(201);
  const collection = created.body.id as string;
  await newDataset(collection, 'a', `id,secret\n1,${SECRET}\n`);
  await newDataset(collection, 'b', 'id,name\n1,public\n');
});

afterAll(async () => {
  await host?.stop();
});

interface Answer {
  state: string;
  rows: Array<Array<string | null>>;
  error: string;
}

/** Runs one statement (tables `a` and `b` of the file's collection) and answers how it ended. */
async function run(query: string): Promise<Answer> {
  const res = await api.post(
    `${DQ}/query`,
    { query, bucketName: 'sluice-results', path: 'pool' },
    { token, headers: { 'X-Database': database } },
  );
  expect(res.status, res.text).toBe(200);
  const body = await until(
    `query ${res.body.queryId}`,
    async () => (await api.get(`${DQ}/query/${res.body.queryId}`, { token })).body,
    (b) => FINAL.includes(b.queryInfo.state),
  );
  return { state: body.queryInfo.state, rows: body.queryData, error: body.queryInfo.errorMessage ?? '' };
}

/** The folder the instance that runs a query may read (its `allowed_directories`), and its files. */
async function instanceOf(input: 'a' | 'b'): Promise<{ folder: string; files: string[] }> {
  const setting = await run(
    `SELECT value, (SELECT count(*) FROM ${input}) AS n FROM duckdb_settings() WHERE name = 'allowed_directories'`,
  );
  expect(setting.state, setting.error).toBe('FINISHED');
  // `[<folder>/, <folder>/spill/]`: DuckDB adds its spill folder, which is inside.
  const folder = /^\[([^,\]]+)/.exec(setting.rows[0]?.[0] ?? '')?.[1] as string;
  expect(folder).toMatch(/sluice-query-sandboxes-.+\/i\d+\/$/);
  const listed = await run(
    `SELECT file, (SELECT count(*) FROM ${input}) AS n FROM glob('${folder}**') ORDER BY 1`,
  );
  expect(listed.state, listed.error).toBe('FINISHED');
  return { folder, files: listed.rows.map((r) => r[0] as string) };
}

describe('queries that share a pooled DuckDB instance', () => {
  it('cannot read the input or the result files of the query before them, nor see its views', async () => {
    const { folder } = await instanceOf('b');
    // A query reads `a`, and lists the files it can see: its input, in a work folder of its own.
    const first = await run(
      `SELECT secret, (SELECT string_agg(file, ',') FROM glob('${folder}**/*.parquet')) AS files FROM a`,
    );
    expect(first.state, first.error).toBe('FINISHED');
    expect(first.rows[0]?.[0]).toBe(SECRET);
    const input = first.rows[0]?.[1] as string;
    expect(input).toMatch(/\.parquet$/);
    expect(input.startsWith(folder)).toBe(true);
    // Its result was written there too before it went to the bucket.
    const workFolder = input.slice(0, input.lastIndexOf('/') + 1);

    // The next ones run on the same instance (so the pool reused it) over `b` only.
    const second = await instanceOf('b');
    expect(second.folder).toBe(folder);
    expect(second.files.some((f) => f.startsWith(workFolder))).toBe(false);
    expect(second.files.filter((f) => f.endsWith('.parquet'))).toHaveLength(1);

    const attempts = [
      `SELECT * FROM read_parquet('${input}')`,
      `SELECT * FROM read_csv('${workFolder}result.csv')`,
      `SELECT * FROM read_csv('${folder}**/*.csv')`,
      `SELECT * FROM read_parquet('${folder}**/*.parquet')`,
      // Nor anything outside its instance's folder: the pool's other folders, the data directory.
      `SELECT * FROM read_parquet('${folder}../**/*.parquet')`,
      `SELECT * FROM read_text('${join(host.dataDir, 'secrets', 'jwt.key')}')`,
    ];
    for (const attempt of attempts) {
      const answer = await run(`${attempt} UNION ALL BY NAME SELECT * FROM b`);
      expect(JSON.stringify(answer)).not.toContain(SECRET);
      if (answer.state === 'FINISHED') {
        // Only `b`, possibly twice (its own part matches the wildcard).
        expect(answer.rows.length).toBeGreaterThan(0);
        for (const row of answer.rows) expect(row).toEqual(['1', 'public']);
      } else {
        expect(answer.error, attempt).toMatch(/No files found|does not exist|Permission|No such file/i);
      }
    }

    const catalog = await run(
      `SELECT (SELECT string_agg(view_name, ',') FROM duckdb_views() WHERE NOT internal) AS views,
              (SELECT count(*) FROM duckdb_tables()) AS tables,
              (SELECT string_agg(database_name, ',' ORDER BY database_name) FROM duckdb_databases()) AS dbs,
              (SELECT count(*) FROM b) AS n`,
    );
    expect(catalog.state, catalog.error).toBe('FINISHED');
    // Its own view of `b` only: the first query's views went with its connection.
    expect(catalog.rows).toEqual([['sluice_t0', '0', 'memory,system,temp', '1']]);
    expect((await instanceOf('b')).folder).toBe(folder);
  });

  it('does not inherit an instance that a query changed: logging turned on is not kept', async () => {
    const before = await instanceOf('b');
    const changed = await run('SELECT * FROM enable_logging()');
    expect(changed.state, changed.error).toBe('FINISHED');

    const next = await run(
      `SELECT (SELECT count(*) FROM duckdb_logs()) AS logs,
              (SELECT value FROM duckdb_settings() WHERE name = 'enable_logging') AS logging,
              (SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories') AS folder`,
    );
    expect(next.state, next.error).toBe('FINISHED');
    const [logs, logging, folder] = next.rows[0] as string[];
    expect([logs, logging]).toEqual(['0', '0']);
    // A new instance in a new folder: the changed one was discarded with its folder.
    expect(folder).not.toContain(before.folder);
    const gone = await run(`SELECT * FROM glob('${before.folder}**')`);
    expect(gone.state).toBe('FAILED');
    expect(gone.error).toMatch(/Permission/);
  });

  it('removes the instances and their folders when the host stops', async () => {
    const folder = (await instanceOf('b')).folder;
    const tmp = join(host.dataDir, 'tmp');
    expect((await readdir(tmp)).some((f) => folder.includes(`/${f}/`))).toBe(true);
    expect(await host.stop()).toBe(0);
    expect((await readdir(tmp)).filter((f) => f.startsWith('sluice-query-sandboxes-'))).toEqual([]);
  });
});

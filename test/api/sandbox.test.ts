/**
 * User SQL runs in a DuckDB sandbox: a TRANSFORM_SQL node can read its named inputs and nothing
 * else. Each attempt below tries to read a secret planted in the shared host's data directory
 * (beside its real secrets), the host's JWT signing key, its environment or the repository's
 * files; none of them may show up anywhere a user can look: the pipeline's problems, the
 * batch, its traces (errors, logs, samples) or the target dataset.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers, sqlOverDataset } from './catalog-helpers.ts';
import { ADMIN, client, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));
const dataDir = inject('dataDir');

let token: string;
let collection: string;
let source: string;
const { newCollection, newDataset } = catalogHelpers(api, () => token);

/** Text that must never come back: the planted secret, the JWT key, the admin password. */
const MARKER = `planted-${randomBytes(12).toString('hex')}`;
const planted = join(dataDir, 'planted-secret.csv');
const plantedInTmp = join(dataDir, 'tmp', 'other-batch.csv');
const jwtKey = join(dataDir, 'secrets', 'jwt.key');
let secrets: string[];

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
  await writeFile(planted, `secret\n${MARKER}\n`);
  await writeFile(plantedInTmp, `secret\n${MARKER}-tmp\n`);
  const key = (await readFile(jwtKey, 'utf8')).trim();
  secrets = [MARKER, key, key.slice(0, 16), ADMIN.password];
  collection = await newCollection('sandbox');
  source = await newDataset(collection, 'src', 'id,name\n1,a\n2,b\n');
});

function pipelineNodes(sql: string, target: string) {
  return [
    ...sqlOverDataset({ collection, dataset: source, sql, input: 'src', step: 'attempt' }),
    {
      id: 3,
      name: 'load',
      type: 'TARGET_CATALOG',
      parentNodeIds: [2],
      database: collection,
      table: target,
    },
  ];
}

/** Everything a user could read about a pipeline run, as one string. */
async function runAndCollect(sql: string): Promise<{ text: string; status: string; errors: string[] }> {
  const target = unique('out').replaceAll('-', '_');
  const created = await api.post(
    '/api/v1/pipelines',
    { name: unique('sandbox'), collection_id: collection, nodes: pipelineNodes(sql, target) },
    { token },
  );
  expect(created.status, created.text).toBe(201);
  if (created.body.problems.length > 0) {
    return { text: created.text, status: 'refused', errors: created.body.problems.map(String) };
  }
  const started = await api.post(`/api/v1/pipelines/${created.body.id}/run`, {}, { token });
  expect(started.status, started.text).toBe(200);
  const batchPath = `/api/v1/batches/${created.body.id}/${started.body.batch_id}`;
  const batch = await until(
    `batch of ${JSON.stringify(sql)}`,
    async () => (await api.get(batchPath, { token })).body,
    (b) => ['completed', 'failed', 'stop'].includes(b.status),
    60_000,
  );
  const traces = await api.get(
    `/api/v1/traces?pipeline_id=${created.body.id}&batch_id=${started.body.batch_id}`,
    { token },
  );
  const texts = [created.text, JSON.stringify(batch), traces.text];
  const datasets = await api.get(`/api/v1/datasets?collection_id=${collection}&limit=1000`, { token });
  for (const json of Object.values(datasets.body.items as Record<string, string>)) {
    const dataset = JSON.parse(json) as { id: string; name: string };
    if (dataset.name !== target) continue;
    texts.push((await api.get(`/api/v1/tables/${dataset.id}?page=1&page_size=100`, { token })).text);
  }
  const errors = (traces.body.traces as Array<{ error?: string }>).flatMap((t) => (t.error ? [t.error] : []));
  return { text: texts.join('\n'), status: batch.status, errors };
}

const P = () => planted;
const K = () => jwtKey;
const D = () => dataDir;

/** Each builds its SQL once the paths are known. */
const ATTEMPTS: Array<[string, () => string]> = [
  ['read_csv of a path', () => `SELECT * FROM read_csv('${P()}')`],
  ['a quoted table function name', () => `SELECT content FROM "read_text"('${K()}')`],
  ['an upper-case table function name', () => `SELECT CONTENT FROM READ_TEXT('${K()}')`],
  ['a comma join with a quoted path', () => `SELECT * FROM src, '${P()}'`],
  ['a comment between FROM and the path', () => `SELECT * FROM/**/'${P()}'`],
  ['a path as a quoted identifier', () => `SELECT * FROM "${P()}"`],
  ['a lateral join', () => `SELECT * FROM src CROSS JOIN LATERAL (SELECT * FROM read_csv('${P()}')) AS x`],
  ['a CTE', () => `WITH s AS (SELECT content FROM read_text('${K()}')) SELECT * FROM s`],
  ['a scalar subquery', () => `SELECT (SELECT content FROM read_text('${K()}')) AS leak, * FROM src`],
  ['an EXISTS oracle', () => `SELECT * FROM src WHERE EXISTS (SELECT 1 FROM read_text('${K()}'))`],
  ['glob over the data directory', () => `SELECT * FROM glob('${D()}/*')`],
  ['glob over the secrets folder', () => `SELECT * FROM glob('${D()}/secrets/*')`],
  ['read_blob', () => `SELECT content::VARCHAR AS c FROM read_blob('${K()}')`],
  ['sniff_csv', () => `SELECT * FROM sniff_csv('${P()}')`],
  ['read_csv_auto', () => `SELECT * FROM read_csv_auto('${P()}')`],
  ['read_json_auto', () => `SELECT * FROM read_json_auto('${P()}')`],
  ['parquet_metadata', () => `SELECT * FROM parquet_metadata('${P()}')`],
  ['a list of paths', () => `SELECT * FROM read_csv(['${P()}', '${K()}'])`],
  ['FROM-first syntax', () => `FROM read_text('${K()}')`],
  ['a file:// URL', () => `SELECT * FROM read_text('file://${K()}')`],
  ['a path built by concatenation', () => `SELECT * FROM read_text('${D()}' || '/secrets/jwt.key')`],
  ['a relative path into the repository', () => `SELECT content FROM read_text('package.json')`],
  ['the process environment', () => `SELECT content FROM read_text('/proc/self/environ')`],
  ['a traversal out of the temp folder', () => `SELECT * FROM read_csv('${D()}/tmp/../planted-secret.csv')`],
  ['another batch’s file in the temp folder', () => `SELECT * FROM read_csv('${plantedInTmp}')`],
  [
    'UNION ALL BY NAME with a file',
    () => `SELECT * FROM src UNION ALL BY NAME SELECT * FROM read_csv('${P()}')`,
  ],
  ['query() with a nested file read', () => `SELECT * FROM query('SELECT * FROM read_text(''${K()}'')')`],
  ['query_table of a path', () => `SELECT * FROM query_table('${P()}')`],
  ['duckdb_settings()', () => `SELECT name, value FROM duckdb_settings()`],
  ['ATTACH the key as a database', () => `ATTACH '${K()}' AS k`],
  ['two statements', () => `SELECT * FROM src; SELECT * FROM read_text('${K()}')`],
];

describe('TRANSFORM_SQL in its sandbox', () => {
  it('runs a legitimate query over its named input', async () => {
    const { status, text } = await runAndCollect('SELECT id * 10 AS id10, upper(name) AS name FROM src');
    expect(status).toBe('completed');
    expect(text).toContain('[10,"A"]');
  });

  it.each(ATTEMPTS)('leaks nothing through %s', async (_label, sql) => {
    const { text, status, errors } = await runAndCollect(sql());
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/\n\s+at /);
    if (status === 'failed') {
      // A read outside the sandbox is named as such, on the node that tried it.
      const message = errors.join('\n');
      if (/Permission Error/.test(message))
        expect(message).toMatch(/^Node "attempt" may only read its own inputs/m);
    } else if (status !== 'refused') {
      // Only queries that touch no file may succeed at all.
      expect(sql()).toMatch(/duckdb_settings/);
    }
  });

  it('names the node when a step reads a file', async () => {
    const { status, errors } = await runAndCollect(`SELECT * FROM read_csv('${P()}')`);
    expect(status).toBe('failed');
    expect(errors).toEqual([
      expect.stringMatching(/^Node "attempt" may only read its own inputs, not files: Permission Error/),
    ]);
  });

  it('checks the query with DuckDB’s parser before running it', async () => {
    const { status, errors } = await runAndCollect('SELECT 1) AS x, (SELECT 2');
    expect(status === 'refused' || status === 'failed').toBe(true);
    expect(errors.join('\n')).toMatch(/sql/);
  });
});

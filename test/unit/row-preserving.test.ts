/**
 * Which queries a user wrote keep every row of their input (functions/core/pipelines/row-preserving.ts),
 * read from what DuckDB's own parser makes of them, with DuckDB's own list of aggregates. Each
 * "keeps" case is also run over a table here, and its rows compared with the input's.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepsEveryRow } from '#core/pipelines/row-preserving';

let instance: DuckDBInstance;
let connection: Awaited<ReturnType<DuckDBInstance['connect']>>;
let aggregates: Set<string>;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'",
  );
  aggregates = new Set(reader.getRows().map((r) => String(r[0])));
  await connection.run(
    "CREATE TABLE orders AS SELECT range AS id, range % 3 AS g, [range, range] AS pair, 'r' || range AS name FROM range(10)",
  );
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

async function parse(sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql('${sql.replaceAll("'", "''")}')`);
  return JSON.parse(String(reader.getRows()[0]?.[0]));
}

/** Runs `sql` with `src` naming the table, as TRANSFORM_SQL names its input. */
async function rowsOf(sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(
    `WITH src AS (SELECT * FROM orders) SELECT count(*) FROM (${sql})`,
  );
  return Number(reader.getRows()[0]?.[0]);
}

const KEEPS = [
  'SELECT *, id % 1000 AS k FROM src',
  'select id, upper(name) AS n from SRC',
  'FROM src',
  'SELECT * EXCLUDE (pair) FROM src AS s',
  'SELECT id FROM src ORDER BY id DESC',
  'SELECT *, row_number() OVER (PARTITION BY g ORDER BY id) AS rn FROM src',
  'SELECT *, sum(id) OVER (PARTITION BY g) AS group_total, count(*) OVER () AS n FROM src',
  "SELECT coalesce(name, '-'), CASE WHEN id > 3 THEN 'big' END AS size, list_sum(pair) FROM src",
  'SELECT *, (SELECT 42) AS answer FROM src',
];

const CHANGES = [
  'SELECT * FROM src WHERE id > 3',
  'SELECT g FROM src GROUP BY g',
  'SELECT g, count(*) FROM src GROUP BY ALL',
  'SELECT count(*) FROM src',
  'SELECT sum(id) AS total FROM src',
  'SELECT list(name) FROM src',
  'SELECT DISTINCT g FROM src',
  'SELECT * FROM src LIMIT 3',
  'SELECT unnest(pair) AS one FROM src',
  'SELECT * FROM src QUALIFY row_number() OVER (PARTITION BY g) = 1',
  'SELECT * FROM src USING SAMPLE 50%',
  'SELECT * FROM src UNION ALL SELECT * FROM src',
  'SELECT * FROM src a JOIN src b USING (id)',
  'WITH t AS (SELECT * FROM src) SELECT * FROM t',
  'SELECT * FROM (SELECT * FROM src)',
  'SELECT *, (SELECT max(id) FROM src) AS top FROM src',
];

describe('a query that keeps every row of its input', () => {
  it.each(KEEPS)('keeps: %s', async (sql) => {
    expect(keepsEveryRow(await parse(sql), ['src'], aggregates)).toBe(true);
    expect(await rowsOf(sql)).toBe(10);
  });

  it.each(CHANGES)('may not: %s', async (sql) => {
    expect(keepsEveryRow(await parse(sql), ['src'], aggregates)).toBe(false);
  });

  it('reads only the inputs by their names: another table, a file or no table at all may not', async () => {
    expect(keepsEveryRow(await parse('SELECT * FROM orders'), ['src'], aggregates)).toBe(false);
    expect(keepsEveryRow(await parse('SELECT * FROM main.src'), ['src'], aggregates)).toBe(false);
    expect(keepsEveryRow(await parse("SELECT * FROM read_csv('x.csv')"), ['src'], aggregates)).toBe(false);
    expect(keepsEveryRow(await parse('SELECT 1'), ['src'], aggregates)).toBe(false);
    expect(keepsEveryRow(await parse('SELECT * FROM sales'), ['orders', 'Sales'], aggregates)).toBe(true);
  });

  it('is no for what does not parse, for two statements, and for anything it does not recognise', async () => {
    expect(keepsEveryRow(await parse('SELEC * FROM src'), ['src'], aggregates)).toBe(false);
    expect(keepsEveryRow(await parse('SELECT * FROM src; SELECT * FROM src'), ['src'], aggregates)).toBe(
      false,
    );
    expect(keepsEveryRow(undefined, ['src'], aggregates)).toBe(false);
    expect(
      keepsEveryRow({ error: false, statements: [{ node: { type: 'SELECT_NODE' } }] }, ['src'], aggregates),
    ).toBe(false);
  });

  it('knows the aggregates only from the list it is given', async () => {
    expect(keepsEveryRow(await parse('SELECT count(*) FROM src'), ['src'], new Set())).toBe(true);
    expect(aggregates.has('count_star')).toBe(true);
  });
});

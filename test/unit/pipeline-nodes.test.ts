import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withSandbox } from '#core/duckdb';
import type { Field } from '#core/pipelines/model';
import { echoNode, type NodeInput, nodeType, type ParsedNode } from '#core/pipelines/nodes/index';
import { sourceCatalogSql } from '#core/pipelines/nodes/SOURCE_CATALOG';
import { sourceObsSql } from '#core/pipelines/nodes/SOURCE_OBS';
import { targetCopyOptions, targetFileExtension, targetSingleFile } from '#core/pipelines/nodes/TARGET_OBS';
import { duckDbTypeOfField as duckdbType, fieldTypeOfColumn, fieldTypeOfDuckDb } from '#core/type-map';
import { onTestPlatform } from './test-platform.ts';

onTestPlatform();

let dir: string;
let fileCount = 0;
const inputs: Record<string, NodeInput> = {};

/** DuckDB values as plain JS: BIGINT as number, dates, decimals and the like as their text. */
const plain = (v: unknown) =>
  typeof v === 'bigint' ? Number(v) : v !== null && typeof v === 'object' ? String(v) : v;

async function query(sql: string): Promise<{ rows: unknown[][]; fields: Field[] }> {
  return withSandbox(dir, async (c) => {
    const reader = await c.runAndReadAll(sql);
    const described = await c.runAndReadAll(`DESCRIBE (${sql})`);
    return {
      rows: reader.getRows().map((row) => row.map(plain)),
      fields: described.getRows().map((r) => ({ name: String(r[0]), type: fieldTypeOfDuckDb(String(r[1])) })),
    };
  });
}

async function file(name: string, content: string): Promise<string> {
  const target = path.join(dir, `${++fileCount}-${name}`);
  await writeFile(target, content);
  return target;
}

/** A Parquet input made from a SELECT, as the step worker hands parents to a node. */
async function parquetInput(nodeId: string, select: string): Promise<NodeInput> {
  const target = path.join(dir, `${++fileCount}-${nodeId}.parquet`);
  await withSandbox(dir, (c) => c.run(`COPY (${select}) TO ${sqlString(target)} (FORMAT parquet)`));
  const relation = `read_parquet([${sqlString(target)}])`;
  const { fields } = await query(`SELECT * FROM ${relation}`);
  return { nodeId, relation, fields };
}

let nextId = 1697770000100;

function parse(raw: Record<string, unknown>): ParsedNode {
  const def = nodeType(String(raw.type));
  if (!def) throw new Error(`no node type ${String(raw.type)}`);
  return def.schema.parse({ id: nextId++, name: 'node', parentNodeIds: [], ...raw }) as ParsedNode;
}

/**
 * Runs a node over inputs and returns its rows and columns, checking that the columns
 * output() declares are the ones the SQL produces.
 */
async function run(
  raw: Record<string, unknown>,
  from: NodeInput[],
  options: { unknownFields?: boolean } = {},
) {
  const node = parse({ parentNodeIds: from.map((i) => Number(i.nodeId)), ...raw });
  const def = nodeType(node.type);
  const problems: string[] = [];
  const declared = def?.output(
    node,
    from.map((i) => i.fields),
    { problem: (field, message) => problems.push(`${field}: ${message}`) },
  );
  expect(problems).toEqual([]);
  const given = options.unknownFields ? from.map((i) => ({ ...i, fields: null })) : from;
  const sql = def?.sql?.(node, given) ?? '';
  const result = await query(sql);
  if (declared && !options.unknownFields) expect(result.fields).toEqual(declared);
  return result;
}

const sorted = (rows: unknown[][]) =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-nodes-test-'));
  inputs.people = await parquetInput(
    '1697770000001',
    `SELECT * FROM (VALUES
      (1::BIGINT, 'Ann', 34, 'Seoul', DATE '2024-01-05', 9.5::DOUBLE, true),
      (2, 'Bob', NULL, 'Busan', DATE '2024-02-10', 7.0, false),
      (3, 'Cho', 28, 'Seoul', NULL, 8.25, true),
      (4, 'Dan', 41, NULL, DATE '2023-12-31', NULL, false)
    ) t(id, name, age, city, joined, score, active)`,
  );
  inputs.orders = await parquetInput(
    '1697770000002',
    `SELECT * FROM (VALUES
      (10::BIGINT, 1::BIGINT, 20.0::DOUBLE, 'pen'),
      (11, 1, 5.5, 'ink'),
      (12, 3, 12.0, 'pad'),
      (13, 9, 1.0, 'cap')
    ) t(id, person_id, amount, name)`,
  );
  inputs.dups = await parquetInput(
    '1697770000003',
    `SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (1, 'c'), (2, 'b'), (3, 'd'), (1, 'a')) t(k, v)`,
  );
  inputs.u1 = await parquetInput('1697770000004', `SELECT * FROM (VALUES (1, 'x'), (2, 'y')) t(a, b)`);
  inputs.u2 = await parquetInput(
    '1697770000005',
    `SELECT * FROM (VALUES ('y', 2::BIGINT), ('z', 3)) t(b, a)`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('type mapping', () => {
  it('maps field types to DuckDB types, carrying complex values as text', () => {
    expect(duckdbType('int')).toBe('INTEGER');
    expect(duckdbType('bigint')).toBe('BIGINT');
    expect(duckdbType('varchar')).toBe('VARCHAR');
    expect(duckdbType('datetime')).toBe('TIMESTAMP');
    expect(duckdbType('timestampwithtimezone')).toBe('TIMESTAMPTZ');
    expect(duckdbType('decimal')).toBe('DECIMAL(38,10)');
    expect(duckdbType('binary')).toBe('BLOB');
    expect(duckdbType('struct')).toBe('VARCHAR');
  });

  it('maps DESCRIBE types back to field types', () => {
    expect(fieldTypeOfDuckDb('BIGINT')).toBe('bigint');
    expect(fieldTypeOfDuckDb('INTEGER')).toBe('int');
    expect(fieldTypeOfDuckDb('DOUBLE')).toBe('double');
    expect(fieldTypeOfDuckDb('VARCHAR')).toBe('string');
    expect(fieldTypeOfDuckDb('TIMESTAMP')).toBe('timestamp');
    expect(fieldTypeOfDuckDb('TIMESTAMP WITH TIME ZONE')).toBe('timestampwithtimezone');
    expect(fieldTypeOfDuckDb('DECIMAL(10,2)')).toBe('decimal');
    expect(fieldTypeOfDuckDb('HUGEINT')).toBe('decimal');
    expect(fieldTypeOfDuckDb('INTEGER[]')).toBe('array');
    expect(fieldTypeOfDuckDb('STRUCT(a INTEGER)')).toBe('struct');
    expect(fieldTypeOfDuckDb('MAP(VARCHAR, INTEGER)')).toBe('map');
    expect(fieldTypeOfDuckDb('BLOB')).toBe('binary');
  });

  it('maps dataset column types to field types', () => {
    expect(fieldTypeOfColumn('integer')).toBe('bigint');
    expect(fieldTypeOfColumn('double')).toBe('double');
    expect(fieldTypeOfColumn('timestamp')).toBe('timestamp');
    expect(fieldTypeOfColumn('string')).toBe('string');
  });
});

describe('schemas', () => {
  it('normalises field types to lower case and enums to upper case', () => {
    const node = parse({
      type: 'source_obs',
      bucketName: 'b',
      prefix: 'p',
      dataType: 'csv',
      fieldList: [{ name: 'id', type: 'BigInt' }],
    });
    expect(node.type).toBe('SOURCE_OBS');
    expect(node.dataType).toBe('CSV');
    expect(node.fieldList).toEqual([{ name: 'id', type: 'bigint' }]);
  });

  it('accepts select fields as names or objects', () => {
    const node = parse({ type: 'TRANSFORM_SELECT', fieldList: ['a', { name: 'b', type: 'string' }] });
    expect(node.fieldList).toEqual([{ name: 'a' }, { name: 'b', type: 'string' }]);
  });

  it('accepts ResultName or resultName and defaults it from the function', () => {
    const node = parse({
      type: 'TRANSFORM_AGGREGATE',
      groupByList: [{ name: 'city' }],
      aggregateFieldList: [
        { name: 'age', ResultName: 'total', function: 'sum' },
        { name: 'age', resultName: 'oldest', function: 'MAX' },
        { name: 'age', function: 'AVG' },
        { name: '*', function: 'COUNT' },
      ],
    });
    expect(node.groupByList).toEqual(['city']);
    expect(node.aggregateFieldList).toEqual([
      { name: 'age', resultName: 'total', function: 'SUM' },
      { name: 'age', resultName: 'oldest', function: 'MAX' },
      { name: 'age', resultName: 'avg_age', function: 'AVG' },
      { name: '*', resultName: 'count', function: 'COUNT' },
    ]);
  });

  it('rejects a SQL transform with two statements', () => {
    const result = nodeType('TRANSFORM_SQL')?.schema.safeParse({
      id: 1,
      name: 'sql',
      type: 'TRANSFORM_SQL',
      parentNodeIds: [2],
      sourceNameList: [{ parentId: 2, newName: 'src' }],
      sql: "SELECT ';' AS a FROM src; DROP TABLE x",
    });
    expect(result?.success).toBe(false);
    expect(result?.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['sql', 'must be a single statement (found more after ";")'],
    ]);
  });

  it('looks node types up in any case', () => {
    expect(nodeType('transform_filter')?.type).toBe('TRANSFORM_FILTER');
    expect(nodeType('constructor')).toBeUndefined();
  });
});

describe('SOURCE_OBS', () => {
  const source = (dataType: string, fieldList: Array<{ name: string; type: string }>) =>
    parse({ type: 'SOURCE_OBS', bucketName: 'aitems', prefix: 'in', dataType, fieldList });

  it('reads CSV by header name, typed by fieldList, ignoring column order and extra columns', async () => {
    const a = await file('a.csv', 'name,id,extra,joined\nAnn,1,x,2024-01-05\nBob,2,,2024-02-10\n');
    const b = await file('b.csv', 'id,name,joined\n3,"Cho, C",\n');
    const node = source('CSV', [
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
      { name: 'joined', type: 'date' },
    ]);
    const { rows, fields } = await query(sourceObsSql(node, [a, b]));
    expect(fields).toEqual([
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
      { name: 'joined', type: 'date' },
    ]);
    expect(rows).toEqual([
      [1, 'Ann', '2024-01-05'],
      [2, 'Bob', '2024-02-10'],
      [3, 'Cho, C', null],
    ]);
  });

  it('fails loudly on a CSV value that does not fit its declared type', async () => {
    const bad = await file('bad.csv', 'id,name\nabc,Ann\n');
    const node = source('CSV', [
      { name: 'id', type: 'int' },
      { name: 'name', type: 'string' },
    ]);
    await expect(query(sourceObsSql(node, [bad]))).rejects.toThrow(/Could not convert string "abc"/);
  });

  it('reads a JSON array, keeping nested values as JSON text', async () => {
    const f = await file(
      'a.json',
      '[{"id": 1, "name": "Ann", "tags": ["a", "b"]}, {"id": 2, "name": "Bob"}]',
    );
    const node = source('JSON', [
      { name: 'id', type: 'bigint' },
      { name: 'name', type: 'string' },
      { name: 'tags', type: 'array' },
    ]);
    const { rows } = await query(sourceObsSql(node, [f]));
    expect(rows).toEqual([
      [1, 'Ann', '["a","b"]'],
      [2, 'Bob', null],
    ]);
  });

  it('reads newline-delimited JSON', async () => {
    const f = await file(
      'a.ndjson',
      '{"id": 1, "score": 9.5, "at": "2024-01-05 10:00:00"}\n{"id": 2, "score": null}\n',
    );
    const node = source('NDJSON', [
      { name: 'id', type: 'int' },
      { name: 'score', type: 'double' },
      { name: 'at', type: 'timestamp' },
    ]);
    const { rows, fields } = await query(sourceObsSql(node, [f]));
    expect(fields.map((f) => f.type)).toEqual(['int', 'double', 'timestamp']);
    expect(rows).toEqual([
      [1, 9.5, '2024-01-05 10:00:00'],
      [2, null, null],
    ]);
  });

  it('reads Parquet, casting to the declared types and turning nested values into JSON text', async () => {
    const f = path.join(dir, 'nested.parquet');
    await withSandbox(dir, (c) =>
      c.run(
        `COPY (SELECT 1::BIGINT AS id, [1, 2] AS tags, {'k': 'v'} AS meta, 'x' AS note) TO ${sqlString(f)} (FORMAT parquet)`,
      ),
    );
    const node = source('PARQUET', [
      { name: 'note', type: 'string' },
      { name: 'id', type: 'string' },
      { name: 'tags', type: 'array' },
      { name: 'meta', type: 'struct' },
    ]);
    const { rows } = await query(sourceObsSql(node, [f]));
    expect(rows).toEqual([['x', '1', '[1,2]', '{"k":"v"}']]);
  });

  it('produces an empty, typed result when the prefix has no files', async () => {
    const node = source('CSV', [
      { name: 'id', type: 'int' },
      { name: 'd', type: 'date' },
    ]);
    const { rows, fields } = await query(sourceObsSql(node, []));
    expect(rows).toEqual([]);
    expect(fields).toEqual([
      { name: 'id', type: 'int' },
      { name: 'd', type: 'date' },
    ]);
  });
});

describe('SOURCE_CATALOG', () => {
  it('reads every column of the dataset when no fieldList is given', async () => {
    const node = parse({ type: 'SOURCE_CATALOG', database: 'c', table: 't' });
    const file = inputs.u1?.relation.match(/'([^']+)'/)?.[1] as string;
    const { rows } = await query(sourceCatalogSql(node, [file]));
    expect(rows).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
  });

  it('projects and casts to fieldList', async () => {
    const node = parse({
      type: 'SOURCE_CATALOG',
      database: 'c',
      table: 't',
      fieldList: [{ name: 'b' }, { name: 'a', type: 'string' }],
    });
    const file = inputs.u1?.relation.match(/'([^']+)'/)?.[1] as string;
    const { rows, fields } = await query(sourceCatalogSql(node, [file]));
    expect(fields).toEqual([
      { name: 'b', type: 'string' },
      { name: 'a', type: 'string' },
    ]);
    expect(rows).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
  });

  it('declares the dataset columns as its output', () => {
    const node = parse({ type: 'SOURCE_CATALOG', database: 'c', table: 't', fieldList: ['b'] });
    const dataset: Field[] = [
      { name: 'a', type: 'bigint' },
      { name: 'b', type: 'string' },
    ];
    const out = nodeType('SOURCE_CATALOG')?.output(node, [dataset], { problem: () => {} });
    expect(out).toEqual([{ name: 'b', type: 'string' }]);
  });
});

describe('TRANSFORM_FILTER', () => {
  const filter = (
    filterType: string,
    conditions: Array<{ name: string; operator: string; value: unknown }>,
  ) => ({
    type: 'TRANSFORM_FILTER',
    filterType,
    filterConditionList: conditions,
  });

  it('keeps rows matching all conditions (AND), comparing literals typed to the column', async () => {
    const { rows } = await run(
      filter('AND', [
        { name: 'city', operator: 'EQ', value: 'Seoul' },
        { name: 'age', operator: 'GT', value: '30' },
      ]),
      [inputs.people as NodeInput],
    );
    expect(rows.map((r) => r[1])).toEqual(['Ann']);
  });

  it('keeps rows matching any condition (OR)', async () => {
    const { rows } = await run(
      filter('OR', [
        { name: 'joined', operator: 'LT', value: '2024-01-01' },
        { name: 'active', operator: 'EQ', value: 'true' },
      ]),
      [inputs.people as NodeInput],
    );
    expect(rows.map((r) => r[1])).toEqual(['Ann', 'Cho', 'Dan']);
  });

  it('compares a fractional literal with an integer column exactly', async () => {
    const { rows } = await run(filter('AND', [{ name: 'age', operator: 'GTE', value: 33.5 }]), [
      inputs.people as NodeInput,
    ]);
    expect(rows.map((r) => r[1])).toEqual(['Ann', 'Dan']);
  });

  it('treats EQ null as IS NULL and NE null as IS NOT NULL', async () => {
    const isNull = await run(filter('AND', [{ name: 'age', operator: 'EQ', value: null }]), [
      inputs.people as NodeInput,
    ]);
    expect(isNull.rows.map((r) => r[1])).toEqual(['Bob']);
    const notNull = await run(filter('AND', [{ name: 'city', operator: 'NE', value: null }]), [
      inputs.people as NodeInput,
    ]);
    expect(notNull.rows.map((r) => r[1])).toEqual(['Ann', 'Bob', 'Cho']);
  });

  it('runs with untyped literals when the input columns are unknown', async () => {
    const { rows } = await run(
      filter('AND', [
        { name: 'score', operator: 'LTE', value: 8.25 },
        { name: 'name', operator: 'NE', value: 'Bob' },
      ]),
      [inputs.people as NodeInput],
      { unknownFields: true },
    );
    expect(rows.map((r) => r[1])).toEqual(['Cho']);
  });
});

describe('user values in generated SQL', () => {
  it('quotes column names and filter values, so neither can change the query', async () => {
    const tricky = await parquetInput(
      '1697770000009',
      `SELECT * FROM (VALUES (1, 'plain'), (2, 'x'' OR ''1''=''1')) t("we""ird", "v'al")`,
    );
    const filter = (value: string) => ({
      type: 'TRANSFORM_FILTER',
      filterType: 'AND',
      filterConditionList: [{ name: "v'al", operator: 'EQ', value }],
    });
    const injected = await run(filter("nothing' OR '1'='1"), [tricky]);
    expect(injected.rows).toEqual([]);
    const literal = await run(filter("x' OR '1'='1"), [tricky]);
    expect(literal.rows).toEqual([[2, "x' OR '1'='1"]]);
    const renamed = await run(
      {
        type: 'TRANSFORM_RENAME',
        renameFieldList: [{ name: 'we"ird', newName: 'a") AS x, read_text(\'/etc/passwd\') AS ("' }],
      },
      [tricky],
    );
    expect(renamed.fields.map((f) => f.name)).toEqual(['a") AS x, read_text(\'/etc/passwd\') AS ("', "v'al"]);
  });

  it('refuses a DEFINE type that is not one of the field types', () => {
    const result = nodeType('TRANSFORM_DEFINE')?.schema.safeParse({
      id: 1697770000010,
      name: 'define',
      type: 'TRANSFORM_DEFINE',
      parentNodeIds: [1697770000001],
      defineFieldList: [{ name: 'id', newType: "VARCHAR); SELECT * FROM read_text('/etc/passwd'" }],
    });
    expect(result?.success).toBe(false);
    expect(JSON.stringify(result?.error?.issues.map((i) => i.path))).toContain('newType');
  });
});

describe('TRANSFORM_DEFINE', () => {
  it('casts columns in place, renaming them when asked', async () => {
    const { rows, fields } = await run(
      {
        type: 'TRANSFORM_DEFINE',
        defineFieldList: [
          { name: 'id', newType: 'string', newName: 'person' },
          { name: 'score', newType: 'int' },
        ],
      },
      [inputs.people as NodeInput],
    );
    expect(fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'person:string',
      'name:string',
      'age:int',
      'city:string',
      'joined:date',
      'score:int',
      'active:boolean',
    ]);
    expect(rows.map((r) => [r[0], r[5]])).toEqual([
      ['1', 10],
      ['2', 7],
      ['3', 8],
      ['4', null],
    ]);
  });

  it('fails the step with DuckDB’s message on a value that cannot be cast', async () => {
    await expect(
      run({ type: 'TRANSFORM_DEFINE', defineFieldList: [{ name: 'name', newType: 'int' }] }, [
        inputs.people as NodeInput,
      ]),
    ).rejects.toThrow(/Could not convert string 'Ann' to INT32/);
  });
});

describe('TRANSFORM_SELECT and TRANSFORM_RENAME', () => {
  it('keeps the listed columns in the listed order', async () => {
    const { rows } = await run(
      { type: 'TRANSFORM_SELECT', fieldList: ['city', { name: 'id', type: 'bigint' }] },
      [inputs.people as NodeInput],
    );
    expect(rows).toEqual([
      ['Seoul', 1],
      ['Busan', 2],
      ['Seoul', 3],
      [null, 4],
    ]);
  });

  it('renames columns in place', async () => {
    const { fields } = await run(
      {
        type: 'TRANSFORM_RENAME',
        renameFieldList: [
          { name: 'a', newName: 'number' },
          { name: 'b', newName: 'letter' },
        ],
      },
      [inputs.u1 as NodeInput],
    );
    expect(fields).toEqual([
      { name: 'number', type: 'int' },
      { name: 'letter', type: 'string' },
    ]);
  });
});

describe('TRANSFORM_JOIN', () => {
  const joinNode = (joinType: string, extra: Record<string, unknown> = {}) => ({
    type: 'TRANSFORM_JOIN',
    joinType,
    leftNodeId: Number(inputs.people?.nodeId),
    rightNodeId: Number(inputs.orders?.nodeId),
    joinConditionList: [{ leftField: 'id', rightField: 'person_id', joinOperator: 'EQ' }],
    ...extra,
  });
  const pick = (rows: unknown[][]) => sorted(rows.map((r) => [r[1], r[7], r[9], r[10]]));

  it('inner-joins, renaming colliding right columns with the default prefix right_', async () => {
    const { rows, fields } = await run(joinNode('INNER'), [
      inputs.people as NodeInput,
      inputs.orders as NodeInput,
    ]);
    expect(fields.map((f) => f.name)).toEqual([
      'id',
      'name',
      'age',
      'city',
      'joined',
      'score',
      'active',
      'right_id',
      'person_id',
      'amount',
      'right_name',
    ]);
    expect(pick(rows)).toEqual([
      ['Ann', 10, 20, 'pen'],
      ['Ann', 11, 5.5, 'ink'],
      ['Cho', 12, 12, 'pad'],
    ]);
  });

  it('left-outer-joins with a custom prefix', async () => {
    const { rows, fields } = await run(joinNode('LEFT_OUTER', { prefix: 'o_' }), [
      inputs.people as NodeInput,
      inputs.orders as NodeInput,
    ]);
    expect(fields.map((f) => f.name).slice(7)).toEqual(['o_id', 'person_id', 'amount', 'o_name']);
    expect(pick(rows)).toEqual([
      ['Ann', 10, 20, 'pen'],
      ['Ann', 11, 5.5, 'ink'],
      ['Bob', null, null, null],
      ['Cho', 12, 12, 'pad'],
      ['Dan', null, null, null],
    ]);
  });

  it('treats an empty prefix as the default', () => {
    const node = parse({
      ...joinNode('INNER', { prefix: '' }),
      parentNodeIds: [1697770000001, 1697770000002],
    });
    const out = nodeType('TRANSFORM_JOIN')?.output(
      node,
      [inputs.people?.fields ?? null, inputs.orders?.fields ?? null],
      { problem: () => {} },
    );
    expect(out?.map((f) => f.name).slice(7)).toEqual(['right_id', 'person_id', 'amount', 'right_name']);
  });

  it('right-outer-joins', async () => {
    const { rows } = await run(joinNode('RIGHT_OUTER'), [
      inputs.people as NodeInput,
      inputs.orders as NodeInput,
    ]);
    expect(pick(rows)).toEqual([
      ['Ann', 10, 20, 'pen'],
      ['Ann', 11, 5.5, 'ink'],
      ['Cho', 12, 12, 'pad'],
      [null, 13, 1, 'cap'],
    ]);
  });

  it('full-outer-joins', async () => {
    const { rows } = await run(joinNode('FULL_OUTER'), [
      inputs.people as NodeInput,
      inputs.orders as NodeInput,
    ]);
    expect(rows).toHaveLength(6);
  });

  it('takes left and right from leftNodeId and rightNodeId, not from parent order', async () => {
    const node = joinNode('INNER', {
      leftNodeId: Number(inputs.orders?.nodeId),
      rightNodeId: Number(inputs.people?.nodeId),
      joinConditionList: [{ leftField: 'person_id', rightField: 'id' }],
    });
    const { fields } = await run(node, [inputs.people as NodeInput, inputs.orders as NodeInput]);
    expect(fields.map((f) => f.name).slice(0, 5)).toEqual(['id', 'person_id', 'amount', 'name', 'right_id']);
  });

  it('combines conditions in order with AND and OR', async () => {
    const node = joinNode('INNER', {
      joinConditionList: [
        { leftField: 'id', rightField: 'person_id', conditionOperator: 'HEAD' },
        { leftField: 'score', rightField: 'amount', joinOperator: 'LT', conditionOperator: 'AND' },
        { leftField: 'name', rightField: 'name', joinOperator: 'EQ', conditionOperator: 'OR' },
      ],
    });
    const { rows } = await run(node, [inputs.people as NodeInput, inputs.orders as NodeInput]);
    // (id = person_id AND score < amount) OR name = name: Ann/pen (9.5 < 20), Cho/pad (8.25 < 12).
    expect(pick(rows)).toEqual([
      ['Ann', 10, 20, 'pen'],
      ['Cho', 12, 12, 'pad'],
    ]);
  });
});

describe('TRANSFORM_UNION', () => {
  it('stacks inputs by column name with UNION ALL, widening types', async () => {
    const { rows, fields } = await run({ type: 'TRANSFORM_UNION', unionType: 'ALL' }, [
      inputs.u1 as NodeInput,
      inputs.u2 as NodeInput,
    ]);
    expect(fields).toEqual([
      { name: 'a', type: 'bigint' },
      { name: 'b', type: 'string' },
    ]);
    expect(sorted(rows)).toEqual([
      [1, 'x'],
      [2, 'y'],
      [2, 'y'],
      [3, 'z'],
    ]);
  });

  it('drops repeated rows with UNION DISTINCT', async () => {
    const { rows } = await run({ type: 'TRANSFORM_UNION', unionType: 'DISTINCT' }, [
      inputs.u1 as NodeInput,
      inputs.u2 as NodeInput,
    ]);
    expect(sorted(rows)).toEqual([
      [1, 'x'],
      [2, 'y'],
      [3, 'z'],
    ]);
  });

  it('unions by name when the input columns are unknown', async () => {
    const { rows } = await run(
      { type: 'TRANSFORM_UNION', unionType: 'ALL' },
      [inputs.u1 as NodeInput, inputs.u2 as NodeInput],
      {
        unknownFields: true,
      },
    );
    expect(sorted(rows)).toEqual([
      [1, 'x'],
      [2, 'y'],
      [2, 'y'],
      [3, 'z'],
    ]);
  });
});

describe('TRANSFORM_AGGREGATE', () => {
  it('computes all six functions per group, ordered by the group-by columns', async () => {
    const { rows, fields } = await run(
      {
        type: 'TRANSFORM_AGGREGATE',
        groupByList: ['city'],
        aggregateFieldList: [
          { name: 'age', ResultName: 'total_age', function: 'SUM' },
          { name: 'score', ResultName: 'avg_score', function: 'AVG' },
          { name: 'joined', ResultName: 'last', function: 'MAX' },
          { name: 'name', ResultName: 'first', function: 'MIN' },
          { name: '*', ResultName: 'people', function: 'COUNT' },
          { name: 'active', ResultName: 'kinds', function: 'COUNT_DISTINCT' },
        ],
      },
      [inputs.people as NodeInput],
    );
    expect(fields).toEqual([
      { name: 'city', type: 'string' },
      { name: 'total_age', type: 'bigint' },
      { name: 'avg_score', type: 'double' },
      { name: 'last', type: 'date' },
      { name: 'first', type: 'string' },
      { name: 'people', type: 'bigint' },
      { name: 'kinds', type: 'bigint' },
    ]);
    expect(rows).toEqual([
      ['Busan', null, 7, '2024-02-10', 'Bob', 1, 1],
      ['Seoul', 62, 8.875, '2024-01-05', 'Ann', 2, 1],
      [null, 41, null, '2023-12-31', 'Dan', 1, 1],
    ]);
  });

  it('aggregates the whole input into one row without group-by columns', async () => {
    const { rows } = await run(
      {
        type: 'TRANSFORM_AGGREGATE',
        aggregateFieldList: [
          { name: 'score', ResultName: 'total', function: 'SUM' },
          { name: 'age', ResultName: 'n', function: 'COUNT' },
        ],
      },
      [inputs.people as NodeInput],
    );
    expect(rows).toEqual([[24.75, 3]]);
  });
});

describe('TRANSFORM_DROP_DUPLICATION', () => {
  it('keeps the first row of each key, in input order', async () => {
    const { rows } = await run({ type: 'TRANSFORM_DROP_DUPLICATION', dropFieldList: ['k'] }, [
      inputs.dups as NodeInput,
    ]);
    expect(rows).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'd'],
    ]);
  });

  it('compares whole rows when no key columns are given', async () => {
    const { rows, fields } = await run({ type: 'TRANSFORM_DROP_DUPLICATION', dropFieldList: [] }, [
      inputs.dups as NodeInput,
    ]);
    expect(fields.map((f) => f.name)).toEqual(['k', 'v']);
    expect(rows).toEqual([
      [1, 'a'],
      [2, 'b'],
      [1, 'c'],
      [3, 'd'],
    ]);
  });

  it('keeps the first row per key over a large input', async () => {
    const big = await parquetInput(
      '1697770000006',
      'SELECT (range * 7919) % 100 AS k, range AS i FROM range(200000) ORDER BY range',
    );
    const { rows } = await run({ type: 'TRANSFORM_DROP_DUPLICATION', dropFieldList: ['k'] }, [big]);
    expect(rows).toHaveLength(100);
    expect(rows.map((r) => r[1])).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('TRANSFORM_DROP_NULL and TRANSFORM_FILL_MISSING_VALUES', () => {
  it('drops rows with a null in a listed column', async () => {
    const { rows } = await run({ type: 'TRANSFORM_DROP_NULL', fieldList: ['age', { name: 'joined' }] }, [
      inputs.people as NodeInput,
    ]);
    expect(rows.map((r) => r[1])).toEqual(['Ann', 'Dan']);
  });

  it('drops rows with a null in any column when none are listed', async () => {
    const { rows } = await run({ type: 'TRANSFORM_DROP_NULL', fieldList: [] }, [inputs.people as NodeInput]);
    expect(rows.map((r) => r[1])).toEqual(['Ann']);
  });

  it('fills nulls with defaults cast to the column type', async () => {
    const { rows, fields } = await run(
      {
        type: 'TRANSFORM_FILL_MISSING_VALUES',
        missingValueFieldList: [
          { name: 'age', defaultValue: '0' },
          { name: 'city', defaultValue: 'unknown' },
          { name: 'joined', defaultValue: '2000-01-01' },
          { name: 'score', defaultValue: 1.5 },
        ],
      },
      [inputs.people as NodeInput],
    );
    expect(fields.map((f) => f.type)).toEqual([
      'bigint',
      'string',
      'int',
      'string',
      'date',
      'double',
      'boolean',
    ]);
    expect(rows.map((r) => [r[2], r[3], r[4], r[5]])).toEqual([
      [34, 'Seoul', '2024-01-05', 9.5],
      [0, 'Busan', '2024-02-10', 7],
      [28, 'Seoul', '2000-01-01', 8.25],
      [41, 'unknown', '2023-12-31', 1.5],
    ]);
  });
});

describe('TRANSFORM_SQL', () => {
  it('runs the query over its inputs under their new names', async () => {
    const { rows } = await run(
      {
        type: 'TRANSFORM_SQL',
        sourceNameList: [
          { parentId: Number(inputs.people?.nodeId), newName: 'people' },
          { parentId: Number(inputs.orders?.nodeId), newName: 'orders' },
        ],
        sql: `WITH spent AS (SELECT person_id, sum(amount) AS total FROM orders GROUP BY person_id)
SELECT p.name, s.total FROM people p JOIN spent s ON p.id = s.person_id ORDER BY p.name; -- done`,
      },
      [inputs.people as NodeInput, inputs.orders as NodeInput],
    );
    expect(rows).toEqual([
      ['Ann', 25.5],
      ['Cho', 12],
    ]);
  });
});

describe('inputs with unknown columns', () => {
  const people = () => [inputs.people as NodeInput];

  it('casts and renames with star modifiers', async () => {
    const { fields } = await run(
      {
        type: 'TRANSFORM_DEFINE',
        defineFieldList: [{ name: 'age', newType: 'string', newName: 'age_text' }],
      },
      people(),
      { unknownFields: true },
    );
    expect(fields.map((f) => `${f.name}:${f.type}`).slice(1, 3)).toEqual(['name:string', 'age_text:string']);
    const renamed = await run(
      { type: 'TRANSFORM_RENAME', renameFieldList: [{ name: 'city', newName: 'town' }] },
      people(),
      {
        unknownFields: true,
      },
    );
    expect(renamed.fields.map((f) => f.name)).toEqual([
      'id',
      'name',
      'age',
      'town',
      'joined',
      'score',
      'active',
    ]);
  });

  it('fills and aggregates with untyped values', async () => {
    const filled = await run(
      { type: 'TRANSFORM_FILL_MISSING_VALUES', missingValueFieldList: [{ name: 'age', defaultValue: 0 }] },
      people(),
      { unknownFields: true },
    );
    expect(filled.rows.map((r) => r[2])).toEqual([34, 0, 28, 41]);
    const summed = await run(
      {
        type: 'TRANSFORM_AGGREGATE',
        groupByList: ['active'],
        aggregateFieldList: [{ name: 'age', ResultName: 'total', function: 'SUM' }],
      },
      people(),
      { unknownFields: true },
    );
    expect(summed.rows).toEqual([
      [false, 41],
      [true, 62],
    ]);
  });

  it('joins, leaving colliding names to DuckDB', async () => {
    const { fields } = await run(
      {
        type: 'TRANSFORM_JOIN',
        joinType: 'INNER',
        leftNodeId: Number(inputs.people?.nodeId),
        rightNodeId: Number(inputs.orders?.nodeId),
        joinConditionList: [{ leftField: 'id', rightField: 'person_id' }],
      },
      [inputs.people as NodeInput, inputs.orders as NodeInput],
      { unknownFields: true },
    );
    expect(fields).toHaveLength(11);
  });
});

describe('targets', () => {
  const target = (dataType: string, extra: Record<string, unknown> = {}) =>
    parse({
      type: 'TARGET_OBS',
      parentNodeIds: [Number(inputs.u1?.nodeId)],
      bucketName: 'aitems',
      prefix: 'out',
      dataType,
      ...extra,
    });

  it('projects and casts to fieldList', async () => {
    const node = target('CSV', { fieldList: [{ name: 'b' }, { name: 'a', type: 'double' }] });
    const { rows, fields } = await query(nodeType('TARGET_OBS')?.sql?.(node, [inputs.u1 as NodeInput]) ?? '');
    expect(fields).toEqual([
      { name: 'b', type: 'string' },
      { name: 'a', type: 'double' },
    ]);
    expect(rows).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
  });

  it('writes CSV with a header, newline-delimited JSON and Parquet', async () => {
    const select = nodeType('TARGET_OBS')?.sql?.(target('CSV'), [inputs.u1 as NodeInput]) ?? '';
    const written: Record<string, string> = {};
    for (const dataType of ['CSV', 'JSON', 'PARQUET']) {
      const node = target(dataType);
      const out = path.join(dir, `target.${targetFileExtension(node)}`);
      await withSandbox(dir, (c) =>
        c.run(`COPY (${select}) TO ${sqlString(out)} ${targetCopyOptions(node)}`),
      );
      written[dataType] = out;
    }
    expect(await readFile(written.CSV as string, 'utf8')).toBe('a,b\n1,x\n2,y\n');
    expect(await readFile(written.JSON as string, 'utf8')).toBe('{"a":1,"b":"x"}\n{"a":2,"b":"y"}\n');
    const { rows } = await query(`SELECT * FROM read_parquet(${sqlString(written.PARQUET as string)})`);
    expect(rows).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
    expect(targetCopyOptions(target('PARQUET'))).toBe('(FORMAT parquet, COMPRESSION snappy)');
  });

  it('writes a single file unless coalesce is false, and overwrites by default', () => {
    expect(targetSingleFile(target('CSV'))).toBe(true);
    expect(targetSingleFile(target('CSV', { coalesce: false }))).toBe(false);
    expect(target('CSV').updateType).toBe('OVERWRITE');
  });

  it('passes every column through to a catalog target without a fieldList', async () => {
    const node = parse({
      type: 'TARGET_CATALOG',
      parentNodeIds: [Number(inputs.u2?.nodeId)],
      database: 'c',
      table: 't',
    });
    const { rows } = await query(nodeType('TARGET_CATALOG')?.sql?.(node, [inputs.u2 as NodeInput]) ?? '');
    expect(rows).toEqual([
      ['y', 2],
      ['z', 3],
    ]);
  });
});

describe('echoNode', () => {
  it('adds properties: [] to every fieldList entry and keeps ids as given', () => {
    const node = parse({
      type: 'TARGET_OBS',
      id: '1697770000009',
      parentNodeIds: [1697770000008],
      regionNo: '1',
      bucketName: 'aitems',
      prefix: 'dataflow1',
      dataType: 'CSV',
      updateType: 'OVERWRITE',
      fieldList: [
        { name: 'id', type: 'string' },
        { name: 'name', type: 'string', properties: [{ k: 1 }] },
      ],
    });
    expect(echoNode(node)).toEqual({
      type: 'TARGET_OBS',
      id: '1697770000009',
      name: 'node',
      parentNodeIds: [1697770000008],
      regionNo: '1',
      bucketName: 'aitems',
      prefix: 'dataflow1',
      dataType: 'CSV',
      updateType: 'OVERWRITE',
      fieldList: [
        { name: 'id', type: 'string', properties: [] },
        { name: 'name', type: 'string', properties: [{ k: 1 }] },
      ],
    });
  });

  it('echoes aggregate result names as ResultName', () => {
    const node = parse({
      type: 'TRANSFORM_AGGREGATE',
      groupByList: ['city'],
      aggregateFieldList: [{ name: 'age', resultName: 'total', function: 'SUM' }],
    });
    expect(echoNode(node).aggregateFieldList).toEqual([
      { name: 'age', ResultName: 'total', function: 'SUM' },
    ]);
  });
});

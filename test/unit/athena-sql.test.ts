/**
 * The Athena (Trino) dialect of the node registry: each transform and target's `athenaSql()`,
 * as a snapshot, parsed by a Trino-grammar parser (dt-sql-parser's TrinoSQL, built from Trino's
 * own ANTLR grammar), and free of DuckDB-only syntax. No Athena here: what the SQL computes is
 * argued in the node files, not run.
 */
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { FIELD_TYPES, type Field } from '#core/pipelines/model';
import { NODE_TYPES, type NodeInput, nodeType, type ParsedNode } from '#core/pipelines/nodes/index';
import { typedLiteral } from '#core/pipelines/nodes/literals';
import { AthenaSqlError, trinoCast } from '#core/pipelines/nodes/trino';
import { trinoTypeOfField } from '#core/type-map';

const trino = new TrinoSQL();

/** The parser's complaints about `sql` as Trino; empty when it parses. */
function trinoErrors(sql: string): string[] {
  return trino.validate(sql).map((e) => `${e.startLine}:${e.startColumn} ${e.message}`);
}

/** DuckDB syntax Trino does not have (star modifiers, QUALIFY, `::`, BY NAME, DuckDB types). */
const DUCKDB_ONLY =
  /\bEXCLUDE\b|\bREPLACE\s*\(|\bRENAME\s*\(|\bCOLUMNS\s*\(|\bQUALIFY\b|::|\bBY NAME\b|\bDISTINCT ON\b|read_parquet|\b(?:HUGEINT|BLOB|TIMESTAMPTZ|FLOAT)\b/i;

let nextId = 1697770000100;

function parse(raw: Record<string, unknown>, from: NodeInput[]): ParsedNode {
  const def = nodeType(String(raw.type));
  if (!def) throw new Error(`no node type ${String(raw.type)}`);
  return def.schema.parse({
    id: nextId++,
    name: 'node',
    parentNodeIds: from.map((i) => Number(i.nodeId)),
    ...raw,
  }) as ParsedNode;
}

/** A node's Athena SQL over `from`, after checking it validates against the inputs' columns. */
function athena(raw: Record<string, unknown>, from: NodeInput[]): string {
  const node = parse(raw, from);
  const def = nodeType(node.type);
  const problems: string[] = [];
  def?.output(
    node,
    from.map((i) => i.fields),
    { problem: (field, message) => problems.push(`${field}: ${message}`) },
  );
  expect(problems).toEqual([]);
  if (!def?.athenaSql) throw new Error(`${node.type} has no athenaSql`);
  return def.athenaSql(node, from);
}

/** Athena SQL that must parse as Trino and carry no DuckDB-only syntax. */
function valid(raw: Record<string, unknown>, from: NodeInput[]): string {
  const sql = athena(raw, from);
  expect(trinoErrors(sql)).toEqual([]);
  expect(sql).not.toMatch(DUCKDB_ONLY);
  return sql;
}

const input = (id: number, fields: Field[] | null): NodeInput => ({
  nodeId: String(id),
  relation: `"run_db"."n_${id}"`,
  fields,
});

const PEOPLE: Field[] = [
  { name: 'id', type: 'bigint' },
  { name: 'name', type: 'varchar' },
  { name: 'age', type: 'int' },
  { name: 'score', type: 'double' },
  { name: 'weight', type: 'float' },
  { name: 'price', type: 'decimal' },
  { name: 'born', type: 'date' },
  { name: 'seen', type: 'timestamp' },
  { name: 'zoned', type: 'timestampwithtimezone' },
  { name: 'active', type: 'boolean' },
  { name: 'raw', type: 'binary' },
];
const ORDERS: Field[] = [
  { name: 'id', type: 'bigint' },
  { name: 'person_id', type: 'bigint' },
  { name: 'amount', type: 'double' },
  { name: 'name', type: 'string' },
];
const people = input(1, PEOPLE);
const orders = input(2, ORDERS);
const unknown = input(3, null);
const SMALL: Field[] = [
  { name: 'k', type: 'int' },
  { name: 'v', type: 'varchar' },
];
const small = input(4, SMALL);

describe('the registry', () => {
  it('gives every transform and target an Athena SQL, and no source', () => {
    for (const def of Object.values(NODE_TYPES)) {
      expect(Boolean(def.athenaSql), def.type).toBe(def.kind !== 'source');
      expect(Boolean(def.sql), def.type).toBe(def.kind !== 'source');
    }
  });

  it('maps every field type to a Trino type the parser reads', () => {
    const sql = `SELECT ${FIELD_TYPES.map((t, i) => `CAST(NULL AS ${trinoTypeOfField(t)}) AS "c${i}"`).join(', ')}`;
    expect(trinoErrors(sql)).toEqual([]);
    expect(sql).not.toMatch(DUCKDB_ONLY);
  });

  it('has a parser that rejects the DuckDB dialect where it differs', () => {
    // The DuckDB SQL of nodes over the same relations: star modifiers, QUALIFY, UNION BY NAME.
    const cases: Array<[Record<string, unknown>, NodeInput[]]> = [
      [{ type: 'TRANSFORM_DEFINE', defineFieldList: [{ name: 'age', newType: 'bigint' }] }, [people]],
      [{ type: 'TRANSFORM_RENAME', renameFieldList: [{ name: 'k', newName: 'key' }] }, [small]],
      [
        { type: 'TRANSFORM_FILL_MISSING_VALUES', missingValueFieldList: [{ name: 'k', defaultValue: 0 }] },
        [small],
      ],
      [{ type: 'TRANSFORM_DROP_DUPLICATION', dropFieldList: ['k'] }, [small]],
      [{ type: 'TRANSFORM_UNION', unionType: 'ALL' }, [unknown, input(6, null)]],
    ];
    for (const [raw, from] of cases) {
      const node = parse(raw, from);
      const duckdb = nodeType(node.type)?.sql?.(node, from) ?? '';
      expect(trinoErrors(duckdb), duckdb).not.toEqual([]);
    }
    expect(trinoErrors('SELECT "k"::BIGINT FROM "run_db"."n_4"')).not.toEqual([]);
  });
});

describe('Athena SQL per node type', () => {
  it('TRANSFORM_FILTER: typed literals Trino reads, nulls as IS [NOT] NULL', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_FILTER',
        filterType: 'AND',
        filterConditionList: [
          { name: 'age', operator: 'GTE', value: '18' },
          { name: 'age', operator: 'LT', value: 65.5 },
          { name: 'name', operator: 'NE', value: "O'Brien" },
          { name: 'score', operator: 'NE', value: null },
          { name: 'price', operator: 'LTE', value: '.5' },
          { name: 'born', operator: 'GT', value: '2020-01-31' },
          { name: 'seen', operator: 'LT', value: '2024-05-01T10:30' },
          { name: 'zoned', operator: 'GTE', value: '2024-05-01 10:30:00.25Z' },
          { name: 'active', operator: 'EQ', value: true },
          { name: 'weight', operator: 'GT', value: 1 },
          { name: 'raw', operator: 'EQ', value: 'a\\x00b' },
          { name: 'id', operator: 'EQ', value: null },
        ],
      },
      [people],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT * FROM "run_db"."n_1" WHERE ("age" >= CAST('18' AS INTEGER)) AND ("age" < CAST('65.5' AS DOUBLE)) AND ("name" <> 'O''Brien') AND ("score" IS NOT NULL) AND ("price" <= CAST('0.5' AS DECIMAL(38,10))) AND ("born" > CAST('2020-01-31' AS DATE)) AND ("seen" < CAST('2024-05-01 10:30:00' AS TIMESTAMP(6))) AND ("zoned" >= CAST('2024-05-01 10:30:00.25 +00:00' AS TIMESTAMP(6) WITH TIME ZONE)) AND ("active" = TRUE) AND ("weight" > CAST('1' AS DOUBLE)) AND ("raw" = X'610062') AND ("id" IS NULL)"`,
    );
  });

  it('TRANSFORM_FILTER: OR, and null checks need no known columns', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_FILTER',
        filterType: 'OR',
        filterConditionList: [
          { name: 'a', operator: 'EQ', value: null },
          { name: 'b', operator: 'NE', value: null },
        ],
      },
      [unknown],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT * FROM "run_db"."n_3" WHERE ("a" IS NULL) OR ("b" IS NOT NULL)"`,
    );
  });

  it('TRANSFORM_DEFINE: every column listed, casts in place, renames by newName', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_DEFINE',
        defineFieldList: [
          { name: 'age', newType: 'bigint' },
          { name: 'score', newType: 'string', newName: 'score_text' },
          { name: 'seen', newType: 'varchar' },
          { name: 'name', newType: 'binary' },
          { name: 'raw', newType: 'string' },
          { name: 'born', newType: 'timestamp', newName: 'born_at' },
          { name: 'weight', newType: 'double' },
          { name: 'id', newType: 'bigint' },
        ],
      },
      [people],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT CAST("id" AS BIGINT) AS "id", CAST("name" AS VARBINARY) AS "name", CAST("age" AS BIGINT) AS "age", CASE WHEN "score" IS NULL THEN NULL ELSE format('%s', "score") END AS "score_text", CAST("weight" AS DOUBLE) AS "weight", "price", CAST("born" AS TIMESTAMP(6)) AS "born_at", regexp_replace(regexp_replace(CAST("seen" AS VARCHAR), '(\\.[0-9]*?)0+$', '$1'), '\\.$', '') AS "seen", "zoned", "active", from_utf8("raw") AS "raw" FROM "run_db"."n_1""`,
    );
  });

  it('TRANSFORM_SELECT: names only, on known or unknown columns', () => {
    const raw = { type: 'TRANSFORM_SELECT', fieldList: ['score', { name: 'id', type: 'string' }] };
    const sql = valid(raw, [people]);
    expect(sql).toMatchInlineSnapshot(`"SELECT "score", "id" FROM "run_db"."n_1""`);
    expect(athena(raw, [unknown])).toBe(sql.replace('n_1', 'n_3'));
  });

  it('TRANSFORM_RENAME: every column listed, renamed ones aliased', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_RENAME',
        renameFieldList: [
          { name: 'k', newName: 'key' },
          { name: 'v', newName: 'va"l' },
        ],
      },
      [small],
    );
    expect(sql).toMatchInlineSnapshot(`"SELECT "k" AS "key", "v" AS "va""l" FROM "run_db"."n_4""`);
  });

  it('TRANSFORM_JOIN: colliding right columns get the prefix; conditions combine in order', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_JOIN',
        joinType: 'LEFT_OUTER',
        leftNodeId: 1,
        rightNodeId: 2,
        prefix: 'o_',
        joinConditionList: [
          { leftField: 'id', rightField: 'person_id' },
          { leftField: 'name', rightField: 'name', joinOperator: 'NE', conditionOperator: 'OR' },
          { leftField: 'score', rightField: 'amount', joinOperator: 'LT', conditionOperator: 'AND' },
        ],
      },
      [people, orders],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT "__sluice_left"."id" AS "id", "__sluice_left"."name" AS "name", "__sluice_left"."age" AS "age", "__sluice_left"."score" AS "score", "__sluice_left"."weight" AS "weight", "__sluice_left"."price" AS "price", "__sluice_left"."born" AS "born", "__sluice_left"."seen" AS "seen", "__sluice_left"."zoned" AS "zoned", "__sluice_left"."active" AS "active", "__sluice_left"."raw" AS "raw", "__sluice_right"."id" AS "o_id", "__sluice_right"."person_id" AS "person_id", "__sluice_right"."amount" AS "amount", "__sluice_right"."name" AS "o_name" FROM "run_db"."n_1" AS "__sluice_left" LEFT OUTER JOIN "run_db"."n_2" AS "__sluice_right" ON ((("__sluice_left"."id" = "__sluice_right"."person_id") OR "__sluice_left"."name" <> "__sluice_right"."name") AND "__sluice_left"."score" < "__sluice_right"."amount")"`,
    );
    for (const joinType of ['INNER', 'RIGHT_OUTER', 'FULL_OUTER']) {
      valid(
        {
          type: 'TRANSFORM_JOIN',
          joinType,
          leftNodeId: 2,
          rightNodeId: 1,
          joinConditionList: [{ leftField: 'person_id', rightField: 'id' }],
        },
        [people, orders],
      );
    }
  });

  it('TRANSFORM_UNION: by position in the first input order, cast to the common types', () => {
    const other = input(5, [
      { name: 'v', type: 'string' },
      { name: 'k', type: 'bigint' },
    ]);
    const all = valid({ type: 'TRANSFORM_UNION', unionType: 'ALL' }, [small, other]);
    expect(all).toMatchInlineSnapshot(`
      "SELECT CAST("k" AS BIGINT) AS "k", CAST("v" AS VARCHAR) AS "v" FROM "run_db"."n_4"
      UNION ALL
      SELECT CAST("k" AS BIGINT) AS "k", CAST("v" AS VARCHAR) AS "v" FROM "run_db"."n_5""
    `);
    const distinct = valid({ type: 'TRANSFORM_UNION', unionType: 'DISTINCT' }, [small, other, small]);
    expect(distinct).toMatchInlineSnapshot(`
      "SELECT CAST("k" AS BIGINT) AS "k", CAST("v" AS VARCHAR) AS "v" FROM "run_db"."n_4"
      UNION DISTINCT
      SELECT CAST("k" AS BIGINT) AS "k", CAST("v" AS VARCHAR) AS "v" FROM "run_db"."n_5"
      UNION DISTINCT
      SELECT CAST("k" AS BIGINT) AS "k", CAST("v" AS VARCHAR) AS "v" FROM "run_db"."n_4""
    `);
  });

  it('TRANSFORM_AGGREGATE: declared result types, groups in order', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_AGGREGATE',
        groupByList: ['name', 'active'],
        aggregateFieldList: [
          { name: 'age', function: 'SUM' },
          { name: 'weight', function: 'SUM' },
          { name: 'price', function: 'SUM', ResultName: 'total' },
          { name: 'score', function: 'SUM' },
          { name: 'price', function: 'AVG' },
          { name: '*', function: 'COUNT' },
          { name: 'id', function: 'COUNT_DISTINCT' },
          { name: 'seen', function: 'MAX' },
          { name: 'born', function: 'MIN' },
        ],
      },
      [people],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT "name", "active", CAST(sum("age") AS BIGINT) AS "sum_age", sum(CAST("weight" AS DOUBLE)) AS "sum_weight", CAST(sum("price") AS DECIMAL(38,10)) AS "total", sum(CAST("score" AS DOUBLE)) AS "sum_score", CAST(avg("price") AS DOUBLE) AS "avg_price", count(*) AS "count", count(DISTINCT "id") AS "count_distinct_id", max("seen") AS "max_seen", min("born") AS "min_born" FROM "run_db"."n_1" GROUP BY "name", "active" ORDER BY "name", "active""`,
    );
    const ungrouped = valid(
      { type: 'TRANSFORM_AGGREGATE', aggregateFieldList: [{ name: 'x', function: 'SUM' }] },
      [unknown],
    );
    expect(ungrouped).toMatchInlineSnapshot(`"SELECT sum("x") AS "sum_x" FROM "run_db"."n_3""`);
  });

  it('TRANSFORM_DROP_DUPLICATION: the first row of each key by row_number, in input order', () => {
    const keyed = valid({ type: 'TRANSFORM_DROP_DUPLICATION', dropFieldList: ['k'] }, [small]);
    expect(keyed).toMatchInlineSnapshot(
      `"SELECT "k", "v" FROM (SELECT *, row_number() OVER (PARTITION BY "k" ORDER BY "__sluice_row") AS "__sluice_rank" FROM (SELECT *, row_number() OVER () AS "__sluice_row" FROM "run_db"."n_4") AS "__sluice_numbered") AS "__sluice_ranked" WHERE "__sluice_rank" = 1 ORDER BY "__sluice_row""`,
    );
    const whole = valid({ type: 'TRANSFORM_DROP_DUPLICATION' }, [small]);
    expect(whole).toMatchInlineSnapshot(
      `"SELECT "k", "v" FROM (SELECT *, row_number() OVER (PARTITION BY "k", "v" ORDER BY "__sluice_row") AS "__sluice_rank" FROM (SELECT *, row_number() OVER () AS "__sluice_row" FROM "run_db"."n_4") AS "__sluice_numbered") AS "__sluice_ranked" WHERE "__sluice_rank" = 1 ORDER BY "__sluice_row""`,
    );
  });

  it('TRANSFORM_DROP_NULL: the listed columns, or every column spelled out', () => {
    const listed = valid({ type: 'TRANSFORM_DROP_NULL', fieldList: ['v'] }, [unknown]);
    expect(listed).toMatchInlineSnapshot(`"SELECT * FROM "run_db"."n_3" WHERE "v" IS NOT NULL"`);
    const every = valid({ type: 'TRANSFORM_DROP_NULL' }, [small]);
    expect(every).toMatchInlineSnapshot(
      `"SELECT * FROM "run_db"."n_4" WHERE "k" IS NOT NULL AND "v" IS NOT NULL"`,
    );
  });

  it('TRANSFORM_FILL_MISSING_VALUES: COALESCE with a default of the column type', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_FILL_MISSING_VALUES',
        missingValueFieldList: [
          { name: 'age', defaultValue: 0 },
          { name: 'name', defaultValue: "n'a" },
          { name: 'weight', defaultValue: '1.5' },
          { name: 'price', defaultValue: '+2.' },
          { name: 'seen', defaultValue: '2020-01-01' },
          { name: 'zoned', defaultValue: '2020-01-01 00:00:00 +0900' },
          { name: 'active', defaultValue: false },
          { name: 'raw', defaultValue: '\\xff' },
        ],
      },
      [people],
    );
    expect(sql).toMatchInlineSnapshot(
      `"SELECT "id", COALESCE("name", 'n''a') AS "name", COALESCE("age", CAST('0' AS INTEGER)) AS "age", "score", COALESCE("weight", CAST('1.5' AS REAL)) AS "weight", COALESCE("price", CAST('2' AS DECIMAL(38,10))) AS "price", "born", COALESCE("seen", CAST('2020-01-01 00:00:00' AS TIMESTAMP(6))) AS "seen", COALESCE("zoned", CAST('2020-01-01 00:00:00 +09:00' AS TIMESTAMP(6) WITH TIME ZONE)) AS "zoned", COALESCE("active", FALSE) AS "active", COALESCE("raw", X'FF') AS "raw" FROM "run_db"."n_1""`,
    );
  });

  it('TRANSFORM_SQL: the query as written, its inputs named in a WITH clause', () => {
    const sql = valid(
      {
        type: 'TRANSFORM_SQL',
        sourceNameList: [
          { parentId: 1, newName: 'people' },
          { parentId: 3, newName: 'extra' },
        ],
        sql: 'SELECT p.name, count(*) AS n FROM people p JOIN extra e ON p.id = e.id GROUP BY 1;\n',
      },
      [people, unknown],
    );
    expect(sql).toMatchInlineSnapshot(`
      "WITH "people" AS (SELECT * FROM "run_db"."n_1"), "extra" AS (SELECT * FROM "run_db"."n_3")
      SELECT * FROM (
      SELECT p.name, count(*) AS n FROM people p JOIN extra e ON p.id = e.id GROUP BY 1
      ) AS "__sluice_sql""
    `);
    // The user's own WITH, inside the subquery, is Trino too.
    valid(
      {
        type: 'TRANSFORM_SQL',
        sourceNameList: [{ parentId: 4, newName: 'src' }],
        sql: 'WITH t AS (SELECT k FROM src) SELECT * FROM t -- done',
      },
      [small],
    );
  });

  it('TARGET_OBS and TARGET_CATALOG: the rows they write, projected and cast when listed', () => {
    const obs = valid(
      {
        type: 'TARGET_OBS',
        bucketName: 'bucket',
        prefix: 'out/',
        dataType: 'CSV',
        fieldList: [{ name: 'id', type: 'string' }, 'name', { name: 'score', type: 'string' }],
      },
      [people],
    );
    expect(obs).toMatchInlineSnapshot(
      `"SELECT CAST("id" AS VARCHAR) AS "id", "name", CASE WHEN "score" IS NULL THEN NULL ELSE format('%s', "score") END AS "score" FROM "run_db"."n_1""`,
    );
    const catalog = valid({ type: 'TARGET_CATALOG', database: 'col', table: 'people' }, [unknown]);
    expect(catalog).toMatchInlineSnapshot(`"SELECT * FROM "run_db"."n_3""`);
    const cast = valid(
      { type: 'TARGET_CATALOG', database: 'col', table: 'people', fieldList: [{ name: 'x', type: 'float' }] },
      [unknown],
    );
    expect(cast).toMatchInlineSnapshot(`"SELECT CAST("x" AS REAL) AS "x" FROM "run_db"."n_3""`);
  });
});

describe('unknown input columns', () => {
  const needs: Array<[string, Record<string, unknown>, NodeInput[]]> = [
    ['TRANSFORM_DEFINE', { defineFieldList: [{ name: 'a', newType: 'int' }] }, [unknown]],
    ['TRANSFORM_RENAME', { renameFieldList: [{ name: 'a', newName: 'b' }] }, [unknown]],
    ['TRANSFORM_FILL_MISSING_VALUES', { missingValueFieldList: [{ name: 'a', defaultValue: 1 }] }, [unknown]],
    ['TRANSFORM_DROP_DUPLICATION', { dropFieldList: ['a'] }, [unknown]],
    ['TRANSFORM_DROP_NULL', {}, [unknown]],
    ['TRANSFORM_UNION', { unionType: 'ALL' }, [small, unknown]],
    [
      'TRANSFORM_JOIN',
      {
        joinType: 'INNER',
        leftNodeId: 4,
        rightNodeId: 3,
        joinConditionList: [{ leftField: 'k', rightField: 'k' }],
      },
      [small, unknown],
    ],
    [
      'TRANSFORM_FILTER',
      { filterType: 'AND', filterConditionList: [{ name: 'a', operator: 'EQ', value: '1' }] },
      [unknown],
    ],
  ];

  it.each(needs)('%s after unknown columns throws a clear error', (type, raw, from) => {
    const node = parse({ type, ...raw }, from);
    const run = () => nodeType(type)?.athenaSql?.(node, from);
    expect(run).toThrow(AthenaSqlError);
    expect(run).toThrow(
      new RegExp(
        `^Node type ${type} needs known input columns to run on Athena, but the columns of input 3 `,
      ),
    );
    // DuckDB still runs it, through star modifiers and untyped literals.
    expect(nodeType(type)?.sql?.(node, from)).toEqual(expect.any(String));
  });

  it('names a listed column the known input lacks', () => {
    const node = parse({ type: 'TRANSFORM_RENAME', renameFieldList: [{ name: 'nope', newName: 'b' }] }, [
      small,
    ]);
    expect(() => nodeType('TRANSFORM_RENAME')?.athenaSql?.(node, [small])).toThrow(
      'column "nope" is not in input 4',
    );
  });
});

describe('Trino literals and casts', () => {
  const lit = (
    value: string | number | boolean,
    type: Field['type'],
    mode: 'compare' | 'assign' = 'compare',
  ) => typedLiteral(value, type, mode, 'trino');

  it('writes temporal text in the form Trino CAST reads', () => {
    expect(lit('2024-05-01T10:30', 'timestamp')).toEqual({
      sql: "CAST('2024-05-01 10:30:00' AS TIMESTAMP(6))",
    });
    expect(lit('2024-05-01', 'datetime')).toEqual({ sql: "CAST('2024-05-01 00:00:00' AS TIMESTAMP(6))" });
    expect(lit('2024-05-01 10:30:00.123456', 'timestamp')).toEqual({
      sql: "CAST('2024-05-01 10:30:00.123456' AS TIMESTAMP(6))",
    });
    expect(lit('2024-05-01T10:30:00Z', 'timestampwithtimezone')).toEqual({
      sql: "CAST('2024-05-01 10:30:00 +00:00' AS TIMESTAMP(6) WITH TIME ZONE)",
    });
    expect(lit('2024-05-01 10:30-05', 'timestampwithtimezone')).toEqual({
      sql: "CAST('2024-05-01 10:30:00 -05:00' AS TIMESTAMP(6) WITH TIME ZONE)",
    });
    expect(lit('2024-05-01 10:30', 'timestampwithtimezone')).toEqual({
      sql: "CAST('2024-05-01 10:30:00' AS TIMESTAMP(6) WITH TIME ZONE)",
    });
    expect(lit('2024-02-30', 'date')).toEqual({ error: '"2024-02-30" is not a date (YYYY-MM-DD)' });
  });

  it('keeps the DuckDB dialect as it was', () => {
    expect(typedLiteral('2024-05-01T10:30', 'timestamp', 'compare')).toEqual({
      sql: "CAST('2024-05-01T10:30' AS TIMESTAMP)",
    });
    expect(typedLiteral('1.5', 'float', 'assign')).toEqual({ sql: "CAST('1.5' AS FLOAT)" });
    expect(typedLiteral('a', 'binary', 'assign')).toEqual({ sql: "CAST('a' AS BLOB)" });
  });

  it('writes numbers with Trino type names', () => {
    expect(lit('7', 'tinyint', 'assign')).toEqual({ sql: "CAST('7' AS TINYINT)" });
    expect(lit(1.5, 'int')).toEqual({ sql: "CAST('1.5' AS DOUBLE)" });
    expect(lit('1.5', 'float', 'assign')).toEqual({ sql: "CAST('1.5' AS REAL)" });
    expect(lit('-.25', 'decimal')).toEqual({ sql: "CAST('-0.25' AS DECIMAL(38,10))" });
    expect(lit('1e3', 'decimal', 'assign')).toEqual({ sql: "CAST('1e3' AS DECIMAL(38,10))" });
  });

  it('writes binary text as the bytes DuckDB would cast it to', () => {
    expect(lit('Ab\\x0a', 'binary')).toEqual({ sql: "X'41620A'" });
    expect(lit('', 'binary')).toEqual({ sql: "X''" });
    expect(lit('é', 'binary')).toEqual({ error: expect.stringMatching(/non-ASCII/) });
    expect(lit('a\\b', 'binary')).toEqual({ error: expect.stringMatching(/not a \\xAA escape/) });
  });

  it('casts to text as DuckDB prints values', () => {
    expect(trinoCast('"x"', 'string', 'double')).toBe(
      `CASE WHEN "x" IS NULL THEN NULL ELSE format('%s', "x") END`,
    );
    expect(trinoCast('"x"', 'varchar', 'timestamp')).toBe(
      `regexp_replace(regexp_replace(CAST("x" AS VARCHAR), '(\\.[0-9]*?)0+$', '$1'), '\\.$', '')`,
    );
    expect(trinoCast('"x"', 'string', 'binary')).toBe('from_utf8("x")');
    expect(trinoCast('"x"', 'binary', 'char')).toBe('CAST("x" AS VARBINARY)');
    expect(trinoCast('"x"', 'string', 'char')).toBe('CAST("x" AS VARCHAR)');
    expect(trinoCast('"x"', 'decimal', 'decimal')).toBe('CAST("x" AS DECIMAL(38,10))');
    expect(trinoCast('"x"', 'string')).toBe('CAST("x" AS VARCHAR)');
    expect(trinoCast('"x"', 'bigint', 'int')).toBe('CAST("x" AS BIGINT)');
  });
});

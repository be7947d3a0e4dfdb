import { describe, expect, it } from 'vitest';
import {
  classifyStatement,
  rewriteTableNames,
  SqlSyntaxError,
  type Statement,
  scanTableNames,
  splitStatements,
} from '#core/query/sql-names';

function partsOf(sql: string): string[][] {
  return scanTableNames(sql).tables.map((table) => table.parts);
}

describe('scanTableNames', () => {
  it.each<[string, string, string[][]]>([
    [
      'the seed example',
      'select * from nation, test_datasource.test_database.region limit 100',
      [['nation'], ['test_datasource', 'test_database', 'region']],
    ],
    ['a bare name', 'SELECT a FROM t', [['t']]],
    ['a two-part name', 'select * from db.t', [['db', 't']]],
    [
      'quoted Korean parts',
      'SELECT * FROM sluice."교통 데이터"."traffic 2024"',
      [['sluice', '교통 데이터', 'traffic 2024']],
    ],
    ['bare Korean parts', 'SELECT * FROM 교통.도로_2024', [['교통', '도로_2024']]],
    ['doubled quotes inside a quoted name', 'SELECT * FROM "say ""hi"""', [['say "hi"']]],
    ['backtick identifiers', 'SELECT * FROM `my db`.`t`', [['my db', 't']]],
    ['whitespace around dots', 'SELECT * FROM db . t', [['db', 't']]],
    ['case as written', 'SELECT * FROM Sluice.MyDb.Orders', [['Sluice', 'MyDb', 'Orders']]],
    ['$ inside a bare name', 'SELECT * FROM t$1', [['t$1']]],
    [
      'aliases with and without AS',
      'SELECT o.id FROM orders AS o, customers c WHERE o.c = c.id',
      [['orders'], ['customers']],
    ],
    ['a plain join with ON', 'SELECT * FROM a JOIN b ON a.id = b.id', [['a'], ['b']]],
    [
      'outer joins with ON (...) and USING (...)',
      'SELECT * FROM a LEFT OUTER JOIN db.b ON (a.x = b.x AND a.y = b.y) RIGHT JOIN c USING (id, k)',
      [['a'], ['db', 'b'], ['c']],
    ],
    [
      'full, cross and natural joins',
      'SELECT * FROM a FULL JOIN b ON true CROSS JOIN c NATURAL INNER JOIN d',
      [['a'], ['b'], ['c'], ['d']],
    ],
    ['a comma after USING (...)', 'SELECT * FROM a JOIN b USING (id), c', [['a'], ['b'], ['c']]],
    [
      'commas inside ON and WHERE parentheses',
      'SELECT * FROM a JOIN b ON coalesce(a.x, b.x) = 1 WHERE x IN (1, 2)',
      [['a'], ['b']],
    ],
    ['a table function in the FROM list', 'SELECT * FROM range(10) r, t', [['t']]],
    ['a table function with several arguments', 'SELECT * FROM generate_series(1, 10) AS g(i), t', [['t']]],
    ['a quoted table function', 'SELECT * FROM "my_fn"(1), t', [['t']]],
    ['UNNEST with a column alias list', 'SELECT * FROM t CROSS JOIN UNNEST(t.arr) AS u(x, y)', [['t']]],
    ['WITH ORDINALITY is not a CTE', 'SELECT * FROM unnest(xs) WITH ORDINALITY AS t(x, n), u', [['u']]],
    ['a LATERAL subquery', 'SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.id = t.id) l', [['t'], ['u']]],
    ['a LATERAL function', 'SELECT * FROM t, LATERAL unnest(t.xs) AS x(v)', [['t']]],
    [
      'a subquery in the FROM list',
      'SELECT * FROM (SELECT * FROM inner_t) AS s, outer_t',
      [['inner_t'], ['outer_t']],
    ],
    ['nested subqueries', 'SELECT * FROM (SELECT * FROM (SELECT 1 FROM deep) d) s', [['deep']]],
    [
      'a parenthesised join',
      'SELECT * FROM (a JOIN b ON a.id = b.id) JOIN c ON c.id = a.id',
      [['a'], ['b'], ['c']],
    ],
    ['an IN subquery', 'SELECT * FROM a WHERE id IN (SELECT id FROM b)', [['a'], ['b']]],
    [
      'a NOT EXISTS subquery',
      'SELECT * FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.id = a.id)',
      [['a'], ['b']],
    ],
    [
      'a scalar subquery in the select list',
      'SELECT (SELECT max(x) FROM m) AS top, y FROM t',
      [['m'], ['t']],
    ],
    ['a scalar subquery after =', 'SELECT * FROM t WHERE x = (SELECT min(x) FROM u)', [['t'], ['u']]],
    ['an ARRAY subquery', 'SELECT ARRAY(SELECT x FROM t)', [['t']]],
    [
      'a subquery inside a function call',
      'SELECT CAST((SELECT count(*) FROM c) AS varchar) FROM t',
      [['c'], ['t']],
    ],
    [
      'every branch of set operations',
      'SELECT a FROM x UNION ALL SELECT a FROM y EXCEPT SELECT a FROM z',
      [['x'], ['y'], ['z']],
    ],
    ['parenthesised UNION branches', '(SELECT 1 FROM x) UNION (SELECT 2 FROM y)', [['x'], ['y']]],
    ['EXTRACT(... FROM ...)', 'SELECT EXTRACT(YEAR FROM ts) AS y FROM events', [['events']]],
    [
      'SUBSTRING and TRIM with FROM',
      "SELECT SUBSTRING(s FROM 2 FOR 3), TRIM(BOTH ' ' FROM s) FROM t",
      [['t']],
    ],
    ['FROM in comments', '-- FROM hidden\nSELECT /* FROM nope */ * FROM real_t -- FROM late', [['real_t']]],
    [
      'FROM in strings and quoted identifiers',
      "SELECT 'FROM fake' AS s, \"FROM x\" FROM t WHERE s = 'a '' FROM b'",
      [['t']],
    ],
    ['FROM in an E string with a backslash escape', "SELECT E'it\\'s FROM x' FROM t", [['t']]],
    ['FROM in a dollar-quoted string', 'SELECT $$ FROM x; $$ FROM t', [['t']]],
    [
      'commas after the FROM list',
      'SELECT a, b FROM t WHERE x GROUP BY a, b HAVING c ORDER BY a, b LIMIT 5',
      [['t']],
    ],
    [
      'WINDOW and QUALIFY clauses',
      'SELECT rank() OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY b, c) QUALIFY x = 1',
      [['t']],
    ],
    ['a VALUES list in FROM', 'SELECT * FROM (VALUES (1, 2), (3, 4)) AS v(a, b)', []],
    ['a TABLE query', 'TABLE db.t', [['db', 't']]],
    ['TABLE after UNION', 'SELECT * FROM a UNION TABLE b', [['a'], ['b']]],
    ['TIMESTAMP WITH TIME ZONE is not a CTE', 'SELECT x::TIMESTAMP WITH TIME ZONE, y FROM t', [['t']]],
    ['DuckDB FROM-first', 'FROM t SELECT a, b', [['t']]],
    ['several statements', 'SELECT * FROM a; SELECT * FROM b', [['a'], ['b']]],
    [
      'DELETE FROM with a subquery',
      'DELETE FROM db.t WHERE id IN (SELECT id FROM gone)',
      [['db', 't'], ['gone']],
    ],
    ['a chain longer than three parts', 'SELECT * FROM a.b.c.d', []],
  ])('finds %s', (_name, sql, expected) => {
    // Act
    const parts = partsOf(sql);

    // Assert
    expect(parts).toEqual(expected);
  });

  it.each<[string, string, string[][], string[]]>([
    ['a CTE', 'WITH a AS (SELECT * FROM src) SELECT * FROM a', [['src'], ['a']], ['a']],
    [
      'recursive CTEs with column lists',
      'WITH RECURSIVE a AS (SELECT 1 FROM s1), B(x, y) AS (SELECT x, y FROM s2) SELECT * FROM a JOIN b ON true',
      [['s1'], ['s2'], ['a'], ['b']],
      ['a', 'b'],
    ],
    [
      'a materialized CTE in a subquery',
      'SELECT * FROM (WITH "Q" AS MATERIALIZED (SELECT * FROM s) SELECT * FROM q), t',
      [['s'], ['q'], ['t']],
      ['q'],
    ],
    [
      'a select list after the CTEs',
      'WITH a AS (SELECT 1 FROM s) SELECT x, y AS z FROM a',
      [['s'], ['a']],
      ['a'],
    ],
  ])('records %s', (_name, sql, tables, ctes) => {
    // Act
    const scan = scanTableNames(sql);

    // Assert
    expect(scan.tables.map((table) => table.parts)).toEqual(tables);
    expect(scan.ctes).toEqual(ctes);
  });

  it('gives offsets that cover each chain exactly as written', () => {
    // Arrange
    const sql = 'SELECT *\nFROM  sluice . "교통 데이터".t1 x JOIN `b` ON 1 = 1, "a""b" AS z';

    // Act
    const { tables } = scanTableNames(sql);

    // Assert
    expect(tables.map((table) => sql.slice(table.start, table.end))).toEqual([
      'sluice . "교통 데이터".t1',
      '`b`',
      '"a""b"',
    ]);
  });

  it.each([
    ['a string', "SELECT 'oops FROM t"],
    ['a quoted identifier', 'SELECT * FROM "oops'],
    ['a backtick identifier', 'SELECT * FROM `oops'],
    ['a block comment', 'SELECT * FROM t /* oops'],
    ['an E string', "SELECT E'oops\\'"],
    ['a dollar-quoted string', 'SELECT $x$ oops'],
  ])('rejects an unterminated %s', (_name, sql) => {
    expect(() => scanTableNames(sql)).toThrow(SqlSyntaxError);
  });

  it('accepts a line comment that runs to the end of the text', () => {
    expect(partsOf('SELECT * FROM t -- the end')).toEqual([['t']]);
  });
});

describe('rewriteTableNames', () => {
  it('replaces several names and keeps everything else byte for byte', () => {
    // Arrange
    const sql = 'select * from nation n, test_datasource.test_database.region /* keep */ limit 100';
    const { tables } = scanTableNames(sql);
    const replacements = tables.map((table, i) => ({ ...table, text: `"cat"."db"."t${i}"` })).reverse();

    // Act
    const rewritten = rewriteTableNames(sql, replacements);

    // Assert
    expect(rewritten).toBe('select * from "cat"."db"."t0" n, "cat"."db"."t1" /* keep */ limit 100');
  });

  it('returns the text unchanged without replacements', () => {
    expect(rewriteTableNames('SELECT 1', [])).toBe('SELECT 1');
  });

  it('rejects overlapping or out-of-range replacements', () => {
    expect(() =>
      rewriteTableNames('SELECT * FROM t', [
        { start: 14, end: 15, text: 'a' },
        { start: 13, end: 15, text: 'b' },
      ]),
    ).toThrow(RangeError);
    expect(() => rewriteTableNames('SELECT 1', [{ start: 5, end: 50, text: 'x' }])).toThrow(RangeError);
  });
});

describe('splitStatements', () => {
  it.each<[string, string, string[]]>([
    ['one statement', 'SELECT 1', ['SELECT 1']],
    ['a trailing semicolon', '  SELECT 1 ;  ', ['SELECT 1']],
    [
      'semicolons in strings, identifiers and comments',
      'SELECT \';\' AS s; SELECT "a;b" FROM t /* ; */ WHERE x = 1 -- ;\n;',
      ["SELECT ';' AS s", 'SELECT "a;b" FROM t /* ; */ WHERE x = 1'],
    ],
    ['empty statements', ';; SELECT 1;;\n;SELECT 2;', ['SELECT 1', 'SELECT 2']],
    ['only comments', '-- nothing\n/* here */ ;', []],
  ])('splits %s', (_name, sql, expected) => {
    expect(splitStatements(sql)).toEqual(expected);
  });

  it('rejects an unterminated string', () => {
    expect(() => splitStatements("SELECT 'a; SELECT 2")).toThrow(SqlSyntaxError);
  });
});

describe('classifyStatement', () => {
  it.each<[string, Statement]>([
    ['SELECT 1', { kind: 'query' }],
    ['  -- comment\n select * from t;', { kind: 'query' }],
    ['WITH a AS (SELECT 1) SELECT * FROM a', { kind: 'query' }],
    ['WITH a(x) AS (SELECT 1), b AS NOT MATERIALIZED (SELECT 2) (SELECT * FROM a)', { kind: 'query' }],
    ['VALUES (1), (2)', { kind: 'query' }],
    ['TABLE t', { kind: 'query' }],
    ['(SELECT 1) UNION (SELECT 2)', { kind: 'query' }],
    ['explain select 1', { kind: 'query' }],
    ['EXPLAIN ANALYZE SELECT 1', { kind: 'query' }],
    ['EXPLAIN (TYPE DISTRIBUTED) SELECT 1', { kind: 'query' }],
    ['FROM t', { kind: 'query' }],
    ['SHOW CATALOGS', { kind: 'show-catalogs' }],
    ["show catalogs like 'sl%'", { kind: 'show-catalogs' }],
    ['SHOW SCHEMAS', { kind: 'show-schemas' }],
    ["SHOW SCHEMAS FROM sluice LIKE 'a%' ESCAPE '\\'", { kind: 'show-schemas', from: ['sluice'] }],
    ['SHOW DATABASES IN sluice', { kind: 'show-schemas', from: ['sluice'] }],
    ['SHOW TABLES', { kind: 'show-tables' }],
    ['SHOW TABLES FROM sluice."교통"', { kind: 'show-tables', from: ['sluice', '교통'] }],
    ['SHOW TABLES IN db', { kind: 'show-tables', from: ['db'] }],
    [
      'CREATE SCHEMA IF NOT EXISTS sluice.new_db',
      { kind: 'create-schema', name: ['sluice', 'new_db'], ifNotExists: true },
    ],
    ['create database d', { kind: 'create-schema', name: ['d'], ifNotExists: false }],
    ['DROP SCHEMA x CASCADE', { kind: 'drop-schema', name: ['x'], ifExists: false, cascade: true }],
    [
      'DROP DATABASE IF EXISTS s.x RESTRICT',
      { kind: 'drop-schema', name: ['s', 'x'], ifExists: true, cascade: false },
    ],
    ["COPY t TO 'out.csv'", { kind: 'other', keyword: 'COPY' }],
    ["ATTACH 'x.db' AS x", { kind: 'other', keyword: 'ATTACH' }],
    ['INSTALL httpfs', { kind: 'other', keyword: 'INSTALL' }],
    ['insert into t values (1)', { kind: 'other', keyword: 'INSERT' }],
    ['WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a', { kind: 'other', keyword: 'INSERT' }],
    ['PRAGMA version', { kind: 'other', keyword: 'PRAGMA' }],
    ["SET s3_region = 'x'", { kind: 'other', keyword: 'SET' }],
    ['EXPLAIN INSERT INTO t VALUES (1)', { kind: 'other', keyword: 'EXPLAIN' }],
    ['SHOW CREATE TABLE t', { kind: 'other', keyword: 'SHOW' }],
    ['DESCRIBE SELECT 1', { kind: 'other', keyword: 'DESCRIBE' }],
    ['CREATE VIEW v AS SELECT 1', { kind: 'other', keyword: 'CREATE' }],
    ['DROP VIEW v', { kind: 'other', keyword: 'DROP' }],
  ])('classifies %s', (sql, expected) => {
    expect(classifyStatement(sql)).toEqual(expected);
  });

  it.each<[string, string, string[], string]>([
    ['SHOW COLUMNS FROM', 'SHOW COLUMNS FROM db.t', ['db', 't'], 'db.t'],
    ['SHOW COLUMNS IN', 'SHOW COLUMNS IN "t x"', ['t x'], '"t x"'],
    ['DESCRIBE', 'DESCRIBE sluice.db.t', ['sluice', 'db', 't'], 'sluice.db.t'],
    ['DESC', 'desc  t ;', ['t'], 't'],
  ])('classifies %s as show-columns', (_name, sql, parts, written) => {
    // Act
    const statement = classifyStatement(sql);

    // Assert
    expect(statement.kind).toBe('show-columns');
    const { table } = statement as Extract<Statement, { kind: 'show-columns' }>;
    expect(table.parts).toEqual(parts);
    expect(sql.slice(table.start, table.end)).toBe(written);
  });

  it('classifies DROP TABLE with its name and offsets', () => {
    const sql = 'DROP TABLE IF EXISTS db.t';
    const statement = classifyStatement(sql);
    expect(statement).toMatchObject({ kind: 'drop-table', ifExists: true, table: { parts: ['db', 't'] } });
    const { table } = statement as Extract<Statement, { kind: 'drop-table' }>;
    expect(sql.slice(table.start, table.end)).toBe('db.t');
  });

  it.each([
    ['CREATE TABLE db.t AS SELECT 1', ['db', 't']],
    ['CREATE TABLE IF NOT EXISTS "새 테이블" (a INT)', ['새 테이블']],
  ])('classifies %s as create-table', (sql, parts) => {
    expect(classifyStatement(sql)).toMatchObject({ kind: 'create-table', table: { parts } });
  });

  it('classifies the first statement of a script', () => {
    expect(classifyStatement('; SHOW CATALOGS; DROP TABLE t')).toEqual({ kind: 'show-catalogs' });
  });

  it.each([
    ['an empty text', '  -- nothing\n'],
    ['SHOW COLUMNS without a table', 'SHOW COLUMNS FROM'],
    ['SHOW COLUMNS without FROM', 'SHOW COLUMNS t'],
    ['extra words after SHOW TABLES', 'SHOW TABLES FROM a b'],
    ['DROP TABLE without a name', 'DROP TABLE IF EXISTS'],
    ['extra words after DROP SCHEMA', 'DROP SCHEMA x CASCADE now'],
    ['a WITH clause without a body', 'WITH a AS SELECT 1'],
    ['an unterminated string', "SELECT 'x"],
  ])('rejects %s', (_name, sql) => {
    expect(() => classifyStatement(sql)).toThrow(SqlSyntaxError);
  });
});

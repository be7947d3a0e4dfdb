import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withSandbox } from '#core/duckdb';
import { ValidationError } from '#core/errors';
import { type ConvertResult, type CsvOptions, convertCsvToParquet, valueFitsSql } from '#core/tables/convert';
import {
  type ColumnType,
  isBooleanValue,
  isDateValue,
  isDoubleValue,
  isIntegerValue,
  isTimestampValue,
} from '#core/tables/csv';
import { onTestPlatform } from './test-platform.ts';

onTestPlatform();

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-convert-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Converted {
  result: ConvertResult;
  rows: unknown[][];
  types: Record<string, string>;
}

let count = 0;

async function convertIn(
  workDir: string,
  content: string | Uint8Array,
  options: CsvOptions = {},
): Promise<{ converted: Converted; parquet: string }> {
  const name = `t${++count}`;
  const csv = path.join(workDir, `${name}.csv`);
  const parquet = path.join(workDir, `${name}.parquet`);
  await writeFile(csv, content);
  const result = await convertCsvToParquet(csv, parquet, options, workDir);
  const converted = await withSandbox(workDir, async (connection) => {
    const source = `read_parquet(${sqlString(parquet)})`;
    const rows = (await connection.runAndReadAll(`SELECT * FROM ${source}`)).getRowsJson() as unknown[][];
    const described = await connection.runAndReadAll(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${source})`,
    );
    const types = Object.fromEntries(described.getRowsJson() as [string, string][]);
    return { result, rows, types };
  });
  return { converted, parquet };
}

async function convert(content: string | Uint8Array, options: CsvOptions = {}): Promise<Converted> {
  return (await convertIn(dir, content, options)).converted;
}

async function problemOf(content: string | Uint8Array, options: CsvOptions = {}) {
  try {
    await convert(content, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const problem = error as ValidationError;
    expect(problem.extras.errors).toEqual([{ field: 'file', message: problem.message }]);
    return { detail: problem.message, line: problem.extras.line };
  }
  throw new Error('expected a problem');
}

/** More than the 1 MiB sample: `count` rows of `id,label` after a header. */
function longFile(
  count: number,
  row: (i: number) => string = (i) => `${i},label-${i}-padding-padding`,
): string {
  const lines = ['id,label'];
  for (let i = 1; i <= count; i++) lines.push(row(i));
  return `${lines.join('\n')}\n`;
}

describe('converting CSV to Parquet', () => {
  it('converts a Korean UTF-8 file with a type for every column', async () => {
    const csv = [
      '이름,나이,가입일,최근 접속,점수,활성,우편번호',
      '홍길동,30,2024-02-29,2024-02-29 10:15:00,35.2,true,01234',
      '김철수,41,2025-12-31,2025-12-31T23:59:59.5,-1.5e3,FALSE,',
      ',,,,,,',
    ].join('\n');

    const { result, rows, types } = await convert(csv);

    expect(result).toMatchObject({ rows: 3, delimiter: ',', header: true, encoding: 'utf-8' });
    expect(result.bytes).toBeGreaterThan(0);
    expect(result.columns).toEqual([
      { name: '이름', type: 'string' },
      { name: '나이', type: 'integer' },
      { name: '가입일', type: 'date' },
      { name: '최근 접속', type: 'timestamp' },
      { name: '점수', type: 'double' },
      { name: '활성', type: 'boolean' },
      { name: '우편번호', type: 'string' },
    ]);
    expect(Object.values(types)).toEqual([
      'VARCHAR',
      'BIGINT',
      'DATE',
      'TIMESTAMP',
      'DOUBLE',
      'BOOLEAN',
      'VARCHAR',
    ]);
    expect(rows).toEqual([
      ['홍길동', '30', '2024-02-29', '2024-02-29 10:15:00', 35.2, true, '01234'],
      ['김철수', '41', '2025-12-31', '2025-12-31 23:59:59.5', -1500, false, null],
      [null, null, null, null, null, null, null],
    ]);
  });

  it('converts a CP949 file to UTF-8 values', async () => {
    const csv = iconv.encode('이름,주소\r\n홍길동,"서울특별시, 종로구"\r\n', 'cp949');

    const { result, rows } = await convert(csv);

    expect(result.encoding).toBe('cp949');
    expect(result.columns.map((c) => c.name)).toEqual(['이름', '주소']);
    expect(rows).toEqual([['홍길동', '서울특별시, 종로구']]);
  });

  it('converts a CP949 file when the encoding is given', async () => {
    const csv = iconv.encode('도시\n부산\n', 'cp949');

    const { result, rows } = await convert(csv, { encoding: 'cp949' });

    expect(result.encoding).toBe('cp949');
    expect(rows).toEqual([['부산']]);
  });

  it('drops a UTF-8 BOM from the first column name', async () => {
    const { result, rows } = await convert('\uFEFFid,name\n1,a\n');

    expect(result.encoding).toBe('utf-8-bom');
    expect(result.columns[0]).toEqual({ name: 'id', type: 'integer' });
    expect(rows).toEqual([['1', 'a']]);
  });

  it.each([
    [';', 'name;price\n"a;b";1,5\nc;2\n'],
    ['\t', 'name\tprice\na, b\t1,5\nc\t2\n'],
    ['|', 'name|price\na|1,5\n"c|d"|2\n'],
  ])('detects %j as the delimiter', async (delimiter, csv) => {
    const { result, rows } = await convert(csv);

    expect(result.delimiter).toBe(delimiter);
    expect(result.columns.map((c) => c.type)).toEqual(['string', 'string']);
    expect(rows).toHaveLength(2);
  });

  it('uses a delimiter that is given instead of detecting one', async () => {
    const { result, rows } = await convert('a;b\n1;2\n', { delimiter: ',' });

    expect(result.columns).toEqual([{ name: 'a;b', type: 'string' }]);
    expect(rows).toEqual([['1;2']]);
  });

  it('keeps quoted delimiters, quotes and line breaks in a CRLF file', async () => {
    const csv = 'id,note\r\n1,"a, ""quoted"" b"\r\n2,"line one\r\nline two"\r\n3,\r\n';

    const { rows } = await convert(csv);

    expect(rows).toEqual([
      ['1', 'a, "quoted" b'],
      ['2', 'line one\r\nline two'],
      ['3', null],
    ]);
  });

  it('reads files with lone CR line endings and files that mix line endings', async () => {
    const cr = await convert('a,b\r1,2\r3,4\r');
    const mixed = await convert('a,b\r\n1,2\n3,"x\ny"\r5,6\r\n');

    expect(cr.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(mixed.rows).toEqual([
      ['1', '2'],
      ['3', 'x\ny'],
      ['5', '6'],
    ]);
  });

  it('rewrites mixed line endings found after the sample', async () => {
    const csv = `${longFile(40_000).replace(/\n$/, '\r\n')}40001,last\n`;

    const { result } = await convert(csv);

    expect(result.rows).toBe(40_001);
  });

  it('names columns by position when the first record is data', async () => {
    const { result, rows } = await convert('1,Kim,2026-01-01\n2,Lee,2026-01-02\n');

    expect(result.header).toBe(false);
    expect(result.columns).toEqual([
      { name: 'column_1', type: 'integer' },
      { name: 'column_2', type: 'string' },
      { name: 'column_3', type: 'date' },
    ]);
    expect(rows).toHaveLength(2);
  });

  it('reads the first record as data when told there is no header', async () => {
    const { result, rows } = await convert('name,city\nKim,Seoul\n', { header: false });

    expect(result.columns.map((c) => c.name)).toEqual(['column_1', 'column_2']);
    expect(rows).toEqual([
      ['name', 'city'],
      ['Kim', 'Seoul'],
    ]);
  });

  it('normalises header names', async () => {
    const { result } = await convert(' id ,,id,ID\n1,2,3,4\n');

    expect(result.columns.map((c) => c.name)).toEqual(['id', 'column_2', 'id_2', 'ID_3']);
  });

  it('skips empty lines, also in a one-column file', async () => {
    const two = await convert('a,b\n\n1,2\n\n\n3,4\n\n');
    const one = await convert('a\n1\n\n2\n\n');

    expect(two.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(one.result.rows).toBe(2);
    expect(one.rows).toEqual([['1'], ['2']]);
  });

  it('accepts a trailing delimiter on data rows', async () => {
    const { result, rows } = await convert('a,b\n1,2,\n3,4\n');

    expect(result.columns.map((c) => c.name)).toEqual(['a', 'b']);
    expect(rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('handles quotes and Korean text in paths and column names', async () => {
    const workDir = path.join(dir, 'it\'s "여기"');
    await mkdir(workDir);

    const { converted } = await convertIn(workDir, `"it's","say ""hi""",열\nx,y,z\n`);

    expect(converted.result.columns.map((c) => c.name)).toEqual(["it's", 'say "hi"', '열']);
    expect(converted.rows).toEqual([['x', 'y', 'z']]);
  });

  it('keeps the rows in file order', async () => {
    const { rows } = await convert(longFile(50_000, (i) => `${i},x`));

    expect(rows.map((r) => Number(r[0]))).toEqual(Array.from({ length: 50_000 }, (_, i) => i + 1));
  });
});

describe('problems with the file', () => {
  const multiLine = 'a,b,c\n1,"one\ntwo\nthree",3\n';

  it.each([
    ['short', `${multiLine}4,5\n`, 5, 'Line 5: expected 3 fields but found 2.'],
    ['long', `${multiLine}4,5,6\n7,8,9,10\n`, 6, 'Line 6: expected 3 fields but found 4.'],
  ])('names the physical line of a %s record after a multi-line value', async (_kind, csv, line, detail) => {
    expect(await problemOf(csv)).toEqual({ detail, line });
  });

  it('names the physical line of a short record after the sample', async () => {
    // The multi-line value shifts DuckDB's record count away from the physical line.
    const csv = longFile(40_000, (i) =>
      i === 2 ? `${i},"x\ny"` : i === 39_999 ? `${i}` : `${i},label-${i}-padding`,
    );

    expect(await problemOf(csv)).toEqual({
      detail: 'Line 40001: expected 2 fields but found 1.',
      line: 40_001,
    });
  });

  it('names the line where an unterminated quote opens', async () => {
    const inSample = await problemOf('a,b\n1,2\n3,"never closed\n4,5\n');
    const afterSample = await problemOf(`${longFile(40_000)}1,"x\n2,y\n`);

    expect(inSample).toEqual({
      detail: 'Line 3: a quoted value starts here but its closing quote is missing.',
      line: 3,
    });
    expect(afterSample.line).toBe(40_002);
  });

  it('names the line of text after a closing quote', async () => {
    expect(await problemOf('a,b\n1,"x"y\n')).toMatchObject({ line: 2 });
  });

  it('names the line of a byte that is not text', async () => {
    const csv = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff, 0xff]), Buffer.from('\n')]);

    const problem = await problemOf(csv);

    expect(problem.line).toBe(3);
    expect(problem.detail).toBe(
      'Line 3: the file is neither valid UTF-8 nor CP949 (EUC-KR) text; save it as UTF-8.',
    );
  });

  it('names the line of an invalid byte when UTF-8 is declared', async () => {
    const csv = Buffer.concat([Buffer.from('a\n가\n'), Buffer.from([0xb0, 0xa1]), Buffer.from('\n')]);

    expect(await problemOf(csv, { encoding: 'utf-8' })).toMatchObject({ line: 3 });
  });

  it.each([
    ['an empty file', ''],
    ['a BOM alone', '\uFEFF'],
    ['only blank lines', '\n  \r\n\t\n'],
  ])('calls %s empty', async (_name, csv) => {
    expect(await problemOf(csv)).toEqual({ detail: 'The file is empty.', line: 1 });
  });

  it('rejects a header without data rows', async () => {
    expect(await problemOf('name,city\n\n')).toEqual({
      detail: 'The file has a header but no data rows.',
      line: 2,
    });
  });

  it('leaves no output behind when a conversion fails', async () => {
    const workDir = path.join(dir, 'failing');
    await mkdir(workDir);
    await writeFile(path.join(workDir, 'in.csv'), `${longFile(40_000)}1,2,3\n`);

    const failure = convertCsvToParquet(
      path.join(workDir, 'in.csv'),
      path.join(workDir, 'out.parquet'),
      {},
      workDir,
    );

    await expect(failure).rejects.toBeInstanceOf(ValidationError);
    expect(await readdir(workDir)).toEqual(['in.csv']);
  });
});

describe('types that change after the sample', () => {
  it('widens an integer column to string when a later value is text', async () => {
    const csv = `${longFile(40_000)}abc,late\n`;

    const { result, rows, types } = await convert(csv);

    expect(result.rows).toBe(40_001);
    expect(result.columns[0]).toEqual({ name: 'id', type: 'string' });
    expect(types.id).toBe('VARCHAR');
    expect(rows[40_000]).toEqual(['abc', 'late']);
  });

  it('widens integers to doubles and dates to timestamps', async () => {
    const dates = longFile(40_000, (i) => `${i},2026-01-01`).replace('id,label', 'n,at');
    const csv = `${dates}1.5,2026-01-01 10:00\n`;

    const { result } = await convert(csv);

    expect(result.columns).toEqual([
      { name: 'n', type: 'double' },
      { name: 'at', type: 'timestamp' },
    ]);
  });
});

describe('appending to an existing schema', () => {
  const schema = [
    { name: 'name', type: 'string' as const },
    { name: 'count', type: 'integer' as const },
  ];

  it('casts values to the table types', async () => {
    const { result, types } = await convert('name,count\nx,1\n', {
      columns: [
        { name: 'name', type: 'string' },
        { name: 'count', type: 'double' },
      ],
    });

    expect(result.columns.map((c) => c.type)).toEqual(['string', 'double']);
    expect(types.count).toBe('DOUBLE');
  });

  it('matches a file without a header by position', async () => {
    const { result, rows } = await convert('x,1\ny,2\n', { columns: schema });

    expect(result.header).toBe(false);
    expect(result.columns).toEqual(schema);
    expect(rows).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
  });

  it('ignores a trailing delimiter after the last column', async () => {
    const { result } = await convert('name,count,\nx,1,\n', { columns: schema });

    expect(result.columns).toEqual(schema);
    expect(result.rows).toBe(1);
  });

  it('names the line and column of a value that does not fit', async () => {
    const csv = 'name,count\n"multi\nline",1\n\nb,2\nc,abc\nd,4\n';

    expect(await problemOf(csv, { columns: schema })).toEqual({
      detail: 'Line 6: value "abc" in column "count" is not an integer.',
      line: 6,
    });
  });

  it('names a column whose name differs from the table', async () => {
    expect(await problemOf('name,total\nx,1\n', { columns: schema })).toEqual({
      detail: 'Line 1: column 2 is named "total" in the file but "count" in the table.',
      line: 1,
    });
  });

  it('rejects a file with a different number of columns', async () => {
    expect(await problemOf('name,count,extra\nx,1,2\n', { columns: schema })).toEqual({
      detail: 'Line 1: the file has 3 columns but the table has 2.',
      line: 1,
    });
  });
});

describe('the SQL typing rules', () => {
  const predicates: Record<Exclude<ColumnType, 'string'>, (value: string) => boolean> = {
    boolean: isBooleanValue,
    integer: isIntegerValue,
    double: isDoubleValue,
    date: isDateValue,
    timestamp: isTimestampValue,
  };
  const values = [
    'true',
    'FALSE',
    'yes',
    '0',
    '-12',
    '+7',
    '007',
    '9223372036854775807',
    '9223372036854775808',
    '1.5',
    '.5',
    '5.',
    '-1.5e3',
    '1e999',
    '00.5',
    '2024-02-29',
    '2023-02-29',
    '2026-13-01',
    '2026-01-01 10:00',
    '2026-01-01T23:59:59.123456',
    '2026-01-01 24:00',
    '2026-01-01 10:00+09',
    'abc',
    ' 1',
  ];

  it.each(Object.keys(predicates) as (keyof typeof predicates)[])(
    'agree with the JavaScript rules for %s values',
    async (type) => {
      const list = values.map((v) => `(${sqlString(v)})`).join(', ');

      const fromSql = await withSandbox(dir, async (connection) => {
        const reader = await connection.runAndReadAll(
          `SELECT v, coalesce(${valueFitsSql('v', type)}, false) FROM (VALUES ${list}) t(v)`,
        );
        return Object.fromEntries(reader.getRowsJson() as [string, boolean][]);
      });

      expect(fromSql).toEqual(Object.fromEntries(values.map((v) => [v, predicates[type](v)])));
    },
  );
});

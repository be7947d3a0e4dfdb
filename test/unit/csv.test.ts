import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import {
  type CsvRecord,
  CsvScanner,
  type Delimiter,
  detectDelimiter,
  detectEncoding,
  duckdbType,
  firstInvalidUtf8,
  fitsWidth,
  inferColumnTypes,
  inferValueType,
  isDateValue,
  isDoubleValue,
  isIntegerValue,
  isTimestampValue,
  looksLikeHeader,
  normaliseHeader,
  normaliseLineEndings,
  parseSample,
  readSample,
  scanCsvFile,
  transcodeCp949ToUtf8,
} from '#core/tables/csv';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-csv-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let fileCount = 0;
async function file(content: string | Uint8Array): Promise<string> {
  const target = path.join(dir, `f${++fileCount}.csv`);
  await writeFile(target, content);
  return target;
}

function parse(text: string, delimiter: Delimiter = ',', eof = true) {
  return parseSample(Buffer.from(text), delimiter, eof);
}

function rows(text: string, delimiter: Delimiter = ','): string[][] {
  return parse(text, delimiter).records.map((r) => r.fields ?? []);
}

/** Scans `text` pushed in chunks of `size` bytes. */
function scanInChunks(text: string, size: number): { records: CsvRecord[]; scanner: CsvScanner } {
  const records: CsvRecord[] = [];
  const scanner = new CsvScanner({
    delimiter: ',',
    fields: true,
    onRecord: (record) => {
      records.push(record);
      return true;
    },
  });
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) scanner.push(bytes.subarray(i, i + size));
  scanner.end();
  return { records, scanner };
}

async function problemOf(promise: Promise<unknown>): Promise<{ detail: string; line: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const problem = error as ValidationError;
    expect(problem.extras.errors?.[0]?.field).toBe('file');
    return { detail: problem.message, line: problem.extras.line };
  }
  throw new Error('expected a problem');
}

describe('the CSV record scanner', () => {
  it('splits records into fields', () => {
    const text = 'a,b,c\n1,2,3\n';

    const result = rows(text);

    expect(result).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('keeps delimiters and line breaks inside quoted values', () => {
    const text = 'id,note\n1,"a, b"\n2,"first\nsecond\nthird"\n3,plain\n';

    const { records } = parse(text);

    expect(records.map((r) => r.fields)).toEqual([
      ['id', 'note'],
      ['1', 'a, b'],
      ['2', 'first\nsecond\nthird'],
      ['3', 'plain'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 6]);
    expect(records.map((r) => r.ordinal)).toEqual([1, 2, 3, 4]);
  });

  it('reads "" inside a quoted value as one literal quote', () => {
    expect(rows('"say ""hi""",""""\n')).toEqual([['say "hi"', '"']]);
  });

  it('ends records at CRLF and at a lone CR, counting each as one line', () => {
    const crlf = parse('a,b\r\n1,"x\r\ny"\r\n2,z\r\n');
    const cr = parse('a,b\r1,2\r3,4\r');

    expect(crlf.records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['1', 'x\r\ny']],
      [4, ['2', 'z']],
    ]);
    expect(crlf.mixedLineEndings).toBe(false);
    expect(cr.records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
      [3, ['3', '4']],
    ]);
  });

  it('notices when records end with different kinds of line break', () => {
    expect(parse('a,b\r\n1,2\n').mixedLineEndings).toBe(true);
    expect(parse('a,"x\ny"\r\n1,2\r\n').mixedLineEndings).toBe(false);
  });

  it('skips empty lines but keeps counting physical lines', () => {
    const { records } = parse('a,b\n\n1,2\r\n\r\n\n3,4\n\n');

    expect(records.map((r) => [r.line, r.ordinal, r.fields])).toEqual([
      [1, 1, ['a', 'b']],
      [3, 3, ['1', '2']],
      [6, 6, ['3', '4']],
    ]);
  });

  it('makes no record of a trailing line break and keeps a last record without one', () => {
    expect(rows('a\n1\n')).toEqual([['a'], ['1']]);
    expect(rows('a\n1')).toEqual([['a'], ['1']]);
  });

  it('leaves out a cut-off last record of a sample that is not the whole file', () => {
    const { records } = parse('a,b\n1,2\n3,"unfinished', ',', false);

    expect(records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('treats empty values and a record of only delimiters as empty fields', () => {
    expect(rows('a,,c\n,,\n')).toEqual([
      ['a', '', 'c'],
      ['', '', ''],
    ]);
  });

  it('counts the empty fields at the end of a record', () => {
    const { records } = parse('a,b\n1,2,,""\n1,,x\n');

    expect(records.map((r) => [r.fieldCount, r.trailingEmpty, fitsWidth(r, 2)])).toEqual([
      [2, 0, true],
      [4, 2, true],
      [3, 0, false],
    ]);
  });

  it('accepts spaces around a quoted value and keeps a quote inside an unquoted one', () => {
    expect(rows('  "x,y" ,5"6, 7 \n')).toEqual([['x,y', '5"6', ' 7 ']]);
  });

  it('reports text after a closing quote with its line', () => {
    const { issue, records } = parse('a,b\n1,"x"y\n');

    expect(records).toHaveLength(1);
    expect(issue).toEqual({ kind: 'text-after-quote', line: 2, field: 2 });
  });

  it('reports a quote still open at the end with the line where it opened', () => {
    const { issue } = parse('a,b\n1,2\n3,"never\nclosed\n');

    expect(issue).toEqual({ kind: 'unterminated-quote', line: 3, field: 2 });
  });

  it.each([1, 2, 3, 7, 64])('gives the same records when fed %i bytes at a time', (size) => {
    const text = 'h1, "h2" ,h3\r\n"a ""b""",c\r\nd,e\r\n\r\n"x\r\ny",  ,"z"""\n가나다,"한,글",끝\r4,5,6';
    const whole = scanInChunks(text, text.length);

    const chunked = scanInChunks(text, size);

    expect(chunked.records).toEqual(whole.records);
    expect(chunked.scanner.lineEndings).toEqual(whole.scanner.lineEndings);
    expect(whole.records.map((r) => r.fields)).toEqual([
      ['h1', 'h2', 'h3'],
      ['a "b"', 'c'],
      ['d', 'e'],
      ['x\r\ny', '  ', 'z"'],
      ['가나다', '한,글', '끝'],
      ['4', '5', '6'],
    ]);
  });
});

describe('scanning a whole file', () => {
  it('finds the first record with the wrong field count by its physical line', async () => {
    const csv = await file('a,b,c\n1,"multi\nline\nvalue",3\n4,5,6\n7,8\n9,10,11,12\n');

    const scan = await scanCsvFile(csv, ',');

    expect(scan.problem).toEqual({ line: 6, message: 'expected 3 fields but found 2.' });
  });

  it('allows empty extra fields at the end of a record, as DuckDB does', async () => {
    const csv = await file('a,b\n1,2,\n3,4,,""\n5,6, \n');

    const scan = await scanCsvFile(csv, ',');

    expect(scan.problem).toEqual({ line: 4, message: 'expected 2 fields but found 3.' });
  });

  it('finds a long record and an unterminated quote', async () => {
    const long = await file('a,b\n1,2\n3,4,5\n');
    const open = await file('a,b\n1,2\n3,"oops\n4,5\n');

    expect((await scanCsvFile(long, ',')).problem).toEqual({
      line: 3,
      message: 'expected 2 fields but found 3.',
    });
    expect((await scanCsvFile(open, ',')).problem?.line).toBe(3);
  });

  it('returns the record DuckDB would number as a given line', async () => {
    const csv = await file('a,b\n1,"x\ny"\n\nbad,3\n');

    const scan = await scanCsvFile(csv, ',', { targetOrdinal: 4 });

    expect(scan.problem).toBeUndefined();
    expect(scan.target).toMatchObject({ line: 5, ordinal: 4, fields: ['bad', '3'] });
  });

  it('rewrites record line breaks to LF and keeps those inside quotes', async () => {
    const source = await file('a,b\r\n1,"x\r\ny"\r2,3\n4,5\r\n');
    const target = path.join(dir, 'normalised.csv');

    await normaliseLineEndings(source, target, ',');

    expect(await readFile(target, 'utf8')).toBe('a,b\n1,"x\r\ny"\n2,3\n4,5\n');
  });
});

describe('delimiter detection', () => {
  it.each([
    [',', 'name,city,score\nKim,Seoul,1\nLee,Busan,2\n'],
    [';', 'name;city;score\nKim;Seoul;1,5\nLee;Busan;2,5\n'],
    ['\t', 'name\tcity\tscore\nKim\tSeoul, Korea\t1\nLee\tBusan\t2\n'],
    ['|', 'name|city|score\nKim|Seoul|1\nLee|"Busan|Port"|2\n'],
  ])('picks %j when it splits every record the same way', (expected, text) => {
    expect(detectDelimiter(Buffer.from(text), true)).toBe(expected);
  });

  it('prefers the candidate that gives more consistent records', () => {
    // Commas appear in the text, but only semicolons split every record into 2 fields.
    const text = 'name;note\nKim;hello, world\nLee;a, b, c\n';

    expect(detectDelimiter(Buffer.from(text), true)).toBe(';');
  });

  it('falls back to a comma for ties and for single-column files', () => {
    expect(detectDelimiter(Buffer.from('a,b;c\n1,2;3\n'), true)).toBe(',');
    expect(detectDelimiter(Buffer.from('name\nKim\nLee\n'), true)).toBe(',');
  });
});

describe('header detection and column names', () => {
  it('reads a first record of text as a header', () => {
    expect(looksLikeHeader(['id', 'name', '', '가격'])).toBe(true);
  });

  it.each([['1'], ['1.5'], ['true'], ['2026-01-31'], ['2026-01-31 10:00']])(
    'reads a first record holding %j as data',
    (value) => {
      expect(looksLikeHeader(['name', value])).toBe(false);
    },
  );

  it('trims names and names empty ones by position', () => {
    expect(normaliseHeader(['  id ', '', ' ', 'multi\nline'])).toEqual([
      'id',
      'column_2',
      'column_3',
      'multi line',
    ]);
  });

  it('makes repeated names unique, ignoring case as DuckDB does', () => {
    expect(normaliseHeader(['name', 'Name', 'name', 'name_2', 'x'])).toEqual([
      'name',
      'Name_2',
      'name_3',
      'name_2_2',
      'x',
    ]);
  });

  it('does not let a generated name collide with a real one', () => {
    expect(normaliseHeader(['', 'column_1'])).toEqual(['column_1', 'column_1_2']);
  });
});

describe('type inference', () => {
  it.each([
    ['integers', ['1', '-20', '+3', '0'], 'integer'],
    ['integers and decimals', ['1', '2.5', '-1.5e3', '.5'], 'double'],
    ['decimals', ['35.2', '1e5', '-0.001'], 'double'],
    ['booleans in any case', ['true', 'FALSE', 'True'], 'boolean'],
    ['dates', ['2024-02-29', '2026-12-31'], 'date'],
    ['dates and timestamps', ['2026-01-01', '2026-01-01 10:30', '2026-01-01T10:30:15.123456'], 'timestamp'],
    ['values with leading zeros', ['007', '012'], 'string'],
    ['a leading-zero value among integers', ['1', '2', '007'], 'string'],
    ['an integer beyond int64', ['1', '9223372036854775808'], 'string'],
    ['the int64 limits', ['9223372036854775807', '-9223372036854775808'], 'integer'],
    ['an impossible date', ['2026-01-01', '2026-02-30'], 'string'],
    ['a timestamp with a zone offset', ['2026-01-01T10:00:00+09:00'], 'string'],
    ['numbers and booleans', ['1', 'true'], 'string'],
    ['only empty values', ['', ''], 'string'],
    ['text', ['abc', '1'], 'string'],
  ])('types a column of %s', (_name, values, expected) => {
    const sample = values.map((value) => [value]);

    expect(inferColumnTypes(sample, 1)).toEqual([expected]);
  });

  it('ignores empty values when typing a column', () => {
    expect(
      inferColumnTypes(
        [
          ['1', ''],
          ['', 'x'],
          ['3', ''],
        ],
        2,
      ),
    ).toEqual(['integer', 'string']);
  });

  it.each([
    ['0', true],
    ['-0', true],
    ['007', false],
    ['1.0', false],
    ['9223372036854775807', true],
    ['9223372036854775808', false],
    ['-9223372036854775809', false],
  ])('decides whether %j is an integer', (value, expected) => {
    expect(isIntegerValue(value)).toBe(expected);
  });

  it.each([
    ['35.2', true],
    ['-1.5e3', true],
    ['.5', true],
    ['5.', true],
    ['42', true],
    ['1e999', false],
    ['00.5', false],
    ['1,5', false],
    ['NaN', false],
    ['.', false],
  ])('decides whether %j is a double', (value, expected) => {
    expect(isDoubleValue(value)).toBe(expected);
  });

  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['1900-02-29', false],
    ['2000-02-29', true],
    ['2026-04-31', false],
    ['2026-13-01', false],
    ['2026-1-01', false],
  ])('decides whether %j is a date', (value, expected) => {
    expect(isDateValue(value)).toBe(expected);
  });

  it.each([
    ['2026-01-01 23:59:59', true],
    ['2026-01-01T00:00', true],
    ['2026-01-01 10:00:00.1234567', false],
    ['2026-01-01 24:00', false],
    ['2026-02-30 10:00', false],
    ['2026-01-01', true],
    ['2026-01-01 10:00Z', false],
  ])('decides whether %j is a timestamp', (value, expected) => {
    expect(isTimestampValue(value)).toBe(expected);
  });

  it('types a single value, with an empty value as NULL', () => {
    expect(inferValueType('')).toBeNull();
    expect(inferValueType('12')).toBe('integer');
    expect(inferValueType('x')).toBe('string');
  });

  it('maps column types to DuckDB types', () => {
    expect(
      (['integer', 'double', 'boolean', 'date', 'timestamp', 'string'] as const).map((type) =>
        duckdbType(type),
      ),
    ).toEqual(['BIGINT', 'DOUBLE', 'BOOLEAN', 'DATE', 'TIMESTAMP', 'VARCHAR']);
  });
});

describe('encoding detection', () => {
  it('detects UTF-8 with and without a BOM', async () => {
    const plain = await file('이름,나이\n홍길동,30\n');
    const bom = await file('\uFEFF이름,나이\n홍길동,30\n');

    expect(await detectEncoding(plain)).toBe('utf-8');
    expect(await detectEncoding(bom)).toBe('utf-8-bom');
  });

  it('detects Korean text saved as CP949', async () => {
    const csv = await file(iconv.encode('이름,주소\n홍길동,서울특별시 종로구\n', 'cp949'));

    expect(await detectEncoding(csv)).toBe('cp949');
  });

  it('accepts a multi-byte character cut by a read boundary', async () => {
    // The reads are 1 MiB; put a 3-byte character across the first boundary, and make the
    // second read a full one so that it overwrites the reused read buffer.
    const mib = 1024 * 1024;
    const csv = await file(
      Buffer.concat([Buffer.alloc(mib - 1, 'a'), Buffer.from('가\n'), Buffer.alloc(mib, 'b')]),
    );

    expect(await detectEncoding(csv)).toBe('utf-8');
  });

  it('names the line of the first byte that is neither UTF-8 nor CP949', async () => {
    const csv = await file(
      Buffer.concat([Buffer.from('a,b\n1,2\r\n3,'), Buffer.from([0xff, 0xfe, 0xff]), Buffer.from('\n')]),
    );

    const problem = await problemOf(detectEncoding(csv));

    expect(problem.line).toBe(3);
    expect(problem.detail).toMatch(/^Line 3: the file is neither valid UTF-8 nor CP949/);
  });

  it('names the line of an invalid byte in a file that declares UTF-8 with a BOM', async () => {
    const csv = await file(
      Buffer.concat([Buffer.from('\uFEFFa\n가\n'), Buffer.from([0xb0]), Buffer.from('\n')]),
    );

    expect((await problemOf(detectEncoding(csv))).line).toBe(3);
  });

  it('rejects UTF-16 with a clear message', async () => {
    const csv = await file(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n', 'utf16le')]));

    const problem = await problemOf(detectEncoding(csv));

    expect(problem).toEqual({
      detail: 'The file is UTF-16 text, which is not supported; save it as UTF-8.',
      line: 1,
    });
  });

  it('finds the first invalid UTF-8 byte', () => {
    expect(firstInvalidUtf8(Buffer.from('ab가'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.of(0x61, 0xc0, 0x80))).toBe(1); // overlong
    expect(firstInvalidUtf8(Uint8Array.of(0x61, 0xed, 0xa0, 0x80))).toBe(1); // surrogate
    expect(firstInvalidUtf8(Uint8Array.of(0x61, 0x62, 0xea, 0xb0))).toBe(2); // cut short
  });

  it('transcodes CP949 to UTF-8', async () => {
    const text = '이름,주소\n홍길동,"서울, 종로구"\n';
    const source = await file(iconv.encode(text, 'cp949'));
    const target = path.join(dir, 'transcoded.csv');

    await transcodeCp949ToUtf8(source, target);

    expect(await readFile(target, 'utf8')).toBe(text);
  });

  it('reads a sample without its BOM and says whether it is the whole file', async () => {
    const csv = await file('\uFEFFa,b\n1,2\n');

    const sample = await readSample(csv, 4);

    expect(sample).toMatchObject({ bom: true, eof: false });
    expect(Buffer.from(sample.bytes).toString()).toBe('a');
  });
});

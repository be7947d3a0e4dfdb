/**
 * CSV → Parquet for table uploads. The happy path is one UTF-8 validity pass, a sniff over the
 * first MiB and a single DuckDB COPY; everything else (a second look at the file, a typing
 * pass over all of it, rewriting line endings) happens only after DuckDB has refused the file,
 * to turn DuckDB's message into a problem that names the physical line.
 */
import { randomUUID } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString, withSandbox } from '../duckdb.ts';
import type { ValidationError } from '../errors.ts';
import {
  type Column,
  type ColumnType,
  type Delimiter,
  detectDelimiter,
  duckdbType,
  type Encoding,
  fileProblem,
  isBlank,
  lineProblem,
  normaliseLineEndings,
  type ParsedSample,
  parseSample,
  readSample,
  requireUtf8,
  resolveEncoding,
  SAMPLE_BYTES,
  scanCsvFile,
  transcodeCp949ToUtf8,
  VALUE_PATTERNS,
  WIDENING,
} from './csv.ts';
import { planColumns } from './sniff.ts';

export interface CsvOptions {
  /** Default: detected. */
  delimiter?: Delimiter;
  /** Whether the first record holds column names. Default: detected. */
  header?: boolean;
  /** Default: detected. */
  encoding?: 'utf-8' | 'cp949';
  /**
   * Append mode: the table's existing schema. The file's columns must match it by position and
   * (when the file has a header) by name; values are cast to these types.
   */
  columns?: Column[];
}

export interface ConvertResult {
  rows: number;
  columns: Column[];
  /** Size of the Parquet file. */
  bytes: number;
  delimiter: string;
  header: boolean;
  encoding: Encoding;
}

export const ROW_GROUP_SIZE = 16384;

/** The sample grows up to this size when the first MiB holds less than two whole records. */
const SAMPLE_LIMIT = 16 * SAMPLE_BYTES;

interface Plan {
  /** The UTF-8 file DuckDB reads: the upload itself, or its transcoding / normalisation. */
  source: string;
  delimiter: Delimiter;
  header: boolean;
  names: string[];
  types: ColumnType[];
  append: boolean;
  mixedLineEndings: boolean;
}

type ScratchFile = (suffix: string) => string;

/**
 * Converts a CSV file into one Parquet file (snappy, row groups of ROW_GROUP_SIZE, rows in
 * file order). Problems with the file are thrown as ValidationError naming the physical line;
 * on any failure no file is left at `parquetPath`. Intermediate files go to `workDir` and are
 * removed before returning.
 */
export async function convertCsvToParquet(
  csvPath: string,
  parquetPath: string,
  options: CsvOptions,
  workDir: string,
): Promise<ConvertResult> {
  const scratch: string[] = [];
  const scratchFile: ScratchFile = (suffix) => {
    const file = path.join(workDir, `sluice-${randomUUID()}${suffix}`);
    scratch.push(file);
    return file;
  };
  try {
    if ((await stat(csvPath)).size === 0) throw fileProblem('The file is empty.', 1);
    const { source, encoding } = await prepareText(csvPath, options.encoding, scratchFile);
    const plan = await planConversion(source, options);
    if (plan.mixedLineEndings) await useUnixLineEndings(plan, scratchFile);
    const rows = await writeParquet(plan, parquetPath, scratchFile, workDir);
    const { size } = await stat(parquetPath);
    return {
      rows,
      columns: plan.names.map((name, i) => ({ name, type: plan.types[i] })),
      bytes: size,
      delimiter: plan.delimiter,
      header: plan.header,
      encoding,
    };
  } finally {
    await Promise.all(scratch.map((file) => rm(file, { force: true })));
  }
}

/** Checks the encoding and returns a UTF-8 file to read (transcoded from CP949 if need be). */
async function prepareText(
  csvPath: string,
  declared: CsvOptions['encoding'],
  scratchFile: ScratchFile,
): Promise<{ source: string; encoding: Encoding }> {
  if (declared === 'utf-8') return { source: csvPath, encoding: await requireUtf8(csvPath) };
  const utf8 = scratchFile('.utf8.csv');
  if (declared === 'cp949') {
    await transcodeCp949ToUtf8(csvPath, utf8);
    return { source: utf8, encoding: 'cp949' };
  }
  const { encoding, transcoded } = await resolveEncoding(csvPath, utf8);
  return { source: transcoded ? utf8 : csvPath, encoding };
}

async function sniffSample(
  source: string,
  delimiterOption: Delimiter | undefined,
): Promise<{ delimiter: Delimiter; parsed: ParsedSample; eof: boolean }> {
  for (let size = SAMPLE_BYTES; ; size *= 4) {
    const sample = await readSample(source, size);
    if (isBlank(sample.bytes) && (sample.eof || size >= SAMPLE_LIMIT)) {
      throw fileProblem('The file is empty.', 1);
    }
    const delimiter = delimiterOption ?? detectDelimiter(sample.bytes, sample.eof);
    const parsed = parseSample(sample.bytes, delimiter, sample.eof);
    if (parsed.records.length >= 2 || parsed.issue || sample.eof || size >= SAMPLE_LIMIT) {
      return { delimiter, parsed, eof: sample.eof };
    }
  }
}

/** Sniffs the sample: delimiter, header, names and types, and the problems it already shows. */
async function planConversion(source: string, options: CsvOptions): Promise<Plan> {
  const { delimiter, parsed, eof } = await sniffSample(source, options.delimiter);
  const { header, names, types } = planColumns(parsed, eof, options);
  return {
    source,
    delimiter,
    header,
    names,
    types,
    append: options.columns !== undefined,
    mixedLineEndings: parsed.mixedLineEndings,
  };
}

function problemAt(problem: { line: number; message: string }): ValidationError {
  return lineProblem(problem.line, problem.message);
}

/** DuckDB reads one kind of line ending per file; rewrite a mixed file to LF only. */
async function useUnixLineEndings(plan: Plan, scratchFile: ScratchFile): Promise<void> {
  const target = scratchFile('.lf.csv');
  await normaliseLineEndings(plan.source, target, plan.delimiter);
  plan.source = target;
  plan.mixedLineEndings = false;
}

// ---------------------------------------------------------------------------------------------
// SQL

function readCsvSql(plan: Plan, types: readonly ColumnType[]): string {
  const columns = plan.names.map((name, i) => `${sqlString(name)}: ${sqlString(duckdbType(types[i]))}`);
  return (
    `read_csv(${sqlString(plan.source)}, auto_detect = false, header = ${plan.header}, ` +
    `delim = ${sqlString(plan.delimiter)}, quote = '"', escape = '"', strict_mode = true, ` +
    `null_padding = false, columns = {${columns.join(', ')}})`
  );
}

function copySql(plan: Plan, types: readonly ColumnType[], target: string): string {
  // DuckDB reads an empty line of a one-column file as a NULL row; the scanner skips it.
  const where = plan.names.length === 1 ? ` WHERE ${sqlIdent(plan.names[0])} IS NOT NULL` : '';
  return (
    `COPY (SELECT * FROM ${readCsvSql(plan, types)}${where}) TO ${sqlString(target)} ` +
    `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`
  );
}

function matches(column: string, pattern: string): string {
  return `regexp_full_match(${column}, ${sqlString(pattern)})`;
}

/**
 * SQL for "this non-NULL VARCHAR value fits `type`": the JS predicates of csv.ts (same patterns,
 * TRY_CAST for the int64 range and calendar dates). NULL when a finite check sees infinity.
 */
export function valueFitsSql(column: string, type: Exclude<ColumnType, 'string'>): string {
  const integer = `(${matches(column, VALUE_PATTERNS.integer)} AND TRY_CAST(${column} AS BIGINT) IS NOT NULL)`;
  const date = matches(column, VALUE_PATTERNS.date);
  switch (type) {
    case 'boolean':
      return matches(column, VALUE_PATTERNS.boolean);
    case 'integer':
      return integer;
    case 'double':
      return `(${integer} OR (${matches(column, VALUE_PATTERNS.fraction)} AND isfinite(TRY_CAST(${column} AS DOUBLE))))`;
    case 'date':
      return `(${date} AND TRY_CAST(${column} AS DATE) IS NOT NULL)`;
    case 'timestamp':
      return `((${matches(column, VALUE_PATTERNS.timestamp)} OR ${date}) AND TRY_CAST(${column} AS TIMESTAMP) IS NOT NULL)`;
  }
}

/**
 * One pass over the whole file read as VARCHAR: each column keeps its sampled type or widens
 * along its chain (integer → double → string, date → timestamp → string) to the first type
 * that fits every value. Columns never become more specific than the sample said, so the
 * result does not depend on whether this pass ran.
 */
async function typeWholeFile(
  connection: DuckDBConnection,
  plan: Plan,
  sampled: readonly ColumnType[],
): Promise<ColumnType[]> {
  const checks: { column: number; type: ColumnType }[] = [];
  const aggregates: string[] = [];
  sampled.forEach((type, column) => {
    for (const candidate of WIDENING[type]) {
      if (candidate === 'string') continue;
      const ident = sqlIdent(plan.names[column]);
      aggregates.push(`bool_and(${ident} IS NULL OR coalesce(${valueFitsSql(ident, candidate)}, false))`);
      checks.push({ column, type: candidate });
    }
  });
  if (aggregates.length === 0) return [...sampled];
  const strings = sampled.map((): ColumnType => 'string');
  const reader = await connection.runAndReadAll(
    `SELECT ${aggregates.join(', ')} FROM ${readCsvSql(plan, strings)}`,
  );
  const [row] = reader.getRows();
  const types = [...strings];
  const decided = new Set<number>();
  checks.forEach(({ column, type }, i) => {
    // Candidates come most specific first, so the first one that holds wins.
    if (!decided.has(column) && row[i] === true) {
      types[column] = type;
      decided.add(column);
    }
  });
  return types;
}

// ---------------------------------------------------------------------------------------------
// Running the COPY and explaining failures

type Failure = 'conversion' | 'structural' | 'other';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function classify(message: string): Failure {
  if (/^Conversion Error|Could not convert string|Error when converting column/.test(message)) {
    return 'conversion';
  }
  if (
    /CSV Error on Line|Expected Number of Columns|unterminated quote|Invalid unicode|state machine|Maximum line size|not RFC 4180/i.test(
      message,
    )
  ) {
    return 'structural';
  }
  return 'other';
}

/** The record number in `CSV Error on Line: N` (records and empty lines, header = 1). */
function duckdbOrdinal(message: string): number | undefined {
  const match = /CSV Error on Line: (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** The column a conversion error names, as an index into `names` (-1 when none matches). */
function failingColumn(message: string, names: readonly string[]): number {
  let best = -1;
  names.forEach((name, i) => {
    if (message.includes(`converting column "${name}"`) && (best < 0 || name.length > names[best].length)) {
      best = i;
    }
  });
  return best;
}

function failingValue(message: string): string | undefined {
  return /Could not convert string "(.*)" to '/s.exec(message)?.[1];
}

const IS_NOT: Record<ColumnType, string> = {
  integer: 'is not an integer',
  double: 'is not a number',
  boolean: 'is not true or false',
  date: 'is not a valid date (YYYY-MM-DD)',
  timestamp: 'is not a valid timestamp (YYYY-MM-DD HH:MM:SS)',
  string: 'cannot be read',
};

function quoteValue(value: string): string {
  const short = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(short);
}

/** Append mode: a value that does not fit the table's column type. */
async function conversionProblem(plan: Plan, message: string): Promise<ValidationError> {
  const column = failingColumn(message, plan.names);
  const ordinal = duckdbOrdinal(message);
  const target = ordinal
    ? (await scanCsvFile(plan.source, plan.delimiter, { targetOrdinal: ordinal })).target
    : undefined;
  const line = target?.line ?? ordinal;
  if (column < 0) {
    const sentence = 'a value does not match its column type in the table.';
    return line
      ? lineProblem(line, sentence)
      : fileProblem('A value does not match its column type in the table.');
  }
  const value = target?.fields?.[column] ?? failingValue(message) ?? '';
  const sentence = `value ${quoteValue(value)} in column ${JSON.stringify(plan.names[column])} ${IS_NOT[plan.types[column]]}.`;
  return line ? lineProblem(line, sentence) : fileProblem(`The ${sentence}`);
}

/** A structural DuckDB error, explained by the scanner; or a request to rewrite line endings. */
async function structuralProblem(
  plan: Plan,
  message: string,
): Promise<ValidationError | 'mixed-line-endings'> {
  const ordinal = duckdbOrdinal(message);
  const scan = await scanCsvFile(plan.source, plan.delimiter, {
    expectedFields: plan.names.length,
    targetOrdinal: ordinal,
  });
  if (scan.problem) return problemAt(scan.problem);
  if (scan.mixedLineEndings) return 'mixed-line-endings';
  const line = scan.target?.line ?? ordinal;
  const limit = /Maximum line size of (\d+) bytes/i.exec(message)?.[1];
  const sentence = /Maximum line size/i.test(message)
    ? `the record is too long to read${limit ? ` (the limit is ${Number(limit).toLocaleString('en-US')} bytes)` : ''}.`
    : /Invalid unicode/i.test(message)
      ? 'the text is not valid UTF-8.'
      : 'the file cannot be read as CSV from here on.';
  return line ? lineProblem(line, sentence) : fileProblem('The file cannot be read as CSV.');
}

async function copyRows(connection: DuckDBConnection, sql: string): Promise<number> {
  const result = await connection.run(sql);
  const [row] = await result.getRows();
  const count = row?.[0];
  return typeof count === 'bigint' || typeof count === 'number' ? Number(count) : result.rowsChanged;
}

/**
 * The single COPY, and only when DuckDB refuses it: explain a structural error, retype the
 * columns after a conversion error (or report it in append mode), or rewrite mixed line
 * endings, then try again.
 */
async function copyWithRecovery(
  connection: DuckDBConnection,
  plan: Plan,
  target: string,
  scratchFile: ScratchFile,
): Promise<number> {
  let retyped = false;
  let retypeNow = false;
  let attemptsLeft = plan.names.length + 3;
  for (;;) {
    try {
      if (retypeNow) {
        plan.types = await typeWholeFile(connection, plan, plan.types);
        retypeNow = false;
        retyped = true;
      }
      return await copyRows(connection, copySql(plan, plan.types, target));
    } catch (error) {
      await rm(target, { force: true });
      const message = messageOf(error);
      const failure = classify(message);
      if (failure === 'other' || --attemptsLeft < 0) throw error;
      if (failure === 'structural') {
        const outcome = await structuralProblem(plan, message);
        if (outcome !== 'mixed-line-endings') throw outcome;
        await useUnixLineEndings(plan, scratchFile);
        continue;
      }
      if (plan.append) throw await conversionProblem(plan, message);
      if (!retyped) {
        retypeNow = true;
        continue;
      }
      // DuckDB's CSV casts and TRY_CAST disagreed on some value: keep that column as text.
      const column = failingColumn(message, plan.names);
      if (column < 0 || plan.types[column] === 'string') throw error;
      plan.types[column] = 'string';
    }
  }
}

async function writeParquet(
  plan: Plan,
  parquetPath: string,
  scratchFile: ScratchFile,
  workDir: string,
): Promise<number> {
  // Written beside the target and renamed, so a failure never leaves a partial file there.
  const partial = `${parquetPath}.${randomUUID()}.partial`;
  try {
    // Column names from the file's header end up in the SQL: the instance sees only these folders.
    const folders = [workDir, path.dirname(parquetPath), path.dirname(plan.source)];
    const rows = await withSandbox(folders, (connection) =>
      copyWithRecovery(connection, plan, partial, scratchFile),
    );
    await rename(partial, parquetPath);
    return rows;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

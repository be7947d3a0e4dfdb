/**
 * The CSV rules behind table uploads: a byte-level record scanner, delimiter / header / type
 * sniffing over a sample, and encoding detection. DuckDB does the heavy reading (see
 * convert.ts); this module decides the options DuckDB is given and explains, with physical
 * line numbers, what is wrong with a file DuckDB rejects.
 *
 * Line numbers are always physical: 1-based, counting every LF, CRLF and lone CR in the file,
 * including the ones inside quoted values.
 */
import { isUtf8 } from 'node:buffer';
import { open, rm } from 'node:fs/promises';
import { ValidationError } from '../errors.ts';
import type { ColumnType } from '../type-map.ts';

export type { ColumnType };

export interface Column {
  name: string;
  type: ColumnType;
}

export type Delimiter = ',' | ';' | '\t' | '|';

/** Candidate delimiters, in order of preference when two fit equally well. */
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t', '|'];

export type Encoding = 'utf-8' | 'utf-8-bom' | 'cp949';

/** How much of a file the sniffer looks at. */
export const SAMPLE_BYTES = 1024 * 1024;

const CHUNK_BYTES = 1024 * 1024;

// The map lives in type-map.ts; this module's importers know it by its older name.
export { duckDbTypeOfColumn as duckdbType } from '../type-map.ts';

// ---------------------------------------------------------------------------------------------
// Problems

/** A problem with the uploaded file. `detail` is a full sentence; `line` is physical, 1-based. */
export function fileProblem(detail: string, line?: number): ValidationError {
  return new ValidationError(
    detail,
    [{ field: 'file', message: detail }],
    line === undefined ? {} : { line },
  );
}

/** `Line 5: expected 3 fields but found 2.` from a sentence that starts in lower case. */
export function lineProblem(line: number, sentence: string): ValidationError {
  return fileProblem(`Line ${line}: ${sentence}`, line);
}

// ---------------------------------------------------------------------------------------------
// Value types. The patterns are plain strings that mean the same to JavaScript and to RE2 (the
// engine behind DuckDB's regexp_full_match), so the SQL fallback in convert.ts applies exactly
// these rules; both sides anchor them to the whole value.

const DATE = '[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])';
const TIME = '(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?';
const EXPONENT = '[eE][+-]?[0-9]+';
const WHOLE = '(?:0|[1-9][0-9]*)';

export const VALUE_PATTERNS = {
  boolean: '[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]',
  /** No leading zeros: `007` is a code, not a number. The int64 range is checked separately. */
  integer: `[+-]?${WHOLE}`,
  /** A number with a decimal point or an exponent; whole numbers fit doubles through `integer`. */
  fraction: `[+-]?(?:${WHOLE}(?:\\.[0-9]*(?:${EXPONENT})?|${EXPONENT})|\\.[0-9]+(?:${EXPONENT})?)`,
  /** Calendar validity (no 2026-02-30) is checked separately. */
  date: DATE,
  /** Without a zone offset; dates alone fit timestamps through `date`. */
  timestamp: `${DATE}[ T]${TIME}`,
} as const;

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

const BOOLEAN_RE = anchored(VALUE_PATTERNS.boolean);
const INTEGER_RE = anchored(VALUE_PATTERNS.integer);
const FRACTION_RE = anchored(VALUE_PATTERNS.fraction);
const DATE_RE = anchored(VALUE_PATTERNS.date);
const TIMESTAMP_RE = anchored(VALUE_PATTERNS.timestamp);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function isBooleanValue(value: string): boolean {
  return BOOLEAN_RE.test(value);
}

export function isIntegerValue(value: string): boolean {
  if (!INTEGER_RE.test(value)) return false;
  // Up to 18 digits always fits; longer values are compared exactly.
  if (value.length <= 18) return true;
  const n = BigInt(value);
  return n >= INT64_MIN && n <= INT64_MAX;
}

export function isDoubleValue(value: string): boolean {
  if (isIntegerValue(value)) return true;
  return FRACTION_RE.test(value) && Number.isFinite(Number(value));
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` at the start of a value that already matched a date pattern. */
function isCalendarDate(value: string): boolean {
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
  return day <= days;
}

export function isDateValue(value: string): boolean {
  return DATE_RE.test(value) && isCalendarDate(value);
}

export function isTimestampValue(value: string): boolean {
  return (TIMESTAMP_RE.test(value) || DATE_RE.test(value)) && isCalendarDate(value);
}

/** The most specific type of one value, or null for an empty value (NULL). */
export function inferValueType(value: string): ColumnType | null {
  if (value === '') return null;
  if (isBooleanValue(value)) return 'boolean';
  if (isIntegerValue(value)) return 'integer';
  if (isDoubleValue(value)) return 'double';
  if (isDateValue(value)) return 'date';
  if (isTimestampValue(value)) return 'timestamp';
  return 'string';
}

/**
 * Types a value may widen to, most specific first. A column's type only ever moves along its
 * chain: integer → double → string, date → timestamp → string, boolean → string.
 */
export const WIDENING: Record<ColumnType, readonly ColumnType[]> = {
  boolean: ['boolean', 'string'],
  integer: ['integer', 'double', 'string'],
  double: ['double', 'string'],
  date: ['date', 'timestamp', 'string'],
  timestamp: ['timestamp', 'string'],
  string: ['string'],
};

const BOOLEAN = 1;
const INTEGER = 2;
const DOUBLE = 4;
const DATE_BIT = 8;
const TIMESTAMP = 16;

/** Narrows a set of candidate types (bits) to those `value` fits; one test per family. */
function narrow(candidates: number, value: string): number {
  let left = candidates;
  if (left & BOOLEAN && !isBooleanValue(value)) left &= ~BOOLEAN;
  // Integers fit doubles, dates fit timestamps: test the wider type only when needed.
  if (left & (INTEGER | DOUBLE) && !isIntegerValue(value)) {
    left &= ~INTEGER;
    if (left & DOUBLE && !isDoubleValue(value)) left &= ~DOUBLE;
  }
  if (left & (DATE_BIT | TIMESTAMP) && !isDateValue(value)) {
    left &= ~DATE_BIT;
    if (left & TIMESTAMP && !isTimestampValue(value)) left &= ~TIMESTAMP;
  }
  return left;
}

/**
 * The type of each column: the most specific type that fits every non-empty value; a column
 * with no values at all is a string column.
 */
export function inferColumnTypes(rows: readonly (readonly string[])[], width: number): ColumnType[] {
  const types: ColumnType[] = [];
  for (let c = 0; c < width; c++) {
    let candidates = BOOLEAN | INTEGER | DOUBLE | DATE_BIT | TIMESTAMP;
    let seen = false;
    for (const row of rows) {
      const value = row[c];
      if (value === undefined || value === '') continue;
      seen = true;
      candidates = narrow(candidates, value);
      if (candidates === 0) break;
    }
    if (!seen || candidates === 0) types.push('string');
    else if (candidates & BOOLEAN) types.push('boolean');
    else if (candidates & INTEGER) types.push('integer');
    else if (candidates & DOUBLE) types.push('double');
    else if (candidates & DATE_BIT) types.push('date');
    else types.push('timestamp');
  }
  return types;
}

// ---------------------------------------------------------------------------------------------
// Header

/** True when a first record reads as column names: none of its values has a non-string type. */
export function looksLikeHeader(values: readonly string[]): boolean {
  return values.every((value) => {
    const type = inferValueType(value);
    return type === null || type === 'string';
  });
}

export function defaultColumnNames(width: number): string[] {
  return Array.from({ length: width }, (_, i) => `column_${i + 1}`);
}

/**
 * Column names from a header record: control characters become spaces, names are trimmed,
 * empty names become `column_<i>`, and repeats (compared case-insensitively, as DuckDB compares
 * identifiers) get `_2`, `_3`, ... appended.
 */
export function normaliseHeader(values: readonly string[]): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const cleaned = values.map((v, i) => v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim() || `column_${i + 1}`);
  const taken = new Set<string>();
  return cleaned.map((name) => {
    let unique = name;
    for (let n = 2; taken.has(unique.toLowerCase()); n++) unique = `${name}_${n}`;
    taken.add(unique.toLowerCase());
    return unique;
  });
}

// ---------------------------------------------------------------------------------------------
// Record scanner

export interface CsvRecord {
  /** Physical 1-based line where the record starts. */
  line: number;
  /**
   * 1-based position among records and empty lines. This is the "line" DuckDB's CSV errors
   * name: it counts a record with quoted line breaks as one.
   */
  ordinal: number;
  fieldCount: number;
  /** How many of the last fields are empty (no characters, quoted or not). */
  trailingEmpty: number;
  /** Field values (quotes removed, `""` unescaped), when the scanner was asked for them. */
  fields?: string[];
}

export type ScanIssueKind = 'unterminated-quote' | 'text-after-quote';

export interface ScanIssue {
  kind: ScanIssueKind;
  /** Physical line of the opening quote (unterminated) or of the stray text. */
  line: number;
  /** 1-based field number within the record. */
  field: number;
}

export interface LineEndings {
  lf: number;
  crlf: number;
  cr: number;
}

export interface ScannerOptions {
  delimiter: Delimiter;
  /** Whether to decode field values: for all records or those whose ordinal passes. */
  fields?: boolean | ((ordinal: number) => boolean);
  /** Called for each complete record; return false to stop scanning. */
  onRecord: (record: CsvRecord) => boolean | undefined;
  /**
   * Called for each line break that ends a record or an empty line: `cr` for a CR (about to be
   * followed by LF or not), `lf-after-cr` for the LF of a CRLF, `lf` for a lone LF. `position` is
   * the byte's index in the chunk being pushed.
   */
  onBreak?: (position: number, kind: 'cr' | 'lf-after-cr' | 'lf') => void;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

const S_RECORD = 0; // between records
const S_FIELD = 1; // at the start of a field
const S_SPACES = 2; // only spaces so far in this field (they may precede an opening quote)
const S_UNQUOTED = 3;
const S_QUOTED = 4;
const S_QUOTED_QUOTE = 5; // a quote inside a quoted field: the closing one or the first of ""
const S_CLOSED = 6; // after the closing quote, only spaces until the delimiter

/**
 * An incremental, quote-aware RFC 4180 scanner over bytes. Like DuckDB it accepts spaces around
 * a quoted value, treats a quote inside an unquoted value as an ordinary character, and skips
 * empty lines. Records end at LF, CRLF or a lone CR; a record only ends when its line break
 * is seen or `end()` is called, so a scan of a sample never yields a cut-off last record.
 */
export class CsvScanner {
  readonly lineEndings: LineEndings = { lf: 0, crlf: 0, cr: 0 };
  issue: ScanIssue | undefined;
  stopped = false;
  /** Complete records seen. */
  records = 0;

  private readonly delimiter: number;
  private readonly wantFields: (ordinal: number) => boolean;
  private readonly onRecord: ScannerOptions['onRecord'];
  private readonly onBreak: ScannerOptions['onBreak'];

  private state = S_RECORD;
  private line = 1;
  private prevCR = false;
  private ordinal = 0;
  private recordLine = 0;
  private quoteLine = 0;
  private fieldCount = 0;
  private trailingEmpty = 0;
  private collecting = false;
  private fields: string[] = [];
  /**
   * A value being collected is `value[0, valueLength)` followed by `chunk[sliceStart, end)` of
   * the chunk being pushed; bytes are only copied into `value` at chunk ends and at `""`.
   * `sliceEnd` is where a quoted value's closing quote was seen (-1: in an earlier chunk).
   */
  private value = Buffer.allocUnsafe(256);
  private valueLength = 0;
  /** Bytes of the current value already passed to `copy` (collected or not). */
  private spilled = 0;
  private sliceStart = 0;
  private sliceEnd = 0;

  constructor(options: ScannerOptions) {
    this.delimiter = options.delimiter.charCodeAt(0);
    const fields = options.fields ?? false;
    this.wantFields = typeof fields === 'function' ? fields : () => fields;
    this.onRecord = options.onRecord;
    this.onBreak = options.onBreak;
  }

  get mixedLineEndings(): boolean {
    const { lf, crlf, cr } = this.lineEndings;
    return (lf > 0 ? 1 : 0) + (crlf > 0 ? 1 : 0) + (cr > 0 ? 1 : 0) > 1;
  }

  /** Scans the next bytes; false once scanning has stopped. */
  push(bytes: Uint8Array): boolean {
    if (this.stopped) return false;
    // Buffer#toString decodes short slices faster than TextDecoder over subarrays.
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const delimiter = this.delimiter;
    const n = chunk.length;
    let state = this.state;
    let line = this.line;
    let prevCR = this.prevCR;
    for (let i = 0; i < n; i++) {
      const b = chunk[i];
      const byteLine = line;
      const afterCR = prevCR;
      if (b === LF) {
        if (!afterCR) line++;
        prevCR = false;
      } else if (b === CR) {
        line++;
        prevCR = true;
      } else {
        prevCR = false;
      }

      if (state === S_RECORD) {
        if (b === LF) {
          if (afterCR) {
            this.lineEndings.cr--;
            this.lineEndings.crlf++;
            this.onBreak?.(i, 'lf-after-cr');
          } else {
            this.ordinal++;
            this.lineEndings.lf++;
            this.onBreak?.(i, 'lf');
          }
          continue;
        }
        if (b === CR) {
          this.ordinal++;
          this.lineEndings.cr++;
          this.onBreak?.(i, 'cr');
          continue;
        }
        this.ordinal++;
        this.recordLine = byteLine;
        this.fieldCount = 0;
        this.trailingEmpty = 0;
        this.collecting = this.wantFields(this.ordinal);
        state = S_FIELD;
      }

      switch (state) {
        case S_FIELD:
        case S_SPACES:
          if (b === QUOTE) {
            // Spaces before an opening quote are not part of the value.
            this.valueLength = 0;
            this.spilled = 0;
            this.sliceStart = i + 1;
            this.quoteLine = byteLine;
            state = S_QUOTED;
          } else if (b === delimiter || b === LF || b === CR) {
            // An empty value, or only spaces since sliceStart.
            if (state === S_FIELD) this.sliceStart = i;
            this.endField(chunk, i);
            state = b === delimiter ? S_FIELD : this.endRecord(b, i);
          } else {
            if (state === S_FIELD) this.sliceStart = i;
            state = b === SPACE ? S_SPACES : S_UNQUOTED;
          }
          break;
        case S_UNQUOTED:
          if (b === delimiter) {
            this.endField(chunk, i);
            state = S_FIELD;
          } else if (b === LF || b === CR) {
            this.endField(chunk, i);
            state = this.endRecord(b, i);
          }
          break;
        case S_QUOTED:
          if (b === QUOTE) {
            this.sliceEnd = i;
            state = S_QUOTED_QUOTE;
          }
          break;
        case S_QUOTED_QUOTE:
        case S_CLOSED:
          if (b === QUOTE && state === S_QUOTED_QUOTE) {
            // "" inside quotes: keep the first quote as a literal one.
            if (this.sliceEnd < 0) this.copy(Uint8Array.of(QUOTE), 0, 1);
            else this.copy(chunk, this.sliceStart, this.sliceEnd + 1);
            this.sliceStart = i + 1;
            state = S_QUOTED;
          } else if (b === delimiter) {
            this.endField(chunk, this.sliceEnd);
            state = S_FIELD;
          } else if (b === LF || b === CR) {
            this.endField(chunk, this.sliceEnd);
            state = this.endRecord(b, i);
          } else if (b === SPACE) {
            state = S_CLOSED;
          } else {
            this.issue = { kind: 'text-after-quote', line: byteLine, field: this.fieldCount + 1 };
            this.stopped = true;
          }
          break;
      }
      if (this.stopped) break;
    }
    if (!this.stopped && state !== S_RECORD) this.carryValue(chunk, state);
    this.state = state;
    this.line = line;
    this.prevCR = prevCR;
    return !this.stopped;
  }

  /** Ends the input: flushes a last record without a line break, or notes an open quote. */
  end(): void {
    if (this.stopped) return;
    const empty = Buffer.alloc(0);
    if (this.state === S_QUOTED) {
      this.issue = { kind: 'unterminated-quote', line: this.quoteLine, field: this.fieldCount + 1 };
      this.stopped = true;
    } else if (this.state !== S_RECORD) {
      this.endField(empty, 0);
      this.state = this.endRecord(-1, -1);
    }
  }

  /** At a chunk's end, moves the part of the current value seen so far into `value`. */
  private carryValue(chunk: Buffer, state: number): void {
    if (state === S_FIELD) return;
    const quoteSeen = state === S_QUOTED_QUOTE || state === S_CLOSED;
    const end = quoteSeen ? this.sliceEnd : chunk.length;
    if (end > this.sliceStart) this.copy(chunk, this.sliceStart, end);
    this.sliceStart = 0;
    this.sliceEnd = quoteSeen ? -1 : 0;
  }

  private copy(bytes: Uint8Array, from: number, to: number): void {
    this.spilled += to - from;
    if (!this.collecting) return;
    const needed = this.valueLength + (to - from);
    if (needed > this.value.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.value.length * 2));
      this.value.copy(grown, 0, 0, this.valueLength);
      this.value = grown;
    }
    this.value.set(bytes.subarray(from, to), this.valueLength);
    this.valueLength = needed;
  }

  /** Ends the current field; its value runs up to `end` in `chunk` (-1: ended in an earlier chunk). */
  private endField(chunk: Buffer, end: number): void {
    this.fieldCount++;
    const to = Math.max(end, this.sliceStart);
    if (this.spilled + (to - this.sliceStart) === 0) this.trailingEmpty++;
    else this.trailingEmpty = 0;
    if (this.collecting) {
      if (this.valueLength === 0) {
        this.fields.push(chunk.toString('utf8', this.sliceStart, to));
      } else {
        this.copy(chunk, this.sliceStart, to);
        this.fields.push(this.value.toString('utf8', 0, this.valueLength));
      }
    }
    this.valueLength = 0;
    this.spilled = 0;
    this.sliceStart = 0;
    this.sliceEnd = 0;
  }

  /** Ends the current record at line-break byte `b` (-1 at end of input). */
  private endRecord(b: number, position: number): number {
    if (b === LF) {
      this.lineEndings.lf++;
      this.onBreak?.(position, 'lf');
    } else if (b === CR) {
      this.lineEndings.cr++;
      this.onBreak?.(position, 'cr');
    }
    const record: CsvRecord = {
      line: this.recordLine,
      ordinal: this.ordinal,
      fieldCount: this.fieldCount,
      trailingEmpty: this.trailingEmpty,
    };
    if (this.collecting) record.fields = this.fields;
    this.fields = [];
    this.records++;
    if (this.onRecord(record) === false) this.stopped = true;
    return S_RECORD;
  }
}

// ---------------------------------------------------------------------------------------------
// Sample: parse, delimiter, header

export interface ParsedSample {
  records: CsvRecord[];
  issue: ScanIssue | undefined;
  mixedLineEndings: boolean;
}

/**
 * Parses sample bytes (without a BOM) into records with field values. Unless `eof` says the
 * sample is the whole file, a last record without its line break is left out.
 */
export function parseSample(bytes: Uint8Array, delimiter: Delimiter, eof: boolean): ParsedSample {
  const records: CsvRecord[] = [];
  const scanner = new CsvScanner({
    delimiter,
    fields: true,
    onRecord: (record) => {
      records.push(record);
      return true;
    },
  });
  scanner.push(bytes);
  if (eof) scanner.end();
  return { records, issue: scanner.issue, mixedLineEndings: scanner.mixedLineEndings };
}

/**
 * The delimiter that splits the most sample records into the same number of fields (more than
 * one) as the first record; ties go to the earlier candidate in DELIMITERS, and `,` when no
 * candidate splits anything (a single-column file).
 */
export function detectDelimiter(bytes: Uint8Array, eof: boolean): Delimiter {
  let best: Delimiter = ',';
  let bestScore = 0;
  for (const delimiter of DELIMITERS) {
    let width = -1;
    let score = 0;
    const scanner = new CsvScanner({
      delimiter,
      onRecord: (record) => {
        if (width === -1) width = record.fieldCount;
        if (width < 2) return false;
        if (fitsWidth(record, width)) score++;
        return true;
      },
    });
    scanner.push(bytes);
    if (eof) scanner.end();
    if (score > bestScore) {
      best = delimiter;
      bestScore = score;
    }
  }
  return best;
}

export interface Sample {
  /** Leading bytes of the file, without a BOM. */
  bytes: Uint8Array;
  /** True when `bytes` is the whole file. */
  eof: boolean;
  bom: boolean;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/** Reads the first `size` bytes of a file (fewer at end of file), dropping a UTF-8 BOM. */
export async function readSample(path: string, size = SAMPLE_BYTES): Promise<Sample> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const eof = length <= size;
    const bytes = buffer.subarray(0, Math.min(length, size));
    const bom = startsWith(bytes, UTF8_BOM);
    return { bytes: bom ? bytes.subarray(3) : bytes, eof, bom };
  } finally {
    await handle.close();
  }
}

/** True when the bytes are only spaces, tabs and line breaks. */
export function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b !== SPACE && b !== 0x09 && b !== LF && b !== CR) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Whole-file scan

async function* chunksOf(path: string, chunkSize = CHUNK_BYTES): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    // One buffer, reused: a chunk is only valid until the next one is requested.
    const buffer = Buffer.allocUnsafe(chunkSize);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkSize, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

export interface StructuralProblem {
  line: number;
  /** A sentence starting in lower case, for `lineProblem`. */
  message: string;
}

export interface FileScan {
  /** The first record with the wrong number of fields, or the first quoting error. */
  problem: StructuralProblem | undefined;
  /** The record DuckDB would call line `targetOrdinal`, with its fields, when asked for. */
  target: CsvRecord | undefined;
  records: number;
  mixedLineEndings: boolean;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Whether a record has `width` fields. Like DuckDB, extra fields at the end are allowed when
 * they are all empty (a trailing delimiter).
 */
export function fitsWidth(record: CsvRecord, width: number): boolean {
  return (
    record.fieldCount === width ||
    (record.fieldCount > width && record.fieldCount - record.trailingEmpty <= width)
  );
}

export function fieldCountMessage(expected: number, found: number): string {
  return `expected ${plural(expected, 'field')} but found ${found}.`;
}

export function issueProblem(issue: ScanIssue): StructuralProblem {
  return issue.kind === 'unterminated-quote'
    ? { line: issue.line, message: 'a quoted value starts here but its closing quote is missing.' }
    : {
        line: issue.line,
        message: `field ${issue.field} has text after its closing quote; write a quote inside a quoted value as "".`,
      };
}

/**
 * Streams a whole file through the scanner (never holding more than one chunk) and returns
 * the first structural problem: a record whose field count differs from `expectedFields`
 * (default: the first record's), text after a closing quote, or a quote still open at the end.
 */
export async function scanCsvFile(
  path: string,
  delimiter: Delimiter,
  options: { expectedFields?: number; targetOrdinal?: number } = {},
): Promise<FileScan> {
  let expected = options.expectedFields;
  let problem: StructuralProblem | undefined;
  let target: CsvRecord | undefined;
  const scanner = new CsvScanner({
    delimiter,
    fields: (ordinal) => ordinal === options.targetOrdinal,
    onRecord: (record) => {
      if (record.ordinal === options.targetOrdinal) target = record;
      expected ??= record.fieldCount;
      if (!fitsWidth(record, expected)) {
        problem = { line: record.line, message: fieldCountMessage(expected, record.fieldCount) };
        return false;
      }
      return true;
    },
  });
  let first = true;
  for await (const chunk of chunksOf(path)) {
    const bytes = first && startsWith(chunk, UTF8_BOM) ? chunk.subarray(3) : chunk;
    first = false;
    if (!scanner.push(bytes)) break;
  }
  scanner.end();
  if (!problem && scanner.issue) problem = issueProblem(scanner.issue);
  return { problem, target, records: scanner.records, mixedLineEndings: scanner.mixedLineEndings };
}

/**
 * Copies a CSV file with every record-ending CRLF or lone CR replaced by LF; line breaks
 * inside quoted values are kept. The number of physical lines does not change.
 */
export async function normaliseLineEndings(
  source: string,
  target: string,
  delimiter: Delimiter,
): Promise<void> {
  const out = await open(target, 'w');
  try {
    let edits: { position: number; kind: 'cr' | 'lf-after-cr' | 'lf' }[] = [];
    const scanner = new CsvScanner({
      delimiter,
      onRecord: () => true,
      onBreak: (position, kind) => {
        if (kind !== 'lf') edits.push({ position, kind });
      },
    });
    for await (const chunk of chunksOf(source)) {
      edits = [];
      scanner.push(chunk);
      const parts: Uint8Array[] = [];
      let from = 0;
      for (const { position, kind } of edits) {
        parts.push(chunk.subarray(from, position));
        if (kind === 'cr') parts.push(LF_BYTE);
        from = position + 1;
      }
      parts.push(chunk.subarray(from));
      await out.write(Buffer.concat(parts));
    }
  } catch (error) {
    await out.close();
    await rm(target, { force: true });
    throw error;
  }
  await out.close();
}

const LF_BYTE = Uint8Array.of(LF);

// ---------------------------------------------------------------------------------------------
// Encoding

/** Length of the incomplete UTF-8 sequence at the end of `bytes` (0 when it ends cleanly). */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Index of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i;
    const second = bytes[i + 1];
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Physical 1-based line of byte `offset` in a file. */
async function lineAtOffset(path: string, offset: number): Promise<number> {
  let line = 1;
  let prevCR = false;
  let position = 0;
  for await (const chunk of chunksOf(path)) {
    const end = Math.min(chunk.length, offset - position);
    for (let i = 0; i < end; i++) {
      const b = chunk[i];
      if (b === CR) line++;
      else if (b === LF && !prevCR) line++;
      prevCR = b === CR;
    }
    position += chunk.length;
    if (position >= offset) break;
  }
  return line;
}

/** Line breaks in decoded text, with CRLF split across calls counted once. */
class LineCounter {
  line = 1;
  private prevCR = false;

  add(text: string, end = text.length): void {
    for (let i = 0; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === CR) this.line++;
      else if (c === LF && !this.prevCR) this.line++;
      this.prevCR = c === CR;
    }
  }
}

export interface Utf8Check {
  bom: boolean;
  /** Byte offset of the first invalid byte, when the file is not valid UTF-8. */
  invalidOffset?: number;
}

/**
 * One streaming pass of `isUtf8` over the file. A sequence cut by a chunk boundary is checked
 * with the next chunk's first bytes instead of copying chunks together.
 */
export async function checkUtf8(path: string): Promise<Utf8Check> {
  let offset = 0;
  let bom = false;
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunksOf(path)) {
    let start = 0;
    if (offset === 0 && startsWith(chunk, UTF8_BOM)) {
      bom = true;
      start = 3;
    }
    if (carry.length > 0) {
      // Complete the cut sequence: its lead byte says how long it is.
      const lead = carry[0];
      const total = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      const take = Math.min(total - carry.length, chunk.length);
      const joined = new Uint8Array(carry.length + take);
      joined.set(carry);
      joined.set(chunk.subarray(0, take), carry.length);
      const carryStart = offset - carry.length;
      if (joined.length < total) {
        carry = joined;
        offset += chunk.length;
        continue;
      }
      if (!isUtf8(joined)) return { bom, invalidOffset: carryStart };
      carry = new Uint8Array(0);
      start = take;
    }
    const body = chunk.subarray(start);
    const tail = incompleteTail(body);
    const whole = body.subarray(0, body.length - tail);
    if (!isUtf8(whole)) return { bom, invalidOffset: offset + start + Math.max(0, firstInvalidUtf8(whole)) };
    // Copied: the chunk's buffer is reused by the next read.
    if (tail > 0) carry = Uint8Array.from(body.subarray(body.length - tail));
    offset += chunk.length;
  }
  if (carry.length > 0) return { bom, invalidOffset: offset - carry.length };
  return { bom };
}

/**
 * Decodes a file as CP949 in one streaming pass, writing UTF-8 to `target` when given. Returns
 * the physical line of the first byte sequence that is not CP949, or undefined when all are.
 * On failure the partial target is removed.
 */
async function decodeCp949(source: string, target?: string): Promise<number | undefined> {
  // WHATWG's euc-kr is windows-949 (CP949); Node's full ICU decodes it.
  const textDecoder = new TextDecoder('euc-kr');
  const decoder = {
    write: (bytes: Uint8Array) => textDecoder.decode(bytes, { stream: true }),
    end: () => textDecoder.decode(),
  };
  const lines = new LineCounter();
  const out = target ? await open(target, 'w') : undefined;
  let failedAt: number | undefined;
  try {
    const emit = async (text: string): Promise<boolean> => {
      const bad = text.indexOf('\uFFFD');
      if (bad >= 0) {
        lines.add(text, bad);
        failedAt = lines.line;
        return false;
      }
      lines.add(text);
      if (out && text.length > 0) await out.write(text);
      return true;
    };
    let ok = true;
    for await (const chunk of chunksOf(source)) {
      // The decoder may keep a cut double-byte sequence; give it bytes of its own.
      ok = await emit(decoder.write(Buffer.from(chunk)));
      if (!ok) break;
    }
    if (ok) await emit(decoder.end() ?? '');
  } finally {
    await out?.close();
  }
  if (failedAt !== undefined && target) await rm(target, { force: true });
  return failedAt;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

async function leadingBytes(path: string, n: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buffer, 0, n, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Rejects files that are not text in any encoding we read (UTF-16, spreadsheets). */
export async function rejectNonText(path: string): Promise<void> {
  const head = await leadingBytes(path, 4);
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) {
    throw fileProblem('The file is UTF-16 text, which is not supported; save it as UTF-8.', 1);
  }
  if (startsWith(head, ZIP_MAGIC)) {
    throw fileProblem(
      'The file looks like a spreadsheet or ZIP archive, not CSV text; save it as CSV (UTF-8).',
      1,
    );
  }
}

function encodingProblem(line: number): ValidationError {
  return lineProblem(line, 'the file is neither valid UTF-8 nor CP949 (EUC-KR) text; save it as UTF-8.');
}

function utf8Problem(line: number): ValidationError {
  return lineProblem(line, 'the file is not valid UTF-8 text; save it as UTF-8.');
}

/** Reads the file as UTF-8 only; a problem names the line of the first invalid byte. */
export async function requireUtf8(path: string): Promise<'utf-8' | 'utf-8-bom'> {
  await rejectNonText(path);
  const check = await checkUtf8(path);
  if (check.invalidOffset !== undefined) throw utf8Problem(await lineAtOffset(path, check.invalidOffset));
  return check.bom ? 'utf-8-bom' : 'utf-8';
}

/**
 * The file's encoding: UTF-8 (with or without BOM) when it is valid UTF-8, else CP949 when it
 * decodes as CP949. Otherwise the problem names the line where the first invalid byte sits in
 * whichever of the two readings got further (the likelier intended encoding).
 */
export async function detectEncoding(path: string): Promise<Encoding> {
  return (await resolveEncoding(path)).encoding;
}

/**
 * Like `detectEncoding`, and when the file is CP949 also writes its UTF-8 transcoding to
 * `utf8Target` in the same pass that checks it.
 */
export async function resolveEncoding(
  path: string,
  utf8Target?: string,
): Promise<{ encoding: Encoding; transcoded: boolean }> {
  await rejectNonText(path);
  const check = await checkUtf8(path);
  if (check.invalidOffset === undefined) {
    return { encoding: check.bom ? 'utf-8-bom' : 'utf-8', transcoded: false };
  }
  const utf8Line = await lineAtOffset(path, check.invalidOffset);
  if (check.bom) throw utf8Problem(utf8Line);
  const cp949Line = await decodeCp949(path, utf8Target);
  if (cp949Line === undefined) return { encoding: 'cp949', transcoded: utf8Target !== undefined };
  throw encodingProblem(Math.max(utf8Line, cp949Line));
}

/** Streams a CP949 file into a UTF-8 file; a byte sequence that is not CP949 is a problem. */
export async function transcodeCp949ToUtf8(source: string, target: string): Promise<void> {
  await rejectNonText(source);
  const badLine = await decodeCp949(source, target);
  if (badLine !== undefined) {
    throw lineProblem(badLine, 'the file is not valid CP949 (EUC-KR) text; save it as UTF-8.');
  }
}

/**
 * Schema inference without storing anything (`POST /api/v1/tables/schema`, the upload preview).
 * A CSV is read by the ingest's own rules (encoding, delimiter, header, value types: csv.ts and
 * sniff.ts) over the whole file, which is small here (the direct-upload limit); a Parquet file's
 * schema is read from its footer. Types are given by their Arrow names, as the D.Hub reference
 * does (`int64`, `double`, `string`, `timestamp`, ...), with Sluice's own column type next to
 * each.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata, parquetSchema, type SchemaTree } from 'hyparquet';
import * as z from 'zod';
import { ValidationError } from '../errors.ts';
import { platform } from '../platform/platform.ts';
import {
  type ColumnType,
  detectDelimiter,
  type Encoding,
  fileProblem,
  isBlank,
  parseSample,
  requireUtf8,
  resolveEncoding,
  transcodeCp949ToUtf8,
} from './csv.ts';
import type { MultipartFile } from './multipart.ts';
import { planColumns } from './sniff.ts';
import { csvOptions, uploadOptionsSchema } from './uploads.ts';

/** `?format=csv|parquet` (detected from the file when absent) and the upload's CSV options. */
export const inferQuerySchema = uploadOptionsSchema.omit({ mode: true }).extend({
  format: z.enum(['csv', 'parquet']).optional(),
});

export type InferQuery = z.output<typeof inferQuerySchema>;

export interface InferredField {
  name: string;
  /** The Arrow type name (`int64`, `double`, `bool`, `date32`, `timestamp`, `string`, ...). */
  type: string;
  nullable: boolean;
  /** The column type Sluice would give it (`integer`, `double`, ...; `string` for what it cannot hold). */
  sluice_type: ColumnType;
}

export interface InferredSchema {
  fields: InferredField[];
  format: 'csv' | 'parquet';
  /** Data rows (the header not counted). */
  rows: number;
  delimiter?: string;
  header?: boolean;
  encoding?: Encoding;
}

const ARROW_NAMES: Record<ColumnType, string> = {
  integer: 'int64',
  double: 'double',
  boolean: 'bool',
  date: 'date32',
  timestamp: 'timestamp',
  string: 'string',
};

const PARQUET_MAGIC = 'PAR1';

function looksLikeParquet(data: Buffer): boolean {
  return (
    data.length >= 12 &&
    data.subarray(0, 4).toString('latin1') === PARQUET_MAGIC &&
    data.subarray(-4).toString('latin1') === PARQUET_MAGIC
  );
}

export async function inferSchema(file: MultipartFile, query: InferQuery): Promise<InferredSchema> {
  const format = query.format ?? (looksLikeParquet(file.data) ? 'parquet' : 'csv');
  if (format === 'parquet') return parquetFields(file.data);
  return csvFields(file.data, query);
}

// ---------------------------------------------------------------------------------------------
// CSV

/** The file as UTF-8 bytes without a BOM, by the ingest's encoding rules. */
async function utf8Bytes(data: Buffer, declared: 'utf-8' | 'cp949' | undefined) {
  const dir = await mkdtemp(join(platform().settings.tables.tmpDir, 'sluice-infer-'));
  try {
    const source = join(dir, 'file.csv');
    const target = join(dir, 'file.utf8.csv');
    await writeFile(source, data);
    let encoding: Encoding;
    let text = source;
    if (declared === 'utf-8') {
      encoding = await requireUtf8(source);
    } else if (declared === 'cp949') {
      await transcodeCp949ToUtf8(source, target);
      encoding = 'cp949';
      text = target;
    } else {
      const resolved = await resolveEncoding(source, target);
      encoding = resolved.encoding;
      if (resolved.transcoded) text = target;
    }
    const bytes = await readFile(text);
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return { bytes: bom ? bytes.subarray(3) : bytes, encoding };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function csvFields(data: Buffer, query: InferQuery): Promise<InferredSchema> {
  if (data.length === 0) throw fileProblem('The file is empty.', 1);
  const options = csvOptions({ ...query, mode: 'overwrite' });
  const { bytes, encoding } = await utf8Bytes(data, options.encoding);
  if (isBlank(bytes)) throw fileProblem('The file is empty.', 1);
  const delimiter = options.delimiter ?? detectDelimiter(bytes, true);
  const parsed = parseSample(bytes, delimiter, true);
  const plan = planColumns(parsed, true, options.header === undefined ? {} : { header: options.header });
  const fields = plan.names.map((name, c) => {
    const type = plan.types[c] ?? 'string';
    const nullable = plan.data.some((record) => (record.fields?.[c] ?? '') === '');
    return { name, type: ARROW_NAMES[type], nullable, sluice_type: type };
  });
  return { fields, format: 'csv', rows: plan.data.length, delimiter, header: plan.header, encoding };
}

// ---------------------------------------------------------------------------------------------
// Parquet

function arrowOf(node: SchemaTree): { type: string; sluice: ColumnType } {
  const e = node.element;
  const logical = e.logical_type;
  if (node.children.length > 0) {
    const nested = logical?.type === 'LIST' || e.converted_type === 'LIST' ? 'list' : 'struct';
    if (logical?.type === 'MAP' || e.converted_type === 'MAP') return { type: 'map', sluice: 'string' };
    return { type: nested, sluice: 'string' };
  }
  if (logical?.type === 'STRING' || e.converted_type === 'UTF8' || logical?.type === 'ENUM') {
    return { type: 'string', sluice: 'string' };
  }
  if (logical?.type === 'DATE' || e.converted_type === 'DATE') return { type: 'date32', sluice: 'date' };
  if (logical?.type === 'TIMESTAMP' || e.converted_type?.startsWith('TIMESTAMP') || e.type === 'INT96') {
    return { type: 'timestamp', sluice: 'timestamp' };
  }
  if (logical?.type === 'DECIMAL' || e.converted_type === 'DECIMAL') {
    return { type: `decimal128(${e.precision ?? 38}, ${e.scale ?? 0})`, sluice: 'double' };
  }
  if (logical?.type === 'INTEGER') {
    const bits = logical.bitWidth;
    return { type: `${logical.isSigned ? 'int' : 'uint'}${bits}`, sluice: 'integer' };
  }
  switch (e.type) {
    case 'BOOLEAN':
      return { type: 'bool', sluice: 'boolean' };
    case 'INT32':
      return { type: 'int32', sluice: 'integer' };
    case 'INT64':
      return { type: 'int64', sluice: 'integer' };
    case 'FLOAT':
      return { type: 'float', sluice: 'double' };
    case 'DOUBLE':
      return { type: 'double', sluice: 'double' };
    default:
      return { type: 'binary', sluice: 'string' };
  }
}

function parquetFields(data: Buffer): InferredSchema {
  if (!looksLikeParquet(data)) {
    throw ValidationError.field('files', 'is not a Parquet file (send format=csv for a CSV).');
  }
  let root: SchemaTree;
  let rows: number;
  try {
    const buffer = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    const metadata = parquetMetadata(buffer);
    root = parquetSchema(metadata);
    rows = Number(metadata.num_rows);
  } catch {
    throw ValidationError.field('files', 'is not a readable Parquet file.');
  }
  const fields = root.children.map((child) => {
    const { type, sluice } = arrowOf(child);
    return {
      name: child.element.name,
      type,
      nullable: child.element.repetition_type !== 'REQUIRED',
      sluice_type: sluice,
    };
  });
  return { fields, format: 'parquet', rows };
}

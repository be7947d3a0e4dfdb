/**
 * Table pages straight from Parquet with ranged reads (hyparquet, pure JS: the API function
 * needs no DuckDB). The manifest's row counts locate the parts that hold rows
 * [offset, offset + size); inside a part hyparquet reads only the row groups it needs, so the
 * last page costs what the first does.
 */
import { type FileMetaData, parquetMetadataAsync, parquetRead } from 'hyparquet';
import type { DatasetItem } from '../catalog/items.ts';
import { getRange } from '../storage.ts';
import type { Column, ColumnType } from './csv.ts';
import type { ManifestPart } from './manifest.ts';
import { getManifest } from './versions.ts';

export interface TablePage {
  columns: string[];
  data: unknown[][];
  total_rows: number;
  page: number;
  page_size: number;
  version: number;
}

interface AsyncBuffer {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

function objectBuffer(part: ManifestPart): AsyncBuffer {
  return {
    byteLength: part.bytes,
    slice: (start, end = part.bytes) => getRange(part.key, start, end),
  };
}

/** Parquet footers of immutable parts, kept per process. */
const footers = new Map<string, Promise<FileMetaData>>();

function footer(part: ManifestPart, file: AsyncBuffer): Promise<FileMetaData> {
  let cached = footers.get(part.key);
  if (!cached) {
    cached = parquetMetadataAsync(file, { initialFetchSize: 64 * 1024 });
    cached.catch(() => footers.delete(part.key));
    if (footers.size >= 512) footers.delete(footers.keys().next().value as string);
    footers.set(part.key, cached);
  }
  return cached;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function formatDate(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function formatTimestamp(d: Date): string {
  const ms = d.getUTCMilliseconds();
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${formatDate(d)} ${time}${ms ? `.${pad(ms, 3)}` : ''}`;
}

/** JSON-ready values: numbers as numbers, dates as ISO text, 64-bit integers beyond 2^53 as text. */
export function toJsonValue(value: unknown, type: ColumnType): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'integer':
      if (typeof value === 'bigint') {
        return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(value)
          : value.toString();
      }
      return value;
    case 'double':
      return typeof value === 'number' && !Number.isFinite(value) ? null : value;
    case 'date':
      return value instanceof Date ? formatDate(value) : value;
    case 'timestamp':
      return value instanceof Date ? formatTimestamp(value) : value;
    default:
      return typeof value === 'bigint' ? value.toString() : value;
  }
}

/** Rows [start, end) of one part, as JSON-ready values. */
export async function readPartRows(
  part: ManifestPart,
  start: number,
  end: number,
  columns: Column[],
): Promise<unknown[][]> {
  const file = objectBuffer(part);
  const metadata = await footer(part, file);
  let rows: unknown[][] = [];
  await parquetRead({
    file,
    metadata,
    rowStart: start,
    rowEnd: end,
    rowFormat: 'array',
    onComplete: (result: unknown[][]) => {
      rows = result;
    },
  });
  return rows.map((row) => row.map((value, i) => toJsonValue(value, columns[i]?.type ?? 'string')));
}

/** Page `page` (1-based) of `pageSize` rows of the dataset's current version. */
export async function readTablePage(
  dataset: DatasetItem,
  page: number,
  pageSize: number,
): Promise<TablePage> {
  const base = { page, page_size: pageSize, version: dataset.current_version };
  if (dataset.current_version === 0 || !dataset.manifest_key) {
    return { columns: [], data: [], total_rows: 0, ...base };
  }
  const manifest = await getManifest(dataset.manifest_key);
  const offset = (page - 1) * pageSize;
  const end = Math.min(offset + pageSize, manifest.rows);
  const reads: Promise<unknown[][]>[] = [];
  let partStart = 0;
  for (const part of manifest.parts) {
    const partEnd = partStart + part.rows;
    if (partEnd > offset && partStart < end) {
      reads.push(
        readPartRows(
          part,
          Math.max(offset - partStart, 0),
          Math.min(end - partStart, part.rows),
          manifest.columns,
        ),
      );
    }
    partStart = partEnd;
  }
  const data = (await Promise.all(reads)).flat();
  return { columns: manifest.columns.map((c) => c.name), data, total_rows: manifest.rows, ...base };
}

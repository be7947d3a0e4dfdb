/**
 * Table downloads (`GET /tables/{id}?format=csv|json`): one page, or the whole current version.
 * Rows are read part by part, one row group at a time (hyparquet, as table pages are), and
 * written out as they come, so memory holds one row group and the text written so far.
 *
 * A Lambda answers API Gateway with at most 6 MB, and HTTP APIs cannot stream a response: a
 * download stops being read at MAX_DOWNLOAD_BYTES (counted as the body travels, escaped inside
 * the function's JSON answer) and answers 413 with the ways to get a bigger table out: pages of
 * the same download, or Data Query, whose results land in a bucket as CSV. The local host keeps
 * the same limit, so a script behaves the same on both.
 */
import type { DatasetItem } from '../catalog/items.ts';
import { PayloadTooLargeError } from '../errors.ts';
import type { Column } from './csv.ts';
import type { Manifest } from './manifest.ts';
import { readPartRows } from './reader.ts';
import { getManifest } from './versions.ts';

/** Largest download body, leaving room below Lambda's 6 MB for the rest of the answer. */
export const MAX_DOWNLOAD_BYTES = 5 * 1024 * 1024;

/** Rows read at once: the ingest writes row groups of this size, so each read decodes one. */
const READ_ROWS = 16_384;

export type DownloadFormat = 'csv' | 'json';

export interface DownloadRequest {
  format: DownloadFormat;
  /** One page (1-based) of `pageSize` rows; the whole table when absent. */
  page?: { page: number; pageSize: number };
  /** Defaults to MAX_DOWNLOAD_BYTES. */
  maxBytes?: number;
}

export interface Download {
  body: string;
  contentType: string;
  /** Rows in the download. */
  rows: number;
  /** Rows in the table's current version. */
  totalRows: number;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. NULL is empty. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    text = String(value);
  else text = JSON.stringify(value);
  // An empty string is written quoted, so it reads back apart from NULL.
  if (text === '' || /[",\r\n]/.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

/**
 * Collects the body and counts what it will weigh in the function's answer (JSON-escaped
 * UTF-8); past the limit it stops the download with 413.
 */
export class BoundedText {
  private readonly chunks: string[] = [];
  private size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly hint: string,
  ) {}

  append(text: string): void {
    this.size += Buffer.byteLength(JSON.stringify(text)) - 2;
    if (this.size > this.maxBytes) {
      throw new PayloadTooLargeError(
        `The download is larger than ${this.maxBytes} bytes, more than one response can carry. ${this.hint}`,
      );
    }
    this.chunks.push(text);
  }

  text(): string {
    return this.chunks.join('');
  }
}

/** Rows [start, end) of a version, one row group at a time. */
async function* rowsOf(manifest: Manifest, start: number, end: number): AsyncGenerator<unknown[][]> {
  let partStart = 0;
  for (const part of manifest.parts) {
    const partEnd = partStart + part.rows;
    let from = Math.max(start, partStart);
    const to = Math.min(end, partEnd);
    while (from < to) {
      const local = from - partStart;
      const groupEnd = Math.min((Math.floor(local / READ_ROWS) + 1) * READ_ROWS, part.rows, to - partStart);
      yield await readPartRows(part, local, groupEnd, manifest.columns);
      from = partStart + groupEnd;
    }
    partStart = partEnd;
    if (partStart >= end) return;
  }
}

function hintFor(dataset: DatasetItem, format: DownloadFormat): string {
  return (
    `Download it in pages (?format=${format}&page=1&page_size=1000, then page=2, ...), or export it with ` +
    `Data Query (POST /v1/data-query/query with SELECT * FROM the dataset "${dataset.name}"), whose ` +
    'result is written to a bucket as CSV.'
  );
}

export async function downloadTable(dataset: DatasetItem, request: DownloadRequest): Promise<Download> {
  const contentType =
    request.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
  const out = new BoundedText(request.maxBytes ?? MAX_DOWNLOAD_BYTES, hintFor(dataset, request.format));
  if (dataset.current_version === 0 || !dataset.manifest_key) {
    return { body: request.format === 'csv' ? '' : '[]', contentType, rows: 0, totalRows: 0 };
  }
  const manifest = await getManifest(dataset.manifest_key);
  const names = manifest.columns.map((c: Column) => c.name);
  const start = request.page ? Math.min((request.page.page - 1) * request.page.pageSize, manifest.rows) : 0;
  const end = request.page ? Math.min(start + request.page.pageSize, manifest.rows) : manifest.rows;

  let rows = 0;
  if (request.format === 'csv') {
    out.append(csvLine(names));
    for await (const chunk of rowsOf(manifest, start, end)) {
      for (const row of chunk) out.append(csvLine(row));
      rows += chunk.length;
    }
  } else {
    out.append('[');
    for await (const chunk of rowsOf(manifest, start, end)) {
      for (const row of chunk) {
        // No prototype: a column may be called `__proto__`.
        const record: Record<string, unknown> = Object.create(null);
        names.forEach((name, i) => {
          record[name] = row[i] ?? null;
        });
        out.append(`${rows > 0 ? ',' : ''}${JSON.stringify(record)}`);
        rows++;
      }
    }
    out.append(']');
  }
  return { body: out.text(), contentType, rows, totalRows: manifest.rows };
}

/** `attachment` with the dataset's name, ASCII-safe plus its UTF-8 form (RFC 6266). */
export function attachmentHeader(name: string, extension: string): string {
  const file = `${name}.${extension}`;
  const ascii = file.replace(/[^A-Za-z0-9._-]/g, '_');
  const encoded = encodeURIComponent(file).replace(
    /['()*!]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

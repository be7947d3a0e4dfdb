/** Shared pieces of the benchmarks: the generated data set, the local host, and reporting. */

import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ADMIN, type Client, client, localS3, ROOT, type RunningHost, startHost } from '#test/api/harness';

export const DATA_DIR = join(ROOT, 'bench/.data');
export const ROWS = 1_000_000;

const ROADS = ['강남대로', '테헤란로', '올림픽대로', '세종대로', '종로', '을지로', '한강대로', '도산대로'];
const DIRECTIONS = ['northbound', 'southbound', 'eastbound', 'westbound'];

/** A deterministic `rows`-row × 8-column CSV (~77 MB per million rows), generated once and kept. */
export async function bigCsv(rows = ROWS): Promise<string> {
  await mkdir(DATA_DIR, { recursive: true });
  const path = join(DATA_DIR, `traffic-${rows}.csv`);
  if (existsSync(path) && (await stat(path)).size > 0) return path;
  const out = createWriteStream(`${path}.tmp`);
  out.write('id,date,road_name,direction,traffic_count,avg_speed,is_holiday,measured_at\n');
  let lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const day = new Date(Date.UTC(2026, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10);
    const hh = String(i % 24).padStart(2, '0');
    const mm = String(i % 60).padStart(2, '0');
    lines.push(
      `${i},${day},${ROADS[i % 8]},${DIRECTIONS[i % 4]},${(i * 7919) % 20000},${((i * 31) % 1000) / 10},${i % 7 === 0},${day} ${hh}:${mm}:00`,
    );
    if (lines.length === 10_000) {
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
      lines = [];
    }
  }
  out.end();
  await once(out, 'finish');
  await rename(`${path}.tmp`, path);
  return path;
}

export interface Session {
  host: RunningHost;
  api: Client;
  token: string;
}

export async function session(): Promise<Session> {
  const host = await startHost();
  const api = client(host.url);
  const token = await api.login(ADMIN.username, ADMIN.password);
  return { host, api, token };
}

export interface UploadTiming {
  datasetId: string;
  /** PUT start → upload record `succeeded`, seen by the client. */
  endToEndMs: number;
  /** PUT start → PUT answered (the object is stored). */
  putMs: number;
  /** Server-side: claim of the landed object → version published (from the upload record). */
  ingestMs: number;
  rows: number;
}

/** Uploads a file through the presigned-URL path and waits for the ingest to finish. */
export async function uploadViaUrl(s: Session, path: string, name: string): Promise<UploadTiming> {
  const col = await s.api.post('/api/v1/collections', { name }, { token: s.token });
  const ds = await s.api.post('/api/v1/datasets', { name, collection_id: col.body.id }, { token: s.token });
  const datasetId = ds.body.id as string;
  const size = (await stat(path)).size;
  const url = await s.api.post(`/api/v1/tables/${datasetId}/upload-url`, { size }, { token: s.token });
  const body = await readFile(path);
  const started = performance.now();
  const put = await fetch(url.body.url, { method: 'PUT', body, headers: { 'content-length': String(size) } });
  const putMs = performance.now() - started;
  if (put.status !== 200) throw new Error(`PUT failed: ${put.status}`);
  for (;;) {
    const status = await s.api.get(`/api/v1/tables/${datasetId}/uploads/${url.body.upload_id}`, {
      token: s.token,
    });
    if (status.body.status === 'succeeded') {
      const endToEndMs = performance.now() - started;
      const ingestMs = Date.parse(status.body.finished_at) - Date.parse(status.body.started_at);
      console.log(`  stages (ms): ${JSON.stringify(status.body.result.timings_ms)}`);
      return { datasetId, endToEndMs, putMs, ingestMs, rows: status.body.result.rows };
    }
    if (status.body.status === 'failed')
      throw new Error(`upload failed: ${JSON.stringify(status.body.error)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The local host's data bucket, where datasets keep their manifests and Parquet parts. */
const DATA_BUCKET = 'sluice-data';

/**
 * Copies the Parquet parts of the dataset's current version out of the local S3 into `dir`, as
 * `<stem>-<n>.parquet`, for DuckDB to read directly. Answers the files and the rows the
 * version's manifest counts.
 */
export async function downloadParts(
  s: Session,
  datasetId: string,
  dir: string,
  stem = 'part',
): Promise<{ files: string[]; rows: number }> {
  const s3 = localS3(s.host.s3Url);
  try {
    const get = async (key: string) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: DATA_BUCKET, Key: key }));
      if (!res.Body) throw new Error(`s3://${DATA_BUCKET}/${key} has no body`);
      return res.Body.transformToByteArray();
    };
    const dataset = await s.api.get(`/api/v1/datasets/${datasetId}`, { token: s.token });
    const version = dataset.body.current_version as number;
    const manifest = JSON.parse(
      new TextDecoder().decode(await get(`datasets/${datasetId}/v${version}/manifest.json`)),
    ) as { rows: number; parts: Array<{ key: string }> };
    const files: string[] = [];
    for (const [i, part] of manifest.parts.entries()) {
      const file = join(dir, `${stem}-${i}.parquet`);
      await writeFile(file, await get(part.key));
      files.push(file);
    }
    return { files, rows: manifest.rows };
  } finally {
    s3.destroy();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function table(rows: (string | number)[][]): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join('  '));
}

export function report(result: {
  bench: string;
  ratio: number;
  target: number;
  [key: string]: unknown;
}): void {
  console.log(JSON.stringify(result));
}

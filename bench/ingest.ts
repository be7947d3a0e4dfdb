/**
 * Ingest: a 1,000,000-row × 8-column CSV (~77 MB) through the presigned upload-url path of
 * the local host, against DuckDB converting the same file to Parquet directly in this process.
 * The ratio is end to end (PUT start → version published, as a client sees it) over DuckDB;
 * the server-side ingest alone (object landed → published) is reported beside it.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { bigCsv, median, report, session, table, uploadViaUrl } from './common.ts';

const RUNS = 5;
const TARGET = 1.5;

async function duckdbDirect(csv: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const started = performance.now();
    await connection.run(
      `COPY (SELECT * FROM read_csv('${csv}')) TO '${join(dir, 'out.parquet')}' (FORMAT parquet)`,
    );
    return performance.now() - started;
  } finally {
    connection.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const csv = await bigCsv();
  const mb = (await stat(csv)).size / 1024 / 1024;
  const s = await session();
  try {
    const baseline: number[] = [];
    const endToEnd: number[] = [];
    const ingest: number[] = [];
    const put: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      baseline.push(await duckdbDirect(csv));
      const timing = await uploadViaUrl(s, csv, `bench-ingest-${run}-${Date.now()}`);
      if (timing.rows !== 1_000_000) throw new Error(`expected 1000000 rows, got ${timing.rows}`);
      endToEnd.push(timing.endToEndMs);
      ingest.push(timing.ingestMs);
      put.push(timing.putMs);
    }
    const base = median(baseline);
    const e2e = median(endToEnd);
    const server = median(ingest);
    table([
      ['measure (median of 5)', 'ms', 'MB/s', 'ratio to DuckDB'],
      ['DuckDB read_csv -> Parquet (baseline)', base.toFixed(0), (mb / (base / 1000)).toFixed(1), '1.00'],
      ['PUT to the presigned URL', median(put).toFixed(0), (mb / (median(put) / 1000)).toFixed(1), '-'],
      [
        'server ingest (landed -> published)',
        server.toFixed(0),
        (mb / (server / 1000)).toFixed(1),
        (server / base).toFixed(2),
      ],
      [
        'end to end (PUT start -> published)',
        e2e.toFixed(0),
        (mb / (e2e / 1000)).toFixed(1),
        (e2e / base).toFixed(2),
      ],
    ]);
    report({
      bench: 'ingest',
      ratio: Number((e2e / base).toFixed(3)),
      target: TARGET,
      mb: Number(mb.toFixed(1)),
      rows: 1_000_000,
      duckdb_ms: Math.round(base),
      end_to_end_ms: Math.round(e2e),
      end_to_end_mb_s: Number((mb / (e2e / 1000)).toFixed(1)),
      put_ms: Math.round(median(put)),
      server_ingest_ms: Math.round(server),
      server_ingest_ratio: Number((server / base).toFixed(3)),
    });
  } finally {
    await s.host.stop();
  }
}

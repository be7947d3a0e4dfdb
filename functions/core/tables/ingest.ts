/**
 * CSV ingest: convert a local CSV file to one Parquet part and publish it as the dataset's
 * next version, under the dataset's writer lease. Any failure removes what was written for
 * the new version and leaves the previous version current.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Principal } from '../auth/principal.ts';
import { acquireDatasetLock } from '../catalog/datasets.ts';
import { metrics } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { putFile } from '../storage.ts';
import { type ConvertResult, type CsvOptions, convertCsvToParquet } from './convert.ts';
import type { WriteMode } from './manifest.ts';
import { abandonVersion, publishVersion, versionPrefix } from './versions.ts';

/** Longest an ingest may hold a dataset (the Lambda time limit). */
const LEASE_SECONDS = 900;

export interface IngestRequest {
  datasetId: string;
  /** The CSV file on local disk. */
  csvPath: string;
  mode: WriteMode;
  options: Pick<CsvOptions, 'delimiter' | 'header' | 'encoding'>;
  principal: Pick<Principal, 'username'>;
}

export interface IngestResult {
  version: number;
  /** Rows in this upload. */
  rows: number;
  columns: number;
  total_rows: number;
  encoding: ConvertResult['encoding'];
  delimiter: string;
  header: boolean;
  /** Where the time went, per stage, in milliseconds. */
  timings_ms: Record<string, number>;
}

/** Runs a stage and records its duration under `name`. */
export async function timed<T>(
  timings: Record<string, number>,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[name] = Math.round(performance.now() - started);
  }
}

/** Runs `fn` in a fresh temporary directory that is removed afterwards. */
export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(platform().settings.tables.tmpDir, 'sluice-ingest-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function ingestCsv(
  request: IngestRequest,
  workDir: string,
  timings: Record<string, number> = {},
): Promise<IngestResult> {
  const { lock, dataset } = await acquireDatasetLock(request.datasetId, 'upload', LEASE_SECONDS);
  try {
    const append = request.mode === 'append' && dataset.current_version > 0;
    const parquetPath = join(workDir, 'part.parquet');
    const converted = await timed(timings, 'convert', () =>
      convertCsvToParquet(
        request.csvPath,
        parquetPath,
        { ...request.options, ...(append ? { columns: dataset.columns } : {}) },
        workDir,
      ),
    );
    const key = `${versionPrefix(dataset.id, dataset.current_version + 1)}part-00000.parquet`;
    const bytes = await timed(timings, 'store', () =>
      putFile(key, parquetPath, 'application/vnd.apache.parquet'),
    );
    const manifest = await timed(timings, 'publish', () =>
      publishVersion(
        dataset,
        lock,
        { key, rows: converted.rows, bytes, columns: converted.columns },
        request.mode,
        request.principal,
      ),
    );
    metrics.addMetric('RowsIngested', 'Count', converted.rows);
    return {
      version: manifest.version,
      rows: converted.rows,
      columns: converted.columns.length,
      total_rows: manifest.rows,
      encoding: converted.encoding,
      delimiter: converted.delimiter,
      header: converted.header,
      timings_ms: timings,
    };
  } catch (error) {
    await abandonVersion(dataset, lock);
    throw error;
  }
}

/**
 * CSV ingest: convert a local CSV file to one Parquet part and publish it as the dataset's
 * next version, under the dataset's writer lease (versions.ts `publishVersion`). Any failure
 * removes what was written for the new version and leaves the previous version current.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Principal } from '../auth/principal.ts';
import { metrics } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { putFile } from '../storage.ts';
import { type ConvertResult, type CsvOptions, convertCsvToParquet } from './convert.ts';
import type { WriteMode } from './manifest.ts';
import { publishVersion } from './versions.ts';

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
  // What the write learns on the way: the conversion, and when the upload ended.
  const seen: { converted?: ConvertResult; uploadedAt?: number } = {};
  const manifest = await publishVersion(
    { datasetId: request.datasetId, mode: request.mode, principal: request.principal },
    async (key, dataset) => {
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
      const bytes = await timed(timings, 'store', () =>
        putFile(key, parquetPath, 'application/vnd.apache.parquet'),
      );
      seen.converted = converted;
      seen.uploadedAt = performance.now();
      return { key, rows: converted.rows, bytes, columns: converted.columns };
    },
  );
  const { converted, uploadedAt } = seen;
  if (!converted || uploadedAt === undefined)
    throw new Error('ingest: a version was published without its part');
  // The publish stage: the version item, the pointer, the catalog hook and the event.
  timings.publish = Math.round(performance.now() - uploadedAt);
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
}

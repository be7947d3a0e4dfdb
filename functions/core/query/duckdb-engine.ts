/**
 * The local query engine: DuckDB over the datasets' Parquet parts, in sandboxed instances from a
 * small pool (`createSandboxPool` in duckdb.ts, which holds the safety argument): each instance
 * is locked down from its start to its own folder (no file access outside it, no extensions,
 * settings frozen) and serves one query at a time. A query's parts are linked (or copied) into a
 * fresh folder inside its instance's folder and exposed as temporary views of the query's own
 * connection; the folder and the connection go when the query ends, and the instance serves
 * the next query only if its statement called no table function that could change it and it
 * is then found exactly as it was new; otherwise it is discarded. So SQL cannot read or write
 * anything else on the machine, nor anything an earlier query had or left. The instance's
 * start-up (~10-30 ms) is paid once per instance instead of once per query.
 *
 * The record goes to RUNNING once a query has run for 100 ms (`Start`). The result is written as
 * `<id>.csv` (every field quoted, as Athena writes it) and `<id>.csv.metadata` (JSON: columns and
 * row count) to the caller's bucket, and its first 1,000 rows as text to the data bucket for the
 * result pages; the `.csv` goes up while those rows are read back.
 *
 * Abort and the time limit interrupt the running statement; nothing is uploaded for a query
 * that did not finish, and a result uploaded by a query aborted at the last moment is removed.
 */
import { randomUUID } from 'node:crypto';
import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createSandboxPool, type PooledSandbox, type SandboxPool, sqlString } from '../duckdb.ts';
import { recallPart, rememberPart } from '../engine/part-cache.ts';
import { logger, metrics } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { deleteObject, downloadToFile, listObjects, putFile, putJson } from '../storage.ts';
import type { Manifest } from '../tables/manifest.ts';
import {
  PREVIEW_ROWS,
  previewKey,
  type QueryEngine,
  type QueryJob,
  quoteIdent,
  rewriteStatement,
} from './engine.ts';
import { metadataKey, type ResultColumn, resultKey, sqlTypeOfDuckDb, timeLimitReason } from './model.ts';
import { endQuery, markRunning } from './records.ts';

interface Running {
  controller: AbortController;
  /** Why it was interrupted: an abort (already recorded) or the time limit. */
  reason?: 'abort' | 'timeout' | 'shutdown';
}

export interface DuckDbQueryEngine extends QueryEngine {
  /** Interrupts every running query and records it as failed (the host is stopping). */
  stopAll(): Promise<void>;
}

export function createDuckDbQueryEngine(options: { track(work: Promise<unknown>): void }): DuckDbQueryEngine {
  const running = new Map<string, Running>();
  const done = new Set<Promise<unknown>>();
  const partTags = new PartTags();
  // Made at the first query, when the platform's settings are there; closed when the host stops.
  let pool: SandboxPool | undefined;
  const sandboxes = () => {
    const config = platform().settings.tables;
    pool ??= createSandboxPool({
      root: join(config.tmpDir, `sluice-query-sandboxes-${process.pid}-${randomUUID().slice(0, 8)}`),
      threads: config.duckdbThreads,
      memoryLimit: config.duckdbMemoryLimit,
    });
    return pool;
  };

  return {
    async start(job) {
      const entry: Running = { controller: new AbortController() };
      running.set(job.item.query_id, entry);
      const work = runQuery(job, entry, sandboxes(), partTags)
        .catch((error: unknown) =>
          logger.error('local query failed', { queryId: job.item.query_id, error: error as Error }),
        )
        .finally(() => {
          running.delete(job.item.query_id);
          done.delete(work);
        });
      done.add(work);
      options.track(work);
      return `duckdb:${job.item.query_id}`;
    },
    async abort(item) {
      const entry = running.get(item.query_id);
      if (!entry) return;
      entry.reason ??= 'abort';
      entry.controller.abort();
    },
    async stopAll() {
      for (const entry of running.values()) {
        entry.reason ??= 'shutdown';
        entry.controller.abort();
      }
      await Promise.all([...done]);
      const closing = pool;
      pool = undefined;
      await closing?.close();
    },
  };
}

/**
 * The ETags of dataset parts, by manifest, as listed once. Parts are kept locally between queries
 * (part-cache.ts) and reused while the stored object is unchanged, which the ETag tells. A query
 * reads published versions only, and a published version is immutable (its parts are never
 * written again; a new write is a new version), so one listing per version holds for as long as
 * it exists. Entries are keyed by the manifest's dataset, version and publication time, so a
 * version number that were ever reused would be listed afresh.
 */
class PartTags {
  private readonly byManifest = new Map<string, Map<string, string | undefined>>();

  async of(manifest: Manifest): Promise<Map<string, string | undefined>> {
    const id = `${manifest.dataset_id}/v${manifest.version}@${manifest.created_at}`;
    const known = this.byManifest.get(id);
    if (known) return known;
    const keys = manifest.parts.map((p) => p.key);
    const folders = [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf('/') + 1)))];
    const listed = new Map(
      (await Promise.all(folders.map((f) => listObjects(f)))).flat().map((o) => [o.key, o.etag]),
    );
    const tags = new Map(keys.map((k) => [k, listed.get(k)]));
    this.byManifest.set(id, tags);
    for (const oldest of this.byManifest.keys()) {
      if (this.byManifest.size <= 500) break;
      this.byManifest.delete(oldest);
    }
    return tags;
  }
}

/**
 * Links (or copies) each dataset's parts into `dir` and creates a temporary view per dataset
 * (gone with the connection); answers view names by dataset id.
 */
async function createViews(
  connection: DuckDBConnection,
  job: QueryJob,
  dir: string,
  partTags: PartTags,
): Promise<Map<string, string>> {
  const tables = [...new Map(job.tables.map((t) => [t.dataset.id, t])).values()];
  const views = new Map(tables.map((t, i) => [t.dataset.id, `sluice_t${i}`]));
  const placed = await Promise.all(
    tables.map(async (table) => {
      const name = views.get(table.dataset.id) as string;
      const tags = await partTags.of(table.manifest);
      const files: string[] = [];
      for (const [i, part] of table.manifest.parts.entries()) {
        const file = join(dir, `${name}-${i}.parquet`);
        const etag = tags.get(part.key);
        if (!(await recallPart(part.key, etag, file))) {
          const size = await downloadToFile(part.key, file);
          await rememberPart(part.key, etag, file, size);
        }
        files.push(file);
      }
      return files;
    }),
  );
  for (const [i, table] of tables.entries()) {
    const files = placed[i] as string[];
    await connection.run(
      `CREATE TEMP VIEW ${quoteIdent(views.get(table.dataset.id) as string)} AS SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`,
    );
  }
  return views;
}

/** The engine's message with internal names and paths put back as the user wrote them. */
function userMessage(
  message: string,
  job: QueryJob,
  views: Map<string, string>,
  sandbox: PooledSandbox,
): string {
  let out = message.split(sandbox.dir).join('').split(sandbox.root).join('');
  for (const table of job.tables) {
    const view = views.get(table.dataset.id);
    if (view) out = out.split(view).join(`${table.database}.${table.table}`);
  }
  return out.trim();
}

/** How long a query runs before its record says RUNNING. */
const RUNNING_AFTER_MS = 100;

/**
 * A query's start, written as RUNNING only once it has run for RUNNING_AFTER_MS: most queries
 * end before that, and their record goes from QUEUED to its end (with the start time) in one
 * write instead of two, which on the local stand-in is a few milliseconds of a busy event loop.
 * Whoever watches a longer query sees RUNNING as before.
 */
class Start {
  readonly at = Date.now();
  private write: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(id: string, entry: Running) {
    this.timer = setTimeout(() => {
      this.write = markRunning(id, { started_at: this.at, progress: 0 }).then(
        (moved) => {
          // Ended meanwhile by someone else (an abort): stop the work, record nothing more.
          if (moved) return;
          entry.reason ??= 'abort';
          entry.controller.abort();
        },
        (error: unknown) => logger.warn('query not marked running', { queryId: id, error: error as Error }),
      );
    }, RUNNING_AFTER_MS);
  }

  /** Called before the end is written: no RUNNING write starts any more, one under way has landed. */
  async settle(): Promise<void> {
    clearTimeout(this.timer);
    await this.write;
  }
}

async function runQuery(job: QueryJob, entry: Running, pool: SandboxPool, partTags: PartTags): Promise<void> {
  const start = new Start(job.item.query_id, entry);
  const timer = setTimeout(() => {
    entry.reason ??= 'timeout';
    entry.controller.abort();
  }, job.timeoutMs);
  try {
    // The instance is checked (and kept or discarded) after this returns, so after the record
    // says FINISHED: the check is not part of the query's time.
    await pool.run(async (sandbox) => {
      const { connection, dir } = sandbox;
      const interrupt = () => connection.interrupt();
      entry.controller.signal.addEventListener('abort', interrupt, { once: true });
      // An abort that lands between two statements interrupts nothing: keep interrupting
      // until the work notices.
      const reinterrupt = setInterval(() => {
        if (entry.controller.signal.aborted) connection.interrupt();
      }, 250);
      let views = new Map<string, string>();
      try {
        views = await createViews(connection, job, dir, partTags);
        // Aborted while it was queued or its parts were placed: nothing of the user's runs.
        if (entry.controller.signal.aborted) throw new Error('interrupted');
        const sql = rewriteStatement(job, (t) => quoteIdent(views.get(t.dataset.id) as string));
        sandbox.review(sql);
        const result = await execute(connection, sql, dir, (csv) => uploadResult(job, csv));
        if (entry.controller.signal.aborted) {
          await result.upload.remove();
          throw new Error('interrupted');
        }
        await store(job, result, entry, start);
      } catch (error) {
        // An interrupted statement may have left the instance in any state.
        if (entry.controller.signal.aborted) sandbox.spoil();
        await recordFailure(job, entry, start, userMessage((error as Error).message, job, views, sandbox));
      } finally {
        clearInterval(reinterrupt);
        entry.controller.signal.removeEventListener('abort', interrupt);
      }
    });
  } finally {
    clearTimeout(timer);
    await start.settle();
  }
}

/** The result file on its way to the caller's bucket while the rest of the result is read. */
interface Upload {
  done: Promise<unknown>;
  /** Waits for the upload and removes the object (a result no record will claim). */
  remove(): Promise<void>;
}

function uploadResult(job: QueryJob, csv: string): Upload {
  const key = resultKey(job.item);
  const done = putFile(key, csv, 'text/csv; charset=utf-8', job.item.bucket);
  done.catch(() => undefined);
  return {
    done,
    async remove() {
      await done.catch(() => undefined);
      await deleteObject(key, job.item.bucket).catch(() => undefined);
    },
  };
}

interface Result {
  columns: ResultColumn[];
  rows: number;
  csv: string;
  preview: Array<Array<string | null>>;
  upload: Upload;
}

const quoteCsv = (v: string | null) => (v === null ? '' : `"${v.replaceAll('"', '""')}"`);

/** EXPLAIN cannot be described or copied: its (small) output is read and written here. */
async function explain(
  connection: DuckDBConnection,
  sql: string,
  csv: string,
  upload: (csv: string) => Upload,
): Promise<Result> {
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  const columns = reader
    .columnTypes()
    .map((t, i) => ({ name: names[i] ?? `_col${i}`, type: sqlTypeOfDuckDb(t.toString()) }));
  const rows = reader.getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
  const lines = [names.map(quoteCsv), ...rows.map((r) => r.map(quoteCsv))].map((r) => r.join(','));
  await writeFile(csv, `${lines.join('\n')}\n`);
  return { columns, rows: rows.length, csv, preview: rows.slice(0, PREVIEW_ROWS), upload: upload(csv) };
}

/**
 * Runs the statement into `<dir>/result.csv` and reads its columns and first rows. The file
 * starts going up (`upload`) as soon as it is written, while the first rows are read back.
 */
async function execute(
  connection: DuckDBConnection,
  sql: string,
  dir: string,
  upload: (csv: string) => Upload,
): Promise<Result> {
  const csv = join(dir, 'result.csv');
  if (/^\s*explain\b/i.test(sql)) return explain(connection, sql, csv, upload);
  // Column names and types without running the statement twice: DESCRIBE plans it only.
  const described = await connection.runAndReadAll(`DESCRIBE ${sql}`);
  const columns = described
    .getRows()
    .map((r) => ({ name: String(r[0]), type: sqlTypeOfDuckDb(String(r[1])) }));
  const copied = await connection.runAndReadAll(
    `COPY (${sql}) TO ${sqlString(csv)} (FORMAT csv, HEADER true, FORCE_QUOTE *)`,
  );
  const rows = Number(copied.getRows()[0]?.[0] ?? 0);
  const uploading = upload(csv);
  try {
    // The file's header makes repeated names unique (`name`, `name_1`); the columns follow it.
    const header = await csvHeader(csv);
    const named =
      header.length === columns.length
        ? columns.map((c, i) => ({ ...c, name: header[i] ?? c.name }))
        : columns;
    let preview: Array<Array<string | null>> = [];
    if (rows > 0 && columns.length > 0) {
      const read = await connection.runAndReadAll(
        `SELECT * FROM read_csv(${sqlString(csv)}, header = true, all_varchar = true, delim = ',', quote = '"', ` +
          `escape = '"', allow_quoted_nulls = false, auto_detect = false, columns = {${columns
            .map((_, i) => `${sqlString(`c${i}`)}: 'VARCHAR'`)
            .join(', ')}}) LIMIT ${PREVIEW_ROWS}`,
      );
      preview = read.getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
    }
    return { columns: named, rows, csv, preview, upload: uploading };
  } catch (error) {
    await uploading.remove();
    throw error;
  }
}

/** The names in the first record of a CSV file written with every field quoted. */
async function csvHeader(file: string): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(256 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const names: string[] = [];
    const field = /"((?:[^"]|"")*)"(,|\r?\n|$)/y;
    for (;;) {
      const m = field.exec(text);
      if (!m) break;
      names.push((m[1] as string).replaceAll('""', '"'));
      if (m[2] !== ',') break;
    }
    return names;
  } finally {
    await handle.close();
  }
}

async function store(job: QueryJob, result: Result, entry: Running, start: Start): Promise<void> {
  const { item } = job;
  const meta = metadataKey(item);
  const bytes = (await stat(result.csv)).size;
  try {
    await Promise.all([
      result.upload.done,
      putJson(meta, { queryId: item.query_id, columns: result.columns, rows: result.rows }, item.bucket),
      putJson(previewKey(item.query_id), result.preview),
    ]);
  } catch (error) {
    // Not claimed by the record: leave nothing behind in the caller's bucket.
    await Promise.all([result.upload.remove(), deleteObject(meta, item.bucket).catch(() => undefined)]);
    throw error;
  }
  await start.settle();
  const finished = entry.controller.signal.aborted
    ? undefined
    : await endQuery(item.query_id, 'FINISHED', {
        started_at: start.at,
        store_type: 'BASIC',
        is_stored: true,
        columns: result.columns,
        output_rows: result.rows,
        output_bytes: bytes,
        // Also written by the submit once the engine has started; a query that ends first
        // must not lose them (that write is conditional on an unfinished query).
        planning_ms: item.planning_ms,
        input_rows: job.tables.reduce((n, t) => n + t.manifest.rows, 0),
        input_bytes: job.tables.reduce((n, t) => n + t.manifest.bytes, 0),
        engine_ref: `duckdb:${item.query_id}`,
      });
  if (!finished) {
    // Aborted while the files went up: the record does not claim them, so neither does S3.
    await Promise.all([result.upload.remove(), deleteObject(meta, item.bucket)]);
    return;
  }
  metrics.addMetric('QueriesFinished', 'Count', 1);
}

async function recordFailure(job: QueryJob, entry: Running, start: Start, message: string): Promise<void> {
  const id = job.item.query_id;
  await start.settle();
  switch (entry.reason) {
    case 'abort':
      return; // recorded by the abort itself
    case 'timeout':
      await endQuery(id, 'ABORTED', {
        started_at: start.at,
        error_message: timeLimitReason(job.timeoutMs),
      });
      return;
    case 'shutdown':
      await endQuery(id, 'FAILED', {
        started_at: start.at,
        error_message: 'The local host stopped while this query ran; run it again.',
      });
      return;
    default:
      await endQuery(id, 'FAILED', { started_at: start.at, error_message: message });
      metrics.addMetric('QueriesFailed', 'Count', 1);
  }
}

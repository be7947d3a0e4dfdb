/**
 * The local query engine: DuckDB over the datasets' Parquet parts, one sandboxed instance per
 * query (`withSandbox`). The parts are copied to the query's work directory and exposed as views
 * in an instance that is locked down from the start (no file access outside that directory, no
 * extensions, settings frozen), so SQL cannot read or write anything else on the
 * machine. The result is written as `<id>.csv` (every field quoted, as Athena writes it) and
 * `<id>.csv.metadata` (JSON: columns and row count) to the caller's bucket, and its first
 * 1,000 rows as text to the data bucket for the result pages.
 *
 * Abort and the time limit interrupt the running statement; nothing is uploaded for a query
 * that did not finish, and a result uploaded by a query aborted at the last moment is removed.
 */
import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString, withSandbox } from '../duckdb.ts';
import { recallPart, rememberPart } from '../engine/part-cache.ts';
import { logger, metrics } from '../observability.ts';
import { deleteObject, downloadToFile, listObjects, putFile, putJson } from '../storage.ts';
import { withWorkDir } from '../tables/ingest.ts';
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

  return {
    async start(job) {
      const entry: Running = { controller: new AbortController() };
      running.set(job.item.query_id, entry);
      const work = runQuery(job, entry)
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
    },
  };
}

/** Copies each dataset's parts into `dir` once and creates a view per dataset; answers view names by dataset id. */
async function createViews(
  connection: DuckDBConnection,
  job: QueryJob,
  dir: string,
): Promise<Map<string, string>> {
  const views = new Map<string, string>();
  for (const table of job.tables) {
    if (views.has(table.dataset.id)) continue;
    const name = `sluice_t${views.size}`;
    const tags = await etagsOf(table.manifest.parts.map((p) => p.key));
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
    await connection.run(
      `CREATE VIEW ${quoteIdent(name)} AS SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`,
    );
    views.set(table.dataset.id, name);
  }
  return views;
}

/**
 * The ETags of dataset parts, one listing per version folder they live in. Parts are kept
 * locally between queries (part-cache.ts) and reused while the stored object is unchanged.
 */
async function etagsOf(keys: string[]): Promise<Map<string, string | undefined>> {
  const folders = [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf('/') + 1)))];
  const listed = await Promise.all(folders.map((f) => listObjects(f)));
  return new Map(listed.flat().map((o) => [o.key, o.etag]));
}

/** The engine's message with internal names and paths put back as the user wrote them. */
function userMessage(message: string, job: QueryJob, views: Map<string, string>, dir: string): string {
  let out = message.split(dir).join('');
  for (const table of job.tables) {
    const view = views.get(table.dataset.id);
    if (view) out = out.split(view).join(`${table.database}.${table.table}`);
  }
  return out.trim();
}

async function runQuery(job: QueryJob, entry: Running): Promise<void> {
  const id = job.item.query_id;
  const startedAt = Date.now();
  if (!(await markRunning(id, { started_at: startedAt, progress: 0 }))) return;
  const timer = setTimeout(() => {
    entry.reason ??= 'timeout';
    entry.controller.abort();
  }, job.timeoutMs);
  try {
    await withWorkDir((dir) =>
      withSandbox(dir, async (connection) => {
        const interrupt = () => connection.interrupt();
        entry.controller.signal.addEventListener('abort', interrupt, { once: true });
        // An abort that lands between two statements interrupts nothing: keep interrupting
        // until the work notices.
        const reinterrupt = setInterval(() => {
          if (entry.controller.signal.aborted) connection.interrupt();
        }, 250);
        let views = new Map<string, string>();
        try {
          views = await createViews(connection, job, dir);
          if (entry.controller.signal.aborted) throw new Error('interrupted');
          const sql = rewriteStatement(job, (t) => quoteIdent(views.get(t.dataset.id) as string));
          const result = await execute(connection, sql, dir);
          if (entry.controller.signal.aborted) throw new Error('interrupted');
          await store(job, result, entry);
        } catch (error) {
          await recordFailure(job, entry, userMessage((error as Error).message, job, views, dir));
        } finally {
          clearInterval(reinterrupt);
          entry.controller.signal.removeEventListener('abort', interrupt);
        }
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}

interface Result {
  columns: ResultColumn[];
  rows: number;
  csv: string;
  preview: Array<Array<string | null>>;
}

const quoteCsv = (v: string | null) => (v === null ? '' : `"${v.replaceAll('"', '""')}"`);

/** EXPLAIN cannot be described or copied: its (small) output is read and written here. */
async function explain(connection: DuckDBConnection, sql: string, csv: string): Promise<Result> {
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  const columns = reader
    .columnTypes()
    .map((t, i) => ({ name: names[i] ?? `_col${i}`, type: sqlTypeOfDuckDb(t.toString()) }));
  const rows = reader.getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
  const lines = [names.map(quoteCsv), ...rows.map((r) => r.map(quoteCsv))].map((r) => r.join(','));
  await writeFile(csv, `${lines.join('\n')}\n`);
  return { columns, rows: rows.length, csv, preview: rows.slice(0, PREVIEW_ROWS) };
}

async function execute(connection: DuckDBConnection, sql: string, dir: string): Promise<Result> {
  const csv = join(dir, 'result.csv');
  if (/^\s*explain\b/i.test(sql)) return explain(connection, sql, csv);
  // Column names and types without running the statement twice: DESCRIBE plans it only.
  const described = await connection.runAndReadAll(`DESCRIBE ${sql}`);
  const columns = described
    .getRows()
    .map((r) => ({ name: String(r[0]), type: sqlTypeOfDuckDb(String(r[1])) }));
  const copied = await connection.runAndReadAll(
    `COPY (${sql}) TO ${sqlString(csv)} (FORMAT csv, HEADER true, FORCE_QUOTE *)`,
  );
  const rows = Number(copied.getRows()[0]?.[0] ?? 0);
  // The file's header makes repeated names unique (`name`, `name_1`); the columns follow it.
  const header = await csvHeader(csv);
  const named =
    header.length === columns.length ? columns.map((c, i) => ({ ...c, name: header[i] ?? c.name })) : columns;
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
  return { columns: named, rows, csv, preview };
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

async function store(job: QueryJob, result: Result, entry: Running): Promise<void> {
  const { item } = job;
  const key = resultKey(item);
  const meta = metadataKey(item);
  const bytes = (await stat(result.csv)).size;
  await putFile(key, result.csv, 'text/csv; charset=utf-8', item.bucket);
  await putJson(meta, { queryId: item.query_id, columns: result.columns, rows: result.rows }, item.bucket);
  await putJson(previewKey(item.query_id), result.preview);
  const finished = entry.controller.signal.aborted
    ? undefined
    : await endQuery(item.query_id, 'FINISHED', {
        store_type: 'BASIC',
        is_stored: true,
        columns: result.columns,
        output_rows: result.rows,
        output_bytes: bytes,
      });
  if (!finished) {
    // Aborted while the files went up: the record does not claim them, so neither does S3.
    await Promise.all([deleteObject(key, item.bucket), deleteObject(meta, item.bucket)]);
    return;
  }
  metrics.addMetric('QueriesFinished', 'Count', 1);
}

async function recordFailure(job: QueryJob, entry: Running, message: string): Promise<void> {
  const id = job.item.query_id;
  switch (entry.reason) {
    case 'abort':
      return; // recorded by the abort itself
    case 'timeout':
      await endQuery(id, 'ABORTED', {
        error_message: timeLimitReason(job.timeoutMs),
      });
      return;
    case 'shutdown':
      await endQuery(id, 'FAILED', {
        error_message: 'The local host stopped while this query ran; run it again.',
      });
      return;
    default:
      await endQuery(id, 'FAILED', { error_message: message });
      metrics.addMetric('QueriesFailed', 'Count', 1);
  }
}

/**
 * The query engine: where a resolved statement runs. On AWS it is Athena (athena.ts); the
 * local host installs DuckDB (duckdb-engine.ts) with `useQueryEngine` before it serves.
 *
 * An engine writes the query's progress to its record itself (records.ts): RUNNING with its
 * start, then FINISHED / FAILED / ABORTED with stats, the result columns, and, for a stored
 * result, `{storage_url}/{query_id}.csv` + `.csv.metadata` in the caller's bucket and the
 * first rows (up to 1,000, as text) at `queries/{query_id}/preview.json` in the data bucket.
 */
import type { DatasetItem } from '../catalog/items.ts';
import type { Manifest } from '../tables/manifest.ts';
import type { QueryItem } from './model.ts';
import { rewriteTableNames } from './sql-names.ts';

/** A table name of the statement, resolved to a dataset's current version. */
export interface ResolvedTable {
  /** Where the dotted name is in `QueryJob.sql`: sql.slice(start, end). */
  start: number;
  end: number;
  /** The name as resolved (defaults filled in from X-Data-Source / X-Database). */
  source: string;
  database: string;
  table: string;
  /** True when the statement gives the table an alias (`FROM db.t x`, `FROM db.t AS x`). */
  aliased: boolean;
  dataset: DatasetItem;
  manifest: Manifest;
}

export interface QueryJob {
  item: QueryItem;
  /** One statement that returns rows (SELECT, WITH, VALUES, EXPLAIN ...). */
  sql: string;
  tables: ResolvedTable[];
  /** Longest the query may run before it is aborted. */
  timeoutMs: number;
}

export interface QueryEngine {
  /** Starts the query without waiting for it; answers the engine's reference for the record. */
  start(job: QueryJob): Promise<string | undefined>;
  /** Polled engines (Athena) bring an unfinished record up to date; others leave it. */
  refresh?(item: QueryItem): Promise<QueryItem>;
  /** Stops a queued or running query; one that has ended is not an error. */
  abort(item: QueryItem, reason: string): Promise<void>;
}

export const previewKey = (queryId: string) => `queries/${queryId}/preview.json`;

/** The most result rows the API serves (pages 0-9 of 100). */
export const PREVIEW_ROWS = 1000;
export const PAGE_ROWS = 100;

/**
 * The statement with every resolved name replaced by `nameOf(table)`; an unaliased table keeps
 * its written name as alias, so column references such as `region.name` still bind.
 */
export function rewriteStatement(
  job: Pick<QueryJob, 'sql' | 'tables'>,
  nameOf: (t: ResolvedTable) => string,
): string {
  return rewriteTableNames(
    job.sql,
    job.tables.map((t) => ({
      start: t.start,
      end: t.end,
      text: t.aliased ? nameOf(t) : `${nameOf(t)} AS ${quoteIdent(t.table)}`,
    })),
  );
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

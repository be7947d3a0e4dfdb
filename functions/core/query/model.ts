/**
 * Data Query records: one item per query (`QUERY#{id}` / `META`), listed newest first per
 * creator (`gsi1`: `QUERIES#{creator}`) and across creators (`gsi2`: `QUERIES`), and one item
 * per registered data source (`DSRC#{name}`). Times are epoch milliseconds, as the API shows them.
 */
import { randomInt } from 'node:crypto';
import type { Item } from '../item.ts';

export const QUERY_STATES = ['QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'ABORTED'] as const;
export type QueryState = (typeof QUERY_STATES)[number];
export const FINAL_STATES: readonly QueryState[] = ['FINISHED', 'FAILED', 'ABORTED'];

/** A result column as the API shows it: `type` in the engine's SQL type names (lower case). */
export interface ResultColumn {
  name: string;
  type: string;
}

export interface QueryFields {
  query_id: string;
  state: QueryState;
  query_text: string;
  creator_id: string;
  creator_name: string;
  bucket: string;
  /** The caller's path without leading or trailing slashes. */
  path: string;
  /** `{path}/YYYY/MM/DD`: the folder the result files go to. */
  storage_url: string;
  created_at: number;
  started_at?: number;
  /** Time spent resolving names and planning, ms. */
  planning_ms?: number;
  completed_at?: number;
  input_rows?: number;
  input_bytes?: number;
  output_rows?: number;
  output_bytes?: number;
  progress?: number;
  store_type?: 'BASIC' | 'TEXT';
  is_stored?: boolean;
  columns?: ResultColumn[];
  /** A TEXT result (SHOW ..., DDL): its rows, as the API serves them (never more than 1,000). */
  text_rows?: string[][];
  error_message?: string;
  /** The engine's own reference (an Athena QueryExecutionId). */
  engine_ref?: string;
}

export interface QueryItem extends Item, QueryFields {}

export const queryKey = (id: string) => `QUERY#${id}`;
export const byCreatorKey = (creatorId: string) => `QUERIES#${creatorId}`;
export const ALL_QUERIES_KEY = 'QUERIES';

const two = (n: number) => String(n).padStart(2, '0');

/** `YYYYMMDD-HHMMSS-<10 alphanumerics>` in UTC, as Data Query names queries. */
export function newQueryId(now: number): string {
  const d = new Date(now);
  const day = `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}`;
  const time = `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
  return `${day}-${time}-${alphanumerics(10)}`;
}

const ALPHANUMERICS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function alphanumerics(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERICS[randomInt(ALPHANUMERICS.length)];
  return out;
}

export const QUERY_ID_PATTERN = /^\d{8}-\d{6}-[A-Za-z0-9]{10}$/;

/** The dated folder under `path` for a query created at `now` (UTC). */
export function storageUrlOf(path: string, now: number): string {
  const d = new Date(now);
  const dated = `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}`;
  return path === '' ? dated : `${path}/${dated}`;
}

export const resultKey = (q: Pick<QueryItem, 'storage_url' | 'query_id'>) =>
  `${q.storage_url}/${q.query_id}.csv`;
export const metadataKey = (q: Pick<QueryItem, 'storage_url' | 'query_id'>) => `${resultKey(q)}.metadata`;

/** Sizes the way Data Query prints them: `1014B`, `867KB`, `318.24MB`, `1.62GB`. */
export function formatBytes(bytes: number | undefined): string {
  const n = bytes ?? 0;
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : trim(value)}${units[unit]}`;
}

/** Durations the way Data Query prints them: `284ms`, `10.23s`, `1.47m`, `2.5h`. */
export function formatDuration(ms: number | undefined): string {
  const n = Math.max(0, Math.round(ms ?? 0));
  if (n < 1000) return `${n}ms`;
  if (n < 60_000) return `${trim(n / 1000)}s`;
  if (n < 3_600_000) return `${trim(n / 60_000)}m`;
  return `${trim(n / 3_600_000)}h`;
}

function trim(value: number): string {
  return String(Math.round(value * 100) / 100);
}

// DuckDB result types as the query API shows them: the map lives in type-map.ts.
export { sqlTypeOfDuckDb } from '../type-map.ts';

/** Why a query over the time limit was aborted: `limitMs` as minutes, or seconds under one. */
export function timeLimitReason(limitMs: number): string {
  const limit =
    limitMs >= 60_000
      ? `${Math.round(limitMs / 60_000)} minute(s)`
      : `${Math.round(limitMs / 1000)} second(s)`;
  return `The query ran longer than the time limit of ${limit} and was aborted.`;
}

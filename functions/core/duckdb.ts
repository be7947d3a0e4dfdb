/**
 * One in-memory DuckDB instance per process, created on first use. Lambda's HOME is read-only
 * and there is no network, so DuckDB's home and spill directories live under the configured
 * temporary directory and extensions are never fetched or loaded on demand.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { tablesConfig } from './config.ts';

let instance: Promise<DuckDBInstance> | undefined;

async function createInstance(): Promise<DuckDBInstance> {
  const config = tablesConfig();
  const home = path.join(config.tmpDir, 'duckdb-home');
  const spill = path.join(config.tmpDir, 'duckdb-spill');
  await mkdir(home, { recursive: true });
  await mkdir(spill, { recursive: true });
  const options: Record<string, string> = {
    threads: String(config.duckdbThreads),
    home_directory: home,
    temp_directory: spill,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Parquet rows must come out in file order.
    preserve_insertion_order: 'true',
  };
  if (config.duckdbMemoryLimit) options.memory_limit = config.duckdbMemoryLimit;
  return DuckDBInstance.create(':memory:', options);
}

/** The process-wide instance; a failed start is retried by the next caller. */
export function duckdb(): Promise<DuckDBInstance> {
  if (!instance) {
    const created = createInstance();
    instance = created;
    created.catch(() => {
      if (instance === created) instance = undefined;
    });
  }
  return instance;
}

/** Runs `fn` on a fresh connection that is closed afterwards, whatever happens. */
export async function withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await (await duckdb()).connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
  }
}

export { sqlIdent, sqlString } from './sql.ts';

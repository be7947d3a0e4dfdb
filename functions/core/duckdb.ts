/**
 * DuckDB for one unit of work (a pipeline step, a CSV conversion, a query) over files in its own
 * work folder. Every instance is a sandbox: it is created for that work and closed after it,
 * may read and write only inside the folders it was given (`allowed_directories` with
 * `enable_external_access = false`), loads no extension that is not built in, and its settings
 * are locked before any SQL built from user input runs. That is what keeps user SQL (a
 * TRANSFORM_SQL node, a Data Query statement, names and values that end up in generated SQL)
 * away from the rest of the machine: the data directory's secrets, other batches' files, the
 * runtime. There is deliberately no process-wide instance.
 *
 * Lambda's HOME is read-only and there is no network, so DuckDB's home and spill directories
 * live inside the work folder too.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { platform } from './platform/platform.ts';
import { sqlString } from './sql.ts';

/**
 * Runs `fn` on a connection to a new sandboxed instance that may only touch files under `dirs`
 * (the first holds DuckDB's home and spill folders for as long as it lives); the instance is closed afterwards,
 * whatever happens.
 */
export async function withSandbox<T>(
  dirs: string | readonly string[],
  fn: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const allowed = [...new Set((typeof dirs === 'string' ? [dirs] : dirs).map((d) => path.resolve(d)))];
  const [first] = allowed;
  if (!first) throw new Error('a sandbox needs a work folder');
  // DuckDB's own folders, removed with the instance.
  const own = path.join(first, `.duckdb-${randomUUID()}`);
  const home = path.join(own, 'home');
  const spill = path.join(own, 'spill');
  await mkdir(home, { recursive: true });
  await mkdir(spill, { recursive: true });
  const config = platform().settings.tables;
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(config.duckdbThreads),
    home_directory: home,
    temp_directory: spill,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    allow_unsigned_extensions: 'false',
    // Parquet rows must come out in file order.
    preserve_insertion_order: 'true',
    ...(config.duckdbMemoryLimit ? { memory_limit: config.duckdbMemoryLimit } : {}),
  });
  try {
    const connection = await instance.connect();
    try {
      await connection.run(
        `SET allowed_directories = [${allowed.map((d) => sqlString(`${d}${path.sep}`)).join(', ')}]`,
      );
      await connection.run('SET enable_external_access = false');
      await connection.run('SET lock_configuration = true');
      return await fn(connection);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
    await rm(own, { recursive: true, force: true });
  }
}

/** Loads DuckDB's native library (at Lambda init, so the first request does not pay for it). */
export async function warmUp(): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  instance.closeSync();
}

/** A DuckDB error that says the SQL tried to touch a file outside its sandbox. */
export function isSandboxViolation(message: string): boolean {
  return /^Permission Error: /.test(message) || /file system operations are disabled/.test(message);
}

export { sqlIdent, sqlString } from './sql.ts';

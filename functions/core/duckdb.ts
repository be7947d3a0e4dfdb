/**
 * DuckDB for one unit of work (a pipeline step, a CSV conversion, a query) over files in its own
 * work folder. Every instance is a sandbox: it is created for that work and closed after it,
 * may read and write only inside the folders it was given (`allowed_directories` with
 * `enable_external_access = false`), loads no extension that is not built in, and its settings
 * are locked before any SQL built from user input runs. That is what keeps user SQL (a
 * TRANSFORM_SQL node, a Data Query statement, names and values that end up in generated SQL)
 * away from the rest of the machine: the data directory's secrets, other batches' files, the
 * runtime. A step of a pipeline (`withNewSandbox`) gets an instance made before it asked for one,
 * after the previous step ended (never used, locked to its own new folder: see `Spare`).
 * There is deliberately no process-wide instance; the local host's Data Query keeps a
 * small pool of such instances (`createSandboxPool`, safety argument there), each locked to its
 * own folder and checked clean before it serves the next query.
 *
 * Lambda's HOME is read-only and there is no network, so DuckDB's home and spill directories
 * live inside the work folder too.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { platform } from './platform/platform.ts';
import { sqlString } from './sql.ts';

/** The instance settings every sandbox starts with (before any SQL runs). */
function sandboxConfig(
  home: string,
  spill: string,
  limits: { threads: number; memoryLimit?: string | undefined },
): Record<string, string> {
  return {
    threads: String(limits.threads),
    home_directory: home,
    temp_directory: spill,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
    allow_unsigned_extensions: 'false',
    // Parquet rows must come out in file order.
    preserve_insertion_order: 'true',
    ...(limits.memoryLimit ? { memory_limit: limits.memoryLimit } : {}),
  };
}

/** Confines the instance to `allowed` and freezes its settings (no SQL can change them afterwards). */
async function lockDown(connection: DuckDBConnection, allowed: readonly string[]): Promise<void> {
  await connection.run(
    `SET allowed_directories = [${allowed.map((d) => sqlString(`${d}${path.sep}`)).join(', ')}]`,
  );
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}

/** A new sandboxed instance, locked down, with a connection; `own` holds its home and spill folders. */
interface OpenSandbox {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  own: string;
}

/** The limits every sandbox of this process gets (the tables settings). */
function sandboxLimits(): { threads: number; memoryLimit?: string | undefined } {
  const config = platform().settings.tables;
  return { threads: config.duckdbThreads, memoryLimit: config.duckdbMemoryLimit };
}

/**
 * Creates a sandbox that may only touch files under `allowed` (the first holds DuckDB's home and
 * spill folders): a new instance, its settings locked before anything else can run on it.
 */
async function openSandbox(
  allowed: readonly string[],
  limits: { threads: number; memoryLimit?: string | undefined },
): Promise<OpenSandbox> {
  const [first] = allowed;
  if (!first) throw new Error('a sandbox needs a work folder');
  // DuckDB's own folders, removed with the instance.
  const own = path.join(first, `.duckdb-${randomUUID()}`);
  const home = path.join(own, 'home');
  const spill = path.join(own, 'spill');
  await mkdir(home, { recursive: true });
  await mkdir(spill, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', sandboxConfig(home, spill, limits));
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    // Parquet footers are read once per file, not once per statement that binds it (a setting of
    // the built-in parquet extension, so set once it is loaded, for every connection). The
    // instance serves one piece of work, so the cache holds only that work's files, each written once.
    await connection.run('SET GLOBAL parquet_metadata_cache = true');
    await lockDown(connection, allowed);
    return { instance, connection, own };
  } catch (error) {
    connection?.closeSync();
    instance.closeSync();
    await rm(own, { recursive: true, force: true });
    throw error;
  }
}

/** Closes a sandbox's connection and instance (whatever happens) and removes its own folders. */
async function closeSandbox(sandbox: OpenSandbox): Promise<void> {
  try {
    sandbox.connection.closeSync();
  } finally {
    sandbox.instance.closeSync();
    await rm(sandbox.own, { recursive: true, force: true });
  }
}

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
  const sandbox = await openSandbox(allowed, sandboxLimits());
  try {
    return await fn(sandbox.connection);
  } finally {
    await closeSandbox(sandbox);
  }
}

// ---------------------------------------------------------------------------------------------
// A new sandbox with its own work folder, made ahead of the work it serves

/**
 * A sandbox made before it is asked for, for the next `withNewSandbox`: a new instance locked
 * to a new, empty folder of its own, that nothing has used. Creating an instance (and its
 * built-in extensions) takes 10-50 ms; the spare is made after a piece of work ends, off the
 * path of the next one. It is the same sandbox `withSandbox` makes, only made earlier: created
 * for one piece of work and closed after it, its settings locked before it is handed out, and it
 * may touch nothing but its own folder (the work's folder, removed with it). No instance ever
 * serves two pieces of work, so there is nothing to reset.
 */
interface Spare extends OpenSandbox {
  /** The work folder it is locked to. */
  folder: string;
  /** What it was made for (parent folder and limits): a spare made for other settings is not used. */
  key: string;
}

let spare: Promise<Spare | undefined> | undefined;
/** Folders of sandboxes made ahead and not yet handed out, removed at exit. */
const spareFolders = new Set<string>();
let spareExitHook = false;

const spareKey = (parent: string, limits: { threads: number; memoryLimit?: string | undefined }) =>
  JSON.stringify([parent, limits.threads, limits.memoryLimit ?? null]);

async function createInFolder(
  parent: string,
  limits: { threads: number; memoryLimit?: string | undefined },
): Promise<Spare> {
  await mkdir(parent, { recursive: true });
  const folder = await mkdtemp(path.join(parent, 'sluice-sandbox-'));
  try {
    const sandbox = await openSandbox([folder], limits);
    return { ...sandbox, folder, key: spareKey(parent, limits) };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/** Starts making the spare for work under `parent`, unless one is there or on its way. */
function prepareSpare(parent: string): void {
  if (spare) return;
  const limits = sandboxLimits();
  const made = createInFolder(parent, limits).then(
    (sandbox) => {
      spareFolders.add(sandbox.folder);
      if (!spareExitHook) {
        spareExitHook = true;
        process.once('exit', () => {
          for (const folder of spareFolders) rmSync(folder, { recursive: true, force: true });
        });
      }
      return sandbox;
    },
    () => undefined,
  );
  spare = made;
}

/** The spare, when there is one (or one on its way) made for `key`; it is no longer the spare. */
async function takeSpare(key: string): Promise<Spare | undefined> {
  const pending = spare;
  if (!pending) return undefined;
  spare = undefined;
  const sandbox = await pending;
  if (!sandbox) return undefined;
  spareFolders.delete(sandbox.folder);
  if (sandbox.key === key) return sandbox;
  await closeSandbox(sandbox).catch(() => undefined);
  await rm(sandbox.folder, { recursive: true, force: true });
  return undefined;
}

/**
 * Runs `fn` in a new sandbox with a new, empty work folder under `parent` (its only allowed
 * folder, where the work places its files): the folder and the instance are removed afterwards,
 * whatever happens. The sandbox is the spare made after the last such work when there is one
 * (see `Spare`), and a spare for the next work is started once this one has ended.
 */
export async function withNewSandbox<T>(
  parent: string,
  fn: (
    connection: DuckDBConnection,
    dir: string,
    /** Another connection to the same instance (same settings and catalog), closed with it. */
    connect: () => Promise<DuckDBConnection>,
  ) => Promise<T>,
): Promise<T> {
  const root = path.resolve(parent);
  const limits = sandboxLimits();
  const sandbox = (await takeSpare(spareKey(root, limits))) ?? (await createInFolder(root, limits));
  const others: DuckDBConnection[] = [];
  const connect = async () => {
    const connection = await sandbox.instance.connect();
    others.push(connection);
    return connection;
  };
  try {
    return await fn(sandbox.connection, sandbox.folder, connect);
  } finally {
    try {
      for (const other of others) other.closeSync();
      await closeSandbox(sandbox);
    } finally {
      await rm(sandbox.folder, { recursive: true, force: true });
      prepareSpare(root);
    }
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

// ---------------------------------------------------------------------------------------------
// A pool of sandboxes for short work of the same kind (Data Query on the local host)

/**
 * Why a pooled instance may serve one query after another and still be a sandbox (the same
 * properties as `withSandbox`, which the step worker and ingest keep using):
 *
 * - **Files.** An instance's `allowed_directories` is locked to its own folder `<root>/i<n>/`
 *   (DuckDB's home and spill folders live there too). It serves one piece of work at a time,
 *   whose files are placed in a fresh folder `<root>/i<n>/w-<uuid>/` (the Data Query engine
 *   hard-links or copies its inputs there, never symlinks, so nothing in it points outside); that
 *   folder is removed when the work ends, before the instance can be handed out again, and the
 *   instance is only kept when its folder then holds nothing but an empty `home/` and `spill/`.
 *   So work can read its own files and nothing else: not the data directory, not a file an
 *   earlier piece of work had or wrote (its result included: removed), not another instance's
 *   folder (outside its allowed directories), not the pool's root.
 * - **Session state.** Each piece of work gets a new connection, closed when it ends, so what
 *   lives in a connection goes with it: temporary views and tables (the caller's views are
 *   `CREATE TEMP VIEW`), prepared statements, `setseed`, profiling. What lives in the
 *   instance cannot be changed by the statements Data Query lets through (only queries and
 *   EXPLAIN reach DuckDB: CREATE, ATTACH, SET, PRAGMA, INSTALL/LOAD, COPY are refused in
 *   resolve.ts, `query()` and `json_execute_serialized_sql` run SELECTs only, and settings are
 *   locked) except through a few table functions with side effects (`enable_logging()` keeps a
 *   log of later statements that another query could read, `enable_peg_parser()` switches the
 *   parser, `checkpoint()`). Two checks keep those from reaching the next piece of work:
 *   `review(sql)` reads the statement with DuckDB's own parser (`json_serialize_sql`, on the
 *   pool's connection while the statement runs; the instance is not released before it ends)
 *   and marks the instance for discarding unless every table function it calls is a known
 *   read-only one (a statement the parser cannot serialize, EXPLAIN for one, counts as not
 *   read-only); and
 *   after the work, a fingerprint of the instance (every setting, the log, attached databases,
 *   schemas, tables, views, types, sequences, indexes, secrets, variables, temporary files, the
 *   external file cache (off in pooled instances), loaded extensions) must equal the one taken
 *   when the instance was new. Anything else (an interrupted statement, a failed check, a
 *   failure while setting up or cleaning up) discards the instance: it is closed and its
 *   folder removed, and the next work gets a new one.
 * - **Concurrency.** An instance is in at most one piece of work's hands; more concurrent work
 *   than idle instances creates more instances (as `withSandbox` would), and only `idle` of
 *   them are kept afterwards. An instance is replaced after `maxUses` pieces of work.
 */
export interface SandboxPoolOptions {
  /** A folder for this pool alone (created; removed by `close()` and at process exit). */
  root: string;
  threads: number;
  memoryLimit?: string;
  /** Idle instances kept for later work. */
  idle?: number;
  /** Pieces of work one instance serves before it is replaced. */
  maxUses?: number;
}

/** What a piece of work gets from the pool. */
export interface PooledSandbox {
  /** A new connection, closed when the work ends. */
  readonly connection: DuckDBConnection;
  /** A new folder for the work's files, the only one besides DuckDB's own that it may touch; removed when the work ends. */
  readonly dir: string;
  /** The instance's folder (the sandbox's allowed directory), to keep it out of messages. */
  readonly root: string;
  /**
   * Reads a statement of user SQL with DuckDB's parser (on the pool's own connection, so it may
   * run alongside the statement itself): one that calls a table function not known to be
   * read-only, or that the parser cannot serialize, has the instance discarded after this work.
   * The work is not over before the review is.
   */
  review(sql: string): void;
  /** Discards the instance after this work instead of keeping it (e.g. a statement was interrupted). */
  spoil(): void;
}

export interface SandboxPool {
  /** Runs `fn` in a sandbox from the pool. The instance is cleaned up and checked after `fn` settles, in the background; `close()` waits for that. */
  run<T>(fn: (sandbox: PooledSandbox) => Promise<T>): Promise<T>;
  /** Resolves once the work that has ended so far is cleaned up and its instance kept or discarded. */
  settled(): Promise<void>;
  /** Closes the idle instances and removes the pool's folder once work in progress has ended. */
  close(): Promise<void>;
  /** Counters for tests and benchmarks. */
  stats(): { created: number; reused: number; discarded: number; idle: number; busy: number };
}

/**
 * Table functions that only read (files inside the sandbox, generated rows, JSON values, the
 * catalog) and leave nothing behind. Any other table function in a statement (`query`,
 * `enable_logging`, `checkpoint`, a new one in a later DuckDB) discards the instance after use.
 */
const READ_ONLY_TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'repeat',
  'repeat_row',
  'glob',
  'read_parquet',
  'parquet_scan',
  'parquet_metadata',
  'parquet_schema',
  'parquet_file_metadata',
  'parquet_kv_metadata',
  'read_csv',
  'read_csv_auto',
  'sniff_csv',
  'read_json',
  'read_json_auto',
  'read_ndjson',
  'read_ndjson_auto',
  'read_json_objects',
  'read_json_objects_auto',
  'read_ndjson_objects',
  'read_text',
  'read_blob',
  'json_each',
  'json_tree',
  'duckdb_columns',
  'duckdb_constraints',
  'duckdb_databases',
  'duckdb_dependencies',
  'duckdb_indexes',
  'duckdb_keywords',
  'duckdb_logs',
  'duckdb_schemas',
  'duckdb_sequences',
  'duckdb_settings',
  'duckdb_tables',
  'duckdb_types',
  'duckdb_views',
  'pragma_version',
  'pragma_platform',
  'pragma_table_info',
]);

/** The names of the table functions a `json_serialize_sql` tree calls, anywhere in it. */
function tableFunctionsIn(node: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) tableFunctionsIn(item, into);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (record.type === 'TABLE_FUNCTION') {
      const name = (record.function as { function_name?: unknown } | undefined)?.function_name;
      into.add(typeof name === 'string' ? name.toLowerCase() : '');
    }
    for (const value of Object.values(record)) tableFunctionsIn(value, into);
  }
  return into;
}

/**
 * Whether `sql` only reads, as far as DuckDB's own parser tells: every table function it calls is
 * a known read-only one. A statement the parser rejects runs nowhere, so it changes nothing; one
 * it cannot serialize (EXPLAIN, anything but SELECT) is not known to be read-only.
 */
async function isReadOnly(connection: DuckDBConnection, sql: string): Promise<boolean> {
  try {
    const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    const tree = JSON.parse(String(reader.getRows()[0]?.[0])) as {
      error: boolean;
      error_type?: string;
      statements?: unknown;
    };
    if (tree.error) return tree.error_type === 'parser';
    return [...tableFunctionsIn(tree.statements)].every((name) => READ_ONLY_TABLE_FUNCTIONS.has(name));
  } catch {
    return false;
  }
}

/**
 * What can differ between a new pooled instance and one some work has changed. Read through the
 * pool's own connection; the work's connection is closed by then, so its temporary objects are
 * gone. (`duckdb_functions()` is left out: it takes ~70 ms, and a macro needs CREATE, which
 * neither Data Query nor `query()` lets through.)
 */
const FINGERPRINT = `SELECT concat_ws(chr(10),
  (SELECT string_agg(name || '=' || coalesce(value, '<null>'), chr(10) ORDER BY name) FROM duckdb_settings()),
  'logs=' || (SELECT count(*) FROM duckdb_logs),
  'databases=' || (SELECT string_agg(database_name || ':' || path, ',' ORDER BY database_name) FROM duckdb_databases()),
  'schemas=' || (SELECT count(*) FROM duckdb_schemas()),
  'tables=' || (SELECT count(*) FROM duckdb_tables()),
  'views=' || (SELECT count(*) FROM duckdb_views() WHERE NOT internal),
  'types=' || (SELECT count(*) FROM duckdb_types() WHERE NOT internal),
  'sequences=' || (SELECT count(*) FROM duckdb_sequences()),
  'indexes=' || (SELECT count(*) FROM duckdb_indexes()),
  'secrets=' || (SELECT count(*) FROM duckdb_secrets()),
  'variables=' || (SELECT count(*) FROM duckdb_variables()),
  'temporary_files=' || (SELECT count(*) FROM duckdb_temporary_files()),
  'file_cache=' || (SELECT count(*) FROM duckdb_external_file_cache()),
  'extensions=' || (SELECT string_agg(extension_name, ',' ORDER BY extension_name) FROM duckdb_extensions() WHERE loaded)
)`;

interface Pooled {
  instance: DuckDBInstance;
  /** The pool's own connection: it locked the settings and reads the fingerprint. */
  admin: DuckDBConnection;
  folder: string;
  fingerprint: string;
  uses: number;
}

/** Roots of open pools, removed at exit if `close()` never ran. */
const poolRoots = new Set<string>();
let exitHook = false;

export function createSandboxPool(options: SandboxPoolOptions): SandboxPool {
  const root = path.resolve(options.root);
  const keepIdle = options.idle ?? 2;
  const maxUses = options.maxUses ?? 100;
  const idle: Pooled[] = [];
  /** Work in progress, and the clean-ups after work (each settles, never rejects). */
  const working = new Set<Promise<void>>();
  const cleanups = new Set<Promise<void>>();
  const counts = { created: 0, reused: 0, discarded: 0, busy: 0 };
  let sequence = 0;
  let closed = false;
  let ready: Promise<void> | undefined;

  const prepareRoot = () => {
    ready ??= (async () => {
      await rm(root, { recursive: true, force: true });
      await mkdir(root, { recursive: true });
      poolRoots.add(root);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const r of poolRoots) rmSync(r, { recursive: true, force: true });
        });
      }
    })();
    return ready;
  };

  async function create(): Promise<Pooled> {
    await prepareRoot();
    const folder = path.join(root, `i${sequence++}`);
    await mkdir(path.join(folder, 'home'), { recursive: true });
    await mkdir(path.join(folder, 'spill'), { recursive: true });
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        ...sandboxConfig(path.join(folder, 'home'), path.join(folder, 'spill'), options),
        // Cached file contents would outlive the work that read them.
        enable_external_file_cache: 'false',
      });
      const admin = await instance.connect();
      await lockDown(admin, [folder]);
      const fingerprint = String((await admin.runAndReadAll(FINGERPRINT)).getRows()[0]?.[0]);
      counts.created++;
      return { instance, admin, folder, fingerprint, uses: 0 };
    } catch (error) {
      instance?.closeSync();
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  async function discard(pooled: Pooled): Promise<void> {
    counts.discarded++;
    try {
      pooled.admin.closeSync();
      pooled.instance.closeSync();
    } finally {
      await rm(pooled.folder, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Whether the instance is as it was when new, with nothing left in its folder. */
  async function isClean(pooled: Pooled): Promise<boolean> {
    const entries = (await readdir(pooled.folder)).sort();
    if (entries.join('/') !== 'home/spill') return false;
    for (const own of ['home', 'spill']) {
      if ((await readdir(path.join(pooled.folder, own))).length > 0) return false;
    }
    const fingerprint = String((await pooled.admin.runAndReadAll(FINGERPRINT)).getRows()[0]?.[0]);
    return fingerprint === pooled.fingerprint;
  }

  async function release(pooled: Pooled, dir: string, spoiled: boolean): Promise<void> {
    counts.busy--;
    try {
      await rm(dir, { recursive: true, force: true });
      pooled.uses++;
      const keep =
        !spoiled && !closed && pooled.uses < maxUses && idle.length < keepIdle && (await isClean(pooled));
      // Checked again: the pool may have closed, or filled, while the check ran.
      if (keep && !closed && idle.length < keepIdle) {
        idle.push(pooled);
        return;
      }
    } catch {
      // a failed clean-up or check discards the instance
    }
    await discard(pooled);
  }

  /** Runs `fn` on a new connection and work folder of `pooled`, then starts its clean-up. */
  async function serve<T>(pooled: Pooled, fn: (sandbox: PooledSandbox) => Promise<T>): Promise<T> {
    counts.busy++;
    const dir = path.join(pooled.folder, `w-${randomUUID()}`);
    let spoiled = false;
    const reviews: Array<Promise<void>> = [];
    let connection: DuckDBConnection | undefined;
    try {
      await mkdir(dir);
      connection = await pooled.instance.connect();
      return await fn({
        connection,
        dir,
        root: pooled.folder,
        review(sql) {
          reviews.push(
            isReadOnly(pooled.admin, sql).then((readOnly) => {
              if (!readOnly) spoiled = true;
            }),
          );
        },
        spoil() {
          spoiled = true;
        },
      });
    } catch (error) {
      // Whatever failed may have left the session half-changed.
      spoiled = true;
      throw error;
    } finally {
      connection?.closeSync();
      const cleanup = Promise.all(reviews)
        .then(() => release(pooled, dir, spoiled))
        .catch(() => undefined)
        .finally(() => cleanups.delete(cleanup));
      cleanups.add(cleanup);
    }
  }

  return {
    async run(fn) {
      // An instance being checked after its last work is usually back sooner than a new one
      // starts (but a check that hangs must not hold up new work).
      if (idle.length === 0 && cleanups.size > 0) {
        await Promise.race([...cleanups, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
      if (closed) throw new Error('the sandbox pool is closed');
      let finish = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      working.add(finished);
      try {
        const reused = idle.pop();
        const pooled = reused ?? (await create());
        if (reused) counts.reused++;
        return await serve(pooled, fn);
      } finally {
        working.delete(finished);
        finish();
      }
    },
    async settled() {
      while (cleanups.size > 0) await Promise.all([...cleanups]);
    },
    async close() {
      closed = true;
      // Work in progress ends on its own (its caller interrupts it); its instance is discarded.
      while (working.size > 0 || cleanups.size > 0) await Promise.all([...working, ...cleanups]);
      await Promise.all(idle.splice(0).map(discard));
      if (ready) {
        await ready;
        await rm(root, { recursive: true, force: true });
        poolRoots.delete(root);
      }
    },
    stats() {
      return { ...counts, idle: idle.length };
    },
  };
}

export { sqlIdent, sqlString } from './sql.ts';

/**
 * The local host: the whole platform under one data directory. Start order: dynalite, s3rver,
 * the table and buckets, the host's settings (parsed from an environment object, never written to
 * the process environment) and its local platform, then the HTTP server that dispatches the route
 * table to the Lambda handler modules. Everything a host does runs on its own platform, so one
 * process can run several hosts on separate data directories and ports.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { type BootstrapResult, ensureBootstrapAdmin } from '#core/auth/bootstrap';
import { reconcile } from '#core/engine/reconcile';
import { failInterruptedBatches } from '#core/pipelines/runs';
import { onPortsOf } from '#core/platform/lambda';
import { runOn } from '#core/platform/platform';
import { failInterruptedQueries } from '#core/query/queries';
import { parseSettings, SETTING, type Settings } from '#core/settings';
import { failInterruptedUploads } from '#core/tables/uploads';
import { objectCreatedEvent } from '#core/triggers/local';
import { armAllTriggers } from '#core/triggers/triggers';
import { handler as authorize } from '#functions/authorizer';
import { onObjectCreated } from '#functions/ingest';
import { handler as reconciler } from '#functions/reconciler';
import { AREA_HANDLERS } from './handlers.ts';
import { createLocalPlatform } from './platform.ts';
import { type ConsoleSite, createApiServer, serverUrl } from './server.ts';
import {
  ensureBucket,
  ensureTable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type RunningStore,
  startDynamo,
  startS3,
} from './stores.ts';

export const LOCAL_TABLE = 'sluice';
export const LOCAL_DATA_BUCKET = 'sluice-data';
/** Where Data Query writes results unless a query names one of SLUICE_BUCKETS. */
export const LOCAL_RESULTS_BUCKET = 'sluice-results';

export interface HostOptions {
  dataDir: string;
  port: number;
  /** Interface the API and S3 endpoints listen on (loopback unless configured). */
  bindAddress: string;
  s3Port: number;
  dynamodbPort: number;
  adminUsername: string;
  /** Used only when the data directory is new; otherwise the stored admin stays. */
  adminPassword?: string;
  /**
   * The environment the host's settings are read from (default: this process's). Powertools reads
   * its own switches (log level, ...) from the process environment: see process-env.ts.
   */
  env?: Environment;
  /** The web console's built files, served at `/` on the API's origin (none: API only). */
  console?: ConsoleSite;
  log(line: string): void;
}

type Environment = Record<string, string | undefined>;

export interface Host {
  url: string;
  /** External buckets (SLUICE_BUCKETS) that pipeline nodes may read and write. */
  buckets: string[];
  /** The bucket Data Query results go to by default. */
  resultsBucket: string;
  s3Url: string;
  dynamodbUrl: string;
  dataDir: string;
  admin: BootstrapResult;
  stop(): Promise<void>;
}

/** SLUICE_BUCKETS: external buckets pipeline nodes may use; created in the local S3 at start. */
function externalBuckets(names: string[]): string[] {
  for (const name of names) {
    if (
      !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) ||
      name === LOCAL_DATA_BUCKET ||
      name === LOCAL_RESULTS_BUCKET
    ) {
      throw new Error(`SLUICE_BUCKETS: "${name}" is not a usable S3 bucket name.`);
    }
  }
  return names;
}

/**
 * The data directory lock, `host.pid`: `{"pid": N, "started": "..."}` naming the host that owns the
 * directory. A lock whose holder is gone is taken over, so a host killed with `kill -9` restarts.
 *
 * Why a pid file with the holder's identity rather than an OS lock (flock/fcntl, released by the
 * kernel at exit): Node has no file-lock API without a native module. `process.kill(pid, 0)` alone
 * is not enough either: it succeeds on a zombie (a killed host its parent has not reaped yet) and
 * on an unrelated process that got the pid again. So on Linux the holder is read from
 * `/proc/<pid>/stat`: state Z/X is dead, and `started` (boot id + the process's start time in
 * clock ticks) must match, so a recycled pid does not count. Where there is no /proc (macOS,
 * Windows) or the process is not visible in it, kill(pid, 0) decides (EPERM = alive). A bare pid
 * (the lock of an older host) has no identity, so only the zombie check applies to it.
 *
 * The lock is written complete to a temporary file and hard-linked into place (link fails when
 * the name exists), so of two hosts starting at once exactly one gets it and nobody ever reads a
 * half-written lock. A stale lock is first moved aside and only taken if the moved file is the one
 * judged stale; a fresh lock moved by mistake is linked back.
 */
interface LockHolder {
  pid: number;
  /** `<boot id>:<start time in clock ticks>` on Linux; absent elsewhere and in old lock files. */
  started?: string;
}

/** State and identity of a process from /proc (Linux), or undefined when it cannot be read. */
async function procStat(pid: number): Promise<{ state: string; started: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): 3 is the state,
    // 22 the start time.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
    return { state: fields[0] ?? '', started: `${bootId}:${fields[19] ?? ''}` };
  } catch {
    return undefined;
  }
}

function parseLock(text: string): LockHolder | undefined {
  const trimmed = text.trim();
  // Hosts before the identity check wrote the bare pid.
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const { pid, started } = JSON.parse(trimmed) as Partial<LockHolder>;
    if (typeof pid !== 'number') return undefined;
    return typeof started === 'string' ? { pid, started } : { pid };
  } catch {
    return undefined;
  }
}

async function holderAlive(holder: LockHolder | undefined): Promise<boolean> {
  if (!holder || !Number.isInteger(holder.pid) || holder.pid <= 0 || holder.pid === process.pid) return false;
  const stat = await procStat(holder.pid);
  if (stat) {
    if (stat.state === 'Z' || stat.state === 'X') return false;
    return holder.started === undefined || holder.started === stat.started;
  }
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function claimDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'host.pid');
  const started = (await procStat(process.pid))?.started;
  const mine = JSON.stringify(started ? { pid: process.pid, started } : { pid: process.pid });
  const unique = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temp = `${lockFile}.${unique}.tmp`;
  const aside = `${lockFile}.${unique}.stale`;
  const code = (error: unknown) => (error as NodeJS.ErrnoException).code;
  await writeFile(temp, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(temp, lockFile).catch((error: unknown) => {
          // A filesystem without hard links: an exclusive create (its content lands a moment later).
          if (code(error) === 'EEXIST') throw error;
          return writeFile(lockFile, mine, { flag: 'wx' });
        });
        break;
      } catch (error) {
        if (code(error) !== 'EEXIST' || attempt >= 10) throw error;
      }
      const seen = await readFile(lockFile, 'utf8').catch(() => undefined);
      if (seen === undefined) continue; // released meanwhile
      const holder = parseLock(seen);
      if (await holderAlive(holder))
        throw new Error(
          `Another Sluice host (pid ${holder?.pid}) is using ${dataDir}. Stop it or set SLUICE_DATA_DIR.`,
        );
      // Take the stale lock away, unless another host replaced it since it was read.
      try {
        await rename(lockFile, aside);
      } catch (error) {
        if (code(error) === 'ENOENT') continue;
        throw error;
      }
      if ((await readFile(aside, 'utf8')) !== seen) await link(aside, lockFile).catch(() => undefined);
      await rm(aside, { force: true });
    }
  } finally {
    await rm(temp, { force: true });
  }
  return {
    // Remove the lock only while it is still this host's.
    async release() {
      if ((await readFile(lockFile, 'utf8').catch(() => undefined)) === mine)
        await rm(lockFile, { force: true });
    },
  };
}

/** A secret key of this data directory (`jwt`, `data-sources`), created on first start (owner-only file). */
async function signingSecret(dataDir: string, name = 'jwt'): Promise<string> {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, `${name}.key`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) {
    await writeFile(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  await chmod(file, 0o600);
  return (await readFile(file, 'utf8')).trim();
}

/** The host's settings: the operator's environment plus where this host's stores and keys are. */
function hostSettings(
  env: Environment,
  dataDir: string,
  dynamo: RunningStore,
  s3: RunningStore,
  jwtSecret: string,
  dataSourceKey: string,
): Settings {
  return parseSettings({
    ...env,
    [SETTING.region]: LOCAL_REGION,
    [SETTING.table]: LOCAL_TABLE,
    [SETTING.dataBucket]: LOCAL_DATA_BUCKET,
    [SETTING.dynamodbEndpoint]: dynamo.url,
    [SETTING.s3Endpoint]: s3.url,
    [SETTING.s3PublicEndpoint]: s3.url.replace('127.0.0.1', 'localhost'),
    [SETTING.jwtSecret]: jwtSecret,
    [SETTING.localSecretKey]: dataSourceKey,
    [SETTING.resultsBucket]: LOCAL_RESULTS_BUCKET,
    [SETTING.tmpDir]: join(dataDir, 'tmp'),
  });
}

type AnyHandler = (event: unknown, context: Context) => Promise<unknown>;

function background(): { track<T>(work: Promise<T>): void; drain(timeoutMs: number): Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  return {
    track(work) {
      const tracked = work.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    },
    async drain(timeoutMs) {
      await Promise.race([Promise.all([...inFlight]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}

export async function startHost(options: HostOptions): Promise<Host> {
  const env = options.env ?? process.env;
  // A bad setting stops the host before anything starts, naming the variable.
  parseSettings(env);
  const dataDir = resolve(options.dataDir);
  const lock = await claimDataDir(dataDir);
  const tmpDir = join(dataDir, 'tmp');
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });

  const dynamo = await startDynamo(dataDir, options.dynamodbPort);
  const s3 = await startS3(dataDir, options.s3Port, options.bindAddress);
  await ensureTable(dynamo.url, LOCAL_TABLE);
  await ensureBucket(s3.url, LOCAL_DATA_BUCKET);
  await ensureBucket(s3.url, LOCAL_RESULTS_BUCKET);
  const settings = hostSettings(
    env,
    dataDir,
    dynamo,
    s3,
    await signingSecret(dataDir),
    await signingSecret(dataDir, 'data-sources'),
  );
  const buckets = externalBuckets(settings.pipelines.buckets);
  for (const bucket of buckets) await ensureBucket(s3.url, bucket);

  const tasks = background();
  const platform = createLocalPlatform({
    settings,
    credentials: LOCAL_CREDENTIALS,
    dataDir,
    track: (work) => tasks.track(work),
    log: options.log,
  });
  const { engine, queryEngine, triggers: triggerBus } = platform;
  /** Runs host work on this host's platform (and whatever it starts: timers, engine tasks, ...). */
  const onHost = <T>(work: () => T): T => runOn(platform, work);

  const admin = await onHost(() => ensureBootstrapAdmin(options.adminUsername, options.adminPassword));
  const interrupted = await onHost(() => failInterruptedUploads());
  if (interrupted > 0) options.log(`Marked ${interrupted} interrupted upload(s) as failed.`);
  const interruptedRuns = await onHost(() => failInterruptedBatches());
  if (interruptedRuns > 0)
    options.log(`Marked ${interruptedRuns} batch(es) interrupted by the last stop as failed.`);
  const interruptedQueries = await onHost(() => failInterruptedQueries());
  if (interruptedQueries > 0)
    options.log(`Marked ${interruptedQueries} query(ies) interrupted by the last stop as failed.`);

  const armed = await onHost(() => armAllTriggers());
  if (armed > 0) options.log(`Armed ${armed} trigger(s).`);

  // s3rver's object-created notifications stand in for S3's EventBridge events: every bucket's
  // go to the trigger bus, and those under `uploads/` in the data bucket start an ingest.
  s3.onObjectCreated((bucket, key, size) =>
    onHost(() => {
      const event = objectCreatedEvent(bucket, key, size, LOCAL_REGION);
      triggerBus.publish(event);
      if (bucket !== LOCAL_DATA_BUCKET || !key.startsWith('uploads/')) return;
      const context = { awsRequestId: event.id, functionName: 'sluice-local-ingest-events' } as Context;
      tasks.track(
        (onObjectCreated as unknown as AnyHandler)(event, context).catch((error: unknown) =>
          options.log(`upload ingest failed: ${(error as Error).message}`),
        ),
      );
    }),
  );

  // The reconciler, as the AWS schedule runs it: settles runs whose end was never recorded.
  const { graceSeconds, intervalSeconds } = settings.reconcile;
  const reconcileTimer = setInterval(
    () =>
      onHost(() =>
        tasks.track(
          // With the reconciler function's own ports, as on AWS.
          onPortsOf(reconciler, () => reconcile({ graceSeconds }))
            .then((report) => {
              if (report.settled + report.started > 0)
                options.log(`Reconciled: ${report.settled} run(s) settled, ${report.started} started.`);
            })
            .catch((error: unknown) => options.log(`reconciling failed: ${(error as Error).message}`)),
        ),
      ),
    intervalSeconds * 1000,
  );
  reconcileTimer.unref();

  const onHostHandler =
    (handler: AnyHandler): AnyHandler =>
    (event, context) =>
      onHost(() => handler(event, context));

  const server: Server = createApiServer({
    areas: Object.fromEntries(
      Object.entries(AREA_HANDLERS).map(([area, handler]) => [area, onHostHandler(handler as AnyHandler)]),
    ) as never,
    authorizer: onHostHandler(authorize as unknown as AnyHandler) as never,
    log: options.log,
    ...(options.console ? { console: options.console } : {}),
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bindAddress, () => resolvePromise());
  });
  // Keep-alive connections must not hold a shutdown open.
  server.keepAliveTimeout = 5_000;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
        // Requests still running after 15 s are cut off so Ctrl-C always finishes.
        setTimeout(() => server.closeAllConnections(), 15_000).unref();
      });
      // No trigger starts a run once the host is stopping.
      triggerBus.stopAll();
      clearInterval(reconcileTimer);
      await engine.stopAll();
      await queryEngine.stopAll();
      await tasks.drain(30_000);
      await s3.close();
      await dynamo.close();
      await lock.release();
    })();
    return stopping;
  };

  return {
    url: serverUrl(server),
    buckets,
    resultsBucket: LOCAL_RESULTS_BUCKET,
    s3Url: s3.url.replace('127.0.0.1', 'localhost'),
    dynamodbUrl: dynamo.url,
    dataDir,
    admin,
    stop,
  };
}

/**
 * The step worker: runs one node of one batch with DuckDB on local files. Inputs are the
 * Parquet parts of the node's parents under `runs/{batch}/{parent}/` (or, for sources, the
 * objects of an S3 prefix / the parts of a dataset version), copied to a work directory;
 * the output goes back as Parquet under `runs/{batch}/{node}/`, or to the target.
 *
 * Every node reports as it goes: the step's state and per-partition row offsets on the batch
 * record, and a trace record (state, times, rows, bytes, error, first rows of output).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Principal } from '../auth/principal.ts';
import { findCollectionByRef } from '../catalog/collections.ts';
import { acquireDatasetLock, createDataset, findDatasetByRef } from '../catalog/datasets.ts';
import { getItem, putItem, updateItem } from '../db.ts';
import { isSandboxViolation, sqlIdent, sqlString, withSandbox } from '../duckdb.ts';
import { AppError } from '../errors.ts';
import { logger, metrics } from '../observability.ts';
import type { Field, WorkerEvent } from '../pipelines/model.ts';
import {
  definitionOf,
  type HookContext,
  type NodeInput,
  type PlanNode,
  parquetRelation,
  type Sample,
  type SourcePlan,
  type TargetContext,
} from '../pipelines/nodes/index.ts';
import { pipelineKey, type VersionItem } from '../pipelines/pipelines.ts';
import { type BatchItem, batchKey, findBatch } from '../pipelines/runs.ts';
import { type TraceItem, traceSk } from '../pipelines/traces.ts';
import { platform } from '../platform/platform.ts';
import {
  copyObject,
  deleteObject,
  downloadToFile,
  getJson,
  listObjects,
  putFile,
  putJson,
  uploadFile,
} from '../storage.ts';
import { ROW_GROUP_SIZE } from '../tables/convert.ts';
import type { Column } from '../tables/csv.ts';
import { withWorkDir } from '../tables/ingest.ts';
import type { ManifestPart } from '../tables/manifest.ts';
import { readPartRows } from '../tables/reader.ts';
import { abandonVersion, getManifest, publishVersion, versionPrefix } from '../tables/versions.ts';
import { columnTypeOfDuckDb, duckDbTypeOfField, fieldTypeOfDuckDb } from '../type-map.ts';
import { recallPart, rememberPart } from './part-cache.ts';

/** A step failure the state machine must not retry; the message is shown to the user. */
export class StepFailedError extends Error {
  override name = 'Sluice.StepFailed';
}

/** A failure worth retrying (throttling, a dropped connection); nothing is recorded. */
export class TransientError extends Error {
  override name = 'Sluice.Transient';
}

/** The batch was stopped (or has otherwise finished): do no more work for it. */
export class BatchStoppedError extends Error {
  override name = 'Sluice.BatchStopped';
}

const SAMPLE_ROWS = 20;
const WATCH_INTERVAL_MS = 1000;
const PARQUET = `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`;

const runPrefix = (batchId: string, nodeKey: string) => `runs/${batchId}/${nodeKey}/`;
const planKey = (batchId: string, nodeKey: string) => `runs/${batchId}/_plans/${nodeKey}.json`;
const partKey = (batchId: string, nodeKey: string, partition: number, piece?: number) =>
  `${runPrefix(batchId, nodeKey)}part-${String(partition).padStart(5, '0')}${
    piece === undefined ? '' : `-${String(piece).padStart(5, '0')}`
  }.parquet`;

// ---------------------------------------------------------------------------------------------
// Context: the batch, the version's plan and the node

interface StepContext {
  batch: BatchItem;
  node: PlanNode;
  position: number;
  plan: PlanNode[];
}

const plans = new Map<string, PlanNode[]>();

async function versionPlan(pipelineId: string, version: number): Promise<PlanNode[]> {
  const key = `${pipelineId}/${version}`;
  const cached = plans.get(key);
  if (cached) return cached;
  const item = await getItem<VersionItem>(
    pipelineKey(pipelineId),
    `VER#${String(version).padStart(10, '0')}`,
  );
  if (!item) throw new StepFailedError(`Pipeline ${pipelineId} version ${version} no longer exists.`);
  if (plans.size > 64) plans.clear();
  plans.set(key, item.plan);
  return item.plan;
}

async function context(event: WorkerEvent, requireRunning: boolean): Promise<StepContext | undefined> {
  const batch = await findBatch(event.batch_id);
  if (!batch) throw new BatchStoppedError(`Batch ${event.batch_id} no longer exists.`);
  if (batch.status !== 'running') {
    if (requireRunning) throw new BatchStoppedError(`Batch ${batch.id} is ${batch.status}.`);
    return undefined;
  }
  const plan = await versionPlan(event.pipeline_id, event.pipeline_version);
  const position = plan.findIndex((n) => n.key === event.node_id);
  const node = plan[position];
  if (!node) throw new StepFailedError(`Node ${event.node_id} is not part of this pipeline version.`);
  return { batch, node, position, plan };
}

// ---------------------------------------------------------------------------------------------
// Recording state: nested updates, conditioned on the batch still running

async function setStep(ctx: StepContext, state: 'running' | 'success' | 'failed'): Promise<void> {
  const updated = await updateItem(batchKey(ctx.batch.id), 'META', {
    UpdateExpression: 'SET steps.#step.#state = :state',
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: { '#step': ctx.node.step, '#state': 'state', '#status': 'status' },
    ExpressionAttributeValues: { ':state': state, ':running': 'running' },
  });
  if (!updated) throw new BatchStoppedError(`Batch ${ctx.batch.id} is no longer running.`);
}

async function setOffset(ctx: StepContext, partition: number, rows: number): Promise<void> {
  await updateItem(batchKey(ctx.batch.id), 'META', {
    UpdateExpression: 'SET steps.#step.offsets.#p = :rows',
    ConditionExpression: '#status = :running',
    ExpressionAttributeNames: { '#step': ctx.node.step, '#p': `partition_${partition}`, '#status': 'status' },
    ExpressionAttributeValues: { ':rows': rows, ':running': 'running' },
  });
}

async function startTrace(ctx: StepContext, extra: Partial<TraceItem> = {}): Promise<void> {
  const trace: TraceItem = {
    pk: batchKey(ctx.batch.id),
    sk: traceSk(ctx.position),
    batch_id: ctx.batch.id,
    node_id: ctx.node.key,
    node_name: ctx.node.step,
    node_type: ctx.node.type,
    position: ctx.position,
    state: 'running',
    started_at: new Date().toISOString(),
    rows_in: 0,
    rows_out: 0,
    bytes_in: 0,
    bytes_out: 0,
    logs: [],
    ...extra,
  };
  await putItem(trace);
}

/** Adds to a trace's counters (partitions report concurrently) and appends log lines. */
async function addToTrace(
  ctx: StepContext,
  counts: Partial<Record<'rows_in' | 'rows_out' | 'bytes_in' | 'bytes_out', number>>,
  logs: string[] = [],
): Promise<void> {
  const adds = Object.entries(counts).filter(([, v]) => v !== undefined && v !== 0);
  const parts: string[] = [];
  const values: Record<string, unknown> = {};
  if (adds.length > 0) parts.push(`ADD ${adds.map(([k]) => `${k} :${k}`).join(', ')}`);
  for (const [k, v] of adds) values[`:${k}`] = v;
  if (logs.length > 0) {
    parts.push('SET #logs = list_append(#logs, :logs)');
    values[':logs'] = logs;
  }
  if (parts.length === 0) return;
  await updateItem(batchKey(ctx.batch.id), traceSk(ctx.position), {
    UpdateExpression: parts.join(' '),
    ConditionExpression: 'attribute_exists(pk)',
    ...(logs.length > 0 ? { ExpressionAttributeNames: { '#logs': 'logs' } } : {}),
    ExpressionAttributeValues: values,
  });
}

async function endTrace(
  ctx: StepContext,
  state: 'success' | 'failed',
  extra: { error?: string; sample?: TraceItem['sample'] } = {},
): Promise<void> {
  const current = await getItem<TraceItem>(batchKey(ctx.batch.id), traceSk(ctx.position));
  const finished = new Date();
  const started = current ? Date.parse(current.started_at) : finished.getTime();
  const sets = ['#state = :state', 'finished_at = :finished', 'duration_ms = :duration'];
  const values: Record<string, unknown> = {
    ':state': state,
    ':finished': finished.toISOString(),
    ':duration': finished.getTime() - started,
  };
  if (extra.error !== undefined) {
    sets.push('#error = :error');
    values[':error'] = extra.error;
  }
  if (extra.sample) {
    sets.push('#sample = :sample');
    values[':sample'] = extra.sample;
  }
  if (!current) {
    await startTrace(ctx, { state, finished_at: finished.toISOString(), duration_ms: 0, ...extra });
    return;
  }
  await updateItem(batchKey(ctx.batch.id), traceSk(ctx.position), {
    UpdateExpression: `SET ${sets.join(', ')}`,
    ExpressionAttributeNames: {
      '#state': 'state',
      ...(extra.error !== undefined ? { '#error': 'error' } : {}),
      ...(extra.sample ? { '#sample': 'sample' } : {}),
    },
    ExpressionAttributeValues: values,
  });
}

// ---------------------------------------------------------------------------------------------
// DuckDB helpers

/**
 * Runs `work` in a DuckDB sandbox confined to the step's work folder `dir`, while watching the
 * batch: when it stops (or the local engine aborts the task) the running query is interrupted.
 */
async function withWatchedConnection<T>(
  batchId: string,
  dir: string,
  signal: AbortSignal | undefined,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  return withSandbox(dir, async (connection) => {
    let stopped = false;
    const interrupt = () => {
      stopped = true;
      connection.interrupt();
    };
    signal?.addEventListener('abort', interrupt, { once: true });
    if (signal?.aborted) interrupt();
    const timer = setInterval(() => {
      // An abort between two statements interrupts nothing: repeat it until the work stops.
      if (signal?.aborted) interrupt();
      findBatch(batchId)
        .then((b) => {
          if (b?.status !== 'running') interrupt();
        })
        .catch(() => undefined);
    }, WATCH_INTERVAL_MS);
    try {
      return await work(connection);
    } catch (error) {
      if (stopped) throw new BatchStoppedError(`Batch ${batchId} was stopped while this step ran.`);
      throw error;
    } finally {
      clearInterval(timer);
      signal?.removeEventListener('abort', interrupt);
    }
  });
}

async function copyTo(connection: DuckDBConnection, select: string, path: string, options = PARQUET) {
  const result = await connection.run(`COPY (${select}) TO ${sqlString(path)} ${options}`);
  const rows = await result.getRows();
  const count = rows[0]?.[0];
  return typeof count === 'bigint' || typeof count === 'number' ? Number(count) : result.rowsChanged;
}

async function sampleOf(connection: DuckDBConnection, relation: string): Promise<Sample> {
  const reader = await connection.runAndReadAll(`SELECT * FROM ${relation} LIMIT ${SAMPLE_ROWS}`);
  // DuckDB's JSON form writes 64-bit integers as text; show them as numbers like table pages do.
  const integer = reader.columnTypes().map((t) => columnTypeOfDuckDb(t.toString()) === 'integer');
  const rows = (reader.getRowsJson() as unknown[][]).map((row) =>
    row.map((value, i) =>
      integer[i] && typeof value === 'string' && Number.isSafeInteger(Number(value)) ? Number(value) : value,
    ),
  );
  return { columns: reader.columnNames(), rows };
}

/** Uploads one part of a node's output and keeps the file for the next step. */
async function uploadPart(key: string, file: string): Promise<number> {
  const { size, etag } = await uploadFile(key, file, 'application/vnd.apache.parquet');
  await rememberPart(key, etag, file, size);
  return size;
}

/** The Parquet parts a parent produced, as local files (cached or downloaded). */
async function fetchParentParts(
  batchId: string,
  parent: string,
  dir: string,
): Promise<{ files: string[]; bytes: number }> {
  const objects = (await listObjects(runPrefix(batchId, parent))).filter((o) => o.key.endsWith('.parquet'));
  if (objects.length === 0)
    throw new StepFailedError(`The output of node ${parent} is missing; run the batch again.`);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let bytes = 0;
  for (const [i, o] of objects.entries()) {
    const file = join(dir, `part-${i}.parquet`);
    bytes += (await recallPart(o.key, o.etag, file)) ? o.size : await downloadToFile(o.key, file);
    files.push(file);
  }
  return { files, bytes };
}

// ---------------------------------------------------------------------------------------------
// Sources: plan partitions, run each, seal

function groupKeys(keys: string[], max: number): string[][] {
  const count = Math.min(keys.length, max);
  const groups: string[][] = Array.from({ length: count }, () => []);
  const size = Math.ceil(keys.length / Math.max(count, 1));
  for (const [i, key] of keys.entries()) groups[Math.floor(i / size)]?.push(key);
  return groups.filter((g) => g.length > 0);
}

function requireAllowedBucket(bucket: string): void {
  if (!platform().settings.pipelines.buckets.includes(bucket)) {
    throw new StepFailedError(
      `Bucket "${bucket}" is not one of the buckets this deployment may use (SLUICE_BUCKETS).`,
    );
  }
}

/** What source and target hooks may ask of the worker; their log lines go to `logs`. */
function hookContext(logs: string[]): HookContext {
  return {
    failure: (message) => new StepFailedError(message),
    log: (line) => {
      logs.push(line);
    },
    requireAllowedBucket,
    listObjects,
    findCollection: findCollectionByRef,
    findDataset: findDatasetByRef,
  };
}

function sourceHooks(ctx: StepContext) {
  const source = definitionOf(ctx.node).source;
  if (!source) throw new StepFailedError(`Node type ${ctx.node.type} is not a source.`);
  return source;
}

async function planSource(ctx: StepContext): Promise<{ partitions: Array<{ partition: number }> }> {
  const max = Math.min(platform().settings.pipelines.maxPartitions, 1000);
  const logs: string[] = [];
  const plan = await sourceHooks(ctx).plan(ctx.node.node, {
    ...hookContext(logs),
    partition: (keys) => groupKeys(keys, max),
    readManifest: getManifest,
  });
  await putJson(planKey(ctx.batch.id, ctx.node.key), plan);
  await startTrace(ctx, { partitions: plan.groups.length, logs });
  await setStep(ctx, 'running');
  return { partitions: plan.groups.map((_, partition) => ({ partition })) };
}

async function runPartition(ctx: StepContext, partition: number, signal?: AbortSignal) {
  const plan = await getJson<SourcePlan>(planKey(ctx.batch.id, ctx.node.key));
  const keys = plan.groups[partition];
  if (!keys) throw new StepFailedError(`Partition ${partition} is not in the plan of node ${ctx.node.key}.`);
  const parts = plan.parts?.[partition];
  if (parts && plan.columns) return copyPartition(ctx, partition, parts, plan.columns);
  return withWorkDir(async (dir) => {
    const files: string[] = [];
    let bytesIn = 0;
    for (const [i, key] of keys.entries()) {
      const file = join(dir, `in-${i}${extensionOf(key)}`);
      bytesIn += await downloadToFile(key, file, plan.bucket);
      files.push(file);
    }
    const out = join(dir, 'out.parquet');
    const select = sourceHooks(ctx).sql(ctx.node.node, files);
    const { rows, sample } = await withWatchedConnection(ctx.batch.id, dir, signal, async (c) => ({
      rows: await copyTo(c, select, out),
      // The first partition's first rows are the step's sample (the seal does not re-read data).
      sample: partition === 0 ? await sampleOf(c, parquetRelation([out])) : undefined,
    }));
    const bytesOut = await uploadPart(partKey(ctx.batch.id, ctx.node.key, partition), out);
    if (sample) await setSample(ctx, sample);
    await setOffset(ctx, partition, rows);
    await addToTrace(ctx, { rows_in: rows, rows_out: rows, bytes_in: bytesIn, bytes_out: bytesOut });
    return { rows, bytes: bytesOut };
  });
}

/**
 * A partition of a dataset read as stored: its parts are already Parquet with the version's
 * columns, so they are copied inside the bucket (no download, no rewrite) and the row counts
 * come from the manifest. The first partition samples its first part's first rows.
 */
async function copyPartition(ctx: StepContext, partition: number, parts: ManifestPart[], columns: Column[]) {
  await Promise.all(
    parts.map((part, piece) => copyObject(part.key, partKey(ctx.batch.id, ctx.node.key, partition, piece))),
  );
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
  const first = parts[0];
  if (partition === 0 && first) {
    const sampled = await readPartRows(first, 0, Math.min(SAMPLE_ROWS, first.rows), columns);
    await setSample(ctx, { columns: columns.map((c) => c.name), rows: sampled });
  }
  await setOffset(ctx, partition, rows);
  await addToTrace(ctx, { rows_in: rows, rows_out: rows, bytes_in: bytes, bytes_out: bytes });
  return { rows, bytes };
}

function extensionOf(key: string): string {
  const m = /\.[A-Za-z0-9]{1,10}$/.exec(key);
  return m ? m[0].toLowerCase() : '';
}

async function setSample(ctx: StepContext, sample: Sample): Promise<void> {
  await updateItem(batchKey(ctx.batch.id), traceSk(ctx.position), {
    UpdateExpression: 'SET #sample = :sample',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#sample': 'sample' },
    ExpressionAttributeValues: { ':sample': sample },
  });
}

async function sealSource(ctx: StepContext) {
  const prefix = runPrefix(ctx.batch.id, ctx.node.key);
  const parts = (await listObjects(prefix)).filter((o) => o.key.endsWith('.parquet'));
  if (parts.length === 0) {
    // No input objects: an empty part with the declared columns keeps downstream nodes typed.
    const sample = await withWorkDir((dir) =>
      withSandbox(dir, async (connection) => {
        const file = join(dir, 'part.parquet');
        await copyTo(connection, emptySelect(ctx.node.fields ?? []), file);
        await uploadPart(partKey(ctx.batch.id, ctx.node.key, 0), file);
        await setOffset(ctx, 0, 0);
        return sampleOf(connection, parquetRelation([file]));
      }),
    );
    await endTrace(ctx, 'success', { sample });
  } else {
    await endTrace(ctx, 'success');
  }
  await setStep(ctx, 'success');
  return { partitions: Math.max(parts.length, 1) };
}

function emptySelect(fields: Field[]): string {
  if (fields.length === 0) return 'SELECT NULL AS "empty" LIMIT 0';
  return `SELECT ${fields.map((f) => `CAST(NULL AS ${duckDbTypeOfField(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} LIMIT 0`;
}

// ---------------------------------------------------------------------------------------------
// Transforms and targets

async function runNode(ctx: StepContext, signal?: AbortSignal) {
  await startTrace(ctx);
  await setStep(ctx, 'running');
  const def = definitionOf(ctx.node);
  if (!def.sql) throw new StepFailedError(`Node type ${ctx.node.type} cannot run here.`);
  return withWorkDir(async (dir) => {
    const inputs: NodeInput[] = [];
    let bytesIn = 0;
    for (const parent of ctx.node.parents) {
      const fetched = await fetchParentParts(ctx.batch.id, parent, join(dir, `in-${parent}`));
      bytesIn += fetched.bytes;
      const fields = ctx.plan.find((n) => n.key === parent)?.fields ?? null;
      inputs.push({ nodeId: parent, relation: parquetRelation(fetched.files), fields });
    }
    return withWatchedConnection(ctx.batch.id, dir, signal, async (connection) => {
      // Columns unknown before running (downstream of TRANSFORM_SQL) are read from the data.
      for (const input of inputs) input.fields ??= await describe(connection, input.relation);
      const written = def.userSql?.(ctx.node.node);
      if (written) await requireOneQuery(connection, ctx, written);
      const select = def.sql?.(ctx.node.node, inputs) ?? '';
      const rowsIn = await countRows(connection, inputs);
      await addToTrace(ctx, { rows_in: rowsIn, bytes_in: bytesIn });
      const logs: string[] = [];
      const result = def.target
        ? await def.target.write(ctx.node.node, targetContext(ctx, connection, dir, select, logs))
        : await writeOutput(ctx, connection, select, dir);
      await setOffset(ctx, 0, result.rows);
      await addToTrace(ctx, { rows_out: result.rows, bytes_out: result.bytes }, logs);
      await endTrace(ctx, 'success', result.sample ? { sample: result.sample } : {});
      await setStep(ctx, 'success');
      return { rows: result.rows, bytes: result.bytes };
    });
  });
}

/**
 * SQL the user wrote must parse, on DuckDB's own parser, as exactly one SELECT before it is
 * wrapped into the step's query; what it may read is up to the sandbox.
 */
async function requireOneQuery(
  connection: DuckDBConnection,
  ctx: StepContext,
  written: { field: string; sql: string },
): Promise<void> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(written.sql)})`);
  const parsed = JSON.parse(String(reader.getRows()[0]?.[0] ?? '{}')) as {
    error?: boolean;
    error_message?: string;
    statements?: unknown[];
  };
  const where = `Node "${ctx.node.step}" ${written.field}`;
  if (parsed.error) {
    const reason = parsed.error_message?.startsWith('Only SELECT')
      ? 'must be one query (SELECT, WITH, FROM or VALUES)'
      : (parsed.error_message ?? 'does not parse');
    throw new StepFailedError(`${where}: ${reason}`);
  }
  if ((parsed.statements?.length ?? 0) !== 1)
    throw new StepFailedError(`${where}: must be a single statement`);
}

async function describe(connection: DuckDBConnection, relation: string): Promise<Field[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return reader.getRows().map((r) => ({ name: String(r[0]), type: fieldTypeOfDuckDb(String(r[1])) }));
}

async function countRows(connection: DuckDBConnection, inputs: NodeInput[]): Promise<number> {
  let total = 0;
  for (const input of inputs) {
    const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${input.relation}`);
    total += Number(reader.getRows()[0]?.[0] ?? 0);
  }
  return total;
}

/** A transform's output: one Parquet part under the run, read by the nodes after it. */
async function writeOutput(ctx: StepContext, connection: DuckDBConnection, select: string, dir: string) {
  const out = join(dir, 'out.parquet');
  const rows = await copyTo(connection, select, out);
  const bytes = await uploadPart(partKey(ctx.batch.id, ctx.node.key, 0), out);
  return { rows, bytes, sample: await sampleOf(connection, parquetRelation([out])) };
}

/** What a target's write hook may ask of the worker, within this step's sandbox and work folder. */
function targetContext(
  ctx: StepContext,
  connection: DuckDBConnection,
  dir: string,
  select: string,
  logs: string[],
): TargetContext {
  return {
    ...hookContext(logs),
    select,
    batchId: ctx.batch.id,
    async copyToFile(query, fileName, options) {
      const path = join(dir, fileName);
      return { rows: await copyTo(connection, query, path, options), path };
    },
    async describeQuery(query) {
      const described = await connection.runAndReadAll(`DESCRIBE (${query})`);
      return described.getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
    },
    sample: (relation) => sampleOf(connection, relation),
    putFile,
    deleteObject,
    createDataset(collectionId, name) {
      const owner = { kind: 'user', userId: '', username: ctx.batch.created_by, role: 'editor' } as Principal;
      return createDataset({ name, collection_id: collectionId }, owner);
    },
    async publishVersion(datasetId, mode, write) {
      const { lock, dataset } = await acquireDatasetLock(datasetId, 'upload', 900);
      try {
        const part = await write(
          `${versionPrefix(dataset.id, dataset.current_version + 1)}part-00000.parquet`,
        );
        return await publishVersion(dataset, lock, part, mode, { username: ctx.batch.created_by });
      } catch (error) {
        await abandonVersion(dataset, lock);
        throw error;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The failure path and error handling

async function recordFailure(event: WorkerEvent): Promise<{ recorded: boolean }> {
  const ctx = await context(event, false);
  if (!ctx) return { recorded: false };
  const trace = await getItem<TraceItem>(batchKey(ctx.batch.id), traceSk(ctx.position));
  if (trace?.state !== 'failed') {
    const message = userMessage(event.error?.Cause, event.error?.Error);
    await endTrace(ctx, 'failed', { error: message });
  }
  await setStep(ctx, 'failed').catch(() => undefined);
  return { recorded: true };
}

/** The message a user sees for a failure: ours and DuckDB's as they are, anything else generic. */
function userMessage(cause: string | undefined, name: string | undefined): string {
  const text = (cause ?? '').trim();
  if (name === 'States.Timeout') return 'The step took longer than its time limit.';
  if (name === 'Sluice.StepFailed' || name === 'Sluice.BatchStopped') return text || 'The step failed.';
  if (name?.startsWith('Lambda.')) return `The step worker could not run (${name}).`;
  return text ? (text.split('\n')[0] ?? text) : `The step failed (${name ?? 'unknown error'}).`;
}

const TRANSIENT =
  /^(ThrottlingException|Throttling|SlowDown|RequestTimeout|RequestTimeTooSkewed|ProvisionedThroughputExceededException|InternalError|ServiceUnavailable|TimeoutError|ECONNRESET|ETIMEDOUT|EPIPE)$/;

/** Work folders are the worker's business: a message shows paths relative to them. */
function withoutWorkPaths(message: string): string {
  const root = platform().settings.tables.tmpDir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return message.replace(new RegExp(`${root}/[^/\\s"']+/`, 'g'), '');
}

function classify(error: unknown, ctx?: StepContext): Error {
  if (
    error instanceof StepFailedError ||
    error instanceof BatchStoppedError ||
    error instanceof TransientError
  ) {
    return error;
  }
  const e = error as { name?: string; code?: string; message?: string; $retryable?: unknown };
  if (e?.$retryable || TRANSIENT.test(e?.name ?? '') || TRANSIENT.test(e?.code ?? '')) {
    return new TransientError(`A storage call failed and will be retried (${e.name ?? e.code}).`);
  }
  if (error instanceof AppError) return new StepFailedError(error.message);
  const message = e?.message ?? '';
  // DuckDB reports SQL problems as "<Kind> Error: ..."; those are the user's to see.
  if (/^[A-Z][A-Za-z ]* Error: /.test(message)) {
    const first = withoutWorkPaths(message.split('\n')[0] ?? message);
    if (isSandboxViolation(first)) {
      const node = ctx ? `Node "${ctx.node.step}"` : 'A node';
      return new StepFailedError(`${node} may only read its own inputs, not files: ${first}`);
    }
    return new StepFailedError(first);
  }
  logger.error('step failed unexpectedly', { error: error as Error });
  return new StepFailedError(`The step failed unexpectedly (${e?.name ?? 'Error'}); see the worker logs.`);
}

/** Handles one state machine Task: the action named in the event, for one node of one batch. */
export async function runStep(event: WorkerEvent, signal?: AbortSignal): Promise<unknown> {
  logger.appendKeys({ batchId: event.batch_id, nodeId: event.node_id, action: event.action });
  if (event.action === 'fail') return recordFailure(event);
  let ctx: StepContext | undefined;
  try {
    ctx = await context(event, true);
    if (!ctx) throw new BatchStoppedError(`Batch ${event.batch_id} is not running.`);
    const started = performance.now();
    const out =
      event.action === 'plan'
        ? await planSource(ctx)
        : event.action === 'seal'
          ? await sealSource(ctx)
          : ctx.node.kind === 'source'
            ? await runPartition(ctx, event.partition ?? 0, signal)
            : await runNode(ctx, signal);
    metrics.addMetric('StepMilliseconds', 'Milliseconds', Math.round(performance.now() - started));
    return out;
  } catch (error) {
    const failure = classify(error, ctx);
    if (failure instanceof BatchStoppedError && ctx) {
      // The batch ended while this step ran: close its trace rather than leave it running.
      await endTrace(ctx, 'failed', { error: 'Stopped: the batch ended while this step ran.' }).catch(
        () => undefined,
      );
    } else if (failure instanceof StepFailedError && ctx) {
      // Recorded here so the trace has the message even if the Catch path never runs.
      await endTrace(ctx, 'failed', { error: failure.message }).catch(() => undefined);
      await setStep(ctx, 'failed').catch(() => undefined);
    }
    throw failure;
  }
}

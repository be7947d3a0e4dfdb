/**
 * The step worker: runs one stage of one batch's plan (statemachines/plan.ts) with DuckDB on
 * local files. A stage is one SQL program: each of its nodes is a view over the views of its
 * parents, in one sandboxed DuckDB instance, so nothing is materialized that no one reads. Only
 * the stage's outputs (nodes later stages read) are written, as Parquet under
 * `runs/{batch}/{node}/`, and its targets write where they point.
 *
 * A partitioned stage (a source and the row-wise nodes after it) runs once per partition of the
 * source's input: `plan` lists the partitions, `run` with a partition runs them (the state
 * machine's Map), `seal` closes the stage. A whole-input stage is one `run`.
 *
 * Every node keeps its own record, through the run store: its step's state and per-partition row
 * offsets on the batch, and a trace (state, times, exact rows in and out, bytes, error, the first
 * rows of its output). What the worker is asked to do and the error names it answers with are
 * the engine contract's (contract.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Principal } from '../auth/principal.ts';
import { createDataset } from '../catalog/datasets.ts';
import { findCollectionByRef, findDatasetByRef } from '../catalog/store.ts';
import { getItem } from '../db.ts';
import { isSandboxViolation, sqlIdent, sqlString, withNewSandbox, withSandbox } from '../duckdb.ts';
import { AppError } from '../errors.ts';
import { logger, metrics } from '../observability.ts';
import { athenaInputPrefix, hiveName, runDatabaseOf } from '../pipelines/athena-program.ts';
import type { Field } from '../pipelines/model.ts';
import { prefixDir } from '../pipelines/nodes/hooks.ts';
import {
  definitionOf,
  type HookContext,
  INPUT_ROWS,
  type NodeInput,
  type PlanNode,
  parquetRelation,
  type Sample,
  type SourcePlan,
  type TargetContext,
} from '../pipelines/nodes/index.ts';
import { targetFileExtension } from '../pipelines/nodes/TARGET_OBS.ts';
import { pipelineKey, type VersionItem } from '../pipelines/pipelines.ts';
import { keepsEveryRow } from '../pipelines/row-preserving.ts';
import {
  addToTrace,
  type BatchItem,
  finishTrace,
  getBatch,
  getTrace,
  markSteps,
  recordOffsets,
  recordSourcePlan,
  recordSteps,
  type StepChanges,
  setTraceSample,
  sourcePlanOf,
  startTrace,
  type TraceCounts,
  type TraceItem,
  type TraceStart,
} from '../pipelines/run-store.ts';
import { type Plan, type Stage, stagesOf } from '../pipelines/stages.ts';
import { platform } from '../platform/platform.ts';
import { copyAnySize } from '../s3-copy.ts';
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
import { getManifest, publishVersion } from '../tables/versions.ts';
import { columnTypeOfDuckDb, duckDbTypeOfField, fieldTypeOfDuckDb, glueTypeOfColumn } from '../type-map.ts';
import {
  ATHENA_WORKER_ACTIONS,
  LAMBDA_ERROR_PREFIX,
  RUN_DATABASE_PREFIX,
  SLUICE_ERRORS,
  STATES_ERRORS,
  WORKER_ACTIONS,
  type WorkerEvent,
} from './contract.ts';
import { recallPart, rememberPart } from './part-cache.ts';

/** A step failure the state machine must not retry; the message is shown to the user. */
export class StepFailedError extends Error {
  override name = SLUICE_ERRORS.stepFailed;
}

/** A failure worth retrying (throttling, a dropped connection); nothing is recorded. */
export class TransientError extends Error {
  override name = SLUICE_ERRORS.transient;
}

/** The batch was stopped (or has otherwise finished): do no more work for it. */
export class BatchStoppedError extends Error {
  override name = SLUICE_ERRORS.batchStopped;
}

/** An error raised while one node of the stage ran: the node it is recorded on. */
class NodeError extends Error {
  constructor(
    readonly node: PlanNode,
    override readonly cause: unknown,
  ) {
    super(`node ${node.key} failed`);
  }
}

const SAMPLE_ROWS = 20;
/** A fused source's plan up to this size (JSON) is kept on the batch item, a larger one in S3. */
const INLINE_PLAN_BYTES = 8 * 1024;
const WATCH_INTERVAL_MS = 1000;
const PARQUET = `(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`;

export const runPrefix = (batchId: string, nodeKey: string) => `runs/${batchId}/${nodeKey}/`;
const planKey = (batchId: string, nodeKey: string) => `runs/${batchId}/_plans/${nodeKey}.json`;
const partKey = (batchId: string, nodeKey: string, partition: number, piece?: number) =>
  `${runPrefix(batchId, nodeKey)}part-${String(partition).padStart(5, '0')}${
    piece === undefined ? '' : `-${String(piece).padStart(5, '0')}`
  }.parquet`;

/** The view a node's output is inside its stage's DuckDB program. */
export const viewOf = (key: string) => sqlIdent(`node_${key}`);

// ---------------------------------------------------------------------------------------------
// Context: the batch, the version's plan and stages, and the stage

export interface StageContext {
  batch: BatchItem;
  /** Every node of the version, in validation order (a node's trace position is its index). */
  plan: PlanNode[];
  /** Every stage of the version. */
  stages: Stage[];
  stage: Stage;
  /**
   * The nodes this run executes, in topological order: the stage's, after those of the
   * single-partition stages it absorbed (see `absorbed`).
   */
  nodes: PlanNode[];
  /** The absorbed stages' sources, with their plans. */
  sources: Map<string, StoredPlan>;
}

/** A partitioned stage's plan as stored: its source's partitions, and what ran them. */
interface StoredPlan extends SourcePlan {
  /** The whole-input stage that runs this one's nodes itself (it had a single partition). */
  fused_into?: string;
  /** The source's log lines from planning, for its trace when another stage runs it. */
  logs?: string[];
}

interface VersionPlan {
  plan: PlanNode[];
  stages: Plan;
}

const versions = new Map<string, VersionPlan>();

async function versionPlan(
  pipelineId: string,
  version: number,
  engines?: BatchItem['engines'],
): Promise<VersionPlan> {
  const athena = Object.entries(engines ?? {})
    .filter(([, e]) => e === 'ATHENA')
    .map(([k]) => k)
    .sort()
    .join(',');
  const key = `${pipelineId}/${version}/${athena}`;
  const cached = versions.get(key);
  if (cached) return cached;
  const item = await getItem<VersionItem>(
    pipelineKey(pipelineId),
    `VER#${String(version).padStart(10, '0')}`,
  );
  if (!item) throw new StepFailedError(`Pipeline ${pipelineId} version ${version} no longer exists.`);
  if (versions.size > 64) versions.clear();
  const planned = { plan: item.plan, stages: stagesOf(item.plan, 'DUCKDB', engines) };
  versions.set(key, planned);
  return planned;
}

export async function context(
  event: WorkerEvent,
  requireRunning: boolean,
): Promise<StageContext | undefined> {
  const batch = await getBatch(event.batch_id);
  if (!batch) throw new BatchStoppedError(`Batch ${event.batch_id} no longer exists.`);
  if (batch.status !== 'running') {
    if (requireRunning) throw new BatchStoppedError(`Batch ${batch.id} is ${batch.status}.`);
    return undefined;
  }
  const { plan, stages } = await versionPlan(event.pipeline_id, event.pipeline_version, batch.engines);
  const stage = stages.stages.find((s) => s.id === event.stage_id);
  if (!stage) throw new StepFailedError(`Stage ${event.stage_id} is not part of this pipeline version.`);
  const nodeOf = (key: string) => {
    const node = plan.find((n) => n.key === key);
    if (!node) throw new StepFailedError(`Node ${key} is not part of this pipeline version.`);
    return node;
  };
  const sources = new Map<string, StoredPlan>();
  const keys: string[] = [];
  if (!stage.partitioned) {
    for (const before of stages.stages.filter((s) => stage.after.includes(s.id) && s.partitioned)) {
      const source = before.source as string;
      const stored =
        sourcePlanOf<StoredPlan>(batch, source) ??
        (await getJson<StoredPlan>(planKey(batch.id, source)).catch(() => undefined));
      if (stored?.fused_into !== stage.id) continue;
      sources.set(source, stored);
      keys.push(...before.nodes);
    }
  }
  keys.push(...stage.nodes);
  return { batch, plan, stages: stages.stages, stage, nodes: keys.map(nodeOf), sources };
}

/**
 * Whether a partitioned stage that found a single partition can be run by the one stage that
 * reads it instead: the Map then runs nothing, and the source, its row-wise nodes and the rest
 * are one DuckDB program, with nothing written in between.
 */
function fusesInto(ctx: StageContext, partitions: number): Stage | undefined {
  if (partitions !== 1) return undefined;
  const readers = ctx.stages.filter((s) => s.after.includes(ctx.stage.id));
  const [only] = readers;
  if (readers.length !== 1 || !only || only.partitioned || only.engine !== ctx.stage.engine) return undefined;
  // A node the user asked to materialize is written; a stage a rerun reuses runs nothing.
  if (ctx.nodes.some((n) => n.node.materialize === true && ctx.stage.outputs.includes(n.key)))
    return undefined;
  if (ctx.batch.reused_stages?.includes(only.id)) return undefined;
  return only;
}

// ---------------------------------------------------------------------------------------------
// Recording through the run store: step states and offsets only while the batch runs

async function setSteps(
  ctx: StageContext,
  nodes: readonly PlanNode[],
  state: 'running' | 'success' | 'failed',
): Promise<void> {
  if (
    !(await markSteps(
      ctx.batch.id,
      nodes.map((n) => n.step),
      state,
    ))
  ) {
    throw new BatchStoppedError(`Batch ${ctx.batch.id} is no longer running.`);
  }
}

async function changeSteps(ctx: StageContext, changes: StepChanges): Promise<void> {
  if (!(await recordSteps(ctx.batch.id, changes))) {
    throw new BatchStoppedError(`Batch ${ctx.batch.id} is no longer running.`);
  }
}

/** What names a node's trace within its batch. */
function traceOf(ctx: StageContext, node: PlanNode): TraceStart {
  return {
    batch_id: ctx.batch.id,
    node_id: node.key,
    node_name: node.step,
    node_type: node.type,
    position: ctx.plan.indexOf(node),
    engine: engineOf(ctx.stage),
  };
}

/** The engine a stage runs on (the planner's AUTO never reaches a batch: it is resolved first). */
const engineOf = (stage: Stage): 'DUCKDB' | 'ATHENA' => (stage.engine === 'ATHENA' ? 'ATHENA' : 'DUCKDB');

const positionOf = (ctx: StageContext, node: PlanNode) => ctx.plan.indexOf(node);

async function endTrace(
  ctx: StageContext,
  node: PlanNode,
  state: 'success' | 'failed',
  extra: { error?: string; sample?: TraceItem['sample'] } = {},
): Promise<void> {
  await finishTrace(traceOf(ctx, node), state, extra);
}

/** What one node produced in a stage run (or a partition of one). */
interface NodeResult {
  /** When its work ended (its sample may be taken after). */
  endedAt?: Date;
  rowsIn: number;
  rowsOut: number;
  bytesIn: number;
  bytesOut: number;
  sample?: Sample;
  logs: string[];
}

const counts = (r: NodeResult): TraceCounts => ({
  rows_in: r.rowsIn,
  rows_out: r.rowsOut,
  bytes_in: r.bytesIn,
  bytes_out: r.bytesOut,
});

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// DuckDB helpers

/**
 * Runs `work` in a new DuckDB sandbox with a new work folder of its own (removed afterwards):
 * `prepare` places the step's input files in the folder, then `work` runs while the batch is
 * watched: when it stops (or the local engine aborts the task) the running query is interrupted.
 */
async function withWatchedSandbox<I, T>(
  batchId: string,
  signal: AbortSignal | undefined,
  prepare: (dir: string) => Promise<I>,
  work: (connection: DuckDBConnection, dir: string, input: I, side: SideConnection) => Promise<T>,
): Promise<T> {
  return withNewSandbox(platform().settings.tables.tmpDir, async (connection, dir, connect) => {
    const input = await prepare(dir);
    let opened: Promise<DuckDBConnection> | undefined;
    let sideConnection: DuckDBConnection | undefined;
    const side = () => {
      opened ??= connect().then((c) => {
        sideConnection = c;
        return c;
      });
      return opened;
    };
    // A stop interrupts what runs beside the program too (a sample may take as long as its view).
    const connections = () => (sideConnection ? [connection, sideConnection] : [connection]);
    return watched(batchId, connections, signal, () => work(connection, dir, input, side));
  });
}

/**
 * A second connection to the stage's instance, opened on first use: what it runs (the nodes'
 * samples) runs beside the main program instead of between its statements. It sees the views
 * (the instance's catalog), not the main connection's temporary tables.
 */
type SideConnection = () => Promise<DuckDBConnection>;

/** Runs `work` on `connections`, interrupting them when the batch stops or `signal` aborts. */
async function watched<T>(
  batchId: string,
  connections: () => DuckDBConnection[],
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  let stopped = false;
  const interrupt = () => {
    stopped = true;
    for (const connection of connections()) connection.interrupt();
  };
  signal?.addEventListener('abort', interrupt, { once: true });
  if (signal?.aborted) interrupt();
  const timer = setInterval(() => {
    // An abort between two statements interrupts nothing: repeat it until the work stops.
    if (signal?.aborted) interrupt();
    getBatch(batchId)
      .then((b) => {
        if (b?.status !== 'running') interrupt();
      })
      .catch(() => undefined);
  }, WATCH_INTERVAL_MS);
  try {
    return await work();
  } catch (error) {
    if (stopped) throw new BatchStoppedError(`Batch ${batchId} was stopped while this step ran.`);
    throw error;
  } finally {
    clearInterval(timer);
    signal?.removeEventListener('abort', interrupt);
  }
}

export async function copyTo(connection: DuckDBConnection, select: string, path: string, options = PARQUET) {
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
export async function uploadPart(key: string, file: string): Promise<number> {
  const { size, etag } = await uploadFile(key, file, 'application/vnd.apache.parquet');
  await rememberPart(key, etag, file, size);
  return size;
}

/**
 * A Parquet part of a node's output: the DuckDB engine names them `part-….parquet`, Athena's
 * CTAS writes files without an extension; its `_$folder$` markers and manifests are not parts.
 */
export function isOutputPart(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (name === '' || name.startsWith('_') || name.startsWith('.')) return false;
  return name.endsWith('.parquet') || !name.includes('.');
}

/** The Parquet parts a parent produced, as local files (cached or downloaded). */
export async function fetchParentParts(
  batchId: string,
  parent: string,
  dir: string,
): Promise<{ files: string[]; bytes: number }> {
  const objects = (await listObjects(runPrefix(batchId, parent))).filter((o) => isOutputPart(o.key));
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
export function hookContext(logs: string[]): HookContext {
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

function sourceOf(ctx: StageContext): PlanNode {
  const source = ctx.nodes.find((n) => n.key === ctx.stage.source);
  if (!source) throw new StepFailedError(`Stage ${ctx.stage.id} has no source.`);
  return source;
}

export function sourceHooks(node: PlanNode) {
  const source = definitionOf(node.node).source;
  if (!source) throw new StepFailedError(`Node type ${node.type} is not a source.`);
  return source;
}

/** Runs `work` for `node`, so that what it throws is recorded on that node. */
export async function asNode<T>(node: PlanNode, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof NodeError || error instanceof BatchStoppedError) throw error;
    throw new NodeError(node, error);
  }
}

// ---------------------------------------------------------------------------------------------
// Partitioned stages: plan the source's partitions, run each, seal

async function planStage(ctx: StageContext): Promise<{ partitions: Array<{ partition: number }> }> {
  const source = sourceOf(ctx);
  const max = Math.min(platform().settings.pipelines.maxPartitions, 1000);
  const logs: string[] = [];
  const plan = await asNode(source, () =>
    sourceHooks(source).plan(source.node, {
      ...hookContext(logs),
      partition: (keys) => groupKeys(keys, max),
      readManifest: getManifest,
    }),
  );
  const reader = fusesInto(ctx, plan.groups.length);
  if (reader) {
    // Its nodes' steps and traces start when the reading stage runs them. The plan goes with the
    // batch item (read by the seal and the reading stage anyway) unless it is large.
    const stored: StoredPlan = { ...plan, fused_into: reader.id, logs };
    if (JSON.stringify(stored).length > INLINE_PLAN_BYTES) {
      await putJson(planKey(ctx.batch.id, source.key), stored);
    } else if (!(await recordSourcePlan(ctx.batch.id, source.key, stored))) {
      throw new BatchStoppedError(`Batch ${ctx.batch.id} is no longer running.`);
    }
    return { partitions: [] };
  }
  await putJson(planKey(ctx.batch.id, source.key), plan);
  for (const node of ctx.nodes) {
    await startTrace(traceOf(ctx, node), {
      partitions: plan.groups.length,
      ...(node === source ? { logs } : {}),
    });
  }
  await setSteps(ctx, ctx.nodes, 'running');
  return { partitions: plan.groups.map((_, partition) => ({ partition })) };
}

async function runPartition(ctx: StageContext, partition: number, signal?: AbortSignal) {
  const source = sourceOf(ctx);
  const plan = await getJson<SourcePlan>(planKey(ctx.batch.id, source.key));
  const keys = plan.groups[partition];
  if (!keys) throw new StepFailedError(`Partition ${partition} is not in the plan of node ${source.key}.`);
  const parts = plan.parts?.[partition];
  if (ctx.nodes.length === 1 && parts && plan.columns) {
    return copyPartition(ctx, source, partition, parts, plan.columns);
  }
  const results = await withWatchedSandbox(
    ctx.batch.id,
    signal,
    (dir) => downloadSource(plan, partition, join(dir, 'in')),
    (connection, dir, { files, bytesIn }, side) =>
      runProgram(ctx, connection, dir, {
        side,
        partition,
        // The first partition's first rows are each node's sample (the seal does not re-read data).
        sample: partition === 0,
        views: [
          {
            node: source,
            select: sourceHooks(source).sql(source.node, files),
            bytesIn,
            rows: plan.rows?.[partition],
          },
        ],
      }),
  );
  for (const [node, r] of results) await addToTrace(ctx.batch.id, positionOf(ctx, node), counts(r), r.logs);
  if (partition === 0) {
    for (const [node, r] of results) {
      if (r.sample) await setTraceSample(ctx.batch.id, positionOf(ctx, node), r.sample);
    }
  }
  await recordOffsets(
    ctx.batch.id,
    partition,
    [...results].map(([node, r]) => ({ step: node.step, rows: r.rowsOut })),
  );
  const rows = results.get(ctx.nodes.at(-1) as PlanNode)?.rowsOut ?? 0;
  const bytes = [...results.values()].reduce((sum, r) => sum + r.bytesOut, 0);
  return { rows, bytes };
}

/**
 * A partition of a dataset read as stored, with nothing else in its stage: its parts are already
 * Parquet with the version's columns, so they are copied inside the bucket (no download, no
 * rewrite) and the row counts come from the manifest. The first partition samples its first
 * part's first rows.
 */
async function copyPartition(
  ctx: StageContext,
  source: PlanNode,
  partition: number,
  parts: ManifestPart[],
  columns: Column[],
) {
  await Promise.all(
    parts.map((part, piece) => copyObject(part.key, partKey(ctx.batch.id, source.key, partition, piece))),
  );
  const rows = parts.reduce((sum, p) => sum + p.rows, 0);
  const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
  const first = parts[0];
  if (partition === 0 && first) {
    const sampled = await readPartRows(first, 0, Math.min(SAMPLE_ROWS, first.rows), columns);
    await setTraceSample(ctx.batch.id, positionOf(ctx, source), {
      columns: columns.map((c) => c.name),
      rows: sampled,
    });
  }
  await recordOffsets(ctx.batch.id, partition, [{ step: source.step, rows }]);
  await addToTrace(ctx.batch.id, positionOf(ctx, source), {
    rows_in: rows,
    rows_out: rows,
    bytes_in: bytes,
    bytes_out: bytes,
  });
  return { rows, bytes };
}

/**
 * A partition's input objects as local files. A dataset's parts are immutable (a new version
 * writes new keys), so they are kept in the worker's part cache and a warm worker reads a
 * dataset it read before without downloading it again; objects of a prefix may change, so they
 * are always downloaded.
 */
export async function downloadSource(
  plan: SourcePlan,
  partition: number,
  dir: string,
): Promise<{ files: string[]; bytesIn: number }> {
  await mkdir(dir, { recursive: true });
  const parts = new Map((plan.parts?.[partition] ?? []).map((p) => [p.key, p]));
  const files: string[] = [];
  let bytesIn = 0;
  for (const [i, key] of (plan.groups[partition] ?? []).entries()) {
    const file = join(dir, `in-${i}${extensionOf(key)}`);
    const part = plan.bucket === undefined ? parts.get(key) : undefined;
    const tag = part ? `dataset-part:${part.bytes}` : undefined;
    if (part && (await recallPart(key, tag, file))) {
      bytesIn += part.bytes;
    } else {
      const size = await downloadToFile(key, file, plan.bucket);
      bytesIn += size;
      if (part) await rememberPart(key, tag, file, size);
    }
    files.push(file);
  }
  return { files, bytesIn };
}

export function extensionOf(key: string): string {
  const m = /\.[A-Za-z0-9]{1,10}$/.exec(key);
  return m ? m[0].toLowerCase() : '';
}

async function sealStage(ctx: StageContext) {
  const source = sourceOf(ctx);
  const plan =
    sourcePlanOf<StoredPlan>(ctx.batch, source.key) ??
    (await getJson<StoredPlan>(planKey(ctx.batch.id, source.key)));
  if (plan.fused_into) return { partitions: 1 };
  if (plan.groups.length === 0) {
    // No input objects: an empty part with the declared columns keeps later stages typed.
    await withWorkDir((dir) =>
      withSandbox(dir, async (connection) => {
        for (const node of ctx.nodes) {
          const file = join(dir, `empty-${node.key}.parquet`);
          await copyTo(connection, emptySelect(node.fields ?? []), file);
          if (ctx.stage.outputs.includes(node.key))
            await uploadPart(partKey(ctx.batch.id, node.key, 0), file);
          await endTrace(ctx, node, 'success', {
            sample: await sampleOf(connection, parquetRelation([file])),
          });
        }
      }),
    );
    await recordOffsets(
      ctx.batch.id,
      0,
      ctx.nodes.map((n) => ({ step: n.step, rows: 0 })),
    );
  } else {
    for (const node of ctx.nodes) await endTrace(ctx, node, 'success');
  }
  await setSteps(ctx, ctx.nodes, 'success');
  return { partitions: Math.max(plan.groups.length, 1) };
}

function emptySelect(fields: Field[]): string {
  if (fields.length === 0) return 'SELECT NULL AS "empty" LIMIT 0';
  return `SELECT ${fields.map((f) => `CAST(NULL AS ${duckDbTypeOfField(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} LIMIT 0`;
}

// ---------------------------------------------------------------------------------------------
// The stage's program

interface ProgramInput {
  /** Which partition this is (0 for a whole-input stage). */
  partition: number;
  /** Whether each node's first rows are taken. */
  sample: boolean;
  /** Where samples of views are taken, beside the program (else on its own connection). */
  side?: SideConnection;
  /**
   * Views made before the stage's nodes: its source, or the outputs of the stages it reads;
   * `rows` when the source knows its rows without counting.
   */
  views: Array<{ node: PlanNode; select: string; bytesIn: number; rows?: number | undefined }>;
  /** Called as each node of the stage starts. */
  starting?: (node: PlanNode) => Promise<void>;
  /** Called as each node of the stage finishes, with what it produced. */
  finished?: (node: PlanNode, result: NodeResult) => Promise<void>;
  /** Called when a node's sample, taken beside the program, comes after its `finished`. */
  sampled?: (node: PlanNode, result: NodeResult) => Promise<void>;
}

/**
 * Runs the stage's nodes as one DuckDB program: every node a view over its parents' views, a
 * target writing where it points, an output node written under the run. Counts are exact: a
 * count over a view reads only the columns the view's filters need.
 */
async function runProgram(
  ctx: StageContext,
  connection: DuckDBConnection,
  dir: string,
  input: ProgramInput,
): Promise<Map<PlanNode, NodeResult>> {
  const pending: Array<Promise<void>> = [];
  try {
    const results = await runNodes(ctx, connection, dir, input, pending);
    await Promise.all(pending);
    return results;
  } catch (error) {
    // Nothing may still run when the sandbox closes; a node's sample that failed before the
    // error's node is the first failure (as if it had been taken in turn).
    const settled = await Promise.allSettled(pending);
    const order = (e: unknown) => (e instanceof NodeError ? ctx.nodes.indexOf(e.node) : ctx.nodes.length);
    let first = error;
    for (const s of settled) {
      if (s.status === 'rejected' && order(s.reason) < order(first)) first = s.reason;
    }
    throw first;
  }
}

async function runNodes(
  ctx: StageContext,
  connection: DuckDBConnection,
  dir: string,
  input: ProgramInput,
  /** Samples taken beside the program and the reports waiting on them: awaited by the caller. */
  pending: Array<Promise<void>>,
): Promise<Map<PlanNode, NodeResult>> {
  const results = new Map<PlanNode, NodeResult>();
  const rowsOf = new Map<string, number>();
  const fieldsOf = new Map<string, Field[] | null>();
  for (const view of input.views) {
    await asNode(view.node, async () => {
      await connection.run(`CREATE VIEW ${viewOf(view.node.key)} AS ${view.select}`);
      fieldsOf.set(view.node.key, view.node.fields);
    });
  }
  const inStage = new Set(ctx.nodes.map((n) => n.key));
  // The SQL users wrote, read by DuckDB's parser once: checked when its node runs, and a plain
  // projection keeps its input's rows (row-preserving.ts).
  const parsed = new Map<string, unknown>();
  const preserving = new Set<string>();
  for (const node of ctx.nodes) {
    const written = definitionOf(node.node).userSql?.(node.node);
    if (!written) continue;
    const statement = await parseSql(connection, written.sql);
    parsed.set(node.key, statement);
    if (
      node.parents.length === 1 &&
      keepsEveryRow(statement, written.inputs, await aggregateNames(connection))
    )
      preserving.add(node.key);
  }
  const keeps = (node: PlanNode) => keepsItsRows(node, preserving);
  const readerOf = countingReaders(ctx, keeps);
  // Where the stage's targets write, looked up while DuckDB computes.
  const prepared = new Map<string, Promise<unknown>>();
  for (const node of ctx.nodes) {
    const prepare = definitionOf(node.node).target?.prepare;
    if (!prepare) continue;
    const answer = prepare(node.node, hookContext([]));
    // Its failure is the write's to report (it looks again), not the program's.
    beside(
      answer.then(
        () => undefined,
        () => undefined,
      ),
    );
    prepared.set(node.key, answer);
  }
  /** Nodes whose rows their reader counts in its own pass, with what they produced otherwise. */
  const deferred = new Map<string, { node: PlanNode; result: NodeResult }>();
  /** Results reported finished (a sample that comes later is reported on its own). */
  const reported = new Set<NodeResult>();
  for (const view of input.views) {
    // The outputs of earlier stages only feed this one; a source is a node of the stage.
    if (inStage.has(view.node.key)) continue;
    rowsOf.set(view.node.key, await countOf(connection, view.node.key));
  }
  try {
    for (const node of ctx.nodes) {
      await input.starting?.(node);
      const entry = input.views.find((v) => v.node === node);
      // A source that knows its rows (a dataset version's manifest) is not counted at all.
      const countedBy = entry?.rows === undefined ? readerOf.get(node.key) : undefined;
      const result = await asNode(node, async (): Promise<NodeResult> => {
        const logs: string[] = [];
        const external = input.views.filter(
          (v) => !inStage.has(v.node.key) && node.parents.includes(v.node.key),
        );
        const bytesIn = external.reduce((sum, v) => sum + v.bytesIn, 0);
        if (entry) {
          // A source: its view reads its partition's files.
          const rows = countedBy
            ? { rows: 0, bytes: 0 }
            : await outputRows(ctx, connection, dir, node, input.partition, entry.rows);
          rowsOf.set(node.key, rows.rows);
          return {
            rowsIn: rows.rows,
            rowsOut: rows.rows,
            bytesIn: entry?.bytesIn ?? 0,
            bytesOut: rows.bytes,
            logs,
          };
        }
        const def = definitionOf(node.node);
        if (!def.sql) throw new StepFailedError(`Node type ${node.type} cannot run here.`);
        const inputs: NodeInput[] = [];
        for (const parent of node.parents) {
          let fields = fieldsOf.get(parent) ?? null;
          // Columns unknown before running (downstream of TRANSFORM_SQL) are read from the data.
          if (!fields) {
            fields = await describe(connection, viewOf(parent));
            fieldsOf.set(parent, fields);
          }
          inputs.push({ nodeId: parent, relation: viewOf(parent), fields });
        }
        const written = def.userSql?.(node.node);
        if (written) requireOneQuery(node, written, parsed.get(node.key));
        const select = def.sql(node.node, inputs);
        const [parent] = node.parents;
        if (def.sqlCountingInput && parent !== undefined && deferred.has(parent)) {
          // The parent's rows are counted here, in the same pass as this node's own result.
          const all = sqlIdent(`node_${node.key}_counted`);
          await connection.run(`CREATE TEMP TABLE ${all} AS ${def.sqlCountingInput(node.node, inputs)}`);
          await connection.run(
            `CREATE VIEW ${viewOf(node.key)} AS SELECT * EXCLUDE (${sqlIdent(INPUT_ROWS)}) FROM ${all}`,
          );
          const counted = await connection.runAndReadAll(
            `SELECT coalesce(sum(${sqlIdent(INPUT_ROWS)}), 0), count(*) FROM ${all}`,
          );
          const [inputRows, outputRows] = (counted.getRows()[0] ?? [0, 0]).map(Number) as [number, number];
          await settleDeferred(parent, inputRows);
          fieldsOf.set(node.key, node.fields);
          rowsOf.set(node.key, outputRows);
          return { rowsIn: inputRows, rowsOut: outputRows, bytesIn, bytesOut: 0, logs };
        }
        const rowsIn = node.parents.reduce((sum, p) => sum + (rowsOf.get(p) ?? 0), 0);
        if (def.target) {
          const out = await def.target.write(
            node.node,
            targetContext(ctx, connection, dir, select, logs, prepared.get(node.key)),
          );
          rowsOf.set(node.key, out.rows);
          return {
            rowsIn,
            rowsOut: out.rows,
            bytesIn,
            bytesOut: out.bytes,
            ...(out.sample ? { sample: out.sample } : {}),
            logs,
          };
        }
        // A reducing node is computed once, into memory; any other is a view its readers inline.
        const kind = def.reduces ? 'TEMP TABLE' : 'VIEW';
        await connection.run(`CREATE ${kind} ${viewOf(node.key)} AS ${select}`);
        fieldsOf.set(node.key, node.fields);
        const rows = countedBy
          ? { rows: 0, bytes: 0 }
          : await outputRows(ctx, connection, dir, node, input.partition, keeps(node) ? rowsIn : undefined);
        rowsOf.set(node.key, rows.rows);
        return { rowsIn, rowsOut: rows.rows, bytesIn, bytesOut: rows.bytes, logs };
      });
      result.endedAt = new Date();
      const def = definitionOf(node.node);
      if (input.sample && !result.sample && !def.target) {
        const relation = viewOf(node.key);
        if (input.side && !def.reduces) {
          // A view: sampled beside the program (a reduced node is a table of this connection),
          // reported as it comes if the node was reported finished without it.
          const side = input.side;
          beside(
            asNode(node, async () => {
              result.sample = await sampleOf(await side(), relation);
              if (reported.has(result)) await input.sampled?.(node, result);
            }),
          );
        } else {
          result.sample = await asNode(node, () => sampleOf(connection, relation));
        }
      }
      if (countedBy) {
        // Recorded once its reader has counted it.
        deferred.set(node.key, { node, result });
        continue;
      }
      results.set(node, result);
      await finish(node, result);
    }
  } catch (error) {
    // A node failed: the nodes before it whose rows a later pass was to count are counted on
    // their own, so that they end as they ran (succeeded, with exact rows).
    if (error instanceof NodeError) await countDeferred();
    throw error;
  }
  return results;

  /** Keeps `work` to be awaited before the program answers (its failure is not unhandled meanwhile). */
  function beside(work: Promise<void>): void {
    work.catch(() => undefined);
    pending.push(work);
  }

  async function countDeferred(): Promise<void> {
    for (const key of [...deferred.keys()]) {
      if (!deferred.has(key)) continue;
      try {
        await settleDeferred(key, await countOf(connection, key));
      } catch {
        // Its own view fails too: it stays unfinished, as the failure path records it.
        return;
      }
    }
  }

  async function finish(node: PlanNode, result: NodeResult): Promise<void> {
    reported.add(result);
    await input.finished?.(node, result);
  }

  async function settleDeferred(key: string, rows: number): Promise<void> {
    const waiting = deferred.get(key);
    if (!waiting) return;
    deferred.delete(key);
    waiting.result.rowsOut = rows;
    // It ends when its rows are known.
    waiting.result.endedAt = new Date();
    // A source's rows in are its rows out, and so are those of a node that keeps its rows.
    const kept = keeps(waiting.node);
    if (kept || input.views.some((v) => v.node === waiting.node)) waiting.result.rowsIn = rows;
    rowsOf.set(key, rows);
    results.set(waiting.node, waiting.result);
    await finish(waiting.node, waiting.result);
    // Its input, when it was counted here through this node (this node keeps its rows).
    const [parent] = waiting.node.parents;
    if (kept && parent !== undefined && readerOf.get(parent) === key) await settleDeferred(parent, rows);
  }
}

/** Whether a node outputs one row per input row: by its type, or its SQL (`preserving`). */
const keepsItsRows = (node: PlanNode, preserving: ReadonlySet<string>) =>
  definitionOf(node.node).keepsRows === true || preserving.has(node.key);

/**
 * The nodes whose rows a later node counts in its own pass, each with its reader: a node read by
 * exactly one node of the version, in this stage, which reads nothing else, and not written for
 * a later stage (a write counts anyway), when that reader can count its input (an aggregate), or
 * keeps every row of its input (select, rename, a plain SQL projection: `preserving`) and is
 * itself counted so. A filter before a projection before an aggregate is then counted by the
 * aggregate's pass alone: the projection's rows are the aggregate's input, and the filter's are
 * the projection's.
 */
function countingReaders(ctx: StageContext, keeps: (node: PlanNode) => boolean): Map<string, string> {
  const found = new Map<string, string>();
  const inStage = new Set(ctx.nodes.map((n) => n.key));
  // From the last node back: whether a reader is counted later is known before its inputs ask.
  for (const node of [...ctx.nodes].reverse()) {
    if (ctx.stage.outputs.includes(node.key) || node.kind === 'target') continue;
    const readers = ctx.plan.filter((n) => n.parents.includes(node.key));
    const [reader] = readers;
    if (readers.length !== 1 || !reader || !inStage.has(reader.key) || reader.parents.length !== 1) continue;
    if (definitionOf(reader.node).sqlCountingInput || (keeps(reader) && found.has(reader.key)))
      found.set(node.key, reader.key);
  }
  return found;
}

/** A node's rows: written (and so counted) when later stages read it, else known or counted. */
async function outputRows(
  ctx: StageContext,
  connection: DuckDBConnection,
  dir: string,
  node: PlanNode,
  partition: number,
  /** Its rows when they are known without counting (a node that keeps its input's rows). */
  known?: number,
): Promise<{ rows: number; bytes: number }> {
  if (!ctx.stage.outputs.includes(node.key)) {
    return { rows: known ?? (await countOf(connection, node.key)), bytes: 0 };
  }
  const file = join(dir, `out-${node.key}.parquet`);
  const rows = await copyTo(connection, `SELECT * FROM ${viewOf(node.key)}`, file);
  const bytes = await uploadPart(partKey(ctx.batch.id, node.key, partition), file);
  return { rows, bytes };
}

async function countOf(connection: DuckDBConnection, key: string): Promise<number> {
  const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${viewOf(key)}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Whole-input stages

/**
 * A stage's bookkeeping writes, run while DuckDB computes (its work runs on its own threads):
 * the stage answers only once they are all written, and the first that fails fails the stage.
 * Writes to one item (a lane: a node's trace, the batch's steps) are kept in order; lanes run
 * side by side. A write still waiting in its lane when a newer one comes is folded into it: a
 * trace is written whole, so the newer replaces it; step changes are merged (the newer state
 * of a step wins), so the item ends as if each had been written in turn, in fewer writes.
 */
class WriteQueue {
  private readonly lanes = new Map<
    string,
    { tail: Promise<void>; waiting?: { write: () => Promise<unknown> } }
  >();
  private readonly steps: { changes?: StepChanges } = {};
  private failure: { error: unknown } | undefined;

  constructor(private readonly ctx: StageContext) {}

  /** Writes a node's trace whole (after, or instead of, the writes of it still waiting). */
  trace(node: PlanNode, extra: Partial<TraceItem>): void {
    const write = () => startTrace(traceOf(this.ctx, node), extra);
    const lane = this.lane(`trace:${positionOf(this.ctx, node)}`);
    if (lane.waiting) lane.waiting.write = write;
    else this.enqueue(lane, { write });
  }

  /** Changes the batch's steps (merged into the change still waiting, if any). */
  changeSteps(changes: StepChanges): void {
    const waiting = this.steps.changes;
    if (waiting && !(waiting.offsets && changes.offsets)) {
      waiting.states = { ...waiting.states, ...changes.states };
      if (changes.offsets) waiting.offsets = changes.offsets;
      return;
    }
    const entry: { changes?: StepChanges } = { changes: { ...changes } };
    this.steps.changes = entry.changes;
    this.enqueue(this.lane('steps'), {
      write: () => {
        const current = entry.changes as StepChanges;
        if (this.steps.changes === current) this.steps.changes = undefined;
        return changeSteps(this.ctx, current);
      },
    });
  }

  async drain(): Promise<void> {
    for (;;) {
      const tails = [...this.lanes.values()].map((l) => l.tail);
      await Promise.all(tails);
      if ([...this.lanes.values()].every((l, i) => l.tail === tails[i])) break;
    }
    if (this.failure) throw this.failure.error;
  }

  private lane(name: string) {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { tail: Promise.resolve() };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  private enqueue(
    lane: { tail: Promise<void>; waiting?: { write: () => Promise<unknown> } },
    slot: { write: () => Promise<unknown> },
  ): void {
    lane.waiting = slot;
    lane.tail = lane.tail
      .then(async () => {
        if (lane.waiting === slot) lane.waiting = undefined;
        if (!this.failure) await slot.write();
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
  }
}

async function runStage(ctx: StageContext, signal?: AbortSignal) {
  const writes = new WriteQueue(ctx);
  const started = new Map<PlanNode, string>();
  /** Nodes that finished and whose step success is not written yet. */
  const done: PlanNode[] = [];
  const succeeded = () =>
    Object.fromEntries(done.splice(0).map((n) => [n.step, 'success' as const])) as Record<string, 'success'>;
  const inStage = new Set(ctx.nodes.map((n) => n.key));
  const reads = [...new Set(ctx.nodes.flatMap((n) => n.parents.filter((p) => !inStage.has(p))))];
  const inputs = async (dir: string) => {
    const views: ProgramInput['views'] = [];
    for (const [key, plan] of ctx.sources) {
      const node = ctx.nodes.find((n) => n.key === key) as PlanNode;
      const { files, bytesIn } = await downloadSource(plan, 0, join(dir, `src-${key}`));
      views.push({ node, select: sourceHooks(node).sql(node.node, files), bytesIn, rows: plan.rows?.[0] });
    }
    for (const parent of reads) {
      const node = ctx.plan.find((n) => n.key === parent);
      if (!node) throw new StepFailedError(`Node ${parent} is not part of this pipeline version.`);
      const fetched = await fetchParentParts(ctx.batch.id, parent, join(dir, `in-${parent}`));
      views.push({ node, select: `SELECT * FROM ${parquetRelation(fetched.files)}`, bytesIn: fetched.bytes });
    }
    return views;
  };
  const finishedTrace = (node: PlanNode, r: NodeResult): Partial<TraceItem> => {
    const absorbed = ctx.sources.get(node.key);
    const finishedAt = r.endedAt ?? new Date();
    const startedAt = started.get(node) ?? finishedAt.toISOString();
    return {
      state: 'success',
      started_at: startedAt,
      finished_at: finishedAt.toISOString(),
      duration_ms: finishedAt.getTime() - Date.parse(startedAt),
      ...counts(r),
      logs: [...(absorbed?.logs ?? []), ...r.logs],
      ...(absorbed ? { partitions: 1 } : {}),
      ...(r.sample ? { sample: r.sample } : {}),
    };
  };
  const results = await withWatchedSandbox(
    ctx.batch.id,
    signal,
    inputs,
    async (connection, dir, views, side) => {
      const ran = await runProgram(ctx, connection, dir, {
        side,
        partition: 0,
        sample: true,
        views,
        // A node's step and trace start when it does, and close as soon as it is done: progress
        // shows while the stage runs, and a node after a failure stays as it was (never run).
        // Each node's success is written with the next node's start, in one write.
        starting: async (node) => {
          const absorbed = ctx.sources.get(node.key);
          const start = { started_at: new Date().toISOString() };
          started.set(node, start.started_at);
          const states = { ...succeeded(), [node.step]: 'running' as const };
          writes.trace(node, absorbed ? { ...start, partitions: 1, logs: absorbed.logs ?? [] } : start);
          writes.changeSteps({ states });
        },
        finished: async (node, r) => {
          writes.trace(node, finishedTrace(node, r));
          done.push(node);
        },
        // The trace again, whole, now with the sample (folded into the first write if that waits).
        sampled: async (node, r) => writes.trace(node, finishedTrace(node, r)),
      });
      // The last steps' success and every step's rows, with what is still waiting to be written
      // (written while the sandbox closes).
      writes.changeSteps({
        states: succeeded(),
        offsets: { partition: 0, rows: [...ran].map(([node, r]) => ({ step: node.step, rows: r.rowsOut })) },
      });
      return ran;
    },
  ).catch(async (error: unknown) => {
    // Nodes reported finished after the failing node started (counted on their own once it
    // failed) are recorded as succeeded; what the failure path writes comes after these.
    if (done.length > 0) writes.changeSteps({ states: succeeded() });
    await writes.drain().catch(() => undefined);
    throw error;
  });
  await writes.drain();
  const last = results.get(ctx.nodes.at(-1) as PlanNode);
  return { rows: last?.rowsOut ?? 0, bytes: [...results.values()].reduce((sum, r) => sum + r.bytesOut, 0) };
}

/**
 * SQL the user wrote must parse, on DuckDB's own parser, as exactly one SELECT before it is
 * wrapped into the node's view; what it may read is up to the sandbox.
 */
function requireOneQuery(node: PlanNode, written: { field: string; sql: string }, statement: unknown): void {
  const parsed = (statement ?? {}) as {
    error?: boolean;
    error_message?: string;
    statements?: unknown[];
  };
  const where = `Node "${node.step}" ${written.field}`;
  if (parsed.error) {
    const reason = parsed.error_message?.startsWith('Only SELECT')
      ? 'must be one query (SELECT, WITH, FROM or VALUES)'
      : (parsed.error_message ?? 'does not parse');
    throw new StepFailedError(`${where}: ${reason}`);
  }
  if ((parsed.statements?.length ?? 0) !== 1)
    throw new StepFailedError(`${where}: must be a single statement`);
}

/** `sql` as DuckDB's parser serializes it (`{error: true, ...}` when it does not parse). */
async function parseSql(connection: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})`);
  return JSON.parse(String(reader.getRows()[0]?.[0] ?? '{}'));
}

/** DuckDB's aggregate function names (the same in every instance of this build), read once. */
let aggregates: Promise<ReadonlySet<string>> | undefined;
function aggregateNames(connection: DuckDBConnection): Promise<ReadonlySet<string>> {
  aggregates ??= connection
    .runAndReadAll(
      "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'",
    )
    .then((reader) => new Set(reader.getRows().map((r) => String(r[0]))));
  aggregates.catch(() => {
    aggregates = undefined;
  });
  return aggregates;
}

async function describe(connection: DuckDBConnection, relation: string): Promise<Field[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  return reader.getRows().map((r) => ({ name: String(r[0]), type: fieldTypeOfDuckDb(String(r[1])) }));
}

/** What a target's write hook may ask of the worker, within this stage's sandbox and work folder. */
function targetContext(
  ctx: StageContext,
  connection: DuckDBConnection,
  dir: string,
  select: string,
  logs: string[],
  prepared?: Promise<unknown>,
): TargetContext {
  return {
    ...hookContext(logs),
    select,
    prepared,
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
    publishVersion: (datasetId, mode, write) =>
      publishVersion({ datasetId, mode, principal: { username: ctx.batch.created_by } }, write),
  };
}

// ---------------------------------------------------------------------------------------------
// The failure path and error handling

/** What the execution ends with when a stage failed: the node that failed, named for the user. */
const failureCause = (node: PlanNode) => `Step ${node.key} (${node.step}) failed`;

/**
 * The Catch path of a stage: records the failure on the node that failed (the one whose trace
 * says so, else the first that did not succeed) and closes the stage's other unfinished nodes.
 * Answers the cause the execution ends with.
 */
async function recordFailure(event: WorkerEvent): Promise<{ recorded: boolean; cause: string }> {
  const ctx = await context(event, false);
  if (!ctx) return { recorded: false, cause: `Stage ${event.stage_id} failed` };
  const traces = await Promise.all(ctx.nodes.map((n) => getTrace(ctx.batch.id, positionOf(ctx, n))));
  if (ctx.stage.engine === 'ATHENA' && !traces.some((t) => t?.state === 'failed')) {
    return recordAthenaFailure(ctx, traces, event);
  }
  const failedAt =
    traces.findIndex((t) => t?.state === 'failed') >= 0
      ? traces.findIndex((t) => t?.state === 'failed')
      : Math.max(
          traces.findIndex((t) => t?.state !== 'success'),
          0,
        );
  const failed = ctx.nodes[failedAt] as PlanNode;
  if (traces[failedAt]?.state !== 'failed') {
    await endTrace(ctx, failed, 'failed', { error: userMessage(event.error?.Cause, event.error?.Error) });
  }
  const unfinished = ctx.nodes.filter((n, i) => n !== failed && traces[i]?.state === 'running');
  for (const node of unfinished) {
    await endTrace(ctx, node, 'failed', {
      error: `Not finished: node "${failed.step}" of its stage failed.`,
    });
  }
  await markSteps(
    ctx.batch.id,
    [failed, ...unfinished].map((n) => n.step),
    'failed',
  ).catch(() => undefined);
  return { recorded: true, cause: failureCause(failed) };
}
/**
 * A stage on Athena failed without saying which node (a query runs the whole stage): every node
 * not finished gets the query's reason, and the execution ends naming the stage.
 */
async function recordAthenaFailure(
  ctx: StageContext,
  traces: Array<TraceItem | undefined>,
  event: WorkerEvent,
): Promise<{ recorded: boolean; cause: string }> {
  const reason = athenaReason(event.error?.Cause) ?? userMessage(event.error?.Cause, event.error?.Error);
  const unfinished = ctx.nodes.filter((_, i) => traces[i]?.state !== 'success');
  for (const node of unfinished) await endTrace(ctx, node, 'failed', { error: reason });
  await markSteps(
    ctx.batch.id,
    unfinished.map((n) => n.step),
    'failed',
  ).catch(() => undefined);
  const names = ctx.nodes.map((n) => n.step).join(', ');
  return { recorded: true, cause: `Stage ${ctx.stage.id} (${names}) failed on Athena` };
}

/** The reason a `startQueryExecution.sync` Task failed with: its QueryExecution's StateChangeReason. */
export function athenaReason(cause: string | undefined): string | undefined {
  try {
    const parsed = JSON.parse(cause ?? '') as {
      QueryExecution?: { Status?: { StateChangeReason?: string } };
    };
    const reason = parsed.QueryExecution?.Status?.StateChangeReason;
    return reason ? `Athena: ${reason}` : undefined;
  } catch {
    return undefined;
  }
}

function userMessage(cause: string | undefined, name: string | undefined): string {
  const text = (cause ?? '').trim();
  if (name === STATES_ERRORS.timeout) return 'The step took longer than its time limit.';
  if (name === SLUICE_ERRORS.stepFailed || name === SLUICE_ERRORS.batchStopped)
    return text || 'The step failed.';
  if (name?.startsWith(LAMBDA_ERROR_PREFIX)) return `The step worker could not run (${name}).`;
  return text ? (text.split('\n')[0] ?? text) : `The step failed (${name ?? 'unknown error'}).`;
}

const TRANSIENT =
  /^(ThrottlingException|Throttling|SlowDown|RequestTimeout|RequestTimeTooSkewed|ProvisionedThroughputExceededException|InternalError|ServiceUnavailable|TimeoutError|ECONNRESET|ETIMEDOUT|EPIPE)$/;

/** Work folders are the worker's business: a message shows paths relative to them. */
function withoutWorkPaths(message: string): string {
  const root = platform().settings.tables.tmpDir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return message.replace(new RegExp(`${root}/[^/\\s"']+/`, 'g'), '');
}

function classify(error: unknown, node?: PlanNode): Error {
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
      const who = node ? `Node "${node.step}"` : 'A node';
      return new StepFailedError(`${who} may only read its own inputs, not files: ${first}`);
    }
    return new StepFailedError(first);
  }
  logger.error('step failed unexpectedly', { error: error as Error });
  return new StepFailedError(`The step failed unexpectedly (${e?.name ?? 'Error'}); see the worker logs.`);
}

// ---------------------------------------------------------------------------------------------
// Athena stages: the state machine runs their queries (athena-program.ts); the worker only
// prepares what the queries read and records what they did.

/** Where `athena-prepare` keeps a TARGET_OBS decision for `athena-finish`. */
const athenaDecisionKey = (batchId: string, nodeKey: string) => `runs/${batchId}/_athena/${nodeKey}.json`;

interface ObsDecision {
  /** IGNORE found data under the prefix: nothing is written. */
  skip: boolean;
}

/**
 * Starts an Athena stage: its nodes' steps and traces run; each source's objects (a prefix's, or
 * a dataset version's parts) are copied under the run's input prefix, which its external table
 * reads; an IGNORE TARGET_OBS looks at its prefix now, before anything is written. Answers the
 * run's Glue database and location, which the stage's queries are formatted with.
 */
async function prepareAthenaStage(
  ctx: StageContext,
): Promise<{ database: string; location: string; backslash: string; sources: Record<string, string> }> {
  for (const node of ctx.nodes) await startTrace(traceOf(ctx, node));
  await setSteps(ctx, ctx.nodes, 'running');
  /** Each dataset source's DDL columns: the version's columns as stored. */
  const sources: Record<string, string> = {};
  for (const node of ctx.nodes) {
    const logs: string[] = [];
    if (node.kind === 'source') {
      /** Each object's size, from the listing or the manifest: its bytes in, and the copies' sizes. */
      const sizes = new Map<string, number>();
      const base = hookContext(logs);
      const plan = await asNode(node, () =>
        sourceHooks(node).plan(node.node, {
          ...base,
          async listObjects(prefix, bucket) {
            const objects = await base.listObjects(prefix, bucket);
            for (const o of objects) sizes.set(o.key, o.size);
            return objects;
          },
          partition: (keys) => [keys],
          async readManifest(key) {
            const manifest = await getManifest(key);
            for (const p of manifest.parts) sizes.set(p.key, p.bytes);
            sources[`n${node.key}`] = manifest.columns
              .map((c) => `${hiveName(c.name)} ${glueTypeOfColumn(c.type)}`)
              .join(', ');
            return manifest;
          },
        }),
      );
      // Its objects as planned now, copied (inside S3) under the run's input prefix, where its
      // external table reads them: the stage sees one snapshot of a prefix, exactly the parts of
      // the dataset version, and the state machine needs no rights on the source buckets.
      const keys = plan.groups.flat();
      const data = platform().stores.dataBucket;
      await asNode(node, () =>
        inBatches(keys, COPY_CONCURRENCY, (key, i) =>
          copyAnySize(
            { bucket: plan.bucket ?? data, key },
            {
              bucket: data,
              key: `${athenaInputPrefix(ctx.batch.id, node.key)}part-${String(i).padStart(5, '0')}${extensionOf(key)}`,
            },
            sizes.get(key) ?? 0,
          ),
        ),
      );
      const bytes = [...sizes.values()].reduce((sum, size) => sum + size, 0);
      await addToTrace(ctx.batch.id, positionOf(ctx, node), { bytes_in: bytes }, logs);
    } else if (node.type === 'TARGET_OBS') {
      const target = node.node;
      await asNode(node, async () => {
        requireAllowedBucket(target.bucketName);
        const existing = await listObjects(prefixDir(target.prefix), target.bucketName);
        const decision: ObsDecision = { skip: target.updateType === 'IGNORE' && existing.length > 0 };
        await putJson(athenaDecisionKey(ctx.batch.id, node.key), decision);
      });
    }
  }
  return {
    database: runDatabaseOf(ctx.batch.id, RUN_DATABASE_PREFIX),
    location: `s3://${platform().stores.dataBucket}/runs/${ctx.batch.id}/`,
    // The queries' backslashes (statemachines/compile.ts athenaQueryString).
    backslash: '\\',
    sources,
  };
}

/**
 * Ends an Athena stage once its queries have run: each node's trace gets its exact rows (the
 * stage's COUNT query, `counts` in node order; rows in are the parents' rows out); a
 * TARGET_CATALOG publishes its CTAS output as the dataset's next version through the target's
 * own write (the same checks and casts as on DuckDB, the parts compacted into the version's one
 * part); a TARGET_OBS moves its UNLOAD output from the run prefix to the target prefix with its
 * update type.
 */
async function finishAthenaStage(ctx: StageContext, counts: readonly string[] | undefined) {
  if (!counts || counts.length !== ctx.stage.nodes.length) {
    throw new StepFailedError(
      `Stage ${ctx.stage.id}: the row counts of its ${ctx.stage.nodes.length} node(s) did not come back from Athena.`,
    );
  }
  const rowsOf = new Map(ctx.stage.nodes.map((key, i) => [key, Number(counts[i] ?? 0)]));
  const rowsIn = async (node: PlanNode) => {
    let sum = 0;
    for (const parent of node.parents) {
      const known = rowsOf.get(parent);
      if (known !== undefined) {
        sum += known;
        continue;
      }
      const from = ctx.plan.find((n) => n.key === parent);
      const trace = from ? await getTrace(ctx.batch.id, positionOf(ctx, from)) : undefined;
      sum += trace?.rows_out ?? 0;
    }
    return sum;
  };
  const offsets: Array<{ step: string; rows: number }> = [];
  for (const node of ctx.nodes) {
    const logs: string[] = [];
    let rowsOut = rowsOf.get(node.key) ?? 0;
    let bytesOut = 0;
    let sample: Sample | undefined;
    if (node.type === 'TARGET_CATALOG') {
      const written = await asNode(node, () => publishAthenaOutput(ctx, node, logs));
      rowsOut = written.rows;
      bytesOut = written.bytes;
      sample = written.sample;
    } else if (node.type === 'TARGET_OBS') {
      const written = await asNode(node, () => moveUnloaded(ctx, node, logs));
      if (written.skipped) rowsOut = 0;
      bytesOut = written.bytes;
    } else if (ctx.stage.outputs.includes(node.key)) {
      const parts = (await listObjects(runPrefix(ctx.batch.id, node.key))).filter((o) => isOutputPart(o.key));
      bytesOut = parts.reduce((sum, o) => sum + o.size, 0);
      sample = await sampleOfPart(node, parts, rowsOut);
    }
    const current = await getTrace(ctx.batch.id, positionOf(ctx, node));
    const started = current?.started_at ?? new Date().toISOString();
    const finished = new Date();
    const source = node.kind === 'source';
    await startTrace(traceOf(ctx, node), {
      state: 'success',
      started_at: started,
      finished_at: finished.toISOString(),
      duration_ms: finished.getTime() - Date.parse(started),
      rows_in: source ? rowsOut : await rowsIn(node),
      rows_out: rowsOut,
      bytes_in: current?.bytes_in ?? 0,
      bytes_out: bytesOut,
      ...(source ? { partitions: 1 } : {}),
      logs: [...(current?.logs ?? []), ...logs],
      ...(sample ? { sample } : {}),
    } as Partial<TraceItem>);
    offsets.push({ step: node.step, rows: rowsOut });
  }
  await changeSteps(ctx, {
    states: Object.fromEntries(ctx.nodes.map((n) => [n.step, 'success' as const])),
    offsets: { partition: 0, rows: offsets },
  });
  const last = offsets.at(-1);
  return { rows: last?.rows ?? 0, bytes: 0 };
}

/**
 * The first rows of a node's output written by CTAS, read from its first non-empty part with
 * ranged reads (nothing downloaded whole); none when its columns are unknown.
 */
async function sampleOfPart(
  node: PlanNode,
  parts: ReadonlyArray<{ key: string; size: number }>,
  rows: number,
): Promise<Sample | undefined> {
  const fields = node.fields;
  const first = parts.find((p) => p.size > 0);
  if (!fields || !first || rows === 0) return undefined;
  const columns: Column[] = fields.map((f) => ({
    name: f.name,
    type: columnTypeOfDuckDb(duckDbTypeOfField(f.type)),
  }));
  const read = await readPartRows({ key: first.key, rows, bytes: first.size }, 0, SAMPLE_ROWS, columns).catch(
    () => undefined,
  );
  return read ? { columns: columns.map((c) => c.name), rows: read } : undefined;
}

/** A TARGET_CATALOG of an Athena stage: its CTAS output, published by the target's write hook. */
async function publishAthenaOutput(ctx: StageContext, node: PlanNode, logs: string[]) {
  return withWorkDir(async (dir) => {
    const objects = (await listObjects(runPrefix(ctx.batch.id, node.key))).filter((o) => isOutputPart(o.key));
    await mkdir(join(dir, 'in'), { recursive: true });
    const files: string[] = [];
    for (const [i, o] of objects.entries()) {
      const file = join(dir, 'in', `part-${i}.parquet`);
      await downloadToFile(o.key, file);
      files.push(file);
    }
    // Athena writes column names in lower case: the node's own names come back (DuckDB matches
    // names case-insensitively), so the dataset has the columns it has on DuckDB.
    const columns = node.fields?.map((f) => `${sqlIdent(f.name)} AS ${sqlIdent(f.name)}`).join(', ') || '*';
    const select =
      files.length > 0 ? `SELECT ${columns} FROM ${parquetRelation(files)}` : emptySelect(node.fields ?? []);
    const target = definitionOf(node.node).target;
    if (!target) throw new StepFailedError(`Node type ${node.type} is not a target.`);
    return withSandbox(dir, (connection) =>
      target.write(node.node, targetContext(ctx, connection, dir, select, logs)),
    );
  });
}

/**
 * A TARGET_OBS of an Athena stage: the UNLOAD files copied under the target prefix as
 * `part-<n>-<batch>.<ext>` (the DuckDB engine's name for its one file), then, for OVERWRITE,
 * the objects that were there before removed; IGNORE was decided before the UNLOAD.
 */
async function moveUnloaded(ctx: StageContext, node: PlanNode, logs: string[]) {
  if (node.type !== 'TARGET_OBS') throw new StepFailedError(`Node type ${node.type} is not TARGET_OBS.`);
  const target = node.node;
  const decision = await getJson<ObsDecision>(athenaDecisionKey(ctx.batch.id, node.key));
  const prefix = prefixDir(target.prefix);
  if (decision.skip) {
    logs.push(`s3://${target.bucketName}/${prefix} already has data; IGNORE left it unchanged`);
    return { skipped: true, bytes: 0 };
  }
  const existing = await listObjects(prefix, target.bucketName);
  const unloaded = (await listObjects(runPrefix(ctx.batch.id, node.key))).filter(
    (o) => !o.key.slice(o.key.lastIndexOf('/') + 1).startsWith('_'),
  );
  const extension = targetFileExtension(node.node);
  const written: string[] = [];
  let bytes = 0;
  for (const [i, o] of unloaded.entries()) {
    const key = `${prefix}part-${String(i).padStart(5, '0')}-${ctx.batch.id}.${extension}`;
    await copyAnySize(
      { bucket: platform().stores.dataBucket, key: o.key },
      { bucket: target.bucketName, key },
      o.size,
    );
    written.push(key);
    bytes += o.size;
  }
  logs.push(`wrote ${written.length} file(s) to s3://${target.bucketName}/${prefix}`);
  if (target.updateType === 'OVERWRITE') {
    const stale = existing.filter((o) => !written.includes(o.key));
    for (const o of stale) await deleteObject(o.key, target.bucketName);
    if (stale.length > 0) logs.push(`OVERWRITE removed ${stale.length} earlier object(s)`);
  }
  return { skipped: false, bytes };
}

/** Server-side copies in flight at once while a stage's inputs are staged. */
const COPY_CONCURRENCY = 16;

/** Runs `work` over `items`, `size` at a time. */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T, index: number) => Promise<unknown>,
) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map((item, j) => work(item, i + j)));
  }
}

// ---------------------------------------------------------------------------------------------
// Reruns: a stage whose results the batch takes from the batch it reruns (pipelines/rerun.ts)

/**
 * Copies the outputs of the stage's nodes from the rerun batch (inside the bucket) and writes
 * their steps and traces as they were there, marked reused; the stage's Tasks then do nothing.
 */
async function reuseStage(ctx: StageContext, from: string): Promise<void> {
  const original = await getBatch(from);
  if (!original)
    throw new StepFailedError(`Batch ${from}, whose results this rerun reuses, no longer exists.`);
  for (const key of ctx.stage.outputs) {
    const parts = (await listObjects(runPrefix(from, key))).filter((o) => isOutputPart(o.key));
    if (parts.length === 0) {
      throw new StepFailedError(
        `The output of node ${key} in batch ${from} is gone; run the pipeline again.`,
      );
    }
    await Promise.all(
      parts.map((o) =>
        copyObject(o.key, `${runPrefix(ctx.batch.id, key)}${o.key.slice(runPrefix(from, key).length)}`),
      ),
    );
  }
  const now = new Date().toISOString();
  for (const node of ctx.nodes) {
    const before = (await getTrace(from, positionOf(ctx, node))) as TraceItem | undefined;
    await startTrace(traceOf(ctx, node), {
      state: 'success',
      started_at: now,
      finished_at: now,
      duration_ms: 0,
      rows_in: before?.rows_in ?? 0,
      rows_out: before?.rows_out ?? 0,
      bytes_in: before?.bytes_in ?? 0,
      bytes_out: before?.bytes_out ?? 0,
      ...(before?.partitions !== undefined ? { partitions: before.partitions } : {}),
      logs: [`reused the result of batch ${from}`],
      ...(before?.sample ? { sample: before.sample } : {}),
      reused_from: from,
    });
  }
  const partitions = new Set(ctx.nodes.flatMap((n) => Object.keys(original.steps[n.step]?.offsets ?? {})));
  for (const name of partitions) {
    const partition = Number(name.replace(/^partition_/, ''));
    const rows = ctx.nodes.flatMap((n) => {
      const value = original.steps[n.step]?.offsets?.[name];
      return value === undefined ? [] : [{ step: n.step, rows: value }];
    });
    await changeSteps(ctx, { offsets: { partition, rows } });
  }
  await changeSteps(ctx, { states: Object.fromEntries(ctx.nodes.map((n) => [n.step, 'success' as const])) });
}

/** Handles one state machine Task: the action named in the event, for one stage of one batch. */
export async function runStep(event: WorkerEvent, signal?: AbortSignal): Promise<unknown> {
  logger.appendKeys({ batchId: event.batch_id, stageId: event.stage_id, action: event.action });
  if (event.action === WORKER_ACTIONS.fail) return recordFailure(event);
  let ctx: StageContext | undefined;
  try {
    ctx = await context(event, true);
    if (!ctx) throw new BatchStoppedError(`Batch ${event.batch_id} is not running.`);
    const started = performance.now();
    const reusedFrom = ctx.batch.reused_stages?.includes(ctx.stage.id) ? ctx.batch.rerun_of : undefined;
    if (reusedFrom) {
      // The plan (partitioned) or the run (whole input) Task reuses; the Map and the seal do nothing.
      if (event.action === WORKER_ACTIONS.seal) return { partitions: 0 };
      if (
        event.action === ATHENA_WORKER_ACTIONS.athenaPrepare ||
        event.action === ATHENA_WORKER_ACTIONS.athenaFinish
      ) {
        throw new StepFailedError(`Stage ${ctx.stage.id} on Athena cannot be reused by a rerun.`);
      }
      await reuseStage(ctx, reusedFrom);
      return event.action === WORKER_ACTIONS.plan ? { partitions: [] } : { rows: 0, bytes: 0 };
    }
    if (
      event.action === ATHENA_WORKER_ACTIONS.athenaPrepare ||
      event.action === ATHENA_WORKER_ACTIONS.athenaFinish
    ) {
      if (ctx.stage.engine !== 'ATHENA')
        throw new StepFailedError(`Stage ${ctx.stage.id} does not run on Athena in this batch.`);
    }
    const out =
      event.action === ATHENA_WORKER_ACTIONS.athenaPrepare
        ? await prepareAthenaStage(ctx)
        : event.action === ATHENA_WORKER_ACTIONS.athenaFinish
          ? await finishAthenaStage(ctx, event.counts)
          : event.action === WORKER_ACTIONS.plan
            ? await planStage(ctx)
            : event.action === WORKER_ACTIONS.seal
              ? await sealStage(ctx)
              : ctx.stage.partitioned
                ? await runPartition(ctx, event.partition ?? 0, signal)
                : await runStage(ctx, signal);
    metrics.addMetric('StepMilliseconds', 'Milliseconds', Math.round(performance.now() - started));
    return out;
  } catch (error) {
    throw await failedStep(error, ctx);
  }
}

/**
 * What a stage's Task fails with: the error classified for the state machine (transient,
 * stopped, or a failure shown to the user), recorded on the node that raised it.
 */
export async function failedStep(error: unknown, ctx: StageContext | undefined): Promise<Error> {
  const node = error instanceof NodeError ? error.node : undefined;
  const failure = classify(error instanceof NodeError ? error.cause : error, node);
  if (failure instanceof BatchStoppedError && ctx) {
    // The batch ended while this stage ran: close its nodes' traces rather than leave them running.
    for (const n of ctx.nodes) {
      const trace = await getTrace(ctx.batch.id, positionOf(ctx, n)).catch(() => undefined);
      if (trace?.state === 'running') {
        await endTrace(ctx, n, 'failed', { error: 'Stopped: the batch ended while this step ran.' }).catch(
          () => undefined,
        );
      }
    }
  } else if (failure instanceof StepFailedError && ctx) {
    // Recorded here so the trace has the message even if the Catch path never runs.
    const at = node ?? ctx.nodes[0];
    if (at) {
      await endTrace(ctx, at, 'failed', { error: failure.message }).catch(() => undefined);
      await markSteps(ctx.batch.id, [at.step], 'failed').catch(() => undefined);
    }
  }
  return failure;
}

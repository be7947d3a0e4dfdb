/**
 * Which engine runs each stage of a batch: `engine` AUTO | DUCKDB | ATHENA, on a pipeline (its
 * run settings) or on one run (Data Flow's jobCondition). DUCKDB and ATHENA put every node on
 * that engine. AUTO is decided when the batch is recorded, stage by stage of the DuckDB plan: a
 * stage runs on Athena when the bytes of the sources upstream of it (dataset manifests, object
 * listings) exceed SLUICE_ATHENA_THRESHOLD_BYTES. The nodes then carry their engine into the
 * planner, where a change of engine between two nodes is a stage boundary (plan.ts `engine`),
 * so the stages that run are planned once more from the chosen engines.
 *
 * What upstream bytes stand for: a filter or an aggregate shrinks its input and a join may grow
 * it, so this is an estimate from what is known before anything runs; it never under-counts the
 * data a stage has to read from its sources.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { findCollectionByRef, findDatasetByRef } from '../catalog/store.ts';
import { ValidationError } from '../errors.ts';
import { logger } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { athenaProgram } from './athena-program.ts';
import { prefixDir } from './nodes/hooks.ts';
import type { PlanNode } from './nodes/index.ts';
import { type EngineChoice, type RunEngine, stagesOf } from './stages.ts';

export type { EngineChoice, RunEngine } from './stages.ts';

export const ENGINES = ['AUTO', 'DUCKDB', 'ATHENA'] as const satisfies readonly EngineChoice[];

/** `engine` in a pipeline body or a runCondition/jobCondition; upper or lower case. */
export const engineSchema = z.preprocess(
  (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  z.enum(ENGINES, { message: `must be one of ${ENGINES.join(', ')}` }),
);

/**
 * The engine of each node for AUTO, from the bytes each source reads: the stages of the DuckDB
 * plan whose upstream sources hold more than `threshold` bytes go to Athena, with all their
 * nodes. Undefined when every node stays on DuckDB. Pure.
 */
export function chooseEngines(
  plan: readonly PlanNode[],
  sourceBytes: Readonly<Record<string, number>>,
  threshold: number,
): Record<string, RunEngine> | undefined {
  const planned = stagesOf(plan, 'AUTO');
  const parentsOf = new Map(plan.map((n) => [n.key, n.parents]));
  const upstream = new Map<string, Set<string>>();
  const sourcesAbove = (key: string): Set<string> => {
    const known = upstream.get(key);
    if (known) return known;
    const found = new Set<string>();
    if (sourceBytes[key] !== undefined || (parentsOf.get(key) ?? []).length === 0) found.add(key);
    for (const p of parentsOf.get(key) ?? []) for (const s of sourcesAbove(p)) found.add(s);
    upstream.set(key, found);
    return found;
  };
  const engines: Record<string, RunEngine> = {};
  let athena = false;
  for (const stage of planned.stages) {
    const sources = new Set(stage.nodes.flatMap((key) => [...sourcesAbove(key)]));
    const bytes = [...sources].reduce((sum, key) => sum + (sourceBytes[key] ?? 0), 0);
    const engine: RunEngine = bytes > threshold ? 'ATHENA' : 'DUCKDB';
    if (engine === 'ATHENA') athena = true;
    for (const key of stage.nodes) engines[key] = engine;
  }
  return athena ? engines : undefined;
}

/**
 * Every node on one engine, or AUTO's choice; a stage that cannot be written for Athena (its
 * input columns are unknown) stays on DuckDB under AUTO, and fails the request naming `engine`
 * when ATHENA was asked for.
 */
export async function resolveEngines(
  plan: readonly PlanNode[],
  choice: EngineChoice,
): Promise<Record<string, RunEngine> | undefined> {
  if (choice === 'DUCKDB' || plan.length === 0) return undefined;
  if (choice === 'ATHENA') {
    const engines = Object.fromEntries(plan.map((n) => [n.key, 'ATHENA' as const]));
    const problem = athenaProblem(plan, engines);
    if (problem) throw ValidationError.of([{ field: 'engine', message: problem }]);
    return engines;
  }
  const threshold = platform().settings.pipelines.athenaThresholdBytes;
  const bytes = await measureSources(plan, threshold);
  const chosen = chooseEngines(plan, bytes, threshold);
  if (!chosen) return undefined;
  // A stage Athena cannot run goes back to DuckDB (with everything else that stage held).
  const planned = stagesOf(plan, 'DUCKDB', chosen);
  for (const stage of planned.stages) {
    if (stage.engine !== 'ATHENA') continue;
    try {
      athenaProgram(plan, stage);
    } catch {
      for (const key of stage.nodes) chosen[key] = 'DUCKDB';
    }
  }
  return Object.values(chosen).includes('ATHENA') ? chosen : undefined;
}

/** Why the stages on Athena cannot be written in Trino, or undefined. */
function athenaProblem(plan: readonly PlanNode[], engines: Record<string, RunEngine>): string | undefined {
  for (const stage of stagesOf(plan, 'DUCKDB', engines).stages) {
    if (stage.engine !== 'ATHENA') continue;
    try {
      athenaProgram(plan, stage);
    } catch (error) {
      return `cannot be ATHENA for this pipeline: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * The bytes each source would read now: a dataset's current version as the catalog records it
 * (no S3 read), a prefix from its listing. A source that cannot be sized (missing dataset, bucket
 * not allowed, a listing the caller may not do) counts 0 here and fails when it runs, as on DuckDB.
 */
export async function measureSources(
  plan: readonly PlanNode[],
  /** Listing a prefix stops once it is past this many bytes: more makes no other choice. */
  enough = Number.MAX_SAFE_INTEGER,
): Promise<Record<string, number>> {
  const bytes: Record<string, number> = {};
  const allowed = platform().settings.pipelines.buckets;
  for (const node of plan) {
    if (node.kind !== 'source') continue;
    bytes[node.key] = await sizeOf(node, allowed, enough).catch((error: unknown) => {
      // Not fatal: the source is read (and fails, if it must) when the stage runs.
      logger.warn('could not size a source to choose its engine; counting it as empty', {
        node: node.key,
        error: (error as { name?: string }).name,
      });
      return 0;
    });
  }
  return bytes;
}

async function sizeOf(node: PlanNode, allowed: readonly string[], enough: number): Promise<number> {
  if (node.type === 'SOURCE_CATALOG') {
    const collection = await findCollectionByRef(node.node.database);
    const dataset = collection ? await findDatasetByRef(collection.id, node.node.table) : undefined;
    return dataset?.bytes ?? 0;
  }
  if (node.type === 'SOURCE_OBS') {
    if (!allowed.includes(node.node.bucketName)) return 0;
    return prefixBytes(node.node.bucketName, prefixDir(node.node.prefix), enough);
  }
  return 0;
}

/** The bytes under a prefix, page by page, stopping once past `enough` (on a request path). */
async function prefixBytes(bucket: string, prefix: string, enough: number): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await platform().stores.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) total += o.Size ?? 0;
    token = page.IsTruncated && total <= enough ? page.NextContinuationToken : undefined;
  } while (token);
  return total;
}

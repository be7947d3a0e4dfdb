/**
 * Rerun from failure: `POST /api/v1/batches/{pipeline_id}/{batch_id}/rerun` starts a new batch
 * (of the pipeline's latest version, or `?pipeline_version=`) that reuses what the original batch
 * already computed. A stage of the new version is reused when the original batch ran the same
 * stage (the same nodes), every one of its nodes succeeded there, each node and everything
 * upstream of it is unchanged (same type, same settings, same parents, recursively; a renamed
 * step counts as unchanged), and the outputs later stages read were written and are still there.
 * The step worker then copies those outputs and the nodes' records instead of running the stage
 * (their traces say `reused`). Anything else runs as usual: a full run when nothing qualifies.
 */
import { BadStateError } from '../errors.ts';
import { listObjects } from '../storage.ts';
import type { PlanNode } from './nodes/index.ts';
import { requirePipeline, requireVersion, type VersionItem } from './pipelines.ts';
import { type BatchItem, TERMINAL } from './run-store.ts';
import { stagesOf } from './stages.ts';

/** Where a run's node outputs are (the worker writes them there). */
export const runOutputPrefix = (batchId: string, nodeKey: string) => `runs/${batchId}/${nodeKey}/`;

/**
 * A node's identity for reuse: its parsed settings without its display name, and its parents'
 * identities, recursively (a change upstream changes every node after it).
 */
function signatures(plan: readonly PlanNode[]): Map<string, string> {
  const byKey = new Map(plan.map((n) => [n.key, n]));
  const known = new Map<string, string>();
  const of = (key: string): string => {
    const cached = known.get(key);
    if (cached !== undefined) return cached;
    const node = byKey.get(key);
    if (!node) return `missing:${key}`;
    const { name: _name, ...settings } = node.node as Record<string, unknown>;
    const signature = JSON.stringify([node.type, stable(settings), node.parents.map(of)]);
    known.set(key, signature);
    return signature;
  };
  for (const node of plan) of(node.key);
  return known;
}

/** JSON with object keys sorted, so two equal settings give the same text. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The new version's stages the original batch's results can stand in for, by stage id. */
export async function reusableStages(
  original: BatchItem,
  originalVersion: VersionItem,
  version: VersionItem,
): Promise<string[]> {
  const before = stagesOf(originalVersion.plan).stages;
  const after = stagesOf(version.plan).stages;
  const oldSignatures = signatures(originalVersion.plan);
  const newSignatures = signatures(version.plan);
  const stepOf = new Map(originalVersion.plan.map((n) => [n.key, n.step]));
  const reusable: string[] = [];
  for (const stage of after) {
    const same = before.find((s) => s.nodes.join(',') === stage.nodes.join(','));
    if (!same) continue;
    const unchanged = stage.nodes.every((key) => newSignatures.get(key) === oldSignatures.get(key));
    const succeeded = stage.nodes.every((key) => original.steps[stepOf.get(key) ?? '']?.state === 'success');
    // Every output the new version's later stages read must have been written by the original.
    if (!unchanged || !succeeded || !stage.outputs.every((key) => same.outputs.includes(key))) continue;
    let written = true;
    for (const key of stage.outputs) {
      const parts = await listObjects(runOutputPrefix(original.id, key));
      if (!parts.some((o) => o.key.endsWith('.parquet'))) written = false;
    }
    if (written) reusable.push(stage.id);
  }
  return reusable;
}

/** Checks the original batch can be rerun and finds what the new batch reuses. */
export async function planRerun(
  pipelineId: string,
  original: BatchItem,
  version: number | undefined,
): Promise<{ version: VersionItem; reuse: string[] }> {
  if (!TERMINAL.includes(original.status)) {
    throw new BadStateError(`Batch ${original.id} is ${original.status}: rerun it once it has ended.`);
  }
  const pipeline = await requirePipeline(pipelineId);
  const target = await requireVersion(pipeline, version);
  const before = await requireVersion(pipeline, original.pipeline_version).catch(() => undefined);
  // A version that no longer exists (or a draft) reuses nothing: the new batch runs in full.
  if (!before?.valid || !target.valid) return { version: target, reuse: [] };
  // Stages of a batch with nodes on Athena are planned differently: nothing of it is reused.
  if (Object.values(original.engines ?? {}).includes('ATHENA')) return { version: target, reuse: [] };
  return { version: target, reuse: await reusableStages(original, before, target) };
}

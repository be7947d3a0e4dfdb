/**
 * `GET /api/v1/pipelines/{id}/versions/{n}/plan`: how a version runs. Its stages (which nodes
 * each one runs as one program, on which engine, where it starts and why) and the state machine
 * definition compiled from them with the pipeline's current run settings.
 */
import { BadStateError } from '../errors.ts';
import { platform } from '../platform/platform.ts';
import { resolveEngines } from './engine-choice.ts';
import type { PlanNode } from './nodes/index.ts';
import { requirePipeline, requireVersion } from './pipelines.ts';
import { definitionOf } from './runs.ts';
import { type Stage, type StageReason, stagesOf } from './stages.ts';

/** Why a stage starts where it does, in words. */
const REASONS: Record<StageReason, string> = {
  partitions:
    'runs once per partition of its source (the objects of a prefix, the parts of a dataset version)',
  'all-rows': 'needs every partition of the stage before it at once',
  target: 'writes a target whose input ran per partition',
  engine: 'runs on another engine than the nodes before it (DuckDB in the step worker, or Athena)',
  materialize: 'reads a node marked "materialize": true, which is written',
};

function stageView(stage: Stage, plan: readonly PlanNode[]) {
  const node = (key: string) => {
    const n = plan.find((p) => p.key === key);
    return { id: key, name: n?.step ?? key, type: n?.type ?? 'UNKNOWN' };
  };
  return {
    id: stage.id,
    engine: stage.engine,
    partitioned: stage.partitioned,
    ...(stage.source ? { source: stage.source } : {}),
    nodes: stage.nodes.map(node),
    after: stage.after,
    outputs: stage.outputs,
    targets: stage.targets,
    boundaries: stage.reasons.map((reason) => ({ reason, detail: REASONS[reason] })),
  };
}

export async function getVersionPlan(pipelineId: string, version: number) {
  const pipeline = await requirePipeline(pipelineId);
  const saved = await requireVersion(pipeline, version);
  if (!saved.valid) {
    throw new BadStateError(
      `Version ${saved.version} is a draft: it has problems to fix before it can be planned (GET .../verify).`,
    );
  }
  // The engines a batch started now would get: AUTO is decided from the inputs as they are now
  // (a batch decides again when it starts).
  const choice = pipeline.engine ?? 'AUTO';
  const engines = await resolveEngines(saved.plan, choice).catch(() => undefined);
  const planned = stagesOf(saved.plan, 'DUCKDB', engines);
  return {
    pipeline_id: pipeline.id,
    version: saved.version,
    engine: choice,
    ...(choice === 'AUTO'
      ? { athena_threshold_bytes: platform().settings.pipelines.athenaThresholdBytes }
      : {}),
    stages: planned.stages.map((stage) => stageView(stage, saved.plan)),
    definition: JSON.parse(definitionOf(saved, { ...pipeline, ...(engines ? { engines } : {}) })) as unknown,
  };
}

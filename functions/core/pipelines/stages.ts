/**
 * The stages of a saved pipeline version: the planner (statemachines/plan.ts) over the version's
 * plan nodes, each node's role taken from the node registry. The same version and the same
 * engines always give the same stages, so the compiler (at deploy), the step worker (at run) and
 * the plan endpoint agree without storing them: a batch stores only the engine chosen for each
 * node (`BatchItem.engines`, absent when every node runs on DuckDB).
 */
import type { CompileStage } from '../../../statemachines/compile.ts';
import { type EngineChoice, type NodeRole, type Plan, planStages } from '../../../statemachines/plan.ts';
import { athenaProgram } from './athena-program.ts';
import { definitionOf, type PlanNode } from './nodes/index.ts';

export type { EngineChoice, Plan, Stage, StageReason } from '../../../statemachines/plan.ts';

/** An engine a stage actually runs on (AUTO is resolved when a batch starts). */
export type RunEngine = Exclude<EngineChoice, 'AUTO'>;

/** How the planner may fuse a node, from its type. */
export function roleOf(node: PlanNode): NodeRole {
  if (node.kind === 'source') return 'source';
  if (node.kind === 'target') return 'target';
  return definitionOf(node.node).rowWise ? 'row' : 'all';
}

/**
 * The version's stages. `engine` is the pipeline's choice; `engines` the engine resolved for
 * each node when a batch started (engine-choice.ts), which overrides it. Without either, every
 * stage runs on DuckDB.
 */
export function stagesOf(
  plan: readonly PlanNode[],
  engine: EngineChoice = 'DUCKDB',
  engines?: Readonly<Record<string, RunEngine>>,
): Plan {
  return planStages(
    plan.map((n) => ({
      key: n.key,
      parents: n.parents,
      role: roleOf(n),
      ...(n.node.materialize === true ? { materialize: true } : {}),
      ...(engines?.[n.key] ? { engine: engines[n.key] } : {}),
    })),
    engine,
  );
}

/** A stage's name in state names and messages: its nodes' step names. */
export function stageLabel(plan: readonly PlanNode[], nodes: readonly string[]): string {
  return nodes.map((key) => plan.find((n) => n.key === key)?.step ?? key).join(', ');
}

/**
 * The version's stages as the compiler takes them, with the engines a batch resolved: a stage
 * on Athena carries its queries (athena-program.ts).
 */
export function compileStagesOf(
  plan: readonly PlanNode[],
  engines?: Readonly<Record<string, RunEngine>>,
): CompileStage[] {
  return stagesOf(plan, 'DUCKDB', engines).stages.map((stage) => ({
    key: stage.id,
    stepName: stageLabel(plan, stage.nodes),
    parents: stage.after,
    partitioned: stage.partitioned,
    ...(stage.engine === 'ATHENA' ? { athena: athenaProgram(plan, stage) } : {}),
  }));
}

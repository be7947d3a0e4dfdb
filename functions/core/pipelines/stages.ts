/**
 * The stages of a saved pipeline version: the planner (statemachines/plan.ts) over the version's
 * plan nodes, each node's role taken from the node registry. The same version always gives the
 * same stages, so the compiler (at deploy), the step worker (at run) and the plan endpoint agree
 * without storing them.
 */
import type { CompileStage } from '../../../statemachines/compile.ts';
import { type EngineChoice, type NodeRole, type Plan, planStages } from '../../../statemachines/plan.ts';
import { definitionOf, type PlanNode } from './nodes/index.ts';

export type { EngineChoice, Plan, Stage, StageReason } from '../../../statemachines/plan.ts';

/** How the planner may fuse a node, from its type. */
export function roleOf(node: PlanNode): NodeRole {
  if (node.kind === 'source') return 'source';
  if (node.kind === 'target') return 'target';
  return definitionOf(node.node).rowWise ? 'row' : 'all';
}

/**
 * The version's stages. Every stage runs on DuckDB in the step worker for now: the Athena engine
 * is not built yet, so AUTO and ATHENA are not offered.
 */
export function stagesOf(plan: readonly PlanNode[], engine: EngineChoice = 'DUCKDB'): Plan {
  return planStages(
    plan.map((n) => ({
      key: n.key,
      parents: n.parents,
      role: roleOf(n),
      ...(n.node.materialize === true ? { materialize: true } : {}),
    })),
    engine,
  );
}

/** A stage's name in state names and messages: its nodes' step names. */
export function stageLabel(plan: readonly PlanNode[], nodes: readonly string[]): string {
  return nodes.map((key) => plan.find((n) => n.key === key)?.step ?? key).join(', ');
}

/** The version's stages as the compiler takes them. */
export function compileStagesOf(plan: readonly PlanNode[]): CompileStage[] {
  return stagesOf(plan).stages.map((stage) => ({
    key: stage.id,
    stepName: stageLabel(plan, stage.nodes),
    parents: stage.after,
    partitioned: stage.partitioned,
  }));
}

/**
 * The node-type registry: one definition per ETLJobNode type, each in its own file (schema,
 * output columns, SQL and run hooks), composed here. Validation, planning, the echo of saved
 * nodes and the step worker all look a type up here.
 */
import type { PipelineNode, PlanNodeOf } from '../model.ts';
import type { NodeDefinition } from './definition.ts';
import SOURCE_CATALOG, { type SourceCatalogNode } from './SOURCE_CATALOG.ts';
import SOURCE_OBS, { type SourceObsNode } from './SOURCE_OBS.ts';
import type { FieldRef } from './schema-parts.ts';
import TARGET_CATALOG, { type TargetCatalogNode } from './TARGET_CATALOG.ts';
import TARGET_OBS, { type TargetObsNode } from './TARGET_OBS.ts';
import TRANSFORM_AGGREGATE, { type AggregateNode } from './TRANSFORM_AGGREGATE.ts';
import TRANSFORM_DEFINE, { type DefineNode } from './TRANSFORM_DEFINE.ts';
import TRANSFORM_DROP_DUPLICATION, { type DropDuplicationNode } from './TRANSFORM_DROP_DUPLICATION.ts';
import TRANSFORM_DROP_NULL, { type DropNullNode } from './TRANSFORM_DROP_NULL.ts';
import TRANSFORM_FILL_MISSING_VALUES, {
  type FillMissingValuesNode,
} from './TRANSFORM_FILL_MISSING_VALUES.ts';
import TRANSFORM_FILTER, { type FilterNode } from './TRANSFORM_FILTER.ts';
import TRANSFORM_JOIN, { type JoinNode } from './TRANSFORM_JOIN.ts';
import TRANSFORM_RENAME, { type RenameNode } from './TRANSFORM_RENAME.ts';
import TRANSFORM_SELECT, { type SelectNode } from './TRANSFORM_SELECT.ts';
import TRANSFORM_SQL, { type SqlNode } from './TRANSFORM_SQL.ts';
import TRANSFORM_UNION, { type UnionNode } from './TRANSFORM_UNION.ts';

/** A node after its schema: types upper-case, field types lower-case, defaults filled in. */
export type ParsedNode = PipelineNode &
  (
    | SourceObsNode
    | SourceCatalogNode
    | FilterNode
    | DefineNode
    | SelectNode
    | RenameNode
    | JoinNode
    | UnionNode
    | AggregateNode
    | DropDuplicationNode
    | DropNullNode
    | FillMissingValuesNode
    | SqlNode
    | TargetObsNode
    | TargetCatalogNode
  );

export type NodeTypeName = ParsedNode['type'];

/** A plan node typed by its node type: narrowing `type` narrows `node`. */
export type PlanNode = {
  [T in NodeTypeName]: PlanNodeOf<T, Extract<ParsedNode, { type: T }>>;
}[NodeTypeName];

/** A registered definition, as code that holds a node of any type sees it. */
export type NodeTypeDef = NodeDefinition<ParsedNode>;

const DEFINITIONS: readonly NodeTypeDef[] = [
  SOURCE_OBS,
  SOURCE_CATALOG,
  TRANSFORM_FILTER,
  TRANSFORM_DEFINE,
  TRANSFORM_SELECT,
  TRANSFORM_RENAME,
  TRANSFORM_JOIN,
  TRANSFORM_UNION,
  TRANSFORM_AGGREGATE,
  TRANSFORM_DROP_DUPLICATION,
  TRANSFORM_DROP_NULL,
  TRANSFORM_FILL_MISSING_VALUES,
  TRANSFORM_SQL,
  TARGET_OBS,
  TARGET_CATALOG,
];

export const NODE_TYPES: Readonly<Record<string, NodeTypeDef>> = Object.freeze(
  Object.fromEntries(DEFINITIONS.map((def) => [def.type, def])),
);

/** The definition of a node type (any case), or undefined. */
export function nodeType(type: string): NodeTypeDef | undefined {
  const key = type.toUpperCase();
  return Object.hasOwn(NODE_TYPES, key) ? NODE_TYPES[key] : undefined;
}

/** The definition of a parsed node's type (the node came through that type's schema). */
export function definitionOf(node: Pick<ParsedNode, 'type'>): NodeTypeDef {
  const def = NODE_TYPES[node.type];
  if (!def) throw new Error(`unknown node type ${node.type}`);
  return def;
}

/**
 * The node as the API returns it: normalised, ids as given, every fieldList entry with
 * `properties` (Data Flow adds `[]`), and whatever its type echoes differently.
 */
export function echoNode(node: ParsedNode): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (Array.isArray(node.fieldList)) {
    out.fieldList = (node.fieldList as FieldRef[]).map((f) => ({ ...f, properties: f.properties ?? [] }));
  }
  return { ...out, ...definitionOf(node).echo?.(node) };
}

export type { CheckContext, NodeInput } from './definition.ts';
export { INPUT_ROWS } from './definition.ts';
export type {
  HookContext,
  Sample,
  SourcePlan,
  SourcePlanContext,
  TargetContext,
  TargetResult,
} from './hooks.ts';
export { commonNodeSchema, isId } from './schema-parts.ts';
export { parquetRelation } from './sql-parts.ts';

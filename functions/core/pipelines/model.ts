/**
 * The pipeline model shared by validation, the compiler, the engine and the step worker.
 * Nodes follow Data Flow's ETLJobNode: common fields (`id`, `name`, `type`, `parentNodeIds`)
 * plus type-specific fields, which the node registry (nodes/, one file per type) defines.
 */

/** A node as the API receives it. `id` is a Long in Data Flow: a number, or a string of digits. */
export interface PipelineNode {
  id: number | string;
  name: string;
  type: string;
  parentNodeIds: Array<number | string>;
  [field: string]: unknown;
}

/** Field types of Data Flow, lower-cased (the API accepts any case). */
export const FIELD_TYPES = [
  'boolean',
  'tinyint',
  'smallint',
  'int',
  'bigint',
  'float',
  'double',
  'decimal',
  'string',
  'char',
  'varchar',
  'date',
  'datetime',
  'timestamp',
  'timestampwithtimezone',
  'binary',
  'array',
  'map',
  'struct',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A column of a node's input or output. */
export interface Field {
  name: string;
  type: FieldType;
}

/**
 * One thing wrong with a pipeline. `nodeId` is null for problems of the whole graph;
 * `field` is the path inside the node (`filterConditionList.0.name`) or `parentNodeIds`.
 */
export interface Problem {
  nodeId: string | null;
  nodeName?: string;
  field: string;
  message: string;
}

export type NodeKind = 'source' | 'transform' | 'target';

/**
 * One node of a saved version's plan: its parsed form with the step name, parents and output
 * columns worked out at validation. `nodes/index.ts` instantiates it per node type as `PlanNode`,
 * a union on `type`, so `node` is typed by its node type.
 */
export interface PlanNodeOf<T extends string, N> {
  key: string;
  step: string;
  type: T;
  kind: NodeKind;
  parents: string[];
  node: N;
  /** Output columns, when known before running. */
  fields: Field[] | null;
  /** Catalog nodes: the resolved collection (and dataset, when it exists). */
  catalog?: { collectionId: string; datasetId?: string };
}

/** The key of a node everywhere inside Sluice (ids arrive as numbers or digit strings). */
export const nodeKey = (id: number | string): string => String(id);

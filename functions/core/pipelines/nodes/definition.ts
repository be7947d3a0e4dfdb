/**
 * What a node type defines. Each `nodes/<TYPE>.ts` default-exports one `NodeDefinition` typed by
 * its own parsed node; `index.ts` composes them into the registry.
 *
 * Conventions that hold throughout the node files:
 * - Identifiers are always quoted with sqlIdent and literals with sqlString.
 * - Column names match exactly; two names that differ only in case count as the same name when
 *   checking for collisions, because DuckDB resolves identifiers case-insensitively.
 * - `sql()` also works when an input's columns are unknown (`fields: null`, e.g. downstream of
 *   TRANSFORM_SQL): it then relies on DuckDB star modifiers and untyped literals. Known columns
 *   still give better results in two places: TRANSFORM_JOIN renames colliding right-hand columns
 *   with its prefix (DuckDB's own `id_1` otherwise), and SUM is cast to its declared type.
 * - `athenaSql()` is the same SELECT in Trino's dialect (helpers in trino.ts). Trino has no star
 *   modifiers, so a node whose DuckDB SQL uses them lists its columns there instead and throws an
 *   AthenaSqlError when an input's columns are unknown.
 */
import type { z } from 'zod';
import type { Field, NodeKind, PipelineNode } from '../model.ts';
import type { SourceHooks, TargetHooks } from './hooks.ts';

/** One input of a node at run time. */
export interface NodeInput {
  nodeId: string;
  /**
   * A SQL expression usable after FROM: for `sql()` `read_parquet([...])` or a quoted view name,
   * for `athenaSql()` a Trino table reference such as `"run_db"."n_2"`.
   */
  relation: string;
  fields: Field[] | null;
}

/** Where `output()` reports what is wrong; `field` is the path inside the node. */
export interface CheckContext {
  problem(field: string, message: string): void;
}

/**
 * A node type. Hooks are methods taking the node as parsed by `schema`; the registry hands each
 * definition only nodes of its own type.
 */
export interface NodeDefinition<N extends PipelineNode> {
  type: N['type'];
  kind: NodeKind;
  arity: { min: number; max: number };
  /**
   * Transforms whose every output row comes from one input row alone (filter, define, select,
   * rename, drop-null, fill-missing): the planner runs them per partition, right after their
   * source. Without it a transform needs all its input rows at once.
   */
  rowWise?: true;
  /**
   * Transforms whose output is usually far smaller than their input (aggregate, drop-duplication):
   * the step worker keeps their output in DuckDB's memory instead of a view, so that counting,
   * sampling and reading it downstream do not compute it again.
   */
  reduces?: true;
  /**
   * Transforms that output exactly one row per input row (select, rename, define, fill-missing):
   * the step worker takes their row count from their input instead of counting again.
   */
  keepsRows?: true;
  /**
   * `sql()` with one more column, `INPUT_ROWS` (the input rows behind each output row), so that
   * the step worker learns how many rows its input had in the same pass (aggregate): the input
   * is then not counted on its own.
   */
  sqlCountingInput?(node: N, inputs: NodeInput[]): string;
  /**
   * Where a source reads or a target writes: objects under a bucket prefix (`bucketName`,
   * checked against the allowed buckets) or a catalog dataset (`database` and `table`, resolved
   * at validation). Transforms have none.
   */
  location?: 'bucket' | 'dataset';
  /** Validates the whole node (common + own fields); the output is the normalised node. */
  schema: z.ZodType<N>;
  /**
   * The node's output columns from its inputs (in parentNodeIds order; for a dataset source the
   * dataset's columns), or null when they cannot be known. Bad references are reported on ctx.
   */
  output(node: N, inputs: Array<Field[] | null>, ctx: CheckContext): Field[] | null;
  /** Transforms and targets: one SELECT producing the output. */
  sql?(node: N, inputs: NodeInput[]): string;
  /**
   * Transforms and targets: one Athena (Trino) SELECT producing the same rows, column names and
   * types as `sql()` on DuckDB (for a target: the rows it writes), over inputs whose `relation`
   * is a Trino table reference. Sources have none: the engine reads them through external
   * tables. Throws an AthenaSqlError when the node needs input columns that are unknown.
   */
  athenaSql?(node: N, inputs: NodeInput[]): string;
  /**
   * SQL text the user wrote in a field of this node, which must parse as one SELECT on its own
   * before it runs (the step worker checks it with DuckDB's parser). It is written in the
   * dialect of the engine its stage runs on: DuckDB's, or Trino's on Athena. `inputs` are the
   * names it reads the node's inputs by.
   */
  userSql?(node: N): { field: string; sql: string; inputs: string[] };
  /** Fields the API echoes differently from how they are parsed (merged over the node). */
  echo?(node: N): Record<string, unknown>;
  /** Sources: how the step worker plans partitions and reads each one. */
  source?: SourceHooks<N>;
  /** Targets: how the step worker writes the node's output. */
  target?: TargetHooks<N>;
}

/** The column `sqlCountingInput` adds: summed over the output, the input's row count. */
export const INPUT_ROWS = '__sluice_input_rows';

/** Exactly one input. */
export const ONE_INPUT = { min: 1, max: 1 };

/** No inputs: a source. */
export const NO_INPUTS = { min: 0, max: 0 };

/**
 * `node` as a node of `def`'s type, for callers holding a node of any type; throws when it is
 * another type. The fields are trusted: a node reaches here only after its schema parsed it.
 */
export function nodeAs<N extends PipelineNode>(def: NodeDefinition<N>, node: PipelineNode): N {
  if (node.type !== def.type) throw new Error(`expected a ${def.type} node, got ${node.type}`);
  return node as N;
}

/** What both targets share: the optional fieldList that projects (and casts) what they write. */
import type { Field } from '../model.ts';
import { copyFields, projectOutput } from './columns.ts';
import type { CheckContext, NodeInput } from './definition.ts';
import type { FieldRef } from './schema-parts.ts';
import { onlyInput, projection } from './sql-parts.ts';
import { trinoProjection } from './trino.ts';

interface Projected {
  fieldList?: FieldRef[] | undefined;
}

export function targetOutput(node: Projected, input: Field[] | null | undefined, ctx: CheckContext) {
  if (!input) return null;
  return node.fieldList ? projectOutput(node.fieldList, input, 'fieldList', ctx) : copyFields(input);
}

export function targetSql(node: Projected, inputs: NodeInput[]): string {
  const relation = onlyInput(inputs).relation;
  return node.fieldList
    ? `SELECT ${projection(node.fieldList)} FROM ${relation}`
    : `SELECT * FROM ${relation}`;
}

/**
 * The rows a target writes, in Trino: the same projection, its casts following DuckDB's text
 * forms where the input columns are known (trinoCast); unknown columns are fine.
 */
export function targetAthenaSql(node: Projected, inputs: NodeInput[]): string {
  const input = onlyInput(inputs);
  return node.fieldList
    ? `SELECT ${trinoProjection(node.fieldList, input.fields)} FROM ${input.relation}`
    : `SELECT * FROM ${input.relation}`;
}

/** What both targets share: the optional fieldList that projects (and casts) what they write. */
import type { Field } from '../model.ts';
import { copyFields, projectOutput } from './columns.ts';
import type { CheckContext, NodeInput } from './definition.ts';
import type { FieldRef } from './schema-parts.ts';
import { onlyInput, projection } from './sql-parts.ts';

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

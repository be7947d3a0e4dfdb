/** TRANSFORM_SELECT: keeps the listed columns, in the listed order. */
import * as z from 'zod';
import { projectOutput } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { common, fieldRefOrName } from './schema-parts.ts';
import { onlyInput, projection } from './sql-parts.ts';
import { trinoProjection } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_SELECT'),
  fieldList: z.array(fieldRefOrName).min(1, 'must list at least one field'),
});

export type SelectNode = z.output<typeof schema>;

const TRANSFORM_SELECT: NodeDefinition<SelectNode> = {
  type: 'TRANSFORM_SELECT',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  keepsRows: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    // A type given here describes the column; it does not cast (use TRANSFORM_DEFINE).
    const names = node.fieldList.map((f) => ({ name: f.name }));
    return projectOutput(names, input, 'fieldList', ctx);
  },
  sql(node, inputs) {
    return `SELECT ${projection(node.fieldList.map((f) => ({ name: f.name })))} FROM ${onlyInput(inputs).relation}`;
  },
  athenaSql(node, inputs) {
    // Names only, as on DuckDB (a type here describes, it does not cast): unknown input
    // columns are fine.
    return `SELECT ${trinoProjection(
      node.fieldList.map((f) => ({ name: f.name })),
      null,
    )} FROM ${onlyInput(inputs).relation}`;
  },
};

export default TRANSFORM_SELECT;

/** TRANSFORM_DROP_NULL: drops rows with a null in the listed columns (or in any column). */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { column, copyFields } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { common, fieldRefOrName } from './schema-parts.ts';
import { onlyInput } from './sql-parts.ts';
import { knownColumns, trinoIdent } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_DROP_NULL'),
  /** Columns checked for nulls; empty checks every column. */
  fieldList: z.array(fieldRefOrName).default([]),
});

export type DropNullNode = z.output<typeof schema>;

const TRANSFORM_DROP_NULL: NodeDefinition<DropNullNode> = {
  type: 'TRANSFORM_DROP_NULL',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.fieldList.forEach((f, i) => {
      column(input, f.name, `fieldList.${i}.name`, ctx);
    });
    return copyFields(input);
  },
  sql(node, inputs) {
    const relation = onlyInput(inputs).relation;
    if (node.fieldList.length === 0) return `SELECT * FROM ${relation} WHERE COLUMNS(*) IS NOT NULL`;
    const where = node.fieldList.map((f) => `${sqlIdent(f.name)} IS NOT NULL`).join(' AND ');
    return `SELECT * FROM ${relation} WHERE ${where}`;
  },
  athenaSql(node, inputs) {
    // `COLUMNS(*) IS NOT NULL` spelled out: every column, so only then are the columns needed.
    const input = onlyInput(inputs);
    const names =
      node.fieldList.length > 0
        ? node.fieldList.map((f) => f.name)
        : knownColumns('TRANSFORM_DROP_NULL', input).map((f) => f.name);
    if (names.length === 0) return `SELECT * FROM ${input.relation}`;
    const where = names.map((name) => `${trinoIdent(name)} IS NOT NULL`).join(' AND ');
    return `SELECT * FROM ${input.relation} WHERE ${where}`;
  },
};

export default TRANSFORM_DROP_NULL;

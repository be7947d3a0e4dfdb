/** TRANSFORM_FILL_MISSING_VALUES: replaces nulls in the listed columns with a default of the column's type. */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { checkUnique, column, copyFields } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { literalSql, typedLiteral } from './literals.ts';
import { columnName, common, defaultValueSchema } from './schema-parts.ts';
import { onlyInput, typeOf } from './sql-parts.ts';
import { listedColumns, trinoIdent } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_FILL_MISSING_VALUES'),
  missingValueFieldList: z
    .array(z.looseObject({ name: columnName, defaultValue: defaultValueSchema }))
    .min(1, 'must list at least one field'),
});

export type FillMissingValuesNode = z.output<typeof schema>;

const TRANSFORM_FILL_MISSING_VALUES: NodeDefinition<FillMissingValuesNode> = {
  type: 'TRANSFORM_FILL_MISSING_VALUES',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  keepsRows: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.missingValueFieldList.forEach((m, i) => {
      const col = column(input, m.name, `missingValueFieldList.${i}.name`, ctx);
      if (!col) return;
      const literal = typedLiteral(m.defaultValue, col.type, 'assign');
      if ('error' in literal) {
        ctx.problem(
          `missingValueFieldList.${i}.defaultValue`,
          `${literal.error}, but column "${col.name}" is ${col.type}`,
        );
      }
    });
    checkUnique(
      node.missingValueFieldList.map((m, i) => ({ name: m.name, field: `missingValueFieldList.${i}.name` })),
      ctx,
    );
    return copyFields(input);
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const list = node.missingValueFieldList
      .map((m) => {
        const col = sqlIdent(m.name);
        return `COALESCE(${col}, ${literalSql(m.defaultValue, typeOf(input.fields, m.name), 'assign')}) AS ${col}`;
      })
      .join(', ');
    return `SELECT * REPLACE (${list}) FROM ${input.relation}`;
  },
  athenaSql(node, inputs) {
    // `* REPLACE` spelled out: every input column in place, filled ones through COALESCE with a
    // default of exactly the column's type.
    const input = onlyInput(inputs);
    const names = node.missingValueFieldList.map((m) => m.name);
    const list = listedColumns('TRANSFORM_FILL_MISSING_VALUES', input, names).map((f) => {
      const col = trinoIdent(f.name);
      const m = node.missingValueFieldList.find((m) => m.name === f.name);
      return m ? `COALESCE(${col}, ${literalSql(m.defaultValue, f.type, 'assign', 'trino')}) AS ${col}` : col;
    });
    return `SELECT ${list.join(', ')} FROM ${input.relation}`;
  },
};

export default TRANSFORM_FILL_MISSING_VALUES;

/** TRANSFORM_FILTER: keeps the rows that meet all (AND) or any (OR) of its conditions. */
import { z } from 'zod';
import { sqlIdent } from '../../sql.ts';
import type { FieldType } from '../model.ts';
import { column, copyFields } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { literalSql, typedLiteral } from './literals.ts';
import {
  CONDITION_OPERATORS,
  columnName,
  common,
  OPERATORS,
  scalarSchema,
  upperEnum,
} from './schema-parts.ts';
import { OPERATOR_SQL, onlyInput, typeOf } from './sql-parts.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_FILTER'),
  filterType: upperEnum(['AND', 'OR']),
  filterConditionList: z
    .array(
      z.looseObject({
        name: columnName,
        operator: upperEnum(OPERATORS),
        value: scalarSchema,
        // Accepted for Data Flow compatibility; conditions combine with filterType.
        conditionOperator: upperEnum(CONDITION_OPERATORS).optional(),
      }),
    )
    .min(1, 'must list at least one condition'),
});

export type FilterNode = z.output<typeof schema>;

function condition(cond: FilterNode['filterConditionList'][number], type: FieldType | undefined): string {
  const col = sqlIdent(cond.name);
  if (cond.value === null) {
    if (cond.operator === 'EQ') return `${col} IS NULL`;
    if (cond.operator === 'NE') return `${col} IS NOT NULL`;
    throw new Error(`null can only be compared with EQ or NE, not ${cond.operator}`);
  }
  return `${col} ${OPERATOR_SQL[cond.operator]} ${literalSql(cond.value, type, 'compare')}`;
}

const TRANSFORM_FILTER: NodeDefinition<FilterNode> = {
  type: 'TRANSFORM_FILTER',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.filterConditionList.forEach((cond, i) => {
      const col = column(input, cond.name, `filterConditionList.${i}.name`, ctx);
      if (cond.value === null) {
        if (cond.operator !== 'EQ' && cond.operator !== 'NE') {
          ctx.problem(`filterConditionList.${i}.value`, `null can only be compared with EQ or NE`);
        }
        return;
      }
      if (!col) return;
      const literal = typedLiteral(cond.value, col.type, 'compare');
      if ('error' in literal) {
        ctx.problem(
          `filterConditionList.${i}.value`,
          `${literal.error}, but column "${col.name}" is ${col.type}`,
        );
      }
    });
    return copyFields(input);
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const joiner = ` ${node.filterType} `;
    const where = node.filterConditionList
      .map((cond) => `(${condition(cond, typeOf(input.fields, cond.name))})`)
      .join(joiner);
    return `SELECT * FROM ${input.relation} WHERE ${where}`;
  },
};

export default TRANSFORM_FILTER;

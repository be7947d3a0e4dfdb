/** TRANSFORM_FILTER: keeps the rows that meet all (AND) or any (OR) of its conditions. */
import * as z from 'zod';
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
  type Scalar,
  scalarSchema,
  upperEnum,
} from './schema-parts.ts';
import { OPERATOR_SQL, onlyInput, typeOf } from './sql-parts.ts';
import { knownType } from './trino.ts';

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

type Condition = FilterNode['filterConditionList'][number];

/** One condition; `literal` writes a non-null value in the engine's dialect. */
function conditionWith(cond: Condition, literal: (value: Scalar) => string): string {
  const col = sqlIdent(cond.name);
  if (cond.value === null) {
    if (cond.operator === 'EQ') return `${col} IS NULL`;
    if (cond.operator === 'NE') return `${col} IS NOT NULL`;
    throw new Error(`null can only be compared with EQ or NE, not ${cond.operator}`);
  }
  return `${col} ${OPERATOR_SQL[cond.operator]} ${literal(cond.value)}`;
}

function condition(cond: Condition, type: FieldType | undefined): string {
  return conditionWith(cond, (value) => literalSql(value, type, 'compare'));
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
  athenaSql(node, inputs) {
    // The same WHERE; Trino converts no text to numbers or dates on comparison, so a value is
    // always written as a literal of its column's type (a null check needs no type).
    const input = onlyInput(inputs);
    const where = node.filterConditionList
      .map((cond) => {
        const literal = (value: Scalar) =>
          literalSql(value, knownType('TRANSFORM_FILTER', input, cond.name), 'compare', 'trino');
        return `(${conditionWith(cond, literal)})`;
      })
      .join(` ${node.filterType} `);
    return `SELECT * FROM ${input.relation} WHERE ${where}`;
  },
};

export default TRANSFORM_FILTER;

/** TRANSFORM_AGGREGATE: groups rows by columns and computes SUM, AVG, MAX, MIN and counts. */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { duckDbTypeOfField } from '../../type-map.ts';
import type { Field, FieldType } from '../model.ts';
import { checkColumns, checkUnique, column } from './columns.ts';
import { INPUT_ROWS, type NodeDefinition, type NodeInput, ONE_INPUT } from './definition.ts';
import { INTEGER_TYPES, typeFamily } from './field-types.ts';
import { columnName, common, nameOrRef, upperEnum } from './schema-parts.ts';
import { onlyInput, typeOf } from './sql-parts.ts';
import { trinoIdent, trinoSum } from './trino.ts';

const AGGREGATE_FUNCTIONS = ['SUM', 'AVG', 'MAX', 'MIN', 'COUNT', 'COUNT_DISTINCT'] as const;
type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

const schema = z.looseObject({
  ...common('TRANSFORM_AGGREGATE'),
  groupByList: z.array(nameOrRef).default([]),
  aggregateFieldList: z
    .array(
      z
        .object({
          name: columnName,
          ResultName: columnName.optional(),
          resultName: columnName.optional(),
          function: upperEnum(AGGREGATE_FUNCTIONS),
        })
        .transform((a) => ({
          name: a.name,
          // Default: `sum_price`, `count` for COUNT(*).
          resultName:
            a.ResultName ??
            a.resultName ??
            (a.name === '*' ? a.function.toLowerCase() : `${a.function.toLowerCase()}_${a.name}`),
          function: a.function,
        })),
    )
    .min(1, 'must list at least one aggregate'),
});

export type AggregateNode = z.output<typeof schema>;

function aggregateType(fn: AggregateFunction, input: FieldType): FieldType {
  switch (fn) {
    case 'COUNT':
    case 'COUNT_DISTINCT':
      return 'bigint';
    case 'AVG':
      return 'double';
    case 'SUM':
      return INTEGER_TYPES.has(input) ? 'bigint' : input === 'decimal' ? 'decimal' : 'double';
    default:
      return input;
  }
}

/** What differs between the dialects an aggregate is written in. */
interface Dialect {
  ident(name: string): string;
  sum(column: string, type: FieldType | undefined): string;
}

const DUCKDB: Dialect = {
  ident: sqlIdent,
  // DuckDB sums integers into HUGEINT; the declared type is BIGINT (overflow fails loudly).
  sum: (col, type) =>
    type ? `CAST(sum(${col}) AS ${duckDbTypeOfField(aggregateType('SUM', type))})` : `sum(${col})`,
};

const TRINO: Dialect = { ident: trinoIdent, sum: trinoSum };

function aggregateSql(
  node: AggregateNode,
  inputs: NodeInput[],
  dialect: Dialect,
  countInput = false,
): string {
  const input = onlyInput(inputs);
  const groups = node.groupByList.map(dialect.ident);
  const results = node.aggregateFieldList.map((a) => {
    const col = a.name === '*' ? '*' : dialect.ident(a.name);
    let expr: string;
    switch (a.function) {
      case 'COUNT':
        expr = `count(${col})`;
        break;
      case 'COUNT_DISTINCT':
        expr = `count(DISTINCT ${col})`;
        break;
      case 'AVG':
        // Trino averages DECIMAL as DECIMAL and REAL as REAL: both dialects ask for a DOUBLE.
        expr = `CAST(avg(${col}) AS DOUBLE)`;
        break;
      case 'SUM':
        expr = dialect.sum(col, a.name === '*' ? undefined : typeOf(input.fields, a.name));
        break;
      default:
        expr = `${a.function.toLowerCase()}(${col})`;
    }
    return `${expr} AS ${dialect.ident(a.resultName)}`;
  });
  const counted = countInput ? [`count(*) AS ${dialect.ident(INPUT_ROWS)}`] : [];
  const list = [...groups, ...results, ...counted].join(', ');
  if (groups.length === 0) return `SELECT ${list} FROM ${input.relation}`;
  return `SELECT ${list} FROM ${input.relation} GROUP BY ${groups.join(', ')} ORDER BY ${groups.join(', ')}`;
}

const TRANSFORM_AGGREGATE: NodeDefinition<AggregateNode> = {
  type: 'TRANSFORM_AGGREGATE',
  kind: 'transform',
  arity: ONE_INPUT,
  reduces: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    let ok = checkColumns(node.groupByList, input, 'groupByList', ctx);
    const out: Field[] = [];
    for (const name of node.groupByList) {
      const col = input.find((f) => f.name === name);
      if (col) out.push({ name: col.name, type: col.type });
    }
    node.aggregateFieldList.forEach((a, i) => {
      const field = `aggregateFieldList.${i}`;
      if (a.name === '*') {
        if (a.function !== 'COUNT') {
          ctx.problem(`${field}.name`, `"*" can only be counted (COUNT), not used with ${a.function}`);
          ok = false;
        }
        out.push({ name: a.resultName, type: 'bigint' });
        return;
      }
      const col = column(input, a.name, `${field}.name`, ctx);
      if (!col) {
        ok = false;
        return;
      }
      if ((a.function === 'SUM' || a.function === 'AVG') && typeFamily(col.type) !== 'numeric') {
        ctx.problem(
          `${field}.function`,
          `${a.function} needs a numeric column, but "${col.name}" is ${col.type}`,
        );
        ok = false;
      }
      out.push({ name: a.resultName, type: aggregateType(a.function, col.type) });
    });
    const unique = checkUnique(
      [
        ...node.groupByList.map((name, i) => ({ name, field: `groupByList.${i}` })),
        ...node.aggregateFieldList.map((a, i) => ({
          name: a.resultName,
          field: `aggregateFieldList.${i}.ResultName`,
        })),
      ],
      ctx,
    );
    return ok && unique ? out : null;
  },
  sql: (node, inputs) => aggregateSql(node, inputs, DUCKDB),
  // The same query; only SUM differs (see trinoSum). Like sql(), it runs on unknown columns,
  // SUM then keeping Trino's own result type.
  athenaSql: (node, inputs) => aggregateSql(node, inputs, TRINO),
  sqlCountingInput: (node, inputs) => aggregateSql(node, inputs, DUCKDB, true),
  // Data Flow names the result `ResultName`.
  echo: (node) => ({
    aggregateFieldList: node.aggregateFieldList.map((a) => ({
      name: a.name,
      ResultName: a.resultName,
      function: a.function,
    })),
  }),
};

export default TRANSFORM_AGGREGATE;

/** TRANSFORM_UNION: stacks the rows of 2 to 10 inputs with the same column names. */
import * as z from 'zod';
import { type Field, nodeKey } from '../model.ts';
import { copyFields } from './columns.ts';
import type { NodeDefinition } from './definition.ts';
import { commonType } from './field-types.ts';
import { common, upperEnum } from './schema-parts.ts';
import { projection } from './sql-parts.ts';
import { knownColumns, trinoProjection } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_UNION'),
  unionType: upperEnum(['ALL', 'DISTINCT']),
});

export type UnionNode = z.output<typeof schema>;

/** The union's columns (first input's order, common types), or the reasons there are none. */
function unionColumns(
  node: UnionNode,
  inputs: readonly Field[][],
): { fields: Field[] } | { problems: string[] } {
  const [first, ...rest] = inputs;
  if (!first) return { problems: ['has no inputs'] };
  const parent = (i: number) => `node ${nodeKey(node.parentNodeIds[i] ?? i)}`;
  const problems: string[] = [];
  const out = copyFields(first);
  rest.forEach((fields, r) => {
    const i = r + 1;
    const missing = first.filter((f) => !fields.some((g) => g.name === f.name)).map((f) => f.name);
    const extra = fields.filter((g) => !first.some((f) => f.name === g.name)).map((g) => g.name);
    if (missing.length > 0 || extra.length > 0) {
      const parts = [
        missing.length > 0 ? `lacks ${missing.map((m) => `"${m}"`).join(', ')}` : '',
        extra.length > 0 ? `has extra ${extra.map((m) => `"${m}"`).join(', ')}` : '',
      ].filter(Boolean);
      problems.push(
        `union inputs need the same column names: the input from ${parent(i)} ${parts.join(' and ')} compared with ${parent(0)}`,
      );
    }
    for (const f of out) {
      const g = fields.find((x) => x.name === f.name);
      if (!g) continue;
      const common = commonType(f.type, g.type);
      if (common) f.type = common;
      else problems.push(`column "${f.name}" is ${f.type} in ${parent(0)} but ${g.type} in ${parent(i)}`);
    }
  });
  return problems.length > 0 ? { problems } : { fields: out };
}

const TRANSFORM_UNION: NodeDefinition<UnionNode> = {
  type: 'TRANSFORM_UNION',
  kind: 'transform',
  arity: { min: 2, max: 10 },
  schema,
  output(node, inputs, ctx) {
    if (inputs.some((i) => !i)) return null;
    const result = unionColumns(node, inputs as Field[][]);
    if ('problems' in result) {
      for (const p of result.problems) ctx.problem('parentNodeIds', p);
      return null;
    }
    return result.fields;
  },
  sql(node, inputs) {
    const op = node.unionType === 'ALL' ? 'UNION ALL' : 'UNION';
    const known = inputs.every((i) => i.fields)
      ? unionColumns(
          node,
          inputs.map((i) => i.fields as Field[]),
        )
      : null;
    if (known && 'fields' in known) {
      const list = projection(known.fields);
      return inputs.map((i) => `SELECT ${list} FROM ${i.relation}`).join(`\n${op}\n`);
    }
    return inputs.map((i) => `SELECT * FROM ${i.relation}`).join(`\n${op} BY NAME\n`);
  },
  athenaSql(node, inputs) {
    // Trino has no UNION BY NAME: each input lists the columns in the first input's order, cast
    // to the common type, so the columns must be known.
    const fields = inputs.map((i) => knownColumns('TRANSFORM_UNION', i));
    const result = unionColumns(node, fields);
    if ('problems' in result) throw new Error(result.problems.join('; '));
    const op = node.unionType === 'ALL' ? 'UNION ALL' : 'UNION DISTINCT';
    return inputs
      .map((i, n) => `SELECT ${trinoProjection(result.fields, fields[n] ?? null)} FROM ${i.relation}`)
      .join(`\n${op}\n`);
  },
};

export default TRANSFORM_UNION;

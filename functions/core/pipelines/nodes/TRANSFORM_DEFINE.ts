/** TRANSFORM_DEFINE: casts columns to new types, optionally renaming them. */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { duckDbTypeOfField } from '../../type-map.ts';
import { checkUnique, copyFields, eachListedColumn } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { castable } from './field-types.ts';
import { columnName, common, fieldTypeSchema } from './schema-parts.ts';
import { onlyInput } from './sql-parts.ts';
import { listedColumns, trinoCast, trinoIdent } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_DEFINE'),
  defineFieldList: z
    .array(z.looseObject({ name: columnName, newType: fieldTypeSchema, newName: columnName.optional() }))
    .min(1, 'must list at least one field'),
});

export type DefineNode = z.output<typeof schema>;

const TRANSFORM_DEFINE: NodeDefinition<DefineNode> = {
  type: 'TRANSFORM_DEFINE',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  keepsRows: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    const out = copyFields(input);
    const list = node.defineFieldList;
    const names = list.map((d) => d.name);
    const ok = eachListedColumn(input, names, 'defineFieldList', 'defined', ctx, (col, i) => {
      const d = list[i] as (typeof list)[number];
      const target = out.find((f) => f.name === col.name);
      if (target) {
        target.type = d.newType;
        if (d.newName) target.name = d.newName;
      }
      if (castable(col.type, d.newType)) return true;
      ctx.problem(
        `defineFieldList.${i}.newType`,
        `cannot cast column "${col.name}" from ${col.type} to ${d.newType}`,
      );
      return false;
    });
    const renamed = node.defineFieldList.flatMap((d, i) =>
      d.newName ? [{ source: d.name, name: d.newName, field: `defineFieldList.${i}.newName` }] : [],
    );
    const kept = input.filter((f) => !renamed.some((r) => r.source === f.name));
    const unique = checkUnique([...kept.map((f) => ({ name: f.name, field: '' })), ...renamed], ctx);
    return ok && unique ? out : null;
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const casts = node.defineFieldList
      .map((d) => `CAST(${sqlIdent(d.name)} AS ${duckDbTypeOfField(d.newType)}) AS ${sqlIdent(d.name)}`)
      .join(', ');
    const cast = `SELECT * REPLACE (${casts}) FROM ${input.relation}`;
    const renames = node.defineFieldList.filter((d) => d.newName && d.newName !== d.name);
    if (renames.length === 0) return cast;
    const list = renames.map((d) => `${sqlIdent(d.name)} AS ${sqlIdent(d.newName as string)}`).join(', ');
    return `SELECT * RENAME (${list}) FROM (${cast})`;
  },
  athenaSql(node, inputs) {
    // `* REPLACE` and `* RENAME` in one list: every input column in place, defined ones cast.
    const input = onlyInput(inputs);
    const names = node.defineFieldList.map((d) => d.name);
    const list = listedColumns('TRANSFORM_DEFINE', input, names).map((f) => {
      const d = node.defineFieldList.find((d) => d.name === f.name);
      if (!d) return trinoIdent(f.name);
      return `${trinoCast(trinoIdent(f.name), d.newType, f.type)} AS ${trinoIdent(d.newName ?? f.name)}`;
    });
    return `SELECT ${list.join(', ')} FROM ${input.relation}`;
  },
};

export default TRANSFORM_DEFINE;

/** TRANSFORM_RENAME: gives columns new names, keeping their order and types. */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { checkUnique, copyFields, eachListedColumn } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { columnName, common } from './schema-parts.ts';
import { onlyInput } from './sql-parts.ts';
import { listedColumns, trinoIdent } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_RENAME'),
  renameFieldList: z
    .array(z.looseObject({ name: columnName, newName: columnName }))
    .min(1, 'must list at least one field'),
});

export type RenameNode = z.output<typeof schema>;

const TRANSFORM_RENAME: NodeDefinition<RenameNode> = {
  type: 'TRANSFORM_RENAME',
  kind: 'transform',
  arity: ONE_INPUT,
  rowWise: true,
  keepsRows: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    const out = copyFields(input);
    const renamedFrom = new Set<string>();
    const names = node.renameFieldList.map((r) => r.name);
    const ok = eachListedColumn(input, names, 'renameFieldList', 'renamed', ctx, (col, i) => {
      renamedFrom.add(col.name);
      const target = out.find((f) => f.name === col.name);
      if (target) target.name = node.renameFieldList[i]?.newName ?? target.name;
      return true;
    });
    const renamed = node.renameFieldList.map((r, i) => ({
      name: r.newName,
      field: `renameFieldList.${i}.newName`,
    }));
    const kept = input.filter((f) => !renamedFrom.has(f.name)).map((f) => ({ name: f.name, field: '' }));
    const unique = checkUnique([...kept, ...renamed], ctx);
    return ok && unique ? out : null;
  },
  sql(node, inputs) {
    const list = node.renameFieldList.map((r) => `${sqlIdent(r.name)} AS ${sqlIdent(r.newName)}`).join(', ');
    return `SELECT * RENAME (${list}) FROM ${onlyInput(inputs).relation}`;
  },
  athenaSql(node, inputs) {
    // `* RENAME` spelled out: every input column in place, renamed ones under their new name.
    const input = onlyInput(inputs);
    const names = node.renameFieldList.map((r) => r.name);
    const list = listedColumns('TRANSFORM_RENAME', input, names).map((f) => {
      const r = node.renameFieldList.find((r) => r.name === f.name);
      return r ? `${trinoIdent(f.name)} AS ${trinoIdent(r.newName)}` : trinoIdent(f.name);
    });
    return `SELECT ${list.join(', ')} FROM ${input.relation}`;
  },
};

export default TRANSFORM_RENAME;

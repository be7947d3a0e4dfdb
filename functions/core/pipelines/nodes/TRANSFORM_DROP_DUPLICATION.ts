/** TRANSFORM_DROP_DUPLICATION: keeps the first row of each key (or of each whole row), in input order. */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import { checkColumns, copyFields } from './columns.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import { common, nameOrRef } from './schema-parts.ts';
import { onlyInput } from './sql-parts.ts';
import { listedColumns, trinoIdent } from './trino.ts';

const schema = z.looseObject({
  ...common('TRANSFORM_DROP_DUPLICATION'),
  /** Key columns; empty compares whole rows. */
  dropFieldList: z.array(nameOrRef).default([]),
});

export type DropDuplicationNode = z.output<typeof schema>;

const ROW = sqlIdent('__sluice_row');

const TRANSFORM_DROP_DUPLICATION: NodeDefinition<DropDuplicationNode> = {
  type: 'TRANSFORM_DROP_DUPLICATION',
  kind: 'transform',
  arity: ONE_INPUT,
  reduces: true,
  schema,
  output(node, [input], ctx) {
    if (!input) return null;
    checkColumns(node.dropFieldList, input, 'dropFieldList', ctx);
    return copyFields(input);
  },
  sql(node, inputs) {
    // Number rows in input order, keep the first of each key, and keep input order.
    const relation = onlyInput(inputs).relation;
    const first = (keys: string) =>
      `QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${ROW}) = 1 ORDER BY ${ROW}`;
    if (node.dropFieldList.length > 0) {
      const numbered = `SELECT *, row_number() OVER () AS ${ROW} FROM ${relation}`;
      return `SELECT * EXCLUDE (${ROW}) FROM (${numbered}) ${first(node.dropFieldList.map(sqlIdent).join(', '))}`;
    }
    // Whole rows: the row itself, as a struct, is the key.
    const IN = sqlIdent('__sluice_in');
    const KEY = sqlIdent('__sluice_key');
    const numbered = `SELECT *, ${IN} AS ${KEY}, row_number() OVER () AS ${ROW} FROM ${relation} AS ${IN}`;
    return `SELECT * EXCLUDE (${ROW}, ${KEY}) FROM (${numbered}) ${first(KEY)}`;
  },
  athenaSql(node, inputs) {
    // Trino has neither QUALIFY nor `* EXCLUDE`: rank rows in a subquery, filter outside it and
    // list the input's columns. Whole rows partition by every column (NULLs group together, as
    // in DuckDB's row struct).
    const input = onlyInput(inputs);
    const fields = listedColumns('TRANSFORM_DROP_DUPLICATION', input, node.dropFieldList);
    const keys = node.dropFieldList.length > 0 ? node.dropFieldList : fields.map((f) => f.name);
    const columns = fields.map((f) => trinoIdent(f.name)).join(', ');
    const RANK = trinoIdent('__sluice_rank');
    const numbered = `SELECT *, row_number() OVER () AS ${ROW} FROM ${input.relation}`;
    const partition = keys.length > 0 ? `PARTITION BY ${keys.map(trinoIdent).join(', ')} ` : '';
    const ranked = `SELECT *, row_number() OVER (${partition}ORDER BY ${ROW}) AS ${RANK} FROM (${numbered}) AS ${trinoIdent('__sluice_numbered')}`;
    return `SELECT ${columns} FROM (${ranked}) AS ${trinoIdent('__sluice_ranked')} WHERE ${RANK} = 1 ORDER BY ${ROW}`;
  },
};

export default TRANSFORM_DROP_DUPLICATION;

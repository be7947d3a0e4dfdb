/** SQL pieces the node types share: projections, inputs by id, file lists, empty results. */
import { sqlIdent, sqlString } from '../../sql.ts';
import { duckDbTypeOfField } from '../../type-map.ts';
import { type Field, type FieldType, nodeKey } from '../model.ts';
import type { NodeInput } from './definition.ts';
import type { Operator } from './schema-parts.ts';

export const OPERATOR_SQL: Record<Operator, string> = {
  EQ: '=',
  NE: '<>',
  GT: '>',
  LT: '<',
  GTE: '>=',
  LTE: '<=',
};

/** `SELECT [CAST(]col[ AS T)] AS col, ...` for a column list (types optional). */
export function projection(list: ReadonlyArray<{ name: string; type?: FieldType }>): string {
  return list
    .map((f) =>
      f.type
        ? `CAST(${sqlIdent(f.name)} AS ${duckDbTypeOfField(f.type)}) AS ${sqlIdent(f.name)}`
        : sqlIdent(f.name),
    )
    .join(', ');
}

/** The type of column `name` when the columns are known. */
export function typeOf(fields: Field[] | null | undefined, name: string): FieldType | undefined {
  return fields?.find((f) => f.name === name)?.type;
}

export function onlyInput(inputs: NodeInput[]): NodeInput {
  const input = inputs[0];
  if (!input) throw new Error('the node has no input');
  return input;
}

export function inputOf(inputs: NodeInput[], id: number | string): NodeInput {
  const input = inputs.find((i) => i.nodeId === nodeKey(id));
  if (!input) throw new Error(`input ${nodeKey(id)} is missing`);
  return input;
}

export const fileList = (files: readonly string[]) => `[${files.map(sqlString).join(', ')}]`;

/**
 * Parquet files read as one relation, columns matched by name: the parts of one output share a
 * schema, except pieces copied from an appended dataset version.
 */
export const parquetRelation = (files: readonly string[]) =>
  `read_parquet(${fileList(files)}, union_by_name = true)`;

/** A typed, empty relation with the given columns. */
export function emptySelect(fields: readonly Field[]): string {
  return `SELECT ${fields.map((f) => `CAST(NULL AS ${duckDbTypeOfField(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} WHERE false`;
}

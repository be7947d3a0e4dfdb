/** SOURCE_OBS: the objects under an S3 prefix, as CSV, JSON, NDJSON or Parquet with declared columns. */
import * as z from 'zod';
import { isPlainKey, PLAIN_KEY_MESSAGE } from '../../object-keys.ts';
import { sqlIdent, sqlString } from '../../sql.ts';
import { duckDbTypeOfField } from '../../type-map.ts';
import type { PipelineNode } from '../model.ts';
import { checkUnique, copyFields } from './columns.ts';
import { NO_INPUTS, type NodeDefinition, nodeAs } from './definition.ts';
import { prefixDir } from './hooks.ts';
import { common, fieldSpecSchema, regionNo, text, upperEnum } from './schema-parts.ts';
import { emptySelect, fileList, projection } from './sql-parts.ts';

const schema = z.looseObject({
  ...common('SOURCE_OBS'),
  regionNo,
  bucketName: text(63),
  /** '' reads the whole bucket. */
  prefix: z
    .string()
    .max(1024, 'must be at most 1024 characters')
    .refine(isPlainKey, PLAIN_KEY_MESSAGE)
    .default(''),
  dataType: upperEnum(['CSV', 'JSON', 'NDJSON', 'PARQUET']),
  fieldList: z.array(fieldSpecSchema).min(1, 'must list at least one field'),
});

export type SourceObsNode = z.output<typeof schema>;

/**
 * A SELECT over local copies of the prefix's objects, projecting and casting to fieldList.
 * CSV columns are typed by header name (so column order and extra columns do not matter, and a
 * bad value fails with its line); JSON keys are typed the same way; Parquet columns are cast,
 * nested ones turned into JSON text.
 */
function readSql(node: SourceObsNode, files: string[]): string {
  const fields = node.fieldList;
  if (files.length === 0) return emptySelect(fields);
  const types = `{${fields.map((f) => `${sqlString(f.name)}: ${sqlString(duckDbTypeOfField(f.type))}`).join(', ')}}`;
  const list = fileList(files);
  switch (node.dataType) {
    case 'CSV':
      return `SELECT ${projection(fields)} FROM read_csv(${list}, header = true, all_varchar = true, union_by_name = true, types = ${types})`;
    case 'JSON':
    case 'NDJSON': {
      const format = node.dataType === 'JSON' ? 'auto' : 'newline_delimited';
      return `SELECT ${projection(fields)} FROM read_json(${list}, format = '${format}', columns = ${types})`;
    }
    case 'PARQUET': {
      const columns = fields.map((f) => {
        const col = sqlIdent(f.name);
        if (f.type === 'array' || f.type === 'map' || f.type === 'struct') {
          // A nested Parquet value becomes JSON text; text stays as it is.
          return `CASE WHEN typeof(${col}) = 'VARCHAR' THEN CAST(${col} AS VARCHAR) ELSE CAST(to_json(${col}) AS VARCHAR) END AS ${col}`;
        }
        return `CAST(${col} AS ${duckDbTypeOfField(f.type)}) AS ${col}`;
      });
      return `SELECT ${columns.join(', ')} FROM read_parquet(${list}, union_by_name = true)`;
    }
  }
}

const SOURCE_OBS: NodeDefinition<SourceObsNode> = {
  type: 'SOURCE_OBS',
  kind: 'source',
  arity: NO_INPUTS,
  location: 'bucket',
  schema,
  output(node, _inputs, ctx) {
    const unique = checkUnique(
      node.fieldList.map((f, i) => ({ name: f.name, field: `fieldList.${i}.name` })),
      ctx,
    );
    return unique ? copyFields(node.fieldList) : null;
  },
  source: {
    async plan(node, ctx) {
      const bucket = node.bucketName;
      ctx.requireAllowedBucket(bucket);
      const prefix = prefixDir(node.prefix);
      const objects = (await ctx.listObjects(prefix, bucket)).filter(
        (o) => !o.key.endsWith('/') && o.size > 0,
      );
      const groups = ctx.partition(objects.map((o) => o.key));
      ctx.log(`s3://${bucket}/${prefix}: ${objects.length} object(s) in ${groups.length} partition(s)`);
      return { bucket, groups };
    },
    sql: readSql,
  },
};

export default SOURCE_OBS;

/** The partition SQL of a node held as any pipeline node; throws unless it is a SOURCE_OBS. */
export const sourceObsSql = (node: PipelineNode, files: string[]) => readSql(nodeAs(SOURCE_OBS, node), files);

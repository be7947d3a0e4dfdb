/** TARGET_OBS: writes its input as one CSV, JSON or Parquet file under an S3 prefix. */
import * as z from 'zod';
import { isPlainKey, PLAIN_KEY_MESSAGE } from '../../object-keys.ts';
import type { PipelineNode } from '../model.ts';
import { type NodeDefinition, nodeAs, ONE_INPUT } from './definition.ts';
import { prefixDir, type TargetFile } from './hooks.ts';
import { common, fieldRefOrName, regionNo, text, UPDATE_TYPES, upperEnum } from './schema-parts.ts';
import { targetAthenaSql, targetOutput, targetSql } from './targets.ts';

const schema = z.looseObject({
  ...common('TARGET_OBS'),
  regionNo,
  bucketName: text(63),
  /** Never the bucket root: OVERWRITE replaces everything under the prefix. */
  prefix: text(1024).refine(isPlainKey, PLAIN_KEY_MESSAGE),
  dataType: upperEnum(['CSV', 'JSON', 'PARQUET']),
  updateType: upperEnum(UPDATE_TYPES).default('OVERWRITE'),
  fieldList: z.array(fieldRefOrName).optional(),
  /** Write one file (absent means true). */
  coalesce: z.boolean().optional(),
});

export type TargetObsNode = z.output<typeof schema>;

const FORMATS = {
  CSV: { extension: 'csv', copyOptions: '(FORMAT csv, HEADER true)', contentType: 'text/csv' },
  // JSON is written newline-delimited.
  JSON: { extension: 'json', copyOptions: '(FORMAT json)', contentType: 'application/x-ndjson' },
  PARQUET: {
    extension: 'parquet',
    copyOptions: '(FORMAT parquet, COMPRESSION snappy)',
    contentType: 'application/vnd.apache.parquet',
  },
} as const;

function fileOf(node: TargetObsNode): TargetFile {
  // `coalesce` is true unless set to false.
  return { ...FORMATS[node.dataType], singleFile: node.coalesce !== false };
}

const TARGET_OBS: NodeDefinition<TargetObsNode> = {
  type: 'TARGET_OBS',
  kind: 'target',
  arity: ONE_INPUT,
  location: 'bucket',
  schema,
  output: (node, [input], ctx) => targetOutput(node, input, ctx),
  sql: targetSql,
  athenaSql: targetAthenaSql,
  target: {
    file: fileOf,
    async write(node, ctx) {
      const bucket = node.bucketName;
      ctx.requireAllowedBucket(bucket);
      const prefix = prefixDir(node.prefix);
      const mode = node.updateType;
      const existing = await ctx.listObjects(prefix, bucket);
      if (mode === 'IGNORE' && existing.length > 0) {
        ctx.log(`s3://${bucket}/${prefix} already has data; IGNORE left it unchanged`);
        return { rows: 0, bytes: 0 };
      }
      const file = fileOf(node);
      const { rows, path } = await ctx.copyToFile(ctx.select, `out.${file.extension}`, file.copyOptions);
      const key = `${prefix}part-00000-${ctx.batchId}.${file.extension}`;
      const bytes = await ctx.putFile(key, path, file.contentType, bucket);
      ctx.log(`wrote ${rows} row(s) to s3://${bucket}/${key}`);
      if (mode === 'OVERWRITE') {
        // The new file is in place before the old ones go: a reader never sees an empty prefix.
        const stale = existing.filter((o) => o.key !== key);
        for (const o of stale) await ctx.deleteObject(o.key, bucket);
        if (stale.length > 0) ctx.log(`OVERWRITE removed ${stale.length} earlier object(s)`);
      }
      const sample = await ctx.sample(`(${ctx.select})`);
      return { rows, bytes, sample };
    },
  },
};

export default TARGET_OBS;

// The file of a node held as any pipeline node; each throws unless it is a TARGET_OBS.

export const targetCopyOptions = (node: PipelineNode) => fileOf(nodeAs(TARGET_OBS, node)).copyOptions;
export const targetFileExtension = (node: PipelineNode) => fileOf(nodeAs(TARGET_OBS, node)).extension;
export const targetSingleFile = (node: PipelineNode) => fileOf(nodeAs(TARGET_OBS, node)).singleFile;

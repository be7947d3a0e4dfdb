/** SOURCE_CATALOG: the current version of a Sluice dataset, optionally projected and cast. */
import * as z from 'zod';
import type { Field, PipelineNode } from '../model.ts';
import { copyFields, projectOutput } from './columns.ts';
import { NO_INPUTS, type NodeDefinition, nodeAs } from './definition.ts';
import type { DatasetPart } from './hooks.ts';
import { common, fieldRefOrName, text } from './schema-parts.ts';
import { emptySelect, parquetRelation, projection } from './sql-parts.ts';

const schema = z.looseObject({
  ...common('SOURCE_CATALOG'),
  database: text(200),
  table: text(200),
  schemaVersion: z.union([z.number(), z.string()]).optional(),
  fieldList: z.array(fieldRefOrName).optional(),
});

export type SourceCatalogNode = z.output<typeof schema>;

/**
 * A SELECT over the local Parquet parts of a dataset version, projecting (and casting) to
 * fieldList when given. With no parts, `fields` (the node's output columns) shapes an empty result.
 */
function readSql(node: SourceCatalogNode, files: string[], fields?: Field[]): string {
  if (files.length === 0) {
    if (!fields) throw new Error('a dataset with no files needs its columns');
    return emptySelect(fields);
  }
  const columns = node.fieldList ? projection(node.fieldList) : '*';
  return `SELECT ${columns} FROM ${parquetRelation(files)}`;
}

const SOURCE_CATALOG: NodeDefinition<SourceCatalogNode> = {
  type: 'SOURCE_CATALOG',
  kind: 'source',
  arity: NO_INPUTS,
  location: 'dataset',
  schema,
  output(node, [dataset], ctx) {
    if (!dataset) return null;
    if (!node.fieldList) return copyFields(dataset);
    return projectOutput(node.fieldList, dataset, 'fieldList', ctx, `dataset "${node.table}"`);
  },
  source: {
    async plan(node, ctx) {
      const collection = await ctx.findCollection(node.database);
      if (!collection) throw ctx.failure(`Collection "${node.database}" does not exist.`);
      const dataset = await ctx.findDataset(collection.id, node.table);
      if (!dataset?.manifest_key) {
        throw ctx.failure(`Dataset "${node.table}" has no data yet; upload a table first.`);
      }
      const manifest = await ctx.readManifest(dataset.manifest_key);
      const groups = ctx.partition(manifest.parts.map((p) => p.key));
      ctx.log(
        `dataset ${dataset.id} version ${manifest.version}: ${manifest.rows} row(s) in ${groups.length} partition(s)`,
      );
      const byKey = new Map(manifest.parts.map((p) => [p.key, p]));
      // A projection keeps every row: each group's rows are the manifest's.
      const rows = groups.map((keys) => keys.reduce((sum, k) => sum + (byKey.get(k)?.rows ?? 0), 0));
      if (node.fieldList) return { groups, rows };
      // Every column as stored: partitions copy the parts instead of rewriting them.
      return {
        groups,
        rows,
        parts: groups.map((keys) => keys.map((k) => byKey.get(k) as DatasetPart)),
        columns: manifest.columns,
      };
    },
    sql: readSql,
  },
};

export default SOURCE_CATALOG;

/** The partition SQL of a node held as any pipeline node; throws unless it is a SOURCE_CATALOG. */
export const sourceCatalogSql = (node: PipelineNode, files: string[], fields?: Field[]) =>
  readSql(nodeAs(SOURCE_CATALOG, node), files, fields);

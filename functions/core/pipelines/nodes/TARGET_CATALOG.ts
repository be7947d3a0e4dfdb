/** TARGET_CATALOG: publishes its input as a new version of a dataset (created when missing). */
import * as z from 'zod';
import { sqlIdent } from '../../sql.ts';
import type { Column } from '../../tables/csv.ts';
import { columnTypeOfDuckDb, duckDbTypeOfColumn } from '../../type-map.ts';
import { type NodeDefinition, ONE_INPUT } from './definition.ts';
import type { DatasetRef, HookContext, TargetContext } from './hooks.ts';
import { common, fieldRefOrName, text, UPDATE_TYPES, upperEnum } from './schema-parts.ts';
import { parquetRelation } from './sql-parts.ts';
import { targetAthenaSql, targetOutput, targetSql } from './targets.ts';

const schema = z.looseObject({
  ...common('TARGET_CATALOG'),
  database: text(200),
  table: text(200),
  fieldList: z.array(fieldRefOrName).optional(),
  updateType: upperEnum(UPDATE_TYPES).default('OVERWRITE'),
});

export type TargetCatalogNode = z.output<typeof schema>;

const describeColumns = (columns: readonly Column[]) => columns.map((c) => `${c.name} ${c.type}`).join(', ');

function sameColumns(a: Column[], b: Column[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]?.name && c.type === b[i]?.type);
}

/** The dataset the node writes, when its collection has one of that name (nothing is created). */
async function existingDataset(node: TargetCatalogNode, ctx: HookContext) {
  const collection = await ctx.findCollection(node.database);
  if (!collection) throw ctx.failure(`Collection "${node.database}" does not exist.`);
  return { collection, dataset: await ctx.findDataset(collection.id, node.table) };
}

/** Thrown under the lease by an IGNORE target that finds the dataset has data after all. */
class AlreadyHasData extends Error {}

/** The dataset the node writes, created (empty) when its collection has none of that name. */
async function targetDataset(node: TargetCatalogNode, ctx: TargetContext) {
  const prepared = (await ctx.prepared?.catch(() => undefined)) as
    | Awaited<ReturnType<typeof existingDataset>>
    | undefined;
  const { collection, dataset: found } = prepared ?? (await existingDataset(node, ctx));
  const table = node.table;
  let dataset = found;
  if (!dataset) {
    const created = await ctx.createDataset(collection.id, table);
    dataset = await ctx.findDataset(collection.id, created.id);
    ctx.log(`created dataset ${created.id} "${table}"`);
  }
  if (!dataset) throw ctx.failure(`Dataset "${table}" could not be created.`);
  return dataset;
}

const TARGET_CATALOG: NodeDefinition<TargetCatalogNode> = {
  type: 'TARGET_CATALOG',
  kind: 'target',
  arity: ONE_INPUT,
  location: 'dataset',
  schema,
  output: (node, [input], ctx) => targetOutput(node, input, ctx),
  sql: targetSql,
  athenaSql: targetAthenaSql,
  target: {
    prepare: existingDataset,
    async write(node, ctx) {
      // The node's columns are described (DuckDB) while the dataset is looked up; both finish
      // before anything else happens, so nothing is left running on the connection.
      const [found, described] = await Promise.allSettled([
        targetDataset(node, ctx),
        ctx.describeQuery(ctx.select),
      ]);
      if (found.status === 'rejected') throw found.reason;
      const dataset = found.value;
      const mode = node.updateType;
      const hasData = (current: DatasetRef) => current.current_version > 0;
      const leftAlone = () => {
        ctx.log(`dataset ${dataset.id} already has data; IGNORE left it unchanged`);
        return { rows: 0, bytes: 0 };
      };
      // Decided on the dataset as looked up, and again under its lease (it may change meanwhile).
      if (mode === 'IGNORE' && hasData(dataset)) return leftAlone();
      if (described.status === 'rejected') throw described.reason;
      const columns: Column[] = described.value.map((c) => ({
        name: c.name,
        type: columnTypeOfDuckDb(c.type),
      }));
      const requireAppendable = (current: DatasetRef) => {
        if (mode === 'APPEND' && hasData(current) && !sameColumns(columns, current.columns)) {
          throw ctx.failure(
            `APPEND needs the columns of dataset "${dataset.name}" (${describeColumns(current.columns)}); this node produces ${describeColumns(columns)}.`,
          );
        }
      };
      requireAppendable(dataset);
      const cast = `SELECT ${columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${duckDbTypeOfColumn(c.type)}) AS ${sqlIdent(c.name)}`).join(', ')} FROM (${ctx.select})`;
      let written = { rows: 0, bytes: 0 };
      // The sample is read from the local file while the part uploads and the version is published.
      let sampling = undefined as ReturnType<TargetContext['sample']> | undefined;
      let version: Awaited<ReturnType<TargetContext['publishVersion']>>;
      try {
        // An APPEND to a dataset that has no data yet writes its first version.
        version = await ctx.publishVersion(
          dataset.id,
          mode === 'APPEND' ? 'append' : 'overwrite',
          async (key, leased) => {
            if (mode === 'IGNORE' && hasData(leased)) throw new AlreadyHasData();
            requireAppendable(leased);
            const { rows, path } = await ctx.copyToFile(cast, 'dataset.parquet');
            sampling = ctx.sample(parquetRelation([path]));
            sampling.catch(() => undefined);
            const bytes = await ctx.putFile(key, path, 'application/vnd.apache.parquet');
            written = { rows, bytes };
            return { key, rows, bytes, columns };
          },
        );
      } catch (error) {
        // Nothing is left running on the stage's DuckDB connection when the failure propagates.
        await sampling?.catch(() => undefined);
        if (error instanceof AlreadyHasData) return leftAlone();
        throw error;
      }
      ctx.log(`published dataset ${dataset.id} version ${version.version} (${version.rows} row(s))`);
      const sample = await sampling;
      return { rows: written.rows, bytes: written.bytes, sample };
    },
  },
};

export default TARGET_CATALOG;

/**
 * A stage on Athena as a list of queries (the Athena engine, statemachines/compile.ts runs each
 * as a `startQueryExecution.sync` Task). Every node of the stage is a CTE of one Trino program
 * built from the registry's `athenaSql()`; only what others read is written:
 *
 * 1. `CREATE DATABASE IF NOT EXISTS` the run's Glue database (`sluice_run_<batch>`; the finalizer
 *    drops it when the batch ends).
 * 2. An external table per source over the objects `athena-prepare` copies under
 *    `runs/<batch>/_in/<node>/` (SOURCE_OBS: its prefix's objects as CSV, JSON or Parquet;
 *    SOURCE_CATALOG: the version's Parquet parts), and per output of an earlier stage the stage
 *    reads (Parquet under `runs/<batch>/<node>/`, where the DuckDB engine writes it too).
 * 3. CTAS per output node (Parquet under `runs/<batch>/<node>/`, the same place the DuckDB engine
 *    writes a node's output, so a later stage on either engine reads it) and per TARGET_CATALOG.
 * 4. UNLOAD per TARGET_OBS into `runs/<batch>/<node>/`, in the target's format; `athena-finish`
 *    moves the files under the target prefix (OVERWRITE, APPEND, IGNORE as on DuckDB).
 * 5. One COUNT query: the exact row count of every node of the stage, in node order. Athena's
 *    runtime statistics give the rows a query wrote, not the rows of each CTE inside it, so per
 *    node counts cost one more pass over the stage's inputs instead.
 *
 * Queries hold the run's database and location as ATHENA_MARKS. Each query also says how the
 * local host answers it with DuckDB (`kind` and `node`), running the same stage in DuckDB's
 * dialect (functions/core/engine/athena-local.ts).
 */

import type { Stage } from '../../../statemachines/plan.ts';
import { ATHENA_MARKS, athenaSourceColumnsMark } from '../engine/contract.ts';
import { sqlIdent } from '../sql.ts';
import { trinoTypeOfField } from '../type-map.ts';
import type { Field, FieldType } from './model.ts';
import { definitionOf, type NodeInput, type PlanNode } from './nodes/index.ts';
import { AthenaSqlError } from './nodes/trino.ts';

export type AthenaQueryKind = 'database' | 'table' | 'ctas' | 'unload' | 'counts';

export interface AthenaQuery {
  /** Short words for the state name (`Query s2.3 <label>`). */
  label: string;
  kind: AthenaQueryKind;
  /** The node it writes, or the table it declares (a source or an earlier stage's output). */
  node?: string;
  /** Trino SQL (or Hive DDL for tables), with ATHENA_MARKS for the database and run location. */
  sql: string;
}

const DB = ATHENA_MARKS.database;
const RUN = ATHENA_MARKS.location;

/** The CTE (inside a stage) or table (across stages) of a node's output. */
export const athenaNodeName = (key: string) => `n_${key}`;
/** The external table a source reads through. */
export const athenaSourceName = (key: string) => `src_${key}`;
/** Where athena-prepare copies a dataset source's parts for its external table. */
export const athenaInputPrefix = (batchId: string, key: string) => `runs/${batchId}/_in/${key}/`;

const qualified = (name: string) => `${sqlIdent(DB)}.${sqlIdent(name)}`;
export const hiveName = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const hiveQualified = (name: string) => `${hiveName(DB)}.${hiveName(name)}`;

/** Hive DDL types for external table columns; complex values are JSON text in Sluice. */
const HIVE_TYPE: Record<FieldType, string> = {
  boolean: 'boolean',
  tinyint: 'tinyint',
  smallint: 'smallint',
  int: 'int',
  bigint: 'bigint',
  float: 'float',
  double: 'double',
  decimal: 'decimal(38,10)',
  string: 'string',
  char: 'string',
  varchar: 'string',
  date: 'date',
  datetime: 'timestamp',
  timestamp: 'timestamp',
  timestampwithtimezone: 'timestamp',
  binary: 'binary',
  array: 'string',
  map: 'string',
  struct: 'string',
};

function columnsDdl(fields: readonly Field[], allText = false): string {
  return fields.map((f) => `${hiveName(f.name)} ${allText ? 'string' : HIVE_TYPE[f.type]}`).join(', ');
}

function requireFields(node: PlanNode, why: string): Field[] {
  if (node.fields) return node.fields;
  throw new AthenaSqlError(
    `Node "${node.step}" (${node.type}) ${why} on Athena, but its columns are only known once it runs (e.g. it comes after TRANSFORM_SQL); run this pipeline on DuckDB or list the columns with TRANSFORM_SELECT`,
  );
}

/** The external table a source is read through, and the CTE that types its columns. */
function sourceParts(node: PlanNode): { ddl: string; cte: string } {
  const table = athenaSourceName(node.key);
  const fields = requireFields(node, 'is read through an external table');
  if (node.type === 'SOURCE_OBS') {
    const n = node.node;
    // athena-prepare copies the prefix's objects here (a snapshot for the run).
    const location = `'${RUN}_in/${node.key}/'`;
    const head = `CREATE EXTERNAL TABLE IF NOT EXISTS ${hiveQualified(table)} (`;
    if (n.dataType === 'CSV') {
      // OpenCSVSerde reads every column as text, in fieldList order; the CTE casts them.
      // OpenCSVSerde's defaults: `,` separates, `"` quotes, `\` escapes.
      const ddl = `${head}${columnsDdl(fields, true)}) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde' LOCATION ${location} TBLPROPERTIES ('skip.header.line.count' = '1')`;
      const cols = fields
        .map((f) => {
          const col = sqlIdent(f.name);
          const text = `NULLIF(${col}, '')`;
          return f.type === 'string' || f.type === 'varchar' || f.type === 'char'
            ? `${text} AS ${col}`
            : `CAST(${text} AS ${trinoTypeOfField(f.type)}) AS ${col}`;
        })
        .join(', ');
      return { ddl, cte: `SELECT ${cols} FROM ${qualified(table)}` };
    }
    const format =
      n.dataType === 'PARQUET'
        ? 'STORED AS PARQUET'
        : "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'";
    return {
      ddl: `${head}${columnsDdl(fields)}) ${format} LOCATION ${location}`,
      cte: `SELECT ${typedColumns(fields)} FROM ${qualified(table)}`,
    };
  }
  // SOURCE_CATALOG: the version's parts, copied for the run by athena-prepare, declared with the
  // columns they hold (known when the batch runs); the CTE casts to the node's output as DuckDB
  // does (a fieldList may cast a column to another type).
  return {
    ddl: `CREATE EXTERNAL TABLE IF NOT EXISTS ${hiveQualified(table)} (${athenaSourceColumnsMark(node.key)}) STORED AS PARQUET LOCATION '${RUN}_in/${node.key}/'`,
    cte: `SELECT ${typedColumns(fields)} FROM ${qualified(table)}`,
  };
}

const typedColumns = (fields: readonly Field[]) =>
  fields
    .map((f) => `CAST(${sqlIdent(f.name)} AS ${trinoTypeOfField(f.type)}) AS ${sqlIdent(f.name)}`)
    .join(', ');

const TARGET_FORMATS = {
  CSV: "format = 'TEXTFILE', field_delimiter = ','",
  JSON: "format = 'JSON'",
  PARQUET: "format = 'PARQUET', compression = 'SNAPPY'",
} as const;

/**
 * The queries of a stage on Athena, in the order they run. Throws an AthenaSqlError when a node
 * cannot be written in Trino (its input columns are unknown).
 */
export function athenaProgram(plan: readonly PlanNode[], stage: Stage): AthenaQuery[] {
  const nodeOf = (key: string) => {
    const node = plan.find((n) => n.key === key);
    if (!node) throw new Error(`athenaProgram: node ${key} is not in the plan`);
    return node;
  };
  const nodes = stage.nodes.map(nodeOf);
  const inStage = new Set(stage.nodes);
  const queries: AthenaQuery[] = [
    { label: 'database', kind: 'database', sql: `CREATE DATABASE IF NOT EXISTS ${hiveName(DB)}` },
  ];
  const ctes: string[] = [];
  const targets: Array<{ node: PlanNode; select: string }> = [];
  const declared = new Set<string>();
  for (const node of nodes) {
    const name = athenaNodeName(node.key);
    if (node.kind === 'source') {
      const { ddl, cte } = sourceParts(node);
      queries.push({ label: `source ${node.key}`, kind: 'table', node: node.key, sql: ddl });
      ctes.push(`${sqlIdent(name)} AS (${cte})`);
      continue;
    }
    const inputs: NodeInput[] = node.parents.map((parent) => {
      const from = nodeOf(parent);
      if (inStage.has(parent)) {
        return { nodeId: parent, relation: sqlIdent(athenaNodeName(parent)), fields: from.fields };
      }
      if (!declared.has(parent)) {
        declared.add(parent);
        const fields = requireFields(from, 'is read from an earlier stage');
        queries.push({
          label: `input ${parent}`,
          kind: 'table',
          node: parent,
          sql: `CREATE EXTERNAL TABLE IF NOT EXISTS ${hiveQualified(athenaNodeName(parent))} (${columnsDdl(fields)}) STORED AS PARQUET LOCATION '${RUN}${parent}/'`,
        });
      }
      return { nodeId: parent, relation: qualified(athenaNodeName(parent)), fields: from.fields };
    });
    const def = definitionOf(node.node);
    if (!def.athenaSql) throw new AthenaSqlError(`Node type ${node.type} has no Athena SQL`);
    const select = def.athenaSql(node.node, inputs);
    ctes.push(`${sqlIdent(name)} AS (${select})`);
    if (node.kind === 'target') targets.push({ node, select });
  }
  const withAll = `WITH ${ctes.join(',\n')}\n`;
  for (const key of stage.outputs) {
    const node = nodeOf(key);
    if (node.kind === 'target') continue;
    queries.push({
      label: `write ${key}`,
      kind: 'ctas',
      node: key,
      sql: `CREATE TABLE ${qualified(athenaNodeName(key))} WITH (format = 'PARQUET', write_compression = 'SNAPPY', external_location = '${RUN}${key}/') AS\n${withAll}SELECT * FROM ${sqlIdent(athenaNodeName(key))}`,
    });
  }
  for (const { node } of targets) {
    const from = sqlIdent(athenaNodeName(node.key));
    if (node.type === 'TARGET_CATALOG') {
      queries.push({
        label: `target ${node.key}`,
        kind: 'ctas',
        node: node.key,
        sql: `CREATE TABLE ${qualified(athenaNodeName(node.key))} WITH (format = 'PARQUET', write_compression = 'SNAPPY', external_location = '${RUN}${node.key}/') AS\n${withAll}SELECT * FROM ${from}`,
      });
    } else if (node.type === 'TARGET_OBS') {
      queries.push({
        label: `target ${node.key}`,
        kind: 'unload',
        node: node.key,
        sql: `UNLOAD (\n${withAll}SELECT * FROM ${from}\n) TO '${RUN}${node.key}/' WITH (${TARGET_FORMATS[node.node.dataType]})`,
      });
    }
  }
  const counts = nodes
    .map(
      (n) =>
        `(SELECT count(*) FROM ${sqlIdent(athenaNodeName(n.key))}) AS ${sqlIdent(athenaNodeName(n.key))}`,
    )
    .join(', ');
  queries.push({ label: 'count rows', kind: 'counts', sql: `${withAll}SELECT ${counts}` });
  return queries;
}

/** The run-scoped Glue database of a batch. */
export function runDatabaseOf(batchId: string, prefix: string): string {
  return `${prefix}${batchId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;
}

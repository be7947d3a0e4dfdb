/**
 * From a submitted statement to what runs: catalog statements (SHOW, DESCRIBE, CREATE/DROP
 * SCHEMA, DROP TABLE) are answered by Sluice itself against its catalog, the same on both
 * hosts; a query has its table names resolved (`source.database.table`, with X-Data-Source /
 * X-Database filling in what a name leaves out) to datasets' current versions and goes to the
 * engine.
 */
import type { Principal } from '../auth/principal.ts';
import { hasRole } from '../auth/principal.ts';
import { createCollection, deleteCollection, listCollections } from '../catalog/collections.ts';
import { deleteDataset } from '../catalog/datasets.ts';
import { createCollectionSchema } from '../catalog/schemas.ts';
import { datasetIdsOf, findCollectionByRef, findDataset, findDatasetByRef } from '../catalog/store.ts';
import { ForbiddenError, ValidationError } from '../errors.ts';
import { platform } from '../platform/platform.ts';
import { deleteDatasetData } from '../tables/data.ts';
import { getManifest } from '../tables/versions.ts';
import { sqlTypeOfColumn } from '../type-map.ts';
import { findDataSource } from './data-sources.ts';
import type { ResolvedTable } from './engine.ts';
import type { ResultColumn } from './model.ts';
import {
  classifyStatement,
  type NameScan,
  SqlSyntaxError,
  type Statement,
  scanTableNames,
  splitStatements,
  type TableName,
} from './sql-names.ts';

export interface Defaults {
  source?: string;
  database?: string;
}

/** A statement Sluice answers from its catalog: its text output, if any. */
export interface CatalogAnswer {
  columns: ResultColumn[];
  rows: string[][];
}

/** What a submitted text is: one statement, classified; a bad text answers 400 naming `body.query`. */
export function parseStatement(text: string): { sql: string; statement: Statement } {
  let statements: string[];
  let statement: Statement;
  try {
    statements = splitStatements(text);
    if (statements.length !== 1) {
      throw ValidationError.field(
        'body.query',
        statements.length === 0 ? 'is empty' : 'must hold exactly one statement',
      );
    }
    statement = classifyStatement(statements[0] as string);
  } catch (error) {
    if (error instanceof SqlSyntaxError) throw ValidationError.field('body.query', (error as Error).message);
    throw error;
  }
  // A first word that is no SQL command at all (a typo such as SELEC) goes to the engine,
  // which answers with its own syntax error, as Data Query does.
  if (statement.kind === 'other' && !COMMANDS.has(statement.keyword)) {
    return { sql: statements[0] as string, statement: { kind: 'query' } };
  }
  if (statement.kind === 'other' || statement.kind === 'create-table') {
    const what = statement.kind === 'other' ? statement.keyword : 'CREATE TABLE';
    throw ValidationError.field(
      'body.query',
      `${what} statements are not supported: run queries (SELECT, WITH, VALUES, EXPLAIN), SHOW, ` +
        'DESCRIBE, CREATE SCHEMA, DROP SCHEMA or DROP TABLE. Datasets are created by upload or by a pipeline.',
    );
  }
  return { sql: statements[0] as string, statement };
}

const COMMANDS = new Set(
  (
    'INSERT UPDATE DELETE MERGE UPSERT COPY ATTACH DETACH INSTALL LOAD PRAGMA SET RESET CALL EXPORT ' +
    'IMPORT CHECKPOINT FORCE VACUUM ANALYZE ALTER GRANT REVOKE DENY USE CREATE DROP TRUNCATE UNLOAD ' +
    'MSCK PREPARE EXECUTE DEALLOCATE BEGIN COMMIT ROLLBACK START ABORT END COMMENT SUMMARIZE PIVOT ' +
    'UNPIVOT SHOW DESCRIBE DESC REFRESH REPAIR OPTIMIZE UNCACHE CACHE LOCK UNLOCK'
  ).split(' '),
);

/** Statements that change the catalog need an editor. */
export function requireStatementRole(statement: Statement, principal: Principal): void {
  const changes = ['create-schema', 'drop-schema', 'drop-table'].includes(statement.kind);
  if (changes && !hasRole(principal, 'editor')) {
    throw new ForbiddenError('Only editors and admins may create or drop schemas and tables.');
  }
}

/** A failure that ends the query as FAILED with this message (shown to the user). */
export class QueryFailure extends Error {}

const builtin = () => platform().settings.query.catalogName;
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

async function requireSource(source: string): Promise<void> {
  if (same(source, builtin())) return;
  const registered = await findDataSource(source);
  if (!registered) throw new QueryFailure(`Data source "${source}" does not exist.`);
  throw new QueryFailure(
    `Data source "${source}" is a ${registered.data_source_type} source: federated sources are ` +
      'queried through Athena and need the AWS deployment.',
  );
}

/** [source, database, table] for a written name, or a failure naming what is missing. */
function qualify(parts: string[], defaults: Defaults): [string, string, string] {
  const written = parts.join('.');
  if (parts.length === 3) return parts as [string, string, string];
  if (parts.length === 2) return [defaults.source ?? builtin(), parts[0] as string, parts[1] as string];
  if (!defaults.database) {
    throw new QueryFailure(
      `Table "${written}" needs a database: write database.table (or source.database.table), ` +
        'or send the X-Database header.',
    );
  }
  return [defaults.source ?? builtin(), defaults.database, parts[0] as string];
}

/** The collection a (source, database) pair names, or a failure naming it. */
async function collectionOf(source: string, database: string) {
  await requireSource(source);
  const collection = await findCollectionByRef(database);
  if (!collection) throw new QueryFailure(`Database "${source}.${database}" does not exist.`);
  return collection;
}

/** Whether the statement gives the table at `end` an alias (`t x`, `t AS x`). */
function isAliased(sql: string, end: number): boolean {
  const rest = sql.slice(end).replace(/^\s+/, '');
  if (/^as\b/i.test(rest) || rest.startsWith('"')) return true;
  const word = /^[\p{L}_][\p{L}\p{N}_$]*/u.exec(rest)?.[0];
  return word !== undefined && !NOT_ALIASES.has(word.toUpperCase());
}

const NOT_ALIASES = new Set(
  (
    'WHERE GROUP HAVING ORDER LIMIT OFFSET UNION INTERSECT EXCEPT WINDOW QUALIFY FETCH JOIN ' +
    'INNER LEFT RIGHT FULL OUTER CROSS NATURAL ON USING SEMI ANTI ASOF POSITIONAL TABLESAMPLE ' +
    'USING SAMPLE PIVOT UNPIVOT FOR'
  ).split(' '),
);

/** Resolves every table name of a query to its dataset's current version. */
export async function resolveTables(sql: string, defaults: Defaults): Promise<ResolvedTable[]> {
  let scan: NameScan;
  try {
    scan = scanTableNames(sql);
  } catch (error) {
    if (error instanceof SqlSyntaxError) throw new QueryFailure((error as Error).message);
    throw error;
  }
  const ctes = new Set(scan.ctes);
  const out: ResolvedTable[] = [];
  for (const name of scan.tables) {
    if (name.parts.length === 1 && ctes.has((name.parts[0] as string).toLowerCase())) continue;
    const [source, database, table] = qualify(name.parts, defaults);
    const collection = await collectionOf(source, database);
    const dataset = await findDatasetByRef(collection.id, table);
    if (!dataset) throw new QueryFailure(`Table "${source}.${database}.${table}" does not exist.`);
    if (!dataset.manifest_key || dataset.current_version === 0) {
      throw new QueryFailure(`Table "${source}.${database}.${table}" has no data yet; upload a table first.`);
    }
    out.push({
      start: name.start,
      end: name.end,
      source,
      database,
      table,
      aliased: isAliased(sql, name.end),
      dataset,
      manifest: await getManifest(dataset.manifest_key),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Catalog statements

const VARCHAR = (name: string): ResultColumn => ({ name, type: 'varchar' });

async function collectionNames(): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await listCollections(1000, token);
    for (const text of Object.values(page.items)) names.push((JSON.parse(text) as { name: string }).name);
    token = page.token ?? undefined;
  } while (token);
  return names.sort();
}

async function datasetsOf(collectionId: string) {
  const found = await Promise.all((await datasetIdsOf(collectionId)).map((id) => findDataset(id)));
  return found.filter((d) => d !== undefined).sort((a, b) => (a.name < b.name ? -1 : 1));
}

function schemaParts(parts: string[], defaults: Defaults): [string, string] {
  if (parts.length === 2) return [parts[0] as string, parts[1] as string];
  return [defaults.source ?? builtin(), parts[0] as string];
}

function tableParts(name: TableName, defaults: Defaults) {
  return qualify(name.parts, defaults);
}

/** Runs a catalog statement; answers its text output (no rows for CREATE/DROP). */
export async function runCatalogStatement(
  statement: Statement,
  defaults: Defaults,
  principal: Principal,
): Promise<CatalogAnswer> {
  switch (statement.kind) {
    case 'show-catalogs':
      return { columns: [VARCHAR('Catalog')], rows: [[builtin()]] };
    case 'show-schemas': {
      await requireSource(statement.from?.[0] ?? defaults.source ?? builtin());
      return { columns: [VARCHAR('Schema')], rows: (await collectionNames()).map((n) => [n]) };
    }
    case 'show-tables': {
      const [source, database] = statement.from
        ? schemaParts(statement.from, defaults)
        : [defaults.source ?? builtin(), defaults.database];
      if (!database) {
        throw new QueryFailure(
          'SHOW TABLES needs a database: SHOW TABLES FROM database, or send X-Database.',
        );
      }
      const collection = await collectionOf(source, database);
      return { columns: [VARCHAR('Table')], rows: (await datasetsOf(collection.id)).map((d) => [d.name]) };
    }
    case 'show-columns': {
      const [source, database, table] = tableParts(statement.table, defaults);
      const collection = await collectionOf(source, database);
      const dataset = await findDatasetByRef(collection.id, table);
      if (!dataset) throw new QueryFailure(`Table "${source}.${database}.${table}" does not exist.`);
      return {
        columns: [VARCHAR('Column'), VARCHAR('Type')],
        rows: dataset.columns.map((c) => [c.name, sqlTypeOfColumn(c.type)]),
      };
    }
    case 'create-schema': {
      const [source, database] = schemaParts(statement.name, defaults);
      await requireSource(source);
      if (await findCollectionByRef(database)) {
        if (statement.ifNotExists) return { columns: [], rows: [] };
        throw new QueryFailure(`Schema "${source}.${database}" already exists.`);
      }
      const input = createCollectionSchema.safeParse({ name: database });
      if (!input.success) {
        throw new QueryFailure(
          `Schema name "${database}" is not valid: ${input.error.issues[0]?.message ?? ''}`,
        );
      }
      await createCollection(input.data, principal);
      return { columns: [], rows: [] };
    }
    case 'drop-schema': {
      const [source, database] = schemaParts(statement.name, defaults);
      await requireSource(source);
      const collection = await findCollectionByRef(database);
      if (!collection) {
        if (statement.ifExists) return { columns: [], rows: [] };
        throw new QueryFailure(`Schema "${source}.${database}" does not exist.`);
      }
      try {
        await deleteCollection(collection.id, statement.cascade, removeDataset);
      } catch (error) {
        if ((error as { status?: number }).status === 409) {
          throw new QueryFailure(`Schema "${source}.${database}" is not empty; use DROP SCHEMA ... CASCADE.`);
        }
        throw error;
      }
      return { columns: [], rows: [] };
    }
    case 'drop-table': {
      const [source, database, table] = tableParts(statement.table, defaults);
      const collection = await collectionOf(source, database).catch((error: unknown) => {
        if (statement.ifExists && error instanceof QueryFailure) return undefined;
        throw error;
      });
      const dataset = collection ? await findDatasetByRef(collection.id, table) : undefined;
      if (!dataset) {
        if (statement.ifExists) return { columns: [], rows: [] };
        throw new QueryFailure(`Table "${source}.${database}.${table}" does not exist.`);
      }
      await removeDataset(dataset.id);
      return { columns: [], rows: [] };
    }
    default:
      throw new Error(`not a catalog statement: ${statement.kind}`);
  }
}

const removeDataset = (id: string) => deleteDataset(id, deleteDatasetData);

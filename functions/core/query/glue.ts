/**
 * The Glue Data Catalog side of datasets, so that Athena can query them: one Glue database per
 * collection and one table per dataset, pointing at the dataset's current version.
 *
 * A version's manifest may list parts under several version prefixes (an append keeps the
 * earlier parts), so a table cannot simply point at one folder. Each version therefore gets a
 * symlink manifest, `datasets/{id}/v{n}/_symlink/manifest`, naming its parts one `s3://` URL a
 * line, and the table reads it through Hive's SymlinkTextInputFormat with the Parquet SerDe.
 * Publishing version n+1 writes its own manifest and repoints the table: a query sees one
 * version or the other, never a mix.
 *
 * Only the AWS platform (platform/aws.ts) registers datasets here, and only in functions that have
 * SLUICE_GLUE_DATABASE_PREFIX; the local platform (which queries with DuckDB) never calls Glue.
 */

import {
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  DeleteTableCommand,
  GetTableCommand,
  GlueClient,
  type Column as GlueColumn,
  type Table,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { CollectionItem, DatasetItem } from '../catalog/items.ts';
import { logger, tracer } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import type { Manifest } from '../tables/manifest.ts';
import { glueTypeOfColumn } from '../type-map.ts';

/** The catalog Athena resolves Glue databases in. */
export const ATHENA_CATALOG = 'AwsDataCatalog';

export const SYMLINK_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat';
export const SYMLINK_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';
export const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';

/** Table parameter holding the dataset version the table points at. */
export const VERSION_PARAMETER = 'sluice.version';

/** Glue and Athena names are lower case; ids only add `-`, which becomes `_`. */
const glueName = (text: string) => text.replaceAll('-', '_').toLowerCase();

/** The Glue database of a collection: `<prefix>_col_<...>`. */
export function glueDatabaseName(collectionId: string, prefix = requirePrefix()): string {
  return `${prefix}_${glueName(collectionId)}`;
}

/** The Glue table of a dataset (inside its collection's database): `ds_<...>`. */
export function glueTableName(datasetId: string): string {
  return glueName(datasetId);
}

function requirePrefix(): string {
  const prefix = platform().settings.athena.glueDatabasePrefix;
  if (!prefix) throw new Error('SLUICE_GLUE_DATABASE_PREFIX is not set: Glue names are only used on AWS');
  return prefix;
}

export const symlinkFolder = (datasetId: string, version: number) =>
  `datasets/${datasetId}/v${version}/_symlink/`;
export const symlinkKey = (datasetId: string, version: number) =>
  `${symlinkFolder(datasetId, version)}manifest`;

let client: GlueClient | undefined;

function glue(): GlueClient {
  client ??= tracer.captureAWSv3Client(
    new GlueClient({ region: platform().settings.storage.region, maxAttempts: 4 }),
  );
  return client;
}

const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;

/** The table definition of one dataset version. */
export function tableInput(
  dataset: Pick<DatasetItem, 'id' | 'name'>,
  manifest: Manifest,
  bucket: string,
): TableInput {
  const columns: GlueColumn[] = manifest.columns.map((c) => ({
    Name: c.name.toLowerCase(),
    Type: glueTypeOfColumn(c.type),
  }));
  return {
    Name: glueTableName(dataset.id),
    Description: `Sluice dataset ${dataset.id} ("${dataset.name}"), version ${manifest.version}`.slice(
      0,
      2048,
    ),
    TableType: 'EXTERNAL_TABLE',
    Parameters: {
      EXTERNAL: 'TRUE',
      classification: 'parquet',
      [VERSION_PARAMETER]: String(manifest.version),
      'sluice.dataset': dataset.id,
    },
    StorageDescriptor: {
      Columns: columns,
      Location: `s3://${bucket}/${symlinkFolder(dataset.id, manifest.version)}`,
      InputFormat: SYMLINK_INPUT_FORMAT,
      OutputFormat: SYMLINK_OUTPUT_FORMAT,
      SerdeInfo: { SerializationLibrary: PARQUET_SERDE, Parameters: { 'serialization.format': '1' } },
      Compressed: false,
      StoredAsSubDirectories: false,
    },
  };
}

/** The symlink manifest of a version: one `s3://bucket/key` line per part. */
export function symlinkManifest(manifest: Manifest, bucket: string): string {
  return manifest.parts.map((p) => `s3://${bucket}/${p.key}\n`).join('');
}

async function createDatabase(collectionId: string): Promise<void> {
  try {
    await glue().send(
      new CreateDatabaseCommand({
        DatabaseInput: {
          Name: glueDatabaseName(collectionId),
          Description: `Sluice collection ${collectionId}`,
          Parameters: { 'sluice.collection': collectionId },
        },
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'AlreadyExistsException') throw error;
  }
}

async function currentTable(database: string, table: string): Promise<Table | undefined> {
  try {
    return (await glue().send(new GetTableCommand({ DatabaseName: database, Name: table }))).Table;
  } catch (error) {
    if (errorName(error) === 'EntityNotFoundException') return undefined;
    throw error;
  }
}

/** The dataset version a Glue table points at (0 when it has none). */
export const versionOf = (table: Table | undefined) =>
  Number(table?.Parameters?.[VERSION_PARAMETER] ?? 0) || 0;

/**
 * Points the dataset's Glue table at `manifest` (creating the collection's database and the
 * table on first use). A table already at this version or a newer one is left alone, so a
 * late call for an older version cannot move it back.
 */
export async function syncDatasetTable(
  dataset: Pick<DatasetItem, 'id' | 'name' | 'collection_id'>,
  manifest: Manifest,
): Promise<void> {
  const database = glueDatabaseName(dataset.collection_id);
  const name = glueTableName(dataset.id);
  // A missing database reads as a missing table (EntityNotFoundException): both are created below.
  const existing = await currentTable(database, name);
  if (existing && versionOf(existing) >= manifest.version) return;

  await platform().stores.s3.send(
    new PutObjectCommand({
      Bucket: platform().stores.dataBucket,
      Key: symlinkKey(dataset.id, manifest.version),
      Body: symlinkManifest(manifest, platform().stores.dataBucket),
      ContentType: 'text/plain; charset=utf-8',
    }),
  );
  const input = tableInput(dataset, manifest, platform().stores.dataBucket);
  if (existing) {
    await update(database, input);
    return;
  }
  await createDatabase(dataset.collection_id);
  try {
    await glue().send(new CreateTableCommand({ DatabaseName: database, TableInput: input }));
  } catch (error) {
    // Another writer created it first: update it instead (unless it is already newer).
    if (errorName(error) !== 'AlreadyExistsException') throw error;
    const now = await currentTable(database, name);
    if (versionOf(now) < manifest.version) await update(database, input);
  }
}

async function update(database: string, input: TableInput): Promise<void> {
  // No archived copy per version: a busy dataset would otherwise fill the account's quota
  // of table versions, and the previous definition is never needed again.
  await glue().send(new UpdateTableCommand({ DatabaseName: database, TableInput: input, SkipArchive: true }));
}

/** Removes a dataset's Glue table; a table or database that is already gone is fine. */
export async function dropDatasetTable(dataset: Pick<DatasetItem, 'id' | 'collection_id'>): Promise<void> {
  try {
    await glue().send(
      new DeleteTableCommand({
        DatabaseName: glueDatabaseName(dataset.collection_id),
        Name: glueTableName(dataset.id),
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'EntityNotFoundException') throw error;
  }
}

/** Removes a collection's Glue database (and any table left in it); already gone is fine. */
export async function dropCollectionDatabase(collection: Pick<CollectionItem, 'id'>): Promise<void> {
  try {
    await glue().send(new DeleteDatabaseCommand({ Name: glueDatabaseName(collection.id) }));
  } catch (error) {
    if (errorName(error) !== 'EntityNotFoundException') throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Hooks for the catalog and the version writer. The Glue catalog follows Sluice's own catalog,
// never the other way round: a failure here is logged and the caller's change stands. The
// Athena engine re-registers a table that lags behind when a query names it.

export async function onVersionPublished(
  dataset: Pick<DatasetItem, 'id' | 'name' | 'collection_id'>,
  manifest: Manifest,
): Promise<void> {
  try {
    await syncDatasetTable(dataset, manifest);
  } catch (error) {
    logger.warn('could not register the dataset version in Glue', {
      datasetId: dataset.id,
      version: manifest.version,
      error: error as Error,
    });
  }
}

export async function onDatasetDeleted(dataset: Pick<DatasetItem, 'id' | 'collection_id'>): Promise<void> {
  try {
    await dropDatasetTable(dataset);
  } catch (error) {
    logger.warn('could not remove the dataset table from Glue', {
      datasetId: dataset.id,
      error: error as Error,
    });
  }
}

export async function onCollectionDeleted(collection: Pick<CollectionItem, 'id'>): Promise<void> {
  try {
    await dropCollectionDatabase(collection);
  } catch (error) {
    logger.warn('could not remove the collection database from Glue', {
      collectionId: collection.id,
      error: error as Error,
    });
  }
}

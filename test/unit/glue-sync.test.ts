import {
  AlreadyExistsException,
  CreateDatabaseCommand,
  CreateTableCommand,
  DeleteDatabaseCommand,
  DeleteTableCommand,
  EntityNotFoundException,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { onTestPlatform } from './test-platform.ts';

process.env.SLUICE_TABLE ??= 'sluice-unit';
process.env.SLUICE_DATA_BUCKET = 'sluice-data';
process.env.SLUICE_GLUE_DATABASE_PREFIX = 'sluice_unit';
const { dropCollectionDatabase, dropDatasetTable, onVersionPublished, syncDatasetTable } = await import(
  '#core/query/glue'
);

onTestPlatform();

const glue = mockClient(GlueClient);
const s3 = mockClient(S3Client);

const meta = { $metadata: {} };
const notFound = () => new EntityNotFoundException({ message: 'Entity Not Found', ...meta });
const exists = () => new AlreadyExistsException({ message: 'Already exists', ...meta });

const COLLECTION = 'col-0123456789abcdefghjkmn';
const DATASET = 'ds-0123456789abcdefghjkmp';
const DATABASE = 'sluice_unit_col_0123456789abcdefghjkmn';
const TABLE = 'ds_0123456789abcdefghjkmp';

const dataset = { id: DATASET, name: 'Orders 2025', collection_id: COLLECTION };
const manifest = {
  dataset_id: DATASET,
  version: 3,
  created_at: '2025-01-02T03:04:05.000Z',
  created_by: 'admin',
  mode: 'append' as const,
  columns: [
    { name: 'Region', type: 'string' as const },
    { name: 'units', type: 'integer' as const },
    { name: 'price', type: 'double' as const },
    { name: 'paid', type: 'boolean' as const },
    { name: 'day', type: 'date' as const },
    { name: 'at', type: 'timestamp' as const },
  ],
  rows: 30,
  bytes: 3000,
  parts: [
    { key: `datasets/${DATASET}/v2/part-0.parquet`, rows: 10, bytes: 1000 },
    { key: `datasets/${DATASET}/v3/part-0.parquet`, rows: 20, bytes: 2000 },
  ],
};

const TABLE_INPUT = {
  Name: TABLE,
  Description: `Sluice dataset ${DATASET} ("Orders 2025"), version 3`,
  TableType: 'EXTERNAL_TABLE',
  Parameters: {
    EXTERNAL: 'TRUE',
    classification: 'parquet',
    'sluice.version': '3',
    'sluice.dataset': DATASET,
  },
  StorageDescriptor: {
    Columns: [
      { Name: 'region', Type: 'string' },
      { Name: 'units', Type: 'bigint' },
      { Name: 'price', Type: 'double' },
      { Name: 'paid', Type: 'boolean' },
      { Name: 'day', Type: 'date' },
      { Name: 'at', Type: 'timestamp' },
    ],
    Location: `s3://sluice-data/datasets/${DATASET}/v3/_symlink/`,
    InputFormat: 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat',
    OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    SerdeInfo: {
      SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      Parameters: { 'serialization.format': '1' },
    },
    Compressed: false,
    StoredAsSubDirectories: false,
  },
};

const inputOf = (client: typeof glue | typeof s3, command: new (...args: any[]) => unknown, index = 0) =>
  (client.commandCalls(command as any)[index]?.args[0] as any)?.input;

const tableAt = (version: number) => ({
  Table: { Name: TABLE, DatabaseName: DATABASE, Parameters: { 'sluice.version': String(version) } },
});

beforeEach(() => {
  glue.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

describe('registering a dataset version in Glue', () => {
  it('creates the collection database and a symlink table on the first version', async () => {
    glue.on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).resolves({});
    glue.on(CreateTableCommand).resolves({});

    await syncDatasetTable(dataset, manifest);

    expect(inputOf(glue, GetTableCommand)).toEqual({ DatabaseName: DATABASE, Name: TABLE });
    expect(inputOf(s3, PutObjectCommand)).toEqual({
      Bucket: 'sluice-data',
      Key: `datasets/${DATASET}/v3/_symlink/manifest`,
      Body:
        `s3://sluice-data/datasets/${DATASET}/v2/part-0.parquet\n` +
        `s3://sluice-data/datasets/${DATASET}/v3/part-0.parquet\n`,
      ContentType: 'text/plain; charset=utf-8',
    });
    expect(inputOf(glue, CreateDatabaseCommand)).toEqual({
      DatabaseInput: {
        Name: DATABASE,
        Description: `Sluice collection ${COLLECTION}`,
        Parameters: { 'sluice.collection': COLLECTION },
      },
    });
    expect(inputOf(glue, CreateTableCommand)).toEqual({ DatabaseName: DATABASE, TableInput: TABLE_INPUT });
    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(0);
  });

  it('writes the symlink manifest before the table points at it', async () => {
    const order: string[] = [];
    glue.on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).callsFake(() => order.push('database'));
    glue.on(CreateTableCommand).callsFake(() => order.push('table'));
    s3.on(PutObjectCommand).callsFake(() => order.push('manifest'));

    await syncDatasetTable(dataset, manifest);

    expect(order).toEqual(['manifest', 'database', 'table']);
  });

  it('creates the table in a database that already exists', async () => {
    glue.on(GetTableCommand).rejects(notFound());
    glue.on(CreateDatabaseCommand).rejects(exists());
    glue.on(CreateTableCommand).resolves({});

    await syncDatasetTable(dataset, manifest);

    expect(inputOf(glue, CreateTableCommand)).toEqual({ DatabaseName: DATABASE, TableInput: TABLE_INPUT });
  });

  it('repoints an older table at the new version without archiving the old definition', async () => {
    glue.on(GetTableCommand).resolves(tableAt(2));
    glue.on(UpdateTableCommand).resolves({});

    await syncDatasetTable(dataset, manifest);

    expect(inputOf(glue, UpdateTableCommand)).toEqual({
      DatabaseName: DATABASE,
      TableInput: TABLE_INPUT,
      SkipArchive: true,
    });
    expect(glue.commandCalls(CreateDatabaseCommand)).toHaveLength(0);
    expect(glue.commandCalls(CreateTableCommand)).toHaveLength(0);
  });

  it('leaves a table that already points at this version or a newer one', async () => {
    glue.on(GetTableCommand).resolves(tableAt(4));

    await syncDatasetTable(dataset, manifest);

    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(glue.commandCalls(UpdateTableCommand)).toHaveLength(0);
    expect(glue.commandCalls(CreateTableCommand)).toHaveLength(0);
  });

  it('updates the table when another writer created it meanwhile', async () => {
    glue.on(GetTableCommand).rejectsOnce(notFound()).resolves(tableAt(2));
    glue.on(CreateDatabaseCommand).resolves({});
    glue.on(CreateTableCommand).rejects(exists());
    glue.on(UpdateTableCommand).resolves({});

    await syncDatasetTable(dataset, manifest);

    expect(glue.commandCalls(GetTableCommand)).toHaveLength(2);
    expect(inputOf(glue, UpdateTableCommand)).toEqual({
      DatabaseName: DATABASE,
      TableInput: TABLE_INPUT,
      SkipArchive: true,
    });
  });

  it('logs a Glue failure after a publish instead of failing it', async () => {
    glue.on(GetTableCommand).rejects(new Error('AccessDeniedException'));

    await expect(onVersionPublished(dataset, manifest)).resolves.toBeUndefined();
    expect(glue.commandCalls(CreateTableCommand)).toHaveLength(0);
  });
});

describe('removing Glue entries', () => {
  it('drops a dataset table from its collection database', async () => {
    glue.on(DeleteTableCommand).resolves({});

    await dropDatasetTable(dataset);

    expect(inputOf(glue, DeleteTableCommand)).toEqual({ DatabaseName: DATABASE, Name: TABLE });
  });

  it('treats a table or database that is already gone as dropped', async () => {
    glue.on(DeleteTableCommand).rejects(notFound());
    glue.on(DeleteDatabaseCommand).rejects(notFound());

    await expect(dropDatasetTable(dataset)).resolves.toBeUndefined();
    await expect(dropCollectionDatabase({ id: COLLECTION })).resolves.toBeUndefined();
  });

  it('drops the database of a collection', async () => {
    glue.on(DeleteDatabaseCommand).resolves({});

    await dropCollectionDatabase({ id: COLLECTION });

    expect(inputOf(glue, DeleteDatabaseCommand)).toEqual({ Name: DATABASE });
  });
});

describe('without a Glue database prefix (a function that registers nothing; the local host)', () => {
  it('never calls Glue or writes a symlink manifest', async () => {
    const { glueCatalog } = await import('#core/platform/aws/catalog');
    const { parseSettings } = await import('#core/settings');
    const catalog = glueCatalog(
      parseSettings({ SLUICE_TABLE: 'sluice-unit', SLUICE_DATA_BUCKET: 'sluice-data' }),
    );

    await catalog.versionPublished(dataset, manifest);
    await catalog.datasetDeleted(dataset);
    await catalog.collectionDeleted({ id: COLLECTION });

    expect(glue.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
  });
});

import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetQueryRuntimeStatisticsCommand,
  InvalidRequestException,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetTableCommand, GlueClient, UpdateTableCommand } from '@aws-sdk/client-glue';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { onTestPlatform } from './test-platform.ts';

process.env.SLUICE_TABLE = 'sluice-unit';
process.env.SLUICE_DATA_BUCKET = 'sluice-data';
process.env.SLUICE_GLUE_DATABASE_PREFIX = 'sluice_unit';
const { columnOf, createAthenaEngine, failureMessage, syncQueryExecution } = await import(
  '#core/query/athena'
);
const { queryItem } = await import('#core/query/records');

onTestPlatform();

const athena = mockClient(AthenaClient);
const glue = mockClient(GlueClient);
const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);

const config = { workgroup: 'sluice-unit-queries', glueDatabasePrefix: 'sluice_unit', pointerRetryMs: 0 };
const engine = () => createAthenaEngine(new AthenaClient({ region: 'ap-northeast-2' }), config);

const QUERY_ID = '20250102-030405-AbCdEfGhIj';
const EXECUTION = '5b4e0a8c-1f2d-4c3b-9a8e-7d6c5b4a3f21';
const COLLECTION = 'col-0123456789abcdefghjkmn';
const DATASET = 'ds-0123456789abcdefghjkmp';
const GLUE_REF = '"sluice_unit_col_0123456789abcdefghjkmn"."ds_0123456789abcdefghjkmp"';
const CREATED = Date.UTC(2025, 0, 2, 3, 4, 5);
const STAGED = `s3://sluice-results/athena-staging/${EXECUTION}.csv`;

const item = (fields: Record<string, unknown> = {}) =>
  queryItem({
    query_id: QUERY_ID,
    state: 'RUNNING',
    query_text: 'SELECT region, count(*) FROM sales.orders GROUP BY region',
    creator_id: 'usr-1',
    creator_name: 'ana',
    bucket: 'caller-bucket',
    path: 'reports',
    storage_url: 'reports/2025/01/02',
    created_at: CREATED,
    planning_ms: 12,
    engine_ref: EXECUTION,
    ...fields,
  });

const manifest = {
  dataset_id: DATASET,
  version: 3,
  created_at: '2025-01-01T00:00:00.000Z',
  created_by: 'admin',
  mode: 'append' as const,
  columns: [{ name: 'region', type: 'string' as const }],
  rows: 30,
  bytes: 3000,
  parts: [{ key: `datasets/${DATASET}/v3/part-0.parquet`, rows: 30, bytes: 3000 }],
};
const SQL = 'SELECT region, count(*) FROM sales.orders GROUP BY region';
const job = () => ({
  item: item({ state: 'QUEUED', engine_ref: undefined }),
  sql: SQL,
  tables: [
    {
      start: SQL.indexOf('sales.orders'),
      end: SQL.indexOf('sales.orders') + 'sales.orders'.length,
      source: 'sluice',
      database: 'sales',
      table: 'orders',
      aliased: false,
      dataset: { id: DATASET, name: 'orders', collection_id: COLLECTION } as any,
      manifest,
    },
  ],
  timeoutMs: 30 * 60_000,
});

const inputOf = (client: { commandCalls: (c: any) => any[] }, command: unknown, index = 0) =>
  client.commandCalls(command)[index]?.args[0]?.input;
const inputsOf = (client: { commandCalls: (c: any) => any[] }, command: unknown) =>
  client.commandCalls(command).map((call) => call.args[0].input);

/** The fields a records.ts update sets (`SET #f0 = :v0, ...`). */
function patchOf(input: any): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(input.ExpressionAttributeNames as Record<string, string>)) {
    if (key.startsWith('#f')) patch[name] = input.ExpressionAttributeValues[`:v${key.slice(2)}`];
  }
  return patch;
}

const execution = (state: string, extra: Partial<QueryExecution> = {}) => ({
  QueryExecution: {
    QueryExecutionId: EXECUTION,
    StatementType: 'DML' as const,
    WorkGroup: config.workgroup,
    ResultConfiguration: { OutputLocation: STAGED },
    Status: {
      State: state as any,
      SubmissionDateTime: new Date(CREATED + 100),
      CompletionDateTime: new Date(CREATED + 5_000),
    },
    Statistics: {
      EngineExecutionTimeInMillis: 3_000,
      QueryQueueTimeInMillis: 500,
      QueryPlanningTimeInMillis: 200,
      DataScannedInBytes: 123_456,
      TotalExecutionTimeInMillis: 3_600,
    },
    ...extra,
  },
});

const row = (...values: Array<string | null>) => ({
  Data: values.map((v) => (v === null ? {} : { VarCharValue: v })),
});

const meta = { $metadata: {} };

beforeEach(() => {
  for (const client of [athena, glue, s3, ddb]) client.reset();
  // Each call answers the record with what it set, as UpdateItem with ALL_NEW does.
  ddb.on(UpdateCommand).callsFake((input) => ({ Attributes: { ...item(), ...patchOf(input) } }));
  ddb.on(PutCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(CopyObjectCommand).resolves({});
});

describe('starting a query on Athena', () => {
  beforeEach(() => {
    glue.on(GetTableCommand).resolves({ Table: { Name: 'ds', Parameters: { 'sluice.version': '3' } } });
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: EXECUTION });
  });

  it('runs the statement on the datasets’ Glue tables in the workgroup, idempotently', async () => {
    const ref = await engine().start(job());

    expect(ref).toBe(EXECUTION);
    expect(inputOf(athena, StartQueryExecutionCommand)).toEqual({
      QueryString: `SELECT region, count(*) FROM ${GLUE_REF} AS "orders" GROUP BY region`,
      ClientRequestToken: `sluice-query-${QUERY_ID}`,
      QueryExecutionContext: {
        Catalog: 'AwsDataCatalog',
        Database: 'sluice_unit_col_0123456789abcdefghjkmn',
      },
      WorkGroup: 'sluice-unit-queries',
    });
    expect(inputOf(athena, StartQueryExecutionCommand).ClientRequestToken.length).toBeGreaterThanOrEqual(32);
  });

  it('leaves a pointer from the execution to the query and records it as running', async () => {
    await engine().start(job());

    expect(inputOf(ddb, PutCommand)).toEqual({
      TableName: 'sluice-unit',
      Item: {
        pk: `QEXEC#${EXECUTION}`,
        sk: 'META',
        entity: 'query-execution',
        query_id: QUERY_ID,
        names: { [GLUE_REF]: 'sales.orders' },
        ttl: expect.any(Number),
      },
    });
    const update = inputOf(ddb, UpdateCommand);
    expect(update.Key).toEqual({ pk: `QUERY#${QUERY_ID}`, sk: 'META' });
    expect(patchOf(update)).toEqual({
      state: 'RUNNING',
      started_at: expect.any(Number),
      progress: 0,
      engine_ref: EXECUTION,
    });
    expect(update.ExpressionAttributeValues[':from0']).toBe('QUEUED');
  });

  it('registers a Glue table that lags behind the resolved version first', async () => {
    glue.on(GetTableCommand).resolves({ Table: { Name: 'ds', Parameters: { 'sluice.version': '2' } } });
    glue.on(UpdateTableCommand).resolves({});

    await engine().start(job());

    expect(inputOf(glue, UpdateTableCommand)).toMatchObject({
      DatabaseName: 'sluice_unit_col_0123456789abcdefghjkmn',
      TableInput: { Parameters: { 'sluice.version': '3' } },
    });
  });

  it('stops the execution when the query was aborted while it started', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', ...meta }));
    athena.on(StopQueryExecutionCommand).resolves({});

    await engine().start(job());

    expect(inputOf(athena, StopQueryExecutionCommand)).toEqual({ QueryExecutionId: EXECUTION });
  });
});

describe('bringing a query up to date', () => {
  beforeEach(() => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 42 });
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        Rows: [row('region', '_col1'), row('east', '3'), row(null, '1')],
        ResultSetMetadata: {
          ColumnInfo: [
            { Name: 'region', Type: 'varchar' },
            { Name: '_col1', Type: 'bigint' },
          ],
        },
      },
    });
  });

  it('records a SUCCEEDED execution as FINISHED with its stats, columns and stored result', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));

    const updated = await engine().refresh(item());

    expect(updated.state).toBe('FINISHED');
    expect(inputOf(athena, GetQueryExecutionCommand)).toEqual({ QueryExecutionId: EXECUTION });
    expect(inputOf(athena, GetQueryResultsCommand)).toEqual({
      QueryExecutionId: EXECUTION,
      MaxResults: 1000,
    });
    expect(patchOf(inputOf(ddb, UpdateCommand))).toEqual({
      state: 'FINISHED',
      progress: 100,
      completed_at: CREATED + 5_000,
      started_at: CREATED + 2_000,
      planning_ms: 212,
      input_bytes: 123_456,
      store_type: 'BASIC',
      is_stored: true,
      columns: [
        { name: 'region', type: 'varchar' },
        { name: '_col1', type: 'bigint' },
      ],
      output_rows: 2,
      output_bytes: 42,
    });
  });

  it('copies Athena’s files to the query’s name in the caller’s folder and removes the originals', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));

    await engine().refresh(item());

    expect(inputsOf(s3, CopyObjectCommand)).toEqual([
      {
        Bucket: 'caller-bucket',
        Key: `reports/2025/01/02/${QUERY_ID}.csv`,
        CopySource: `sluice-results/athena-staging/${EXECUTION}.csv`,
      },
      {
        Bucket: 'caller-bucket',
        Key: `reports/2025/01/02/${QUERY_ID}.csv.metadata`,
        CopySource: `sluice-results/athena-staging/${EXECUTION}.csv.metadata`,
      },
    ]);
    expect(inputsOf(s3, DeleteObjectCommand)).toEqual([
      { Bucket: 'sluice-results', Key: `athena-staging/${EXECUTION}.csv` },
      { Bucket: 'sluice-results', Key: `athena-staging/${EXECUTION}.csv.metadata` },
    ]);
  });

  it('writes the first rows without Athena’s header row as the result preview', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));

    await engine().refresh(item());

    expect(inputOf(s3, PutObjectCommand)).toEqual({
      Bucket: 'sluice-data',
      Key: `queries/${QUERY_ID}/preview.json`,
      Body: JSON.stringify([
        ['east', '3'],
        [null, '1'],
      ]),
      ContentType: 'application/json',
    });
  });

  it('reads at most 1,000 rows and takes the row count from the runtime statistics', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    const many = Array.from({ length: 999 }, (_, i) => row(`r${i}`, String(i)));
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: {
          Rows: [row('region', '_col1'), ...many],
          ResultSetMetadata: {
            ColumnInfo: [
              { Name: 'region', Type: 'varchar' },
              { Name: '_col1', Type: 'bigint' },
            ],
          },
        },
        NextToken: 'page-2',
      })
      .resolves({ ResultSet: { Rows: [row('last', '999')] }, NextToken: 'page-3' });
    athena
      .on(GetQueryRuntimeStatisticsCommand)
      .resolves({ QueryRuntimeStatistics: { Rows: { OutputRows: 5_000, OutputBytes: 99_999 } } });

    await engine().refresh(item());

    expect(inputsOf(athena, GetQueryResultsCommand)).toEqual([
      { QueryExecutionId: EXECUTION, MaxResults: 1000 },
      { QueryExecutionId: EXECUTION, MaxResults: 1, NextToken: 'page-2' },
    ]);
    expect(JSON.parse(inputOf(s3, PutObjectCommand).Body)).toHaveLength(1000);
    expect(inputOf(athena, GetQueryRuntimeStatisticsCommand)).toEqual({ QueryExecutionId: EXECUTION });
    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({ output_rows: 5_000, output_bytes: 42 });
  });

  it('copies a result larger than 5 GiB in parts', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    const size = 6 * 1024 ** 3;
    s3.on(HeadObjectCommand, { Key: `athena-staging/${EXECUTION}.csv` }).resolves({ ContentLength: size });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(UploadPartCopyCommand).callsFake((input) => ({
      CopyPartResult: { ETag: `"etag-${input.PartNumber}"` },
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({});

    await engine().refresh(item());

    const parts = inputsOf(s3, UploadPartCopyCommand).sort((a, b) => a.PartNumber - b.PartNumber);
    expect(parts).toHaveLength(12);
    expect(parts[0]).toEqual({
      Bucket: 'caller-bucket',
      Key: `reports/2025/01/02/${QUERY_ID}.csv`,
      UploadId: 'upload-1',
      PartNumber: 1,
      CopySource: `sluice-results/athena-staging/${EXECUTION}.csv`,
      CopySourceRange: `bytes=0-${512 * 1024 ** 2 - 1}`,
    });
    expect(parts[11]?.CopySourceRange).toBe(`bytes=${11 * 512 * 1024 ** 2}-${size - 1}`);
    expect(inputOf(s3, CompleteMultipartUploadCommand).MultipartUpload.Parts).toEqual(
      Array.from({ length: 12 }, (_, i) => ({ ETag: `"etag-${i + 1}"`, PartNumber: i + 1 })),
    );
    // The small metadata file is still copied in one request.
    expect(inputsOf(s3, CopyObjectCommand).map((c) => c.Key)).toEqual([
      `reports/2025/01/02/${QUERY_ID}.csv.metadata`,
    ]);
    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({ output_bytes: size });
  });

  it('records a result without a file as not stored', async () => {
    athena
      .on(GetQueryExecutionCommand)
      .resolves(execution('SUCCEEDED', { StatementType: 'UTILITY', ResultConfiguration: {} }));

    await engine().refresh(item());

    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({ state: 'FINISHED', is_stored: false });
  });

  it('records a FAILED execution as FAILED with Athena’s reason in the user’s names', async () => {
    athena.on(GetQueryExecutionCommand).resolves(
      execution('FAILED', {
        Status: {
          State: 'FAILED',
          CompletionDateTime: new Date(CREATED + 1_000),
          StateChangeReason:
            "TABLE_NOT_FOUND: line 1:30: Table 'awsdatacatalog.sluice_unit_col_0123456789abcdefghjkmn.ds_0123456789abcdefghjkmp' does not exist",
          AthenaError: { ErrorCategory: 2, ErrorType: 1301, ErrorMessage: 'ignored when a reason is given' },
        },
      }),
    );
    ddb
      .on(GetCommand)
      .resolves({ Item: { pk: `QEXEC#${EXECUTION}`, sk: 'META', names: { [GLUE_REF]: 'sales.orders' } } });

    const updated = await engine().refresh(item());

    expect(updated.state).toBe('FAILED');
    expect(inputOf(ddb, GetCommand).Key).toEqual({ pk: `QEXEC#${EXECUTION}`, sk: 'META' });
    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({
      state: 'FAILED',
      error_message: "TABLE_NOT_FOUND: line 1:30: Table 'sales.orders' does not exist",
      completed_at: CREATED + 1_000,
      input_bytes: 123_456,
    });
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
  });

  it('names column types as Athena does, decimals with precision and scale', () => {
    expect(columnOf({ Name: 'total', Type: 'decimal', Precision: 12, Scale: 2 })).toEqual({
      name: 'total',
      type: 'decimal(12,2)',
    });
    expect(columnOf({ Name: 'at', Type: 'TIMESTAMP' })).toEqual({ name: 'at', type: 'timestamp' });
  });

  it('takes the message from AthenaError when there is no state change reason', () => {
    const message = failureMessage(
      {
        Status: {
          State: 'FAILED',
          AthenaError: { ErrorMessage: 'Query exhausted resources at this scale factor' },
        },
      },
      {},
    );
    expect(message).toBe('Query exhausted resources at this scale factor');
  });

  it('records a CANCELLED execution as ABORTED', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('CANCELLED'));

    const updated = await engine().refresh(item());

    expect(updated.state).toBe('ABORTED');
    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({
      state: 'ABORTED',
      error_message: 'The query was cancelled.',
    });
  });

  it('keeps Athena’s reason for a query it cancelled at the scan limit', async () => {
    athena.on(GetQueryExecutionCommand).resolves(
      execution('CANCELLED', {
        Status: {
          State: 'CANCELLED',
          StateChangeReason: 'Query cancelled: Bytes scanned limit was exceeded',
        },
      }),
    );

    await engine().refresh(item());

    expect(patchOf(inputOf(ddb, UpdateCommand))).toMatchObject({
      state: 'ABORTED',
      error_message: 'Query cancelled: Bytes scanned limit was exceeded',
    });
  });

  it.each(['QUEUED', 'RUNNING'])('leaves a running query alone while Athena says %s', async (state) => {
    athena.on(GetQueryExecutionCommand).resolves(execution(state));

    const current = item();
    expect(await engine().refresh(current)).toBe(current);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('shows the record as it is when Athena cannot be reached', async () => {
    athena.on(GetQueryExecutionCommand).rejects(new Error('socket hang up'));

    const current = item();
    expect(await engine().refresh(current)).toBe(current);
  });

  it('removes the copied files when the query was aborted while they were copied', async () => {
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'no', ...meta }));
    ddb.on(GetCommand).resolves({ Item: item({ state: 'ABORTED' }) });

    const updated = await engine().refresh(item());

    expect(updated.state).toBe('ABORTED');
    expect(inputsOf(s3, DeleteObjectCommand)).toEqual(
      expect.arrayContaining([
        { Bucket: 'caller-bucket', Key: `reports/2025/01/02/${QUERY_ID}.csv` },
        { Bucket: 'caller-bucket', Key: `reports/2025/01/02/${QUERY_ID}.csv.metadata` },
        { Bucket: 'sluice-data', Key: `queries/${QUERY_ID}/preview.json` },
      ]),
    );
  });
});

describe('aborting a query', () => {
  it('stops its execution', async () => {
    athena.on(StopQueryExecutionCommand).resolves({});

    await engine().abort(item(), 'Aborted by ana.');

    expect(inputOf(athena, StopQueryExecutionCommand)).toEqual({ QueryExecutionId: EXECUTION });
  });

  it('ignores an execution that has already ended', async () => {
    athena.on(StopQueryExecutionCommand).rejects(new InvalidRequestException({ message: 'ended', ...meta }));
    athena.on(GetQueryExecutionCommand).resolves(execution('SUCCEEDED'));

    await expect(engine().abort(item(), 'Aborted by ana.')).resolves.toBeUndefined();
  });

  it('fails when a running execution cannot be stopped', async () => {
    athena
      .on(StopQueryExecutionCommand)
      .rejects(new InvalidRequestException({ message: 'throttled', ...meta }));
    athena.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));

    await expect(engine().abort(item(), 'Aborted by ana.')).rejects.toThrow('throttled');
  });
});

describe('query state change events', () => {
  it('find the query through the execution pointer and settle it', async () => {
    ddb.on(GetCommand, { Key: { pk: `QEXEC#${EXECUTION}`, sk: 'META' } }).resolves({
      Item: { pk: `QEXEC#${EXECUTION}`, sk: 'META', query_id: QUERY_ID, names: {} },
    });
    ddb.on(GetCommand, { Key: { pk: `QUERY#${QUERY_ID}`, sk: 'META' } }).resolves({ Item: item() });
    athena.on(GetQueryExecutionCommand).resolves(execution('CANCELLED'));

    const updated = await syncQueryExecution(EXECUTION, engine());

    expect(updated?.state).toBe('ABORTED');
    expect(inputOf(athena, GetQueryExecutionCommand)).toEqual({ QueryExecutionId: EXECUTION });
  });

  it('leave a query that has already ended alone', async () => {
    ddb.on(GetCommand, { Key: { pk: `QEXEC#${EXECUTION}`, sk: 'META' } }).resolves({
      Item: { pk: `QEXEC#${EXECUTION}`, sk: 'META', query_id: QUERY_ID, names: {} },
    });
    ddb
      .on(GetCommand, { Key: { pk: `QUERY#${QUERY_ID}`, sk: 'META' } })
      .resolves({ Item: item({ state: 'ABORTED' }) });

    expect((await syncQueryExecution(EXECUTION, engine()))?.state).toBe('ABORTED');
    expect(athena.calls()).toHaveLength(0);
  });

  it('ignore an execution that is not a Sluice query', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await syncQueryExecution(EXECUTION, engine())).toBeUndefined();
    expect(ddb.commandCalls(GetCommand)).toHaveLength(2);
    expect(athena.calls()).toHaveLength(0);
  });
});

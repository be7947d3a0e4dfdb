/**
 * The local stand-ins for DynamoDB (dynalite, LevelDB on disk) and S3 (s3rver, plain files on
 * disk), each on loopback, plus creation of the table and bucket the functions expect.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { TABLE_KEYS } from '#core/table-schema';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningStore {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface S3Store extends RunningStore {
  /** Subscribes to object-created notifications (S3 event records). */
  onObjectCreated(listener: (bucket: string, key: string, size: number) => void): void;
}

export async function startDynamo(dataDir: string, port: number): Promise<RunningStore> {
  const path = join(dataDir, 'dynamodb');
  await mkdir(path, { recursive: true });
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface S3EventRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number } };
}

/** The bucket the console PUTs large uploads into (host.ts's LOCAL_DATA_BUCKET). */
const UPLOAD_BUCKET = 'sluice-data';

/**
 * CORS of the local data bucket: the console (the host's own origin, on loopback: presigned
 * URLs point at `http://localhost:<s3 port>`, so only a browser on this machine can use them)
 * may PUT a file to a presigned URL. Any port, as the host's is chosen at start; nothing else
 * (no GET, no other origin).
 */
const UPLOAD_CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>http://localhost:*</AllowedOrigin>
    <AllowedOrigin>http://127.0.0.1:*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>content-type</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export async function startS3(dataDir: string, port: number, address: string): Promise<S3Store> {
  const directory = join(dataDir, 's3');
  await mkdir(directory, { recursive: true });
  // configureBuckets (s3rver's own option, not in local/types.d.ts): creates the bucket if
  // needed and (re)applies its CORS configuration at every start.
  const options = {
    address,
    port,
    directory,
    silent: true,
    configureBuckets: [{ name: UPLOAD_BUCKET, configs: [UPLOAD_CORS] }],
  };
  const server = new S3rver(options);
  const bound = (await server.run()) as AddressInfo;
  const listeners: ((bucket: string, key: string, size: number) => void)[] = [];
  server.on('event', (event: { Records: S3EventRecord[] }) => {
    for (const record of event.Records ?? []) {
      if (!record.eventName.startsWith('ObjectCreated:')) continue;
      const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
      for (const listener of listeners) listener(record.s3.bucket.name, key, record.s3.object.size ?? 0);
    }
  });
  return {
    url: `http://127.0.0.1:${bound.port}`,
    port: bound.port,
    onObjectCreated: (listener) => listeners.push(listener),
    close: async () => {
      await server.close();
    },
  };
}

/** Creates the single table (same keys as the CDK storage construct) when it is missing. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    if ((await tableStatus(client, tableName)) === undefined) await createTable(client, tableName);
    // dynalite answers CreateTable while the table is still CREATING and flips it to ACTIVE a
    // moment later (even with createTableMs 0); a write in between is "Requested resource not
    // found". Wait for ACTIVE so the first write after start cannot lose that race.
    for (let attempt = 0; (await tableStatus(client, tableName)) !== 'ACTIVE'; attempt += 1) {
      if (attempt >= 200) throw new Error(`The local table ${tableName} did not become active`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    client.destroy();
  }
}

/** The table's status, or undefined when there is no such table. */
async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const keyAttributes = [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    ...TABLE_KEYS.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keyAttributes.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
}

export async function ensureBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  client.destroy();
}

/**
 * The stores' SDK clients, created once per platform from its storage settings. The S3 client
 * settings are the ones s3rver needs locally and are harmless against AWS: path-style URLs
 * and checksums only when an operation requires them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from './observability.ts';
import { requireSetting, SETTING, type Settings } from './settings.ts';

export interface Stores {
  /** The table every record lives in. */
  readonly table: string;
  /** The bucket of dataset versions, uploads and run outputs. */
  readonly dataBucket: string;
  readonly dynamodb: DynamoDBClient;
  readonly ddb: DynamoDBDocumentClient;
  readonly s3: S3Client;
  /** Signs URLs that clients outside the deployment use (may differ from the internal endpoint). */
  readonly s3Presigner: S3Client;
}

/** Fixed credentials (the local stand-ins'); on AWS the function's role is used. */
export interface StoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function createStores(config: Settings['storage'], credentials?: StoreCredentials): Stores {
  const table = requireSetting(config.tableName, SETTING.table);
  const dataBucket = requireSetting(config.dataBucket, SETTING.dataBucket);
  const auth = credentials ? { credentials } : {};

  const dynamodb = tracer.captureAWSv3Client(
    new DynamoDBClient({
      region: config.region,
      ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
      maxAttempts: 4,
      ...auth,
    }),
  );
  const ddb = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });

  const s3Client = (endpoint: string | undefined) =>
    new S3Client({
      region: config.region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
      ...auth,
    });
  const s3 = tracer.captureAWSv3Client(s3Client(config.s3Endpoint));
  const s3Presigner = config.s3PublicEndpoint === config.s3Endpoint ? s3 : s3Client(config.s3PublicEndpoint);
  return { table, dataBucket, dynamodb, ddb, s3, s3Presigner };
}

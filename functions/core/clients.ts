/**
 * AWS SDK clients, created once per process from the storage configuration. The S3 client
 * settings are the ones s3rver needs locally and are harmless against AWS: path-style URLs
 * and checksums only when an operation requires them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from './observability.ts';
import { requireSetting, SETTING, settings } from './settings.ts';

const config = settings.storage;

export const TABLE = requireSetting(config.tableName, SETTING.table);
export const DATA_BUCKET = requireSetting(config.dataBucket, SETTING.dataBucket);

export const dynamodb = tracer.captureAWSv3Client(
  new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
    maxAttempts: 4,
  }),
);

export const ddb = DynamoDBDocumentClient.from(dynamodb, {
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
});

function s3Client(endpoint: string | undefined): S3Client {
  return new S3Client({
    region: config.region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
  });
}

export const s3 = tracer.captureAWSv3Client(s3Client(config.s3Endpoint));

/** Signs URLs that clients outside the deployment use (may differ from the internal endpoint). */
export const s3Presigner =
  config.s3PublicEndpoint === config.s3Endpoint ? s3 : s3Client(config.s3PublicEndpoint);

/**
 * The stores' shape, and the table's clients on their own: a function that never touches the data
 * bucket (users, auth, the authorizer) is given the table alone and its bundle carries no S3
 * client (platform/aws/table.ts). clients.ts adds the bucket's clients for everyone else.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
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

export type TableClients = Pick<Stores, 'table' | 'dynamodb' | 'ddb'>;

export function createTableClients(
  config: Settings['storage'],
  credentials?: StoreCredentials,
): TableClients {
  const table = requireSetting(config.tableName, SETTING.table);
  const dynamodb = tracer.captureAWSv3Client(
    new DynamoDBClient({
      region: config.region,
      ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
      maxAttempts: 4,
      ...(credentials ? { credentials } : {}),
    }),
  );
  const ddb = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { table, dynamodb, ddb };
}

/** The stores of a function given the table alone: the data bucket and its clients throw, naming why. */
export function tableOnly(stores: TableClients): Stores {
  const noBucket = (): never => {
    throw new Error(
      'This function was given the table only (stores: awsTable): it has no data bucket; declare stores: awsStores',
    );
  };
  return {
    table: stores.table,
    dynamodb: stores.dynamodb,
    ddb: stores.ddb,
    get dataBucket() {
      return noBucket();
    },
    get s3() {
      return noBucket();
    },
    get s3Presigner() {
      return noBucket();
    },
  };
}

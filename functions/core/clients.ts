/**
 * The stores' SDK clients, created once per platform from its storage settings: the table's
 * (table-clients.ts) and the data bucket's. The S3 client settings are the ones s3rver needs
 * locally and are harmless against AWS: path-style URLs and checksums only when an operation
 * requires them.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { tracer } from './observability.ts';
import { requireSetting, SETTING, type Settings } from './settings.ts';
import { createTableClients, type StoreCredentials, type Stores } from './table-clients.ts';

export type { StoreCredentials, Stores } from './table-clients.ts';

export function createStores(config: Settings['storage'], credentials?: StoreCredentials): Stores {
  const tableClients = createTableClients(config, credentials);
  const dataBucket = requireSetting(config.dataBucket, SETTING.dataBucket);
  const auth = credentials ? { credentials } : {};

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
  return { ...tableClients, dataBucket, s3, s3Presigner };
}

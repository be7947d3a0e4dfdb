/** The stores port on AWS: the DynamoDB table and the S3 data bucket (functions/core/clients.ts). */
import { createStores } from '../../clients.ts';
import type { Adapter } from '../aws.ts';

/** Needs SLUICE_TABLE and SLUICE_DATA_BUCKET. */
export const awsStores: Adapter<'stores'> = (settings) => createStores(settings.storage);

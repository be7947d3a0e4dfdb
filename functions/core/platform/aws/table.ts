/**
 * The stores port on AWS for a function that never touches the data bucket: the DynamoDB table
 * alone, so its bundle carries no S3 client. The bucket's members throw, naming the adapter to use;
 * `narrow` gives a host's stores the same shape (platform.ts `restrictTo`).
 */
import type { Settings } from '../../settings.ts';
import { createTableClients, tableOnly } from '../../table-clients.ts';
import type { Adapter } from '../aws.ts';

/** Needs SLUICE_TABLE. */
export const awsTable: Adapter<'stores'> = Object.assign(
  (settings: Settings) => tableOnly(createTableClients(settings.storage)),
  { narrow: tableOnly },
);

/**
 * Data sources: the built-in catalog (type DATA_CATALOG: database = collection, table =
 * dataset) and registered MySQL sources. A MySQL password is never stored in the table: the
 * platform's secrets port keeps it (on AWS in Secrets Manager, the item keeps the secret's ARN;
 * locally encrypted with the host's key, AES-256-GCM, `encryptLocal`).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { getItem, type Item, putNew, queryAll } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { platform } from '../platform/platform.ts';

export const DATA_SOURCE_TYPES = ['DATA_CATALOG', 'MYSQL'] as const;

export interface DataSourceItem extends Item {
  name: string;
  data_source_type: 'MYSQL';
  description?: string;
  instance_id: string;
  mysql_user: string;
  /** Secrets Manager ARN of the password (AWS). */
  password_secret_arn?: string;
  /** The password encrypted with the local host's key: iv.tag.ciphertext, base64url (local). */
  password_encrypted?: string;
  created_at: number;
  created_by: string;
}

const PARTITION = 'DSRC';

const base64 = z
  .string()
  .min(1, 'is required')
  .max(4096)
  .refine(
    (s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s.replace(/\s/g, '')) && s.replace(/\s/g, '').length % 4 === 0,
    {
      message: 'must be base64',
    },
  )
  .transform((s) => Buffer.from(s, 'base64').toString('utf8'))
  .refine((s) => s.length > 0, { message: 'must not be empty once decoded' });

export const registerDataSourceSchema = z.object({
  dataSourceType: z.literal('MYSQL', { message: 'only MYSQL sources can be registered' }),
  dataSourceName: z
    .string()
    .regex(/^[a-z0-9_]{3,72}$/, 'must be 3 to 72 characters of lower-case letters, digits and _'),
  description: z.string().max(1000).optional(),
  instanceId: z.string().min(1, 'is required').max(255),
  mysqlUser: z.string().min(1, 'is required').max(128),
  mysqlPassword: base64,
});

export interface DataSourceView {
  name: string;
  dataSourceType: (typeof DATA_SOURCE_TYPES)[number];
  description?: string;
}

export function findDataSource(name: string): Promise<DataSourceItem | undefined> {
  return getItem<DataSourceItem>(PARTITION, name.toLowerCase());
}

export async function listDataSources(): Promise<DataSourceView[]> {
  const registered = await queryAll<DataSourceItem>({ partition: PARTITION });
  return [
    {
      name: platform().settings.query.catalogName,
      dataSourceType: 'DATA_CATALOG',
      description: 'Sluice datasets: database = collection, table = dataset',
    },
    ...registered.map((d) => ({
      name: d.name,
      dataSourceType: d.data_source_type,
      ...(d.description ? { description: d.description } : {}),
    })),
  ];
}

/** AES-256-GCM under a key derived from the host's secret; iv.tag.ciphertext in base64url. */
export function encryptLocal(plain: string, secret: string): string {
  const key = createHash('sha256').update(`sluice-data-source:${secret}`).digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

export async function registerDataSource(
  input: z.output<typeof registerDataSourceSchema>,
  principal: Principal,
): Promise<DataSourceView> {
  const name = input.dataSourceName;
  if (name === platform().settings.query.catalogName.toLowerCase() || (await findDataSource(name))) {
    throw new ConflictError(`A data source named "${name}" already exists.`);
  }
  const item: DataSourceItem = {
    pk: PARTITION,
    sk: name,
    entity: 'data-source',
    name,
    data_source_type: 'MYSQL',
    ...(input.description ? { description: input.description } : {}),
    instance_id: input.instanceId,
    mysql_user: input.mysqlUser,
    ...(await platform().secrets.keepPassword(name, input.mysqlPassword)),
    created_at: Date.now(),
    created_by: principal.username,
  };
  if (!(await putNew(item))) throw new ConflictError(`A data source named "${name}" already exists.`);
  return { name, dataSourceType: 'MYSQL', ...(input.description ? { description: input.description } : {}) };
}

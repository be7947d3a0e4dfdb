/**
 * Datasets: named tables inside a collection. The dataset item also carries the pointer to
 * its current data version (see tables/versions.ts) and a short lease that serialises writers
 * (one upload or delete at a time per dataset).
 */
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import {
  deleteItem,
  getItem,
  type Item,
  pageRequest,
  putItem,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId, randomToken } from '../ids.ts';
import { claimName, nameOwner, normalizeName, releaseName, updateNamed } from '../names.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';
import { alwaysCheck } from '../schemas.ts';
import {
  collectionKey,
  descriptionSchema,
  findCollection,
  nameSchema,
  requireCollection,
} from './collections.ts';
import type { DatasetItem, DatasetLock } from './dataset-item.ts';

export const createDatasetSchema = z.object({
  name: nameSchema,
  description: descriptionSchema.optional(),
  collection_id: z.string().min(1, 'is required').max(64),
});

export const updateDatasetSchema = z
  .object({ name: nameSchema.optional(), description: descriptionSchema.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined, {
    message: 'name or description is required',
    path: ['name'],
    ...alwaysCheck,
  });

export const listDatasetsQuerySchema = z.object({
  collection_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  token: z.string().max(2048).optional(),
});

export type { DatasetItem, DatasetLock };

export type Dataset = Pick<
  DatasetItem,
  | 'id'
  | 'name'
  | 'description'
  | 'collection_id'
  | 'created_at'
  | 'updated_at'
  | 'created_by'
  | 'current_version'
  | 'total_rows'
> & { column_count: number };

export const datasetKey = (id: string) => `DS#${id}`;
const scope = (collectionId: string) => `DATASET#${collectionId}`;

export function datasetView(d: DatasetItem): Dataset {
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    collection_id: d.collection_id,
    created_at: d.created_at,
    updated_at: d.updated_at,
    created_by: d.created_by,
    current_version: d.current_version,
    total_rows: d.total_rows,
    column_count: d.columns.length,
  };
}

export async function findDataset(id: string): Promise<DatasetItem | undefined> {
  return getItem<DatasetItem>(datasetKey(id));
}

/** A dataset of a collection named by its id or by its name. */
export async function findDatasetByRef(collectionId: string, ref: string): Promise<DatasetItem | undefined> {
  if (ref.startsWith('ds-')) {
    const byId = await findDataset(ref);
    if (byId?.collection_id === collectionId) return byId;
  }
  const owner = await nameOwner(scope(collectionId), ref);
  const byName = owner ? await findDataset(owner) : undefined;
  return byName && normalizeName(byName.name) === normalizeName(ref) ? byName : undefined;
}

export async function requireDataset(id: string): Promise<DatasetItem> {
  const item = await findDataset(id);
  if (!item) throw new NotFoundError('DATASET', id);
  return item;
}

const holdsName = (name: string) => async (ownerId: string) => {
  const owner = await findDataset(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

export async function createDataset(input: z.output<typeof createDatasetSchema>, principal: Principal) {
  const collection = await requireCollection(input.collection_id);
  const id = newId('dataset');
  if (!(await claimName(scope(collection.id), input.name, id, holdsName(input.name)))) {
    throw new ConflictError(`Collection "${collection.name}" already has a dataset named "${input.name}".`);
  }
  const now = new Date().toISOString();
  const item: DatasetItem = {
    pk: datasetKey(id),
    sk: 'META',
    gsi1pk: 'DATASETS',
    gsi1sk: id,
    gsi2pk: collectionKey(collection.id),
    gsi2sk: `DS#${id}`,
    id,
    name: input.name,
    description: input.description ?? '',
    collection_id: collection.id,
    created_at: now,
    updated_at: now,
    created_by: principal.username,
    current_version: 0,
    total_rows: 0,
    columns: [],
    bytes: 0,
  };
  await putItem(item);
  // A collection deleted meanwhile must not be left with an orphan dataset.
  if (!(await findCollection(collection.id))) {
    await deleteItem(datasetKey(id));
    await releaseName(scope(collection.id), input.name, id);
    throw new NotFoundError('COLLECTION', collection.id);
  }
  return datasetView(item);
}

export async function listDatasets(collectionId: string | undefined, limit?: number, token?: string) {
  const request = pageRequest(limit, token);
  if (collectionId) {
    await requireCollection(collectionId);
    const page = await queryPage<DatasetItem>(
      { index: 'gsi2', partition: collectionKey(collectionId), sortPrefix: 'DS#' },
      request,
    );
    return dhubList(page.items.map(datasetView), page.next);
  }
  const page = await queryPage<DatasetItem>({ index: 'gsi1', partition: 'DATASETS' }, request);
  return dhubList(page.items.map(datasetView), page.next);
}

export async function updateDataset(id: string, input: z.output<typeof updateDatasetSchema>) {
  const current = await requireDataset(id);
  const updated = await updateNamed(
    {
      scope: scope(current.collection_id),
      pk: datasetKey(id),
      holds: holdsName,
      taken: (name) => `This collection already has a dataset named "${name}".`,
    },
    current,
    input,
  );
  return datasetView(updated);
}

/**
 * Takes the dataset's writer lease. Fails with 409 while another upload or delete holds an
 * unexpired one; an expired lease (its holder died) is taken over.
 */
export async function acquireDatasetLock(
  id: string,
  kind: DatasetLock['kind'],
  ttlSeconds: number,
): Promise<{ lock: DatasetLock; dataset: DatasetItem }> {
  const now = Date.now();
  const lock: DatasetLock = { id: randomToken(16), kind, expires_at: now + ttlSeconds * 1000 };
  const updated = await updateItem<DatasetItem>(datasetKey(id), 'META', {
    UpdateExpression: 'SET #lock = :lock',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#lock) OR #lock.expires_at < :now)',
    ExpressionAttributeNames: { '#lock': 'lock' },
    ExpressionAttributeValues: { ':lock': lock, ':now': now },
  });
  if (updated) return { lock, dataset: updated };
  const current = await requireDataset(id);
  const what = current.lock?.kind === 'delete' ? 'being deleted' : 'receiving another upload';
  throw new ConflictError(`The dataset is ${what}; try again when it has finished.`);
}

export async function releaseDatasetLock(id: string, lock: DatasetLock): Promise<void> {
  await updateItem(datasetKey(id), 'META', {
    UpdateExpression: 'REMOVE #lock',
    ConditionExpression: '#lock.id = :id',
    ExpressionAttributeNames: { '#lock': 'lock' },
    ExpressionAttributeValues: { ':id': lock.id },
  });
}

/**
 * Deletes a dataset with all its versions and data. `deleteData` removes the objects (it lives
 * with the table storage code); the writer lease keeps uploads out meanwhile.
 */
export async function deleteDataset(
  id: string,
  deleteData: (datasetId: string) => Promise<void>,
): Promise<void> {
  const { dataset: current } = await acquireDatasetLock(id, 'delete', 900);
  // Athena stops seeing the table before its data goes (AWS only; a Glue failure is logged).
  await platform().catalog.datasetDeleted(current);
  await deleteData(id);
  const versions = await queryAll<Item & { sk: string }>({ partition: datasetKey(id), sortPrefix: 'VER#' });
  for (const v of versions) await deleteItem(datasetKey(id), v.sk);
  await deleteItem(datasetKey(id));
  await releaseName(scope(current.collection_id), current.name, id);
}

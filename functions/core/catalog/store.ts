/**
 * The catalog's records in the table, and the only code that knows their keys: collections
 * (`COL#<id>`), datasets (`DS#<id>`, indexed under their collection), the name guards that keep
 * names unique (a collection's in the deployment, a dataset's in its collection) and the
 * dataset's writer lease. Services (collections.ts, datasets.ts) decide; this module reads and
 * writes.
 */
import {
  deleteItem,
  getItem,
  type Item,
  pageRequest,
  putItem,
  type QueryPage,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import { randomToken } from '../ids.ts';
import { claimName, nameOwner, normalizeName, releaseName, updateNamed } from '../names.ts';
import type { CollectionFields, CollectionItem, DatasetFields, DatasetItem, DatasetLock } from './items.ts';

export const collectionKey = (id: string) => `COL#${id}`;
export const datasetKey = (id: string) => `DS#${id}`;

/** Collection names are unique in the deployment (a collection is a SQL database). */
const COLLECTION_NAMES = 'COLLECTION';
/** Dataset names are unique in their collection (a dataset is a SQL table). */
const datasetNames = (collectionId: string) => `DATASET#${collectionId}`;

// Collections.

export const findCollection = (id: string) => getItem<CollectionItem>(collectionKey(id));

/** A collection named by its id or by its name (how pipelines and queries refer to one). */
export async function findCollectionByRef(ref: string): Promise<CollectionItem | undefined> {
  if (ref.startsWith('col-')) {
    const byId = await findCollection(ref);
    if (byId) return byId;
  }
  const owner = await nameOwner(COLLECTION_NAMES, ref);
  const byName = owner ? await findCollection(owner) : undefined;
  return byName && normalizeName(byName.name) === normalizeName(ref) ? byName : undefined;
}

const collectionHolds = (name: string) => async (ownerId: string) => {
  const owner = await findCollection(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

/** Claims the name for a new collection; false when another collection holds it. */
export const claimCollectionName = (name: string, id: string) =>
  claimName(COLLECTION_NAMES, name, id, collectionHolds(name));

export const releaseCollectionName = (collection: CollectionItem) =>
  releaseName(COLLECTION_NAMES, collection.name, collection.id);

/** A new collection's item, with its place in the list of all collections. */
export function newCollectionItem(fields: CollectionFields): CollectionItem {
  return { pk: collectionKey(fields.id), sk: 'META', gsi1pk: 'COLLECTIONS', gsi1sk: fields.id, ...fields };
}

export const putCollection = (item: CollectionItem) => putItem(item);

export const listCollectionPage = (limit?: number, token?: string): Promise<QueryPage<CollectionItem>> =>
  queryPage<CollectionItem>({ index: 'gsi1', partition: 'COLLECTIONS' }, pageRequest(limit, token));

/** Renames a collection (moving its name guard) or changes its description. */
export const renameCollection = (
  current: CollectionItem,
  input: { name?: string | undefined; description?: string | undefined },
) =>
  updateNamed(
    {
      scope: COLLECTION_NAMES,
      pk: collectionKey(current.id),
      holds: collectionHolds,
      taken: (name) => `A collection named "${name}" already exists.`,
    },
    current,
    input,
  );

export const deleteCollectionItem = (id: string) => deleteItem(collectionKey(id));

/** Datasets of the collection, as ids (a collection holds a bounded number of datasets). */
export async function datasetIdsOf(collectionId: string): Promise<string[]> {
  const items = await queryAll<{ id: string }>({
    index: 'gsi2',
    partition: collectionKey(collectionId),
    sortPrefix: 'DS#',
  });
  return items.map((d) => d.id);
}

export async function hasDatasets(collectionId: string): Promise<boolean> {
  const page = await queryPage(
    { index: 'gsi2', partition: collectionKey(collectionId), sortPrefix: 'DS#' },
    { limit: 1 },
  );
  return page.items.length > 0;
}

// Datasets.

export const findDataset = (id: string) => getItem<DatasetItem>(datasetKey(id));

/** A dataset of a collection named by its id or by its name. */
export async function findDatasetByRef(collectionId: string, ref: string): Promise<DatasetItem | undefined> {
  if (ref.startsWith('ds-')) {
    const byId = await findDataset(ref);
    if (byId?.collection_id === collectionId) return byId;
  }
  const owner = await nameOwner(datasetNames(collectionId), ref);
  const byName = owner ? await findDataset(owner) : undefined;
  return byName && normalizeName(byName.name) === normalizeName(ref) ? byName : undefined;
}

const datasetHolds = (name: string) => async (ownerId: string) => {
  const owner = await findDataset(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

/** Claims the name for a new dataset of the collection; false when another dataset there holds it. */
export const claimDatasetName = (collectionId: string, name: string, id: string) =>
  claimName(datasetNames(collectionId), name, id, datasetHolds(name));

export const releaseDatasetName = (dataset: Pick<DatasetItem, 'collection_id' | 'name' | 'id'>) =>
  releaseName(datasetNames(dataset.collection_id), dataset.name, dataset.id);

/** A new dataset's item, listed among all datasets and under its collection. */
export function newDatasetItem(fields: DatasetFields): DatasetItem {
  return {
    pk: datasetKey(fields.id),
    sk: 'META',
    gsi1pk: 'DATASETS',
    gsi1sk: fields.id,
    gsi2pk: collectionKey(fields.collection_id),
    gsi2sk: `DS#${fields.id}`,
    ...fields,
  };
}

export const putDataset = (item: DatasetItem) => putItem(item);

export const deleteDatasetItem = (id: string) => deleteItem(datasetKey(id));

/** A page of datasets: of one collection, or of all. */
export function listDatasetPage(
  collectionId: string | undefined,
  limit?: number,
  token?: string,
): Promise<QueryPage<DatasetItem>> {
  const request = pageRequest(limit, token);
  return collectionId
    ? queryPage<DatasetItem>(
        { index: 'gsi2', partition: collectionKey(collectionId), sortPrefix: 'DS#' },
        request,
      )
    : queryPage<DatasetItem>({ index: 'gsi1', partition: 'DATASETS' }, request);
}

export const renameDataset = (
  current: DatasetItem,
  input: { name?: string | undefined; description?: string | undefined },
) =>
  updateNamed(
    {
      scope: datasetNames(current.collection_id),
      pk: datasetKey(current.id),
      holds: datasetHolds,
      taken: (name) => `This collection already has a dataset named "${name}".`,
    },
    current,
    input,
  );

/**
 * Takes the dataset's writer lease unless an unexpired one is held (an expired lease, whose
 * holder died, is taken over). The dataset as it is after, or undefined when the lease is held
 * or the dataset is gone.
 */
export async function takeDatasetLease(
  id: string,
  kind: DatasetLock['kind'],
  ttlSeconds: number,
): Promise<{ lock: DatasetLock; dataset: DatasetItem } | undefined> {
  const now = Date.now();
  const lock: DatasetLock = { id: randomToken(16), kind, expires_at: now + ttlSeconds * 1000 };
  const updated = await updateItem<DatasetItem>(datasetKey(id), 'META', {
    UpdateExpression: 'SET #lock = :lock',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#lock) OR #lock.expires_at < :now)',
    ExpressionAttributeNames: { '#lock': 'lock' },
    ExpressionAttributeValues: { ':lock': lock, ':now': now },
  });
  return updated ? { lock, dataset: updated } : undefined;
}

export async function releaseDatasetLock(id: string, lock: DatasetLock): Promise<void> {
  await updateItem(datasetKey(id), 'META', {
    UpdateExpression: 'REMOVE #lock',
    ConditionExpression: '#lock.id = :id',
    ExpressionAttributeNames: { '#lock': 'lock' },
    ExpressionAttributeValues: { ':id': lock.id },
  });
}

/** Deletes the records kept under the dataset's key (its versions), then the dataset itself. */
export async function deleteDatasetRecords(id: string): Promise<void> {
  const children = await queryAll<Item & { sk: string }>({ partition: datasetKey(id), sortPrefix: 'VER#' });
  for (const child of children) await deleteItem(datasetKey(id), child.sk);
  await deleteDatasetItem(id);
}

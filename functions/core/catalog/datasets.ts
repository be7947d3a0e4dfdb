/**
 * Datasets: named tables inside a collection. The dataset item also carries the pointer to its
 * current data version (see tables/versions.ts) and a short lease that serialises writers (one
 * upload or delete at a time per dataset).
 */
import type { Principal } from '../auth/principal.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';
import { requireCollection } from './collections.ts';
import type { DatasetItem, DatasetLock } from './items.ts';
import type { CreateDatasetInput, UpdateDatasetInput } from './schemas.ts';
import {
  claimDatasetName,
  deleteDatasetItem,
  deleteDatasetRecords,
  findCollection,
  findDataset,
  listDatasetPage,
  newDatasetItem,
  putDataset,
  releaseDatasetName,
  renameDataset,
  takeDatasetLease,
} from './store.ts';
import { datasetView } from './views.ts';

export async function requireDataset(id: string): Promise<DatasetItem> {
  const item = await findDataset(id);
  if (!item) throw new NotFoundError('DATASET', id);
  return item;
}

export async function createDataset(input: CreateDatasetInput, principal: Principal) {
  const collection = await requireCollection(input.collection_id);
  const id = newId('dataset');
  if (!(await claimDatasetName(collection.id, input.name, id))) {
    throw new ConflictError(`Collection "${collection.name}" already has a dataset named "${input.name}".`);
  }
  const now = platform().clock.now().toISOString();
  const item = newDatasetItem({
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
  });
  await putDataset(item);
  // A collection deleted meanwhile must not be left with an orphan dataset.
  if (!(await findCollection(collection.id))) {
    await deleteDatasetItem(id);
    await releaseDatasetName(item);
    throw new NotFoundError('COLLECTION', collection.id);
  }
  return datasetView(item);
}

export async function listDatasets(collectionId: string | undefined, limit?: number, token?: string) {
  if (collectionId) await requireCollection(collectionId);
  const page = await listDatasetPage(collectionId, limit, token);
  return dhubList(page.items.map(datasetView), page.next);
}

export async function updateDataset(id: string, input: UpdateDatasetInput) {
  return datasetView(await renameDataset(await requireDataset(id), input));
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
  const taken = await takeDatasetLease(id, kind, ttlSeconds);
  if (taken) return taken;
  const current = await requireDataset(id);
  const what = current.lock?.kind === 'delete' ? 'being deleted' : 'receiving another upload';
  throw new ConflictError(`The dataset is ${what}; try again when it has finished.`);
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
  await deleteDatasetRecords(id);
  await releaseDatasetName(current);
}

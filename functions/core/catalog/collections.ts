/**
 * Collections group datasets (and pipelines). Names are unique in the deployment because a
 * collection name is the database name in SQL (`sluice.<collection>.<dataset>`).
 */
import type { Principal } from '../auth/principal.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';
import type { CollectionItem } from './items.ts';
import type { CreateCollectionInput, UpdateCollectionInput } from './schemas.ts';
import {
  claimCollectionName,
  datasetIdsOf,
  deleteCollectionItem,
  findCollection,
  hasDatasets,
  listCollectionPage,
  newCollectionItem,
  putCollection,
  releaseCollectionName,
  renameCollection,
} from './store.ts';
import { type Collection, collectionView } from './views.ts';

export async function requireCollection(id: string): Promise<CollectionItem> {
  const item = await findCollection(id);
  if (!item) throw new NotFoundError('COLLECTION', id);
  return item;
}

export async function createCollection(
  input: CreateCollectionInput,
  principal: Principal,
): Promise<Collection> {
  const id = newId('collection');
  if (!(await claimCollectionName(input.name, id))) {
    throw new ConflictError(`A collection named "${input.name}" already exists.`);
  }
  const now = platform().clock.now().toISOString();
  const item = newCollectionItem({
    id,
    name: input.name,
    description: input.description ?? '',
    created_at: now,
    updated_at: now,
    created_by: principal.username,
  });
  await putCollection(item);
  return collectionView(item);
}

export async function listCollections(limit?: number, token?: string) {
  const page = await listCollectionPage(limit, token);
  return dhubList(page.items.map(collectionView), page.next);
}

export async function updateCollection(id: string, input: UpdateCollectionInput) {
  return collectionView(await renameCollection(await requireCollection(id), input));
}

/**
 * Deletes a collection. With datasets left it answers 409 unless `force`, which deletes the
 * datasets (data included) first.
 */
export async function deleteCollection(
  id: string,
  force: boolean,
  deleteDataset: (datasetId: string) => Promise<void>,
): Promise<void> {
  const current = await requireCollection(id);
  if (await hasDatasets(id)) {
    if (!force) {
      throw new ConflictError('The collection still has datasets; delete them first or pass ?force=true.');
    }
    for (const datasetId of await datasetIdsOf(id)) await deleteDataset(datasetId);
  }
  await deleteCollectionItem(id);
  // Its Glue database goes too (AWS only; a Glue failure is logged).
  await platform().catalog.collectionDeleted(current);
  await releaseCollectionName(current);
}

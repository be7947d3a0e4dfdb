/**
 * Collections group datasets (and later pipelines). Names are unique in the deployment because
 * a collection name is the database name in SQL (`sluice.<collection>.<dataset>`).
 */
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { deleteItem, getItem, type Item, pageRequest, putItem, queryAll, queryPage } from '../db.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { claimName, nameOwner, normalizeName, releaseName, updateNamed } from '../names.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';
import { alwaysCheck } from '../schemas.ts';

export const nameSchema = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters')
  .refine(
    (s) => ![...s].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20 || ch === '\u007f'),
    'must not contain control characters',
  );

export const descriptionSchema = z.string().max(2000, 'must be at most 2000 characters');

export const createCollectionSchema = z.object({
  name: nameSchema,
  description: descriptionSchema.optional(),
});

export const updateCollectionSchema = z
  .object({ name: nameSchema.optional(), description: descriptionSchema.optional() })
  .refine((b) => b.name !== undefined || b.description !== undefined, {
    message: 'name or description is required',
    path: ['name'],
    ...alwaysCheck,
  });

export interface CollectionItem extends Item {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export type Collection = Pick<
  CollectionItem,
  'id' | 'name' | 'description' | 'created_at' | 'updated_at' | 'created_by'
>;

const SCOPE = 'COLLECTION';
export const collectionKey = (id: string) => `COL#${id}`;

export function collectionView(c: CollectionItem): Collection {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    created_at: c.created_at,
    updated_at: c.updated_at,
    created_by: c.created_by,
  };
}

export async function findCollection(id: string): Promise<CollectionItem | undefined> {
  return getItem<CollectionItem>(collectionKey(id));
}

/** A collection named by its id or by its name (how pipelines and queries refer to one). */
export async function findCollectionByRef(ref: string): Promise<CollectionItem | undefined> {
  if (ref.startsWith('col-')) {
    const byId = await findCollection(ref);
    if (byId) return byId;
  }
  const owner = await nameOwner(SCOPE, ref);
  const byName = owner ? await findCollection(owner) : undefined;
  return byName && normalizeName(byName.name) === normalizeName(ref) ? byName : undefined;
}

export async function requireCollection(id: string): Promise<CollectionItem> {
  const item = await findCollection(id);
  if (!item) throw new NotFoundError('COLLECTION', id);
  return item;
}

const holdsName = (name: string) => async (ownerId: string) => {
  const owner = await findCollection(ownerId);
  return owner !== undefined && normalizeName(owner.name) === normalizeName(name);
};

export async function createCollection(
  input: z.output<typeof createCollectionSchema>,
  principal: Principal,
): Promise<Collection> {
  const id = newId('collection');
  if (!(await claimName(SCOPE, input.name, id, holdsName(input.name)))) {
    throw new ConflictError(`A collection named "${input.name}" already exists.`);
  }
  const now = new Date().toISOString();
  const item: CollectionItem = {
    pk: collectionKey(id),
    sk: 'META',
    gsi1pk: 'COLLECTIONS',
    gsi1sk: id,
    id,
    name: input.name,
    description: input.description ?? '',
    created_at: now,
    updated_at: now,
    created_by: principal.username,
  };
  await putItem(item);
  return collectionView(item);
}

export async function listCollections(limit?: number, token?: string) {
  const page = await queryPage<CollectionItem>(
    { index: 'gsi1', partition: 'COLLECTIONS' },
    pageRequest(limit, token),
  );
  return dhubList(page.items.map(collectionView), page.next);
}

export async function updateCollection(id: string, input: z.output<typeof updateCollectionSchema>) {
  const current = await requireCollection(id);
  const updated = await updateNamed(
    {
      scope: SCOPE,
      pk: collectionKey(id),
      holds: holdsName,
      taken: (name) => `A collection named "${name}" already exists.`,
    },
    current,
    input,
  );
  return collectionView(updated);
}

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
  await deleteItem(collectionKey(id));
  // Its Glue database goes too (AWS only; a Glue failure is logged).
  await platform().catalog.collectionDeleted(current);
  await releaseName(SCOPE, current.name, id);
}

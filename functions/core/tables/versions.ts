/**
 * Dataset versions. A version is a manifest (schema, parts with row counts and sizes) plus
 * immutable Parquet parts under `datasets/{id}/v{n}/`. An append references the previous
 * version's parts and adds one; an overwrite starts over. Publishing is one conditional update
 * of the dataset's pointer, made by the holder of the dataset's writer lease: readers see the
 * old version or the new one, never half of a write. `publishVersion` is the only way a version
 * is published, whoever writes it (CSV ingest, the TARGET_CATALOG node).
 */
import type { Principal } from '../auth/principal.ts';
import { acquireDatasetLock } from '../catalog/datasets.ts';
import type { DatasetItem, DatasetLock } from '../catalog/items.ts';
import { datasetKey, releaseDatasetLock } from '../catalog/store.ts';
import { type Item, putItem, queryAll, updateItem } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { logger } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { deletePrefix, getJson, putJson } from '../storage.ts';
import type { Column } from './csv.ts';
import { datasetPrefix } from './data.ts';
import type { Manifest, ManifestPart, WriteMode } from './manifest.ts';

interface VersionItem extends Item {
  version: number;
  mode: WriteMode;
  rows: number;
  added_rows: number;
  columns: Column[];
  bytes: number;
  parts: number;
  manifest_key: string;
  created_at: string;
  created_by: string;
}

export interface VersionView {
  version: number;
  mode: WriteMode;
  rows: number;
  added_rows: number;
  columns: number;
  bytes: number;
  parts: number;
  created_at: string;
  created_by: string;
  current: boolean;
}

export const versionPrefix = (datasetId: string, version: number) =>
  `${datasetPrefix(datasetId)}v${version}/`;
const versionSk = (version: number) => `VER#${String(version).padStart(10, '0')}`;

/** Manifests never change once written, so a process keeps the ones it has read. */
const manifestCache = new Map<string, Manifest>();

export async function getManifest(key: string): Promise<Manifest> {
  const cached = manifestCache.get(key);
  if (cached) return cached;
  const manifest = await getJson<Manifest>(key);
  if (manifestCache.size >= 256) manifestCache.delete(manifestCache.keys().next().value as string);
  manifestCache.set(key, manifest);
  return manifest;
}

export interface NewPart extends ManifestPart {
  columns: Column[];
}

/** Longest a write may hold a dataset's writer lease (the Lambda time limit). */
const LEASE_SECONDS = 900;

export interface PublishRequest {
  datasetId: string;
  mode: WriteMode;
  /** Who the version is written by. */
  principal: Pick<Principal, 'username'>;
}

/**
 * Publishes the next version of a dataset: takes the dataset's writer lease, lets `write`
 * upload the new part under the key it is given (it sees the dataset as leased), then writes
 * the version item and moves the dataset's current-version pointer (releasing the lease in the
 * same update), tells the catalog hook and announces the version (DATASET_UPDATED triggers).
 * Any failure removes what was written for the new version, frees the lease and leaves the
 * previous version current.
 */
export async function publishVersion(
  request: PublishRequest,
  write: (partKey: string, dataset: DatasetItem) => Promise<NewPart>,
): Promise<Manifest> {
  const { lock, dataset } = await acquireDatasetLock(request.datasetId, 'upload', LEASE_SECONDS);
  // An append's previous manifest is read while the part is written (it does not depend on it).
  const previous =
    request.mode === 'append' && dataset.manifest_key ? getManifest(dataset.manifest_key) : undefined;
  // Awaited below; this only keeps a failed read from going unhandled if `write` fails first.
  previous?.catch(() => undefined);
  try {
    const part = await write(
      `${versionPrefix(dataset.id, dataset.current_version + 1)}part-00000.parquet`,
      dataset,
    );
    return await commitVersion(dataset, lock, part, await previous, request.principal);
  } catch (error) {
    await abandonVersion(dataset, lock);
    throw error;
  }
}

/**
 * Publishes version n+1 of a dataset from a part already uploaded under its prefix.
 * The lease is released by the same update that moves the pointer.
 */
async function commitVersion(
  dataset: DatasetItem,
  lock: DatasetLock,
  part: NewPart,
  /** The version an append adds to (undefined for an overwrite or a first version). */
  previous: Manifest | undefined,
  principal: Pick<Principal, 'username'>,
): Promise<Manifest> {
  const version = dataset.current_version + 1;
  const parts = [...(previous?.parts ?? []), { key: part.key, rows: part.rows, bytes: part.bytes }];
  const manifest: Manifest = {
    dataset_id: dataset.id,
    version,
    created_at: new Date().toISOString(),
    created_by: principal.username,
    mode: previous ? 'append' : 'overwrite',
    columns: part.columns,
    rows: parts.reduce((sum, p) => sum + p.rows, 0),
    bytes: parts.reduce((sum, p) => sum + p.bytes, 0),
    parts,
  };
  const manifestKey = `${versionPrefix(dataset.id, version)}manifest.json`;
  const record: VersionItem = {
    pk: datasetKey(dataset.id),
    sk: versionSk(version),
    version,
    mode: manifest.mode,
    rows: manifest.rows,
    added_rows: part.rows,
    columns: manifest.columns,
    bytes: manifest.bytes,
    parts: parts.length,
    manifest_key: manifestKey,
    created_at: manifest.created_at,
    created_by: manifest.created_by,
  };
  // Only the lease holder writes version n+1, so a plain put is safe; listing hides versions
  // above the current pointer in case the pointer update below never happens. Neither the
  // manifest nor the version item is visible before that update, so they are written together;
  // the pointer moves only once both (and the part, written above) exist.
  await allWritten([putJson(manifestKey, manifest), putItem(record)]);
  const published = await updateItem(datasetKey(dataset.id), 'META', {
    UpdateExpression:
      'SET current_version = :v, manifest_key = :key, total_rows = :rows, #columns = :columns, #bytes = :bytes, updated_at = :now REMOVE #lock',
    ConditionExpression: '#lock.id = :lock AND current_version = :prev',
    ExpressionAttributeNames: { '#lock': 'lock', '#columns': 'columns', '#bytes': 'bytes' },
    ExpressionAttributeValues: {
      ':v': version,
      ':key': manifestKey,
      ':rows': manifest.rows,
      ':columns': manifest.columns,
      ':bytes': manifest.bytes,
      ':now': manifest.created_at,
      ':lock': lock.id,
      ':prev': dataset.current_version,
    },
  });
  if (!published) {
    throw new ConflictError('The dataset changed while the upload was processed; upload again.');
  }
  manifestCache.set(manifestKey, manifest);
  // Athena's view of the dataset (AWS only); a Glue failure is logged, the version stands.
  await platform().catalog.versionPublished(dataset, manifest);
  // Triggers waiting for this dataset (DATASET_UPDATED) hear about it; never fails the write.
  await platform().events({
    source: 'sluice.catalog',
    'detail-type': 'Dataset Version Published',
    detail: {
      datasetId: dataset.id,
      datasetName: dataset.name,
      collectionId: dataset.collection_id,
      version,
    },
  });
  return manifest;
}

/**
 * Waits for every write to finish, then fails with the first failure: a failed publish cleans up
 * only once nothing is still being written under the version's prefix.
 */
async function allWritten(writes: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(writes)).find((w) => w.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Removes what an unpublished write left under its version prefix, and frees the lease. */
async function abandonVersion(dataset: DatasetItem, lock: DatasetLock): Promise<void> {
  const version = dataset.current_version + 1;
  try {
    await deletePrefix(versionPrefix(dataset.id, version));
  } catch (error) {
    logger.warn('could not clean up an abandoned version', {
      datasetId: dataset.id,
      version,
      error: error as Error,
    });
  }
  await releaseDatasetLock(dataset.id, lock);
}

/**
 * A version as the D.Hub Tables API lists it (Delta Lake's history: `{version, timestamp,
 * operation, operationParameters: {mode}, readVersion}`), followed by Sluice's own fields.
 * Every version is a write: an append reads the version before it; an overwrite replaces it
 * (and, like Delta's, still names it as read); the first version reads none (null).
 */
export function historyEntry({ version, ...v }: VersionView) {
  return {
    version,
    timestamp: v.created_at.replace(/\.\d+Z$/, 'Z'),
    operation: 'WRITE',
    operationParameters: { mode: v.mode === 'append' ? 'Append' : 'Overwrite' },
    readVersion: version > 1 ? version - 1 : null,
    ...v,
  };
}

/** The versions readers can see (up to the current one), newest first. */
export async function listVersions(dataset: DatasetItem): Promise<VersionView[]> {
  const items = await queryAll<VersionItem>({
    partition: datasetKey(dataset.id),
    sortPrefix: 'VER#',
    newestFirst: true,
  });
  return items
    .filter((v) => v.version <= dataset.current_version)
    .map((v) => ({
      version: v.version,
      mode: v.mode,
      rows: v.rows,
      added_rows: v.added_rows,
      columns: v.columns.length,
      bytes: v.bytes,
      parts: v.parts,
      created_at: v.created_at,
      created_by: v.created_by,
      current: v.version === dataset.current_version,
    }));
}

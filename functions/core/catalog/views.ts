/** Response shapes of the catalog: what a client sees of a stored collection or dataset. */
import type { CollectionItem, DatasetItem } from './items.ts';

export type Collection = Pick<
  CollectionItem,
  'id' | 'name' | 'description' | 'created_at' | 'updated_at' | 'created_by'
>;

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

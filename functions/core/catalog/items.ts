/** Collections and datasets as stored (their own module so the ports can name them without the catalog's code). */
import type { Item } from '../item.ts';
import type { Column } from '../tables/csv.ts';

export interface DatasetLock {
  id: string;
  kind: 'upload' | 'delete';
  expires_at: number;
}

/** A dataset's own fields (its item adds the table's keys). */
export interface DatasetFields {
  id: string;
  name: string;
  description: string;
  collection_id: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  /** 0 until the first upload is published. */
  current_version: number;
  total_rows: number;
  columns: Column[];
  bytes: number;
  manifest_key?: string;
  lock?: DatasetLock;
}

/** A collection's own fields (its item adds the table's keys). */
export interface CollectionFields {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  created_by: string;
}

export type CollectionItem = Item & CollectionFields;
export type DatasetItem = Item & DatasetFields;

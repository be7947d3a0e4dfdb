/** A dataset as stored (its own module so the ports can name it without the catalog's code). */
import type { Item } from '../item.ts';
import type { Column } from '../tables/csv.ts';

export interface DatasetLock {
  id: string;
  kind: 'upload' | 'delete';
  expires_at: number;
}

export interface DatasetItem extends Item {
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

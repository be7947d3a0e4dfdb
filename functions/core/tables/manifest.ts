/** A dataset version's manifest: its schema and the Parquet parts that hold its rows. */
import type { Column } from './csv.ts';

export type WriteMode = 'overwrite' | 'append';

export interface ManifestPart {
  key: string;
  rows: number;
  bytes: number;
}

export interface Manifest {
  dataset_id: string;
  version: number;
  created_at: string;
  created_by: string;
  mode: WriteMode;
  columns: Column[];
  rows: number;
  bytes: number;
  parts: ManifestPart[];
}

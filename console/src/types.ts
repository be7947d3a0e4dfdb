/** The API objects the console reads (see /work/shared/API.md and /openapi.json). */

export type Role = 'admin' | 'editor' | 'viewer';

export interface Me {
  id: string;
  username: string;
  role: Role;
}

export interface Collection {
  id: string;
  name: string;
  description: string;
  created_at: string;
}

export interface Dataset {
  id: string;
  name: string;
  description: string;
  collection_id: string;
  created_at: string;
  current_version: number;
  total_rows: number;
  column_count: number;
}

export interface Column {
  name: string;
  type: string;
  nullable?: boolean;
}

export interface TablePage {
  columns: string[];
  data: unknown[][];
  total_rows: number;
}

export interface TableSchema {
  dataset_id: string;
  version: number;
  total_rows: number;
  columns: Column[];
}

export interface TableVersion {
  version: number;
  timestamp: string;
  operationParameters: { mode: string };
  rows?: number;
  total_rows?: number;
  bytes?: number;
  created_by?: string;
}

export interface InferredSchema {
  format: string;
  rows: number;
  delimiter?: string;
  header?: boolean;
  encoding?: string;
  fields: { name: string; type: string; sluice_type?: string; nullable: boolean }[];
}

export interface UploadResult {
  message: string;
  rows: number;
  columns: string[] | number;
  version?: number;
}

export interface Pipeline {
  id: string;
  name: string;
  description: string;
  collection_id: string | null;
  version: number;
  status: string;
  engine?: string;
  created_at: string;
  updated_at: string;
  nodes?: import('./pipeline/graph.ts').PipelineNode[];
  problems?: import('./pipeline/fields.ts').Problem[];
}

export interface PipelineVersion {
  pipeline_id: string;
  version: number;
  status: string;
  nodes: import('./pipeline/graph.ts').PipelineNode[];
  problems: import('./pipeline/fields.ts').Problem[];
  created_at: string;
  created_by: string;
}

export interface Job {
  jobId: string;
  name: string;
  description: string;
  status: string;
  lastExecutionStatus?: string | null;
  lastExecutionDate?: string | null;
  createdDate: string;
  updatedDate: string;
}

export type StepState = 'none' | 'pending' | 'running' | 'success' | 'failed';

export interface Batch {
  id: string;
  pipeline_id: string;
  pipeline_version?: number;
  name: string;
  status: string;
  created_at?: string;
  started_at: string | null;
  finished_at: string | null;
  error?: string;
  state: { state: string; steps: Record<string, { state: StepState; offsets?: Record<string, number> }> };
}

export interface Trace {
  node_id: string | number;
  node_name: string;
  node_type: string;
  state: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  rows_in: number | null;
  rows_out: number | null;
  error: string | null;
  logs?: string[];
  sample: { columns: string[]; rows: unknown[][] } | null;
}

export interface Traces {
  pipeline_id: string;
  batch_id: string;
  status: string;
  traces: Trace[];
}

export interface QueryInfo {
  queryInfo: {
    queryId: string;
    state: 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'ABORTED';
    queryStats?: { progressPercentage?: number; elapsedTime?: number | string };
    queryTextPreview: string;
    storageUrl: string;
    errorMessage?: string;
  };
  columnData: { name: string; index: number; type: string }[];
  queryData: string[][];
  totalPages: number;
  totalElements: number;
  number: number;
}

export interface QueryListItem {
  queryId: string;
  queryTextPreview: string;
  state: string;
  createdAt: number;
  elapsedTime: number | string;
  creatorName: string;
  errorMessage?: string | null;
}

/**
 * The run hooks of sources and targets, and the contexts the step worker hands them.
 *
 * The registry is loaded by request-path functions that only validate pipelines, so node files
 * import no storage, catalog or DuckDB runtime module: everything a hook does to the outside
 * world goes through the context, which the worker builds from those modules. A hook describes
 * *what* to read or write; the context knows *how*.
 */
import type { Column } from '../../tables/csv.ts';
import type { Field } from '../model.ts';

/** The first rows of a node's output, for its trace. */
export interface Sample {
  columns: string[];
  rows: unknown[][];
}

/** An object listed under a prefix. */
export interface ListedObject {
  key: string;
  size: number;
}

/** A Parquet part of a dataset version, as its manifest lists it. */
export interface DatasetPart {
  key: string;
  rows: number;
  bytes: number;
}

/** A dataset as the hooks see it. */
export interface DatasetRef {
  id: string;
  name: string;
  /** 0 until the first version is published. */
  current_version: number;
  manifest_key?: string;
  columns: Column[];
}

/** What every source and target hook may ask of the step worker. */
export interface HookContext {
  /** An error that fails the step with `message` shown to the user (not retried): `throw` it. */
  failure(message: string): Error;
  /** Adds a line to the step's trace log. */
  log(line: string): void;
  /** Throws a step failure unless this deployment may use `bucket`. */
  requireAllowedBucket(bucket: string): void;
  listObjects(prefix: string, bucket: string): Promise<ListedObject[]>;
  /** A collection by name or id. */
  findCollection(ref: string): Promise<{ id: string } | undefined>;
  /** A dataset by name or id inside a collection. */
  findDataset(collectionId: string, ref: string): Promise<DatasetRef | undefined>;
}

/**
 * How a source's input is split into partitions, stored with the run and read back by each
 * partition's invocation.
 */
export interface SourcePlan {
  /** S3 bucket the keys are in (the data bucket when absent). */
  bucket?: string;
  /** The object keys each partition reads. */
  groups: string[][];
  /**
   * A dataset source that reads every column as stored: the parts of each group, with their row
   * counts, and the version's columns. Such a partition copies the parts server side instead of
   * rewriting them.
   */
  parts?: DatasetPart[][];
  columns?: Column[];
  /**
   * The rows each group holds, when the source knows them without reading (a dataset version's
   * manifest): its node's row count is then not counted again.
   */
  rows?: number[];
}

export interface SourcePlanContext extends HookContext {
  /** Splits keys into at most as many partitions as the deployment allows, in order. */
  partition(keys: string[]): string[][];
  /** The manifest of a dataset version. */
  readManifest(
    key: string,
  ): Promise<{ version: number; rows: number; parts: DatasetPart[]; columns: Column[] }>;
}

export interface SourceHooks<N> {
  /** Lists what the source reads and splits it into partitions. */
  plan(node: N, ctx: SourcePlanContext): Promise<SourcePlan>;
  /**
   * A SELECT over local copies of one partition's files, producing the node's output columns.
   * `fields` (the node's output columns) shapes the result when there are no files.
   */
  sql(node: N, files: string[], fields?: Field[]): string;
}

/** A new dataset part, uploaded under the version being published. */
export interface NewDatasetPart extends DatasetPart {
  columns: Column[];
}

export interface TargetContext extends HookContext {
  /** The node's output, as one SELECT (its `sql()`). */
  readonly select: string;
  /** What the target's `prepare` answered, when it ran (undefined if it failed: look again). */
  readonly prepared?: Promise<unknown> | undefined;
  readonly batchId: string;
  /** Runs `COPY (query) TO` a file of the step's work folder (Parquet unless `options` say otherwise). */
  copyToFile(query: string, fileName: string, options?: string): Promise<{ rows: number; path: string }>;
  /** The columns of a query: names and DuckDB types. */
  describeQuery(query: string): Promise<Array<{ name: string; type: string }>>;
  /** The first rows of a relation (anything usable after FROM). */
  sample(relation: string): Promise<Sample>;
  /** Uploads a local file; answers its size. Without a bucket, the data bucket. */
  putFile(key: string, path: string, contentType: string, bucket?: string): Promise<number>;
  deleteObject(key: string, bucket: string): Promise<void>;
  /** Creates a dataset in a collection, owned by the batch's creator. */
  createDataset(collectionId: string, name: string): Promise<{ id: string }>;
  /**
   * Publishes the next version of a dataset: locks it, lets `write` upload the part under the
   * key it is given, then moves the dataset to the new version (or cleans up if anything fails).
   */
  publishVersion(
    datasetId: string,
    mode: 'overwrite' | 'append',
    /** `dataset` is the dataset as the lease found it (it may have changed since it was looked up). */
    write: (partKey: string, dataset: DatasetRef) => Promise<NewDatasetPart>,
  ): Promise<{ version: number; rows: number }>;
}

/** What a target wrote; log lines go through the context. */
export interface TargetResult {
  rows: number;
  bytes: number;
  sample?: Sample;
}

/** The file a target writes. */
export interface TargetFile {
  extension: 'csv' | 'json' | 'parquet';
  /** The options of DuckDB's `COPY ... TO`. */
  copyOptions: string;
  contentType: string;
  /** Whether the node asks for a single file (the worker writes one either way). */
  singleFile: boolean;
}

export interface TargetHooks<N> {
  /**
   * Look-ups the write needs that do not depend on the node's rows (where it writes), started
   * with the stage, while DuckDB computes; `write` finds the answer in `ctx.prepared`. It may
   * change nothing: a stage that fails before its target has written nothing.
   */
  prepare?(node: N, ctx: HookContext): Promise<unknown>;
  /** Writes the node's output (`ctx.select`) where the node says. */
  write(node: N, ctx: TargetContext): Promise<TargetResult>;
  /** Targets that write files under a prefix: the file's format. */
  file?(node: N): TargetFile;
}

/** An object prefix as a folder: '' stays the bucket root, anything else ends with '/'. */
export const prefixDir = (prefix: string) => (prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);

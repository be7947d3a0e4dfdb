/**
 * Pipelines: named, versioned DAGs of nodes inside a collection. Creating one writes v1;
 * every change of its nodes writes a new immutable version and moves the pipeline's version
 * pointer with a conditional update, so two concurrent editors cannot both win. Each version
 * carries its validation result: an invalid version can be saved (DRAFT) but not run.
 */
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { requireCollection } from '../catalog/collections.ts';
import { descriptionSchema, nameSchema } from '../catalog/schemas.ts';
import { collectionKey, findCollectionByRef, findDatasetByRef } from '../catalog/store.ts';
import {
  checkStorable,
  deleteItem,
  getItem,
  type Item,
  pageRequest,
  putItem,
  queryAll,
  queryPage,
  updateItem,
} from '../db.ts';
import { BadStateError, ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { dhubList } from '../paging.ts';
import { platform } from '../platform/platform.ts';
import { alwaysCheck } from '../schemas.ts';
import { fieldTypeOfColumn } from '../type-map.ts';
import { type EngineChoice, engineSchema, resolveEngines } from './engine-choice.ts';
import type { Field, PipelineNode, Problem } from './model.ts';
import { pipelineNodesSchema } from './node-shape.ts';
import { echoNode, nodeType, type ParsedNode, type PlanNode } from './nodes/index.ts';
import { type ValidationEnv, type ValidationResult, validatePipeline } from './validate.ts';

const nodesSchema = pipelineNodesSchema;

const runSettings = {
  max_concurrent_runs: z.number().int().min(1).max(100).optional(),
  timeout_minutes: z.number().int().min(1).max(1440).optional(),
  num_workers: z.number().int().min(1).max(40).optional(),
  /** Where the stages run: AUTO (by input size), DUCKDB or ATHENA (engine-choice.ts). */
  engine: engineSchema.optional(),
};

export const createPipelineSchema = z.object({
  name: nameSchema,
  description: descriptionSchema.optional(),
  collection_id: z.string().min(1, 'is required').max(64),
  nodes: nodesSchema.optional(),
  ...runSettings,
});

export const updatePipelineSchema = z
  .object({
    name: nameSchema.optional(),
    description: descriptionSchema.optional(),
    nodes: nodesSchema.optional(),
    ...runSettings,
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    message:
      'at least one of name, description, nodes, max_concurrent_runs, timeout_minutes, num_workers, engine is required',
    path: ['name'],
    ...alwaysCheck,
  });

export const listPipelinesQuerySchema = z.object({
  collection_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  token: z.string().max(2048).optional(),
});

export const DEFAULT_MAX_CONCURRENT_RUNS = 1;
export const DEFAULT_NUM_WORKERS = 2;

export interface PipelineItem extends Item {
  id: string;
  name: string;
  description: string;
  collection_id: string;
  /** The latest version; runs use it unless they name another. */
  version: number;
  valid: boolean;
  created_at: string;
  updated_at: string;
  created_by: string;
  max_concurrent_runs: number;
  timeout_minutes: number;
  num_workers: number;
  /** Data Flow's workerType for runs (DEFAULT or LARGE); absent = DEFAULT. */
  worker_type?: string;
  /** The engine runs use unless a run says otherwise; absent = AUTO. */
  engine?: EngineChoice;
  /** Saved with Data Flow's `isTemp`: a draft whatever its validity. */
  is_temp?: boolean;
  /** The last version found valid by a save or a verify (Data Flow's EDITING when behind). */
  verified_version?: number;
  /** The latest run's status and time, for Data Flow's job view. */
  last_run_status?: string;
  last_run_at?: string;
  /** Runs holding a slot (running); bounded by max_concurrent_runs. */
  active_runs: number;
}

/** Everything the engine needs about one version, computed once when it is saved. */
export interface VersionItem extends Item {
  pipeline_id: string;
  version: number;
  nodes: PipelineNode[];
  valid: boolean;
  problems: Problem[];
  /** Node keys in execution order, with each node's parsed form, step name and parents. */
  plan: PlanNode[];
  created_at: string;
  created_by: string;
  /**
   * What the engine returned for each deployment of this version (a state machine version ARN
   * on AWS), by run settings: the timeout and fan-out are compiled into the definition.
   */
  engine_refs?: Record<string, string>;
}

export const pipelineKey = (id: string) => `PL#${id}`;
const versionSk = (version: number) => `VER#${String(version).padStart(10, '0')}`;

export function pipelineView(p: PipelineItem) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    collection_id: p.collection_id || null,
    version: p.version,
    status: p.valid ? 'valid' : 'draft',
    max_concurrent_runs: p.max_concurrent_runs,
    timeout_minutes: p.timeout_minutes,
    num_workers: p.num_workers,
    engine: p.engine ?? 'AUTO',
    created_at: p.created_at,
    updated_at: p.updated_at,
    created_by: p.created_by,
  };
}

export function versionView(v: VersionItem) {
  return {
    pipeline_id: v.pipeline_id,
    version: v.version,
    status: v.valid ? 'valid' : 'draft',
    nodes: v.nodes,
    problems: v.problems,
    created_at: v.created_at,
    created_by: v.created_by,
  };
}

export async function findPipeline(id: string): Promise<PipelineItem | undefined> {
  return getItem<PipelineItem>(pipelineKey(id));
}

export async function requirePipeline(id: string): Promise<PipelineItem> {
  const item = await findPipeline(id);
  if (!item) throw new NotFoundError('PIPELINE', id);
  return item;
}

export async function requireVersion(
  pipeline: PipelineItem,
  version = pipeline.version,
): Promise<VersionItem> {
  const item = await getItem<VersionItem>(pipelineKey(pipeline.id), versionSk(version));
  if (!item || version > pipeline.version)
    throw new NotFoundError('PIPELINE_VERSION', `${pipeline.id}/v${version}`);
  return item;
}

/** Looks catalog references up in the store, for validation. */
export const catalogEnv = (): ValidationEnv => ({
  allowedBuckets: platform().settings.pipelines.buckets,
  async resolveCollection(database) {
    const collection = await findCollectionByRef(database);
    return collection ? { collectionId: collection.id } : undefined;
  },
  async resolveDataset(collectionId, table) {
    const dataset = await findDatasetByRef(collectionId, table);
    if (!dataset) return undefined;
    const fields: Field[] = dataset.columns.map((c) => ({ name: c.name, type: fieldTypeOfColumn(c.type) }));
    return { datasetId: dataset.id, fields };
  },
});

export function planOf(result: ValidationResult): PlanNode[] {
  return result.order.map((key) => {
    const node = result.nodes[key] as ParsedNode;
    const def = nodeType(node.type);
    const catalog = result.datasets[key];
    // `type` is the node's own type, which TypeScript cannot pair with `node` across the union.
    return {
      key,
      step: result.stepNames[key] ?? node.name,
      type: node.type,
      kind: def?.kind ?? 'transform',
      parents: node.parentNodeIds.map(String),
      node,
      fields: result.outputs[key] ?? null,
      ...(catalog ? { catalog } : {}),
    } as PlanNode;
  });
}

/** Validates nodes; the response lists every problem, each naming its node and field. */
export async function verifyNodes(nodes: unknown[]) {
  const result = await validatePipeline(nodes, catalogEnv());
  return { result, echoed: echoed(nodes, result) };
}

function echoed(nodes: unknown[], result: ValidationResult): PipelineNode[] {
  // Nodes that parsed are echoed normalised (Data Flow adds `properties: []` to fields);
  // others as they were sent, so a draft keeps what the user typed.
  return nodes.map((raw) => {
    const key = raw && typeof raw === 'object' ? String((raw as PipelineNode).id) : undefined;
    const parsed = key !== undefined ? result.nodes[key] : undefined;
    return (parsed ? echoNode(parsed) : raw) as PipelineNode;
  });
}

async function writeVersion(
  pipelineId: string,
  version: number,
  nodes: unknown[],
  principal: Pick<Principal, 'username'>,
): Promise<VersionItem> {
  const { result, echoed: shown } = await verifyNodes(nodes);
  const item: VersionItem = {
    pk: pipelineKey(pipelineId),
    sk: versionSk(version),
    pipeline_id: pipelineId,
    version,
    nodes: shown,
    valid: result.valid,
    problems: result.problems,
    plan: result.valid ? planOf(result) : [],
    created_at: new Date().toISOString(),
    created_by: principal.username,
  };
  // Room is kept for the engine references recorded when the version is deployed.
  checkStorable(item, 'body.nodes', 16 * 1024);
  // Versions are immutable: a second writer of the same number lost the race.
  const written = await putItem(item, {
    ConditionExpression: 'attribute_not_exists(pk) OR created_at < :stale',
    ExpressionAttributeValues: { ':stale': new Date(Date.now() - 5 * 60_000).toISOString() },
  });
  if (!written)
    throw new ConflictError('The pipeline was changed by someone else meanwhile; load it and try again.');
  return item;
}

export async function createPipeline(input: z.output<typeof createPipelineSchema>, principal: Principal) {
  const collection = await requireCollection(input.collection_id);
  const { item, version } = await insertPipeline({ ...input, collection_id: collection.id }, principal);
  return { ...pipelineView(item), nodes: version.nodes, problems: version.problems };
}

export interface NewPipeline {
  name: string;
  description?: string;
  /** Absent for jobs made through the Data Flow API (they belong to no collection). */
  collection_id?: string;
  nodes?: unknown[];
  max_concurrent_runs?: number;
  timeout_minutes?: number;
  num_workers?: number;
  worker_type?: string;
  engine?: EngineChoice;
  is_temp?: boolean;
}

/**
 * A pipeline set to ATHENA must be able to run every stage there: it is checked when the setting
 * or the nodes are saved, failing on `engine` (engine-choice.ts). Nodes with other problems are
 * left to the version's own validation (a draft cannot run anyway).
 */
async function requireAthenaFits(plan: readonly PlanNode[]): Promise<void> {
  await resolveEngines(plan, 'ATHENA');
}

/** The plan of nodes not saved yet (none while they have problems). */
async function planOfNodes(nodes: unknown[]): Promise<PlanNode[]> {
  const { result } = await verifyNodes(nodes);
  return result.valid ? planOf(result) : [];
}

/** Writes a new pipeline (v1 of its nodes); both the D.Hub and the Data Flow API create through here. */
export async function insertPipeline(input: NewPipeline, principal: Pick<Principal, 'username'>) {
  const id = newId('pipeline');
  if (input.engine === 'ATHENA') await requireAthenaFits(await planOfNodes(input.nodes ?? []));
  const version = await writeVersion(id, 1, input.nodes ?? [], principal);
  const now = version.created_at;
  const item: PipelineItem = {
    pk: pipelineKey(id),
    sk: 'META',
    gsi1pk: 'PIPELINES',
    gsi1sk: id,
    ...(input.collection_id ? { gsi2pk: collectionKey(input.collection_id), gsi2sk: `PL#${id}` } : {}),
    id,
    name: input.name,
    description: input.description ?? '',
    collection_id: input.collection_id ?? '',
    version: 1,
    valid: version.valid,
    created_at: now,
    updated_at: now,
    created_by: principal.username,
    max_concurrent_runs: input.max_concurrent_runs ?? DEFAULT_MAX_CONCURRENT_RUNS,
    timeout_minutes: input.timeout_minutes ?? platform().settings.pipelines.defaultTimeoutMinutes,
    num_workers: input.num_workers ?? DEFAULT_NUM_WORKERS,
    ...(input.worker_type ? { worker_type: input.worker_type } : {}),
    ...(input.engine ? { engine: input.engine } : {}),
    ...(input.is_temp ? { is_temp: true } : {}),
    ...(version.valid && !input.is_temp ? { verified_version: 1 } : {}),
    active_runs: 0,
  };
  await putItem(item);
  return { item, version };
}

export async function listPipelines(collectionId: string | undefined, limit?: number, token?: string) {
  const request = pageRequest(limit, token);
  const page = collectionId
    ? await queryPage<PipelineItem>(
        {
          index: 'gsi2',
          partition: collectionKey((await requireCollection(collectionId)).id),
          sortPrefix: 'PL#',
        },
        request,
      )
    : await queryPage<PipelineItem>({ index: 'gsi1', partition: 'PIPELINES' }, request);
  return dhubList(page.items.map(pipelineView), page.next);
}

export async function getPipeline(id: string) {
  const pipeline = await requirePipeline(id);
  const version = await requireVersion(pipeline);
  return { ...pipelineView(pipeline), nodes: version.nodes, problems: version.problems };
}

/**
 * Changes a pipeline. New nodes make a new version; name, description and run settings
 * change in place (they are not part of what a batch runs).
 */
export async function updatePipeline(
  id: string,
  input: z.output<typeof updatePipelineSchema> & {
    worker_type?: string;
    /** Data Flow's isTemp: true saves a draft; false clears it. */
    is_temp?: boolean;
    /** The caller verified these nodes (a Data Flow save): a valid version counts as verified. */
    verify?: boolean;
  },
  principal: Principal,
  /** Starts the pipeline's waiting runs (runs.ts `dispatchPending`), called when it gets more slots. */
  dispatchPending: (pipelineId: string) => Promise<unknown>,
) {
  const current = await requirePipeline(id);
  if ((input.engine ?? current.engine) === 'ATHENA' && (input.engine === 'ATHENA' || input.nodes)) {
    await requireAthenaFits(
      input.nodes ? await planOfNodes(input.nodes) : (await requireVersion(current)).plan,
    );
  }
  const version = input.nodes
    ? await writeVersion(id, current.version + 1, input.nodes, principal)
    : await requireVersion(current);
  const sets: string[] = ['updated_at = :now'];
  const values: Record<string, unknown> = { ':now': new Date().toISOString(), ':prev': current.version };
  const names: Record<string, string> = {};
  const assign = (attr: string, value: unknown) => {
    if (value === undefined) return;
    names[`#${attr}`] = attr;
    values[`:${attr}`] = value;
    sets.push(`#${attr} = :${attr}`);
  };
  assign('name', input.name);
  assign('description', input.description);
  assign('max_concurrent_runs', input.max_concurrent_runs);
  assign('timeout_minutes', input.timeout_minutes);
  assign('num_workers', input.num_workers);
  assign('worker_type', input.worker_type);
  assign('engine', input.engine);
  assign('is_temp', input.is_temp);
  if (input.verify && version.valid && !input.is_temp) assign('verified_version', version.version);
  if (input.nodes) {
    assign('version', version.version);
    assign('valid', version.valid);
  }
  const updated = await updateItem<PipelineItem>(pipelineKey(id), 'META', {
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: 'attribute_exists(pk) AND #v = :prev',
    ExpressionAttributeNames: { ...names, '#v': 'version' },
    ExpressionAttributeValues: values,
  });
  if (!updated) {
    if (input.nodes) await deleteItem(pipelineKey(id), versionSk(version.version));
    throw new ConflictError('The pipeline was changed by someone else meanwhile; load it and try again.');
  }
  if (updated.max_concurrent_runs > current.max_concurrent_runs) {
    // More slots may let waiting runs start.
    await dispatchPending(id);
  }
  return { ...pipelineView(updated), nodes: version.nodes, problems: version.problems };
}

export async function listVersions(id: string) {
  const pipeline = await requirePipeline(id);
  const items = await queryAll<VersionItem>({
    partition: pipelineKey(id),
    sortPrefix: 'VER#',
    newestFirst: true,
  });
  return {
    pipeline_id: id,
    current_version: pipeline.version,
    items: items
      .filter((v) => v.version <= pipeline.version)
      .map((v) => ({
        version: v.version,
        status: v.valid ? 'valid' : 'draft',
        nodes: v.nodes.length,
        problems: v.problems.length,
        created_at: v.created_at,
        created_by: v.created_by,
        current: v.version === pipeline.version,
      })),
  };
}

export async function getVersion(id: string, version: number) {
  const pipeline = await requirePipeline(id);
  return versionView(await requireVersion(pipeline, version));
}

/** Verifies the saved nodes again (datasets and buckets may have changed since saving). */
export async function verifyPipeline(id: string, version?: number) {
  const pipeline = await requirePipeline(id);
  const saved = await requireVersion(pipeline, version);
  const { result } = await verifyNodes(saved.nodes);
  if (result.valid && saved.version === pipeline.version) await markVerified(id, saved.version);
  return { pipeline_id: id, version: saved.version, valid: result.valid, problems: result.problems };
}

/** Records that `version` was found valid (it is the current one unless it moved meanwhile). */
export async function markVerified(id: string, version: number): Promise<void> {
  await updateItem(pipelineKey(id), 'META', {
    UpdateExpression: 'SET verified_version = :v',
    ConditionExpression: 'attribute_exists(pk) AND #version = :v',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':v': version },
  });
}

/** Records the engine reference of a deployed version (first writer wins; both are usable). */
export async function recordDeployment(
  pipelineId: string,
  version: number,
  settingsKey: string,
  ref: string,
): Promise<void> {
  // The map is created with the version item's first deployment, then filled per key.
  const names = { '#refs': 'engine_refs', '#k': settingsKey };
  const filled = await updateItem(pipelineKey(pipelineId), versionSk(version), {
    UpdateExpression: 'SET #refs.#k = if_not_exists(#refs.#k, :ref)',
    ConditionExpression: 'attribute_exists(pk) AND attribute_exists(#refs)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ':ref': ref },
  });
  if (filled) return;
  await updateItem(pipelineKey(pipelineId), versionSk(version), {
    UpdateExpression: 'SET #refs = :refs',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#refs)',
    ExpressionAttributeNames: { '#refs': 'engine_refs' },
    ExpressionAttributeValues: { ':refs': { [settingsKey]: ref } },
  });
}

export function requireRunnable(pipeline: PipelineItem, version: VersionItem): void {
  if (version.valid) return;
  const first = version.problems
    .slice(0, 3)
    .map((p) => (p.nodeId ? `node ${p.nodeId} ${p.field}: ${p.message}` : `${p.field}: ${p.message}`))
    .join('; ');
  throw new BadStateError(
    `Pipeline ${pipeline.id} version ${version.version} is a draft with ${version.problems.length} problem(s) and cannot run: ${first}. POST /api/v1/pipelines/${pipeline.id}/verify lists them all.`,
  );
}

/** Deletes a pipeline with its versions. Runs must be finished (or `force` stops them first). */
export async function deletePipeline(
  id: string,
  force: boolean,
  removeRuns: (pipelineId: string, force: boolean) => Promise<void>,
  removeDeployment: (pipelineId: string) => Promise<void>,
): Promise<void> {
  await requirePipeline(id);
  await removeRuns(id, force);
  await removeDeployment(id);
  const versions = await queryAll<Item & { sk: string }>({ partition: pipelineKey(id), sortPrefix: 'VER#' });
  for (const v of versions) await deleteItem(pipelineKey(id), v.sk);
  await deleteItem(pipelineKey(id));
}

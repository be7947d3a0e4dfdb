/** Responses of pipelines and their versions, batches (runs) and traces. */
import * as z from 'zod';
import {
  created,
  dhubList,
  done,
  int,
  isoTime,
  json,
  nodeId,
  type OperationResponses,
  object,
  ok,
} from './shapes.ts';

/** A node as it was saved: Data Flow's ETLJobNode (a draft's node may lack any field). */
export const nodeSchema = object({
  id: nodeId().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  parentNodeIds: z.array(nodeId()).optional(),
}).meta({
  id: 'Node',
  description: 'An ETLJobNode as saved: the common fields and its type’s own (see the request schemas)',
});

/** One thing wrong with a pipeline's nodes. */
export const pipelineProblemSchema = object({
  nodeId: z.string().nullable().meta({ description: 'Null for a problem of the whole graph' }),
  nodeName: z.string().optional(),
  field: z.string().meta({ description: 'Path inside the node, e.g. `filterConditionList.0.name`' }),
  message: z.string(),
}).meta({ id: 'PipelineProblem' });

const versionStatus = z.enum(['valid', 'draft']);

const pipelineSchema = object({
  id: z.string().meta({ description: '`pl-…`' }),
  name: z.string(),
  description: z.string(),
  collection_id: z.string().nullable().meta({ description: 'Null for a job made through Data Flow' }),
  version: int().meta({ description: 'The latest version' }),
  status: versionStatus,
  max_concurrent_runs: int(),
  timeout_minutes: int(),
  num_workers: int(),
  created_at: isoTime(),
  updated_at: isoTime(),
  created_by: z.string(),
}).meta({ id: 'Pipeline' });

const pipelineDetailSchema = pipelineSchema
  .extend({ nodes: z.array(nodeSchema), problems: z.array(pipelineProblemSchema) })
  .meta({
    id: 'PipelineDetail',
    description: 'A pipeline with the nodes and problems of its latest version',
  });

const stepState = z.enum(['none', 'pending', 'running', 'success', 'failed']);
export const batchStatus = z.enum(['pending', 'scheduled', 'running', 'stop', 'completed', 'failed']);

export const batchSchema = object({
  id: z.string().meta({ description: '`batch-…`' }),
  pipeline_id: z.string(),
  pipeline_version: int(),
  name: z.string(),
  deployment: z.string().meta({ description: '`run-pipeline/<pipeline name>`' }),
  status: batchStatus,
  created_at: isoTime(),
  started_at: isoTime().nullable(),
  finished_at: isoTime().nullable(),
  error: z.string().optional().meta({ description: 'Why it failed or stopped' }),
  trigger_id: z.string().optional(),
  trigger_name: z.string().optional(),
  workflow_execution_id: z.string().optional(),
  rerun_of: z.string().optional().meta({ description: 'The batch this one reruns' }),
  reused_stages: z.array(z.string()).optional().meta({ description: 'Stages taken from `rerun_of`' }),
  state: object({
    state: batchStatus,
    steps: z.record(
      z.string(),
      object({
        state: stepState,
        offsets: z.record(z.string(), int()).meta({ description: 'Rows per partition (`partition_0`, …)' }),
      }),
    ),
  }),
}).meta({ id: 'Batch' });

const sampleSchema = object({ columns: z.array(z.string()), rows: z.array(z.array(z.unknown())) })
  .nullable()
  .meta({ description: 'The first rows the node wrote' });

const traceSchema = object({
  node_id: z.string(),
  node_name: z.string(),
  node_type: z.string(),
  state: z.enum(['running', 'success', 'failed']),
  started_at: isoTime(),
  finished_at: isoTime().nullable(),
  duration_ms: z.number().nullable(),
  rows_in: int(),
  rows_out: int(),
  bytes_in: int(),
  bytes_out: int(),
  partitions: int().optional(),
  error: z.string().nullable(),
  logs: z.array(z.string()),
  sample: sampleSchema,
  reused: z.literal(true).optional(),
  reused_from: z.string().optional().meta({ description: 'The batch whose result a rerun took' }),
}).meta({ id: 'NodeTrace' });

const epochMs = () => int().nullable().meta({ description: 'Epoch milliseconds' });

const stepTraceFields = {
  state: z.string().meta({ description: 'none, pending, running, completed or failed' }),
  offsets: z
    .record(z.string(), int())
    .meta({ description: '`records` (rows written) and the rows per partition' }),
  comment: z.string().nullable(),
  stacktrace: z.string().nullable().meta({ description: 'The step’s error message' }),
  start_time: epochMs(),
  end_time: epochMs(),
  node_id: z.string().optional(),
  node_type: z.string().optional(),
};

const traceObjectSchema = object({
  id: z.string(),
  name: z.string(),
  deployment: z.string(),
  state: object({ state: batchStatus, steps: z.record(z.string(), object(stepTraceFields)) }),
  start_time: epochMs(),
  end_time: epochMs(),
  pipeline_id: z.string(),
  pipeline_version: int(),
}).meta({ id: 'Trace', description: 'A batch as the D.Hub Traces API shows it' });

const traceHistorySchema = object({
  items: z
    .record(z.string(), traceObjectSchema)
    .meta({ description: 'Trace objects by batch id, newest first' }),
  token: z.string().nullable(),
});

const problems = z.array(pipelineProblemSchema);

export const pipelines = {
  createPipeline: created(pipelineDetailSchema),
  listPipelines: ok(dhubList(pipelineSchema, 'Pipeline')),
  getPipeline: ok(pipelineDetailSchema),
  updatePipeline: ok(pipelineDetailSchema, 'Changed; new nodes make a new version'),
  deletePipeline: done('The pipeline is deleted'),
  listPipelineVersions: ok(
    object({
      pipeline_id: z.string(),
      current_version: int(),
      items: z.array(
        object({
          version: int(),
          status: versionStatus,
          nodes: int().meta({ description: 'How many nodes' }),
          problems: int().meta({ description: 'How many problems' }),
          created_at: isoTime(),
          created_by: z.string(),
          current: z.boolean(),
        }),
      ),
    }),
    'The versions, newest first',
  ),
  getPipelineVersion: ok(
    object({
      pipeline_id: z.string(),
      version: int(),
      status: versionStatus,
      nodes: z.array(nodeSchema),
      problems,
      created_at: isoTime(),
      created_by: z.string(),
    }),
  ),
  getPipelineVersionPlan: ok(
    object({
      pipeline_id: z.string(),
      version: int(),
      stages: z.array(
        object({
          id: z.string().meta({ description: '`s1`, `s2`, … in topological order' }),
          engine: z.enum(['AUTO', 'DUCKDB', 'ATHENA']),
          partitioned: z.boolean(),
          source: z.string().optional().meta({ description: 'The source a partitioned stage runs over' }),
          nodes: z.array(object({ id: z.string(), name: z.string(), type: z.string() })),
          after: z.array(z.string()).meta({ description: 'Stages whose outputs it reads' }),
          outputs: z.array(z.string()),
          targets: z.array(z.string()),
          boundaries: z.array(
            object({
              reason: z.enum(['partitions', 'all-rows', 'target', 'engine', 'materialize']),
              detail: z.string(),
            }),
          ),
        }),
      ),
      definition: object({}).meta({
        description: 'The compiled state machine definition (Amazon States Language)',
      }),
    }),
    'How the version runs',
  ),
  verifyPipeline: ok(
    object({ pipeline_id: z.string(), version: int(), valid: z.boolean(), problems }),
    'The saved nodes checked again',
  ),
  runPipeline: ok(
    object({
      batch_id: z.string(),
      status: batchStatus.meta({ description: '`running`, or the state a quick run already reached' }),
      started_at: isoTime(),
    }),
    'The run is started (or queued behind the pipeline’s running batches)',
  ),
  createBatch: ok(
    object({ item: z.string().meta({ description: 'The new batch’s id' }) }),
    'The run is started',
  ),
  getBatchByRef: ok(batchSchema, 'The batch (`batch-…`), or the pipeline’s latest batch (`pl-…`)'),
  getBatch: ok(batchSchema),
  batchesProxy: {
    '200': json(
      '`{pipeline_id}/`: the batches, newest first; `{pipeline_id}/{batch_id}/` or `{ref}/`: one batch',
      z.union([dhubList(batchSchema, 'Batch'), batchSchema]),
    ),
  },
  stopBatch: done('The batch is stopped'),
  rerunBatch: created(batchSchema, 'The new batch; `rerun_of` names the original'),
  deleteBatch: done('The batch is deleted (stopped first when running)'),
  listTraces: ok(
    object({
      pipeline_id: z.string(),
      batch_id: z.string(),
      status: batchStatus,
      started_at: isoTime().nullable(),
      finished_at: isoTime().nullable(),
      error: z.string().optional(),
      traces: z.array(traceSchema),
    }),
    'The per-node records of the batch (or of the pipeline’s latest)',
  ),
  getLatestTrace: ok(traceObjectSchema),
  getBatchTrace: ok(traceObjectSchema),
  tracesProxy: {
    '200': json(
      '`{pipeline_id}/`: the trace objects of the batches, newest first; `{pipeline_id}/{batch_id}/`: one',
      z.union([traceHistorySchema, traceObjectSchema]),
    ),
  },
  getStepTraces: ok(
    object({
      id: z.string(),
      pipeline_id: z.string(),
      state: batchStatus,
      start_time: epochMs(),
      end_time: epochMs(),
      steps: z.record(
        z.string(),
        object({
          ...stepTraceFields,
          rows_in: int(),
          rows_out: int(),
          bytes_in: int(),
          bytes_out: int(),
          duration_ms: z.number().nullable(),
          logs: z.array(z.string()),
          sample: sampleSchema,
        }),
      ),
    }),
    'Every step of the batch with all that was recorded, in execution order',
  ),
} satisfies Record<string, OperationResponses>;

export const listedPipelineSchemas = { Pipeline: pipelineSchema, Batch: batchSchema };

/**
 * Pipelines area: pipelines and their versions, batches (runs) and traces. It also answers the
 * trailing-slash forms of the D.Hub collection routes (`POST /api/v1/datasets/`, ...; see
 * routes.ts), borrowing the catalog's create/list/get operations, which only touch the table
 * this function already writes.
 */
import * as z from 'zod';
import { catalogBasics } from '#core/catalog/operations';
import { deleteJob } from '#core/dataflow/jobs';
import { NotFoundError } from '#core/errors';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import {
  createPipeline,
  createPipelineSchema,
  getPipeline,
  getVersion,
  listPipelines,
  listPipelinesQuerySchema,
  listVersions,
  updatePipeline,
  updatePipelineSchema,
  verifyPipeline,
} from '#core/pipelines/pipelines';
import { getVersionPlan } from '#core/pipelines/plan-view';
import {
  batchByRef,
  batchView,
  createRun,
  deleteBatch,
  dispatchPending,
  listBatches,
  parseBatchPath,
  requireBatch,
  rerunBatch,
  stopBatch,
} from '#core/pipelines/runs';
import {
  batchTrace,
  latestTrace,
  listTraces,
  parseTracePath,
  stepTraces,
  traceHistory,
} from '#core/pipelines/traces';
import { stepFunctionsEngine } from '#core/platform/aws/engine';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { eventBridgeTriggers } from '#core/platform/aws/triggers';
import { onAws } from '#core/platform/lambda';
import { forceQuerySchema, listQuerySchema, parametersSchema } from '#core/schemas';

const pipelineParams = z.object({ pipeline_id: z.string().max(64) });
const batchParams = z.object({ pipeline_id: z.string().max(64), batch_id: z.string().max(64) });
const versionNumber = z.coerce.number().int().min(1).max(999_999_999);

const runBody = z.object({
  parameters: parametersSchema.optional(),
  pipeline_version: versionNumber.optional(),
});

/** The operations of the pipelines routes (the OpenAPI document reads their schemas). */
export const operations = {
  createPipeline: operation({
    body: createPipelineSchema,
    run: async ({ body, principal }) => reply(201, await createPipeline(body, principal)),
  }),
  listPipelines: operation({
    query: listPipelinesQuerySchema,
    run: ({ query }) => listPipelines(query.collection_id, query.limit, query.token),
  }),
  getPipeline: operation({
    params: pipelineParams,
    run: ({ params }) => getPipeline(params.pipeline_id),
  }),
  updatePipeline: operation({
    params: pipelineParams,
    body: updatePipelineSchema,
    run: ({ params, body, principal }) =>
      updatePipeline(params.pipeline_id, body, principal, dispatchPending),
  }),
  deletePipeline: operation({
    params: pipelineParams,
    query: forceQuerySchema,
    async run({ params, query }) {
      await deleteJob(params.pipeline_id, query.force, 'PIPELINE');
      return { message: 'Pipeline deleted successfully' };
    },
  }),
  listPipelineVersions: operation({
    params: pipelineParams,
    run: ({ params }) => listVersions(params.pipeline_id),
  }),
  getPipelineVersion: operation({
    params: pipelineParams.extend({ version: versionNumber }),
    run: ({ params }) => getVersion(params.pipeline_id, params.version),
  }),
  getPipelineVersionPlan: operation({
    params: pipelineParams.extend({ version: versionNumber }),
    run: ({ params }) => getVersionPlan(params.pipeline_id, params.version),
  }),
  verifyPipeline: operation({
    params: pipelineParams,
    query: z.object({ version: versionNumber.optional() }),
    run: ({ params, query }) => verifyPipeline(params.pipeline_id, query.version),
  }),
  runPipeline: operation({
    params: pipelineParams,
    body: runBody,
    async run({ params, body, principal }) {
      const { batch, started } = await createRun(params.pipeline_id, {
        principal,
        ...(body.pipeline_version ? { version: body.pipeline_version } : {}),
        ...(body.parameters ? { parameters: body.parameters } : {}),
      });
      // The status the run was given: a quick run may have finished before this answer.
      return {
        batch_id: batch.id,
        status: started ? 'running' : batch.status,
        started_at: batch.started_at ?? batch.created_at,
      };
    },
  }),
  createBatch: operation({
    params: pipelineParams,
    query: z.object({ pipeline_version: versionNumber.optional() }),
    async run({ params, query, principal }) {
      const { batch } = await createRun(params.pipeline_id, {
        principal,
        ...(query.pipeline_version ? { version: query.pipeline_version } : {}),
      });
      return { item: batch.id };
    },
  }),
  getBatchByRef: operation({
    params: z.object({ batch_ref: z.string().max(64) }),
    run: async ({ params }) => batchView(await batchByRef(params.batch_ref)),
  }),
  getBatch: operation({
    params: batchParams,
    run: async ({ params }) => batchView(await requireBatch(params.batch_id, params.pipeline_id)),
  }),
  batchesProxy: operation({
    params: z.object({ proxy: z.string().max(200) }),
    query: listQuerySchema,
    async run({ params, query }) {
      const form = parseBatchPath(params.proxy);
      if (form.kind === 'list') return listBatches(form.pipelineId, query.limit, query.token);
      if (form.kind === 'one') return batchView(await requireBatch(form.batchId, form.pipelineId));
      return batchView(await batchByRef(form.ref));
    },
  }),
  stopBatch: operation({
    params: batchParams,
    async run({ params }) {
      await stopBatch(params.pipeline_id, params.batch_id);
      return { message: 'Batch stopped successfully' };
    },
  }),
  rerunBatch: operation({
    params: batchParams,
    query: z.object({ pipeline_version: versionNumber.optional() }),
    async run({ params, query, principal }) {
      const { batch } = await rerunBatch(params.pipeline_id, params.batch_id, {
        principal,
        ...(query.pipeline_version !== undefined ? { version: query.pipeline_version } : {}),
      });
      return reply(201, batchView(batch));
    },
  }),
  deleteBatch: operation({
    params: batchParams,
    async run({ params }) {
      await deleteBatch(params.pipeline_id, params.batch_id);
      return { message: 'Batch deleted successfully' };
    },
  }),
  listTraces: operation({
    query: z.object({ pipeline_id: z.string().max(64).optional(), batch_id: z.string().max(64).optional() }),
    run: ({ query }) => listTraces(query.pipeline_id, query.batch_id),
  }),
  getLatestTrace: operation({
    params: pipelineParams,
    run: ({ params }) => latestTrace(params.pipeline_id),
  }),
  getBatchTrace: operation({
    params: batchParams,
    run: ({ params }) => batchTrace(params.pipeline_id, params.batch_id),
  }),
  tracesProxy: operation({
    params: z.object({ proxy: z.string().max(200) }),
    query: listQuerySchema,
    async run({ params, query }) {
      const form = parseTracePath(params.proxy);
      if (form?.kind === 'history') return traceHistory(form.pipelineId, query.limit, query.token);
      if (form?.kind === 'one') return batchTrace(form.pipelineId, form.batchId);
      throw new NotFoundError('BATCH', params.proxy);
    },
  }),
  getStepTraces: operation({
    params: z.object({ batch_id: z.string().max(64) }),
    run: ({ params }) => stepTraces(params.batch_id),
  }),
} satisfies AreaOperations<'pipelines'>;

export const handler = onAws(
  {
    stores: awsStores,
    engine: stepFunctionsEngine,
    events: eventBridgeEvents,
    triggers: eventBridgeTriggers,
  },
  areaHandler('pipelines', operations, {
    // The catalog's create/list/get, reachable through a trailing slash (`/collections/`, `/datasets/`).
    catalog: catalogBasics,
  }),
);

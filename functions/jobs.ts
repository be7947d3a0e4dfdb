/** Data Flow jobs area: jobs (pipelines), their executions (batches) and the dashboard stats. */
import * as z from 'zod';
import {
  createJob,
  createJobSchema,
  deleteJob,
  executeConfigSchema,
  executeJob,
  executeJobSchema,
  getExecution,
  getJob,
  listExecutions,
  listJobs,
  listJobsSchema,
  updateExecuteConfig,
  updateJob,
  updateJobSchema,
  verifyJob,
  verifyJobSchema,
} from '#core/dataflow/jobs';
import { executionCount, executionResult, executionTimes, statsQuerySchema } from '#core/dataflow/stats';
import { pageQuerySchema } from '#core/dataflow/views';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import { stepFunctionsEngine } from '#core/platform/aws/engine';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { eventBridgeTriggers } from '#core/platform/aws/triggers';
import { onAws } from '#core/platform/lambda';
import { forceQuerySchema } from '#core/schemas';

const jobParams = z.object({ job_id: z.string().max(64) });

/** The operations of the jobs routes (the OpenAPI document reads their schemas). */
export const operations = {
  getJobs: operation({ query: listJobsSchema, run: ({ query }) => listJobs(query) }),
  createJob: operation({
    body: createJobSchema,
    run: ({ body, principal }) => createJob(body, principal),
  }),
  verifyJob: operation({ body: verifyJobSchema, run: ({ body }) => verifyJob(body) }),
  getJobById: operation({ params: jobParams, run: ({ params }) => getJob(params.job_id) }),
  updateJob: operation({
    params: jobParams,
    body: updateJobSchema,
    run: ({ params, body, principal }) => updateJob(params.job_id, body, principal),
  }),
  deleteJob: operation({
    params: jobParams,
    query: forceQuerySchema,
    async run({ params, query }) {
      await deleteJob(params.job_id, query.force);
      return reply(204, undefined);
    },
  }),
  executeJob: operation({
    params: jobParams,
    body: executeJobSchema,
    run: ({ params, body, principal }) => executeJob(params.job_id, body, principal),
  }),
  getJobExecutions: operation({
    params: jobParams,
    query: pageQuerySchema,
    run: ({ params, query }) => listExecutions(params.job_id, query.page, query.limit),
  }),
  getJobExecutionById: operation({
    params: z.object({ job_id: z.string().max(64), execution_id: z.string().max(64) }),
    run: ({ params }) => getExecution(params.job_id, params.execution_id),
  }),
  updateJobExecuteConfig: operation({
    params: jobParams,
    body: executeConfigSchema,
    run: ({ params, body, principal }) => updateExecuteConfig(params.job_id, body, principal),
  }),
  getExecutionResult: operation({ query: statsQuerySchema, run: ({ query }) => executionResult(query) }),
  getExecutionCount: operation({ query: statsQuerySchema, run: ({ query }) => executionCount(query) }),
  getExecutionTimes: operation({ query: statsQuerySchema, run: ({ query }) => executionTimes(query) }),
} satisfies AreaOperations<'jobs'>;

export const handler = onAws(
  {
    stores: awsStores,
    engine: stepFunctionsEngine,
    events: eventBridgeEvents,
    triggers: eventBridgeTriggers,
  },
  areaHandler('jobs', operations),
);

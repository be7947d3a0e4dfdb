/**
 * Data Flow workflows area: workflows (DAGs of jobs and triggers) and their executions.
 * getWorkflowExecutions lists job executions (Data Flow's shape); `?view=runs` lists the
 * workflow executions, each with its job executions.
 */
import * as z from 'zod';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import { stepFunctionsEngine } from '#core/platform/aws/engine';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import {
  executeWorkflow,
  getWorkflowExecution,
  listWorkflowExecutions,
  listWorkflowExecutionsSchema,
} from '#core/workflows/executions';
import {
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  listWorkflowsSchema,
  updateWorkflow,
  workflowBodySchema,
} from '#core/workflows/workflows';

const workflowParams = z.object({ workflow_id: z.string().max(64) });

/** The operations of the workflows routes (the OpenAPI document reads their schemas). */
export const operations = {
  getWorkflows: operation({ query: listWorkflowsSchema, run: ({ query }) => listWorkflows(query) }),
  createWorkflow: operation({
    body: workflowBodySchema,
    run: ({ body, principal }) => createWorkflow(body, principal),
  }),
  getWorkflowById: operation({
    params: workflowParams,
    run: ({ params }) => getWorkflow(params.workflow_id),
  }),
  updateWorkflow: operation({
    params: workflowParams,
    body: workflowBodySchema,
    run: ({ params, body }) => updateWorkflow(params.workflow_id, body),
  }),
  deleteWorkflow: operation({
    params: workflowParams,
    async run({ params }) {
      await deleteWorkflow(params.workflow_id);
      return reply(204, undefined);
    },
  }),
  getWorkflowExecutions: operation({
    params: workflowParams,
    query: listWorkflowExecutionsSchema,
    run: ({ params, query }) => listWorkflowExecutions(params.workflow_id, query),
  }),
  executeWorkflow: operation({
    params: workflowParams,
    run: ({ params, principal }) => executeWorkflow(params.workflow_id, principal),
  }),
  getWorkflowExecutionById: operation({
    params: workflowParams.extend({ execution_id: z.string().max(64) }),
    run: ({ params }) => getWorkflowExecution(params.workflow_id, params.execution_id),
  }),
} satisfies AreaOperations<'workflows'>;

export const handler = onAws(
  { stores: awsStores, engine: stepFunctionsEngine },
  areaHandler('workflows', operations),
);

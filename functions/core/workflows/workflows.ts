/**
 * Data Flow workflows: DAGs of jobs (pipelines) and triggers, stored as `WF#{id}` items listed
 * through the `WORKFLOWS` partition of gsi1. A workflow is saved only when valid (every problem
 * is answered at once, per node); the jobs it names are checked again when it runs, since they
 * may have changed or gone meanwhile. Executions live in executions.ts.
 */
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { dataflowDate, dataflowNameSchema, dataflowPage, pageQuerySchema } from '../dataflow/views.ts';
import { deleteItem, getItem, type Item, putNew, queryAll, updateItem } from '../db.ts';
import { engine } from '../engine/engine.ts';
import { BadStateError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import { workflowNodesSchema } from '../pipelines/node-shape.ts';
import { findPipeline } from '../pipelines/pipelines.ts';
import { validateWorkflow, type WorkflowNode, type WorkflowProblem } from './model.ts';

export const workflowBodySchema = z.object({
  name: dataflowNameSchema,
  description: z.string().max(2000, 'must be at most 2000 characters').optional(),
  nodes: workflowNodesSchema,
});

export const listWorkflowsSchema = pageQuerySchema.extend({ name: z.string().max(100).optional() });

/** Workflow execution statuses (the Data Flow execution statuses). */
export type WorkflowExecutionStatus = 'READY' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export const ACTIVE_STATUSES: readonly WorkflowExecutionStatus[] = ['READY', 'RUNNING'];

export interface WorkflowItem extends Item {
  id: string;
  name: string;
  description: string;
  nodes: WorkflowNode[];
  created_at: string;
  updated_at: string;
  created_by: string;
  /** The deployed definition (a state machine version ARN on AWS) and a digest of it. */
  engine_ref?: string;
  engine_digest?: string;
  last_execution_status?: WorkflowExecutionStatus;
  last_execution_at?: string;
}

export const workflowKey = (id: string) => `WF#${id}`;
export const executionKey = (id: string) => `WFX#${id}`;
/** gsi1 partition listing a workflow's executions (sort key: execution id, i.e. creation time). */
export const executionListKey = (workflowId: string) => `WFXS#${workflowId}`;
const LIST = 'WORKFLOWS';

export function workflowStatus(w: WorkflowItem): 'RUNNABLE' | 'RUNNING' {
  return w.last_execution_status && ACTIVE_STATUSES.includes(w.last_execution_status)
    ? 'RUNNING'
    : 'RUNNABLE';
}

export function workflowView(w: WorkflowItem) {
  return {
    workflowId: w.id,
    name: w.name,
    description: w.description,
    nodes: w.nodes,
    status: workflowStatus(w),
    createdDate: dataflowDate(w.created_at),
    updatedDate: dataflowDate(w.updated_at),
    lastExecutionStatus: w.last_execution_status ?? null,
    lastExecutionDate: dataflowDate(w.last_execution_at),
  };
}

export async function findWorkflow(id: string): Promise<WorkflowItem | undefined> {
  return getItem<WorkflowItem>(workflowKey(id));
}

export async function requireWorkflow(id: string): Promise<WorkflowItem> {
  const item = await findWorkflow(id);
  if (!item) throw new NotFoundError('WORKFLOW', id);
  return item;
}

/** The request's nodes, validated against the job store; a 400 listing every problem otherwise. */
async function checkedNodes(nodes: unknown[]): Promise<WorkflowNode[]> {
  const result = await validateWorkflow(nodes, async (jobId) => findPipeline(jobId));
  if (result.valid) return result.nodes;
  throw problemsError(result.problems);
}

export function problemsError(problems: WorkflowProblem[]): ValidationError {
  const errors = problems.map((p) => ({
    field:
      p.index !== undefined && !p.field.startsWith('nodes.')
        ? `body.nodes.${p.index}.${p.field}`
        : `body.${p.field}`,
    message: p.nodeId !== null ? `node ${p.nodeId}: ${p.message}` : p.message,
  }));
  const detail = `The workflow has ${problems.length} problem(s): ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`;
  return new ValidationError(detail, errors, {
    problems: problems.map(({ index: _index, ...problem }) => problem),
  });
}

export async function createWorkflow(input: z.output<typeof workflowBodySchema>, principal: Principal) {
  const nodes = await checkedNodes(input.nodes);
  const id = newId('workflow');
  const now = new Date().toISOString();
  const item: WorkflowItem = {
    pk: workflowKey(id),
    sk: 'META',
    gsi1pk: LIST,
    gsi1sk: id,
    id,
    name: input.name,
    description: input.description ?? '',
    nodes,
    created_at: now,
    updated_at: now,
    created_by: principal.username,
  };
  await putNew(item);
  return workflowView(item);
}

export async function getWorkflow(id: string) {
  return workflowView(await requireWorkflow(id));
}

export async function listWorkflows(q: z.output<typeof listWorkflowsSchema>) {
  const all = await queryAll<WorkflowItem>({ index: 'gsi1', partition: LIST, newestFirst: true });
  const needle = q.name?.toLowerCase();
  const matching = needle ? all.filter((w) => w.name.toLowerCase().includes(needle)) : all;
  return dataflowPage(matching.map(workflowView), q.page, q.limit);
}

/** Replaces name, description and nodes; the next execution deploys the changed definition. */
export async function updateWorkflow(id: string, input: z.output<typeof workflowBodySchema>) {
  await requireWorkflow(id);
  const nodes = await checkedNodes(input.nodes);
  const updated = await updateItem<WorkflowItem>(workflowKey(id), 'META', {
    UpdateExpression: 'SET #name = :name, description = :description, nodes = :nodes, updated_at = :now',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#name': 'name' },
    ExpressionAttributeValues: {
      ':name': input.name,
      ':description': input.description ?? '',
      ':nodes': nodes,
      ':now': new Date().toISOString(),
    },
  });
  if (!updated) throw new NotFoundError('WORKFLOW', id);
  return workflowView(updated);
}

/**
 * Deletes a workflow with its execution records and its state machine. The job runs it made
 * stay: they are the jobs' executions. A workflow with an execution in flight is not deleted.
 */
export async function deleteWorkflow(id: string): Promise<void> {
  await requireWorkflow(id);
  const executions = await queryAll<Item & { id: string; status: WorkflowExecutionStatus }>({
    index: 'gsi1',
    partition: executionListKey(id),
  });
  const active = executions.filter((e) => ACTIVE_STATUSES.includes(e.status));
  if (active.length > 0) {
    throw new BadStateError(
      `Workflow ${id} has ${active.length} execution(s) in flight (${active.map((e) => e.id).join(', ')}); wait for them to end.`,
    );
  }
  const { triggersOfJob } = await import('../triggers/triggers.ts');
  const triggers = await triggersOfJob(id);
  if (triggers.length > 0) {
    throw new ConflictError(
      `Workflow ${id} is the target of ${triggers.length} trigger(s) (${triggers.map((t) => t.name).join(', ')}); delete them first.`,
    );
  }
  await (await engine()).remove(id);
  for (const execution of executions) await deleteItem(executionKey(execution.id));
  await deleteItem(workflowKey(id));
}

/**
 * Data Flow workflows: DAGs of jobs (pipelines) and triggers (records: store.ts). Executions
 * live in executions.ts.
 *
 * Saving. With `isTemp` false (or absent) a workflow is saved only when valid: every problem is
 * answered at once, per node, as a 400. With `isTemp: true` it is a DRAFT: saved as given, its
 * problems stored and answered with it (`problems`), never run (executing it answers 409) and
 * never started by the triggers its TRIGGER nodes name (a draft is left out of the index that
 * firing reads). Saving it again with `isTemp: false` checks it and makes it runnable and armed.
 *
 * Deleted jobs and triggers. Jobs and triggers that a workflow names may be deleted (deleting one
 * is not refused on account of workflows). Every read looks the named jobs and triggers up (one
 * GetItem per distinct id), so a node whose job or trigger is gone answers `isValid: false` at
 * once; a workflow with such a JOB node refuses to run (409 naming the node), and a deleted
 * trigger starts nothing. Replacing the node (updateWorkflow) mends the workflow.
 */
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { jobConditionSchema } from '../dataflow/job-condition.ts';
import { runCondition } from '../dataflow/jobs.ts';
import { dataflowDate, dataflowNameSchema, dataflowPage, pageQuerySchema } from '../dataflow/views.ts';
import { deleteItem, type Item, putNew, queryAll, updateItem } from '../db.ts';
import { BadStateError, ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { workflowNodesSchema } from '../pipelines/node-shape.ts';
import { findPipeline, type PipelineItem } from '../pipelines/pipelines.ts';
import { platform } from '../platform/platform.ts';
import { findTrigger, type TriggerItem } from '../triggers/store.ts';
import { triggersOfJob } from '../triggers/triggers.ts';
import { ruleTypeOf } from '../triggers/views.ts';
import {
  type JobCondition,
  type ParseJobCondition,
  triggerIdsOf,
  validateWorkflow,
  type WorkflowNode,
  type WorkflowProblem,
} from './model.ts';
import {
  ACTIVE_STATUSES,
  executionKey,
  executionListKey,
  requireWorkflow,
  setTriggerRefs,
  WORKFLOW_LIST,
  type WorkflowExecutionStatus,
  type WorkflowItem,
  workflowKey,
} from './store.ts';

export const workflowBodySchema = z.object({
  name: dataflowNameSchema,
  description: z.string().max(2000, 'must be at most 2000 characters').optional(),
  /** Data Flow's isTemp: true saves a draft (see above). */
  isTemp: z.boolean({ error: 'must be true or false' }).optional(),
  nodes: workflowNodesSchema,
});

export const listWorkflowsSchema = pageQuerySchema.extend({ name: z.string().max(100).optional() });

export function workflowStatus(w: WorkflowItem): 'DRAFT' | 'RUNNABLE' | 'RUNNING' {
  if (w.last_execution_status && ACTIVE_STATUSES.includes(w.last_execution_status)) return 'RUNNING';
  return w.is_temp ? 'DRAFT' : 'RUNNABLE';
}

/** The jobs and triggers some workflows name, as they are now (undefined: deleted, or never was). */
interface Named {
  jobs: Map<string, PipelineItem | undefined>;
  triggers: Map<string, TriggerItem | undefined>;
}

async function lookUp<T>(ids: Set<string>, find: (id: string) => Promise<T | undefined>) {
  return new Map(await Promise.all([...ids].map(async (id) => [id, await find(id)] as const)));
}

/** Looks up every job and trigger the workflows' nodes name, each distinct id once. */
async function namedBy(workflows: WorkflowItem[]): Promise<Named> {
  const jobIds = new Set<string>();
  const triggerIds = new Set<string>();
  for (const w of workflows) {
    for (const n of w.nodes) {
      if (n.type === 'JOB' && n.jobId) jobIds.add(n.jobId);
      if (n.type === 'TRIGGER' && n.triggerId) triggerIds.add(n.triggerId);
    }
  }
  const [jobs, triggers] = await Promise.all([
    lookUp(jobIds, async (id) => (isId('pipeline', id) ? findPipeline(id) : undefined)),
    lookUp(triggerIds, async (id) => (isId('trigger', id) ? findTrigger(id) : undefined)),
  ]);
  return { jobs, triggers };
}

/**
 * A node in Data Flow's shape. JOB: `jobCondition` is what its runs get, the node's settings
 * over the job's runCondition (only the node's own when the job is gone). TRIGGER: `triggerRule`
 * is the kind of the trigger's schedule (RECURRING, ONE_TIME or NONE). `isValid` is false when
 * the job or trigger it names does not exist (any more).
 */
function nodeView(n: WorkflowNode, named: Named) {
  const common = { id: n.id, name: n.name, type: n.type, parentNodeIds: n.parentNodeIds };
  if (n.type === 'JOB') {
    const job = n.jobId ? named.jobs.get(n.jobId) : undefined;
    return {
      ...common,
      jobId: n.jobId ?? null,
      jobCondition: { ...(job ? runCondition(job) : {}), ...n.jobCondition },
      isValid: job !== undefined,
    };
  }
  if (n.type === 'TRIGGER') {
    const trigger = n.triggerId ? named.triggers.get(n.triggerId) : undefined;
    return {
      ...common,
      triggerId: n.triggerId ?? null,
      triggerRule: trigger ? ruleTypeOf(trigger) : 'NONE',
      isValid: trigger !== undefined,
    };
  }
  // A draft's node of no known type.
  return { ...common, isValid: false };
}

function workflowView(w: WorkflowItem, named: Named) {
  const nodes = w.nodes.map((n) => nodeView(n, named));
  const firstTrigger = nodes.find((n) => n.type === 'TRIGGER');
  return {
    workflowId: w.id,
    /** Data Flow: the same as the workflow id. */
    resourceId: w.id,
    name: w.name,
    description: w.description,
    isTemp: w.is_temp ?? false,
    /** Data Flow's "resource query permission status": whoever reads it may. */
    disabled: false,
    nodes,
    status: workflowStatus(w),
    triggerRuleType: firstTrigger && 'triggerRule' in firstTrigger ? firstTrigger.triggerRule : 'NONE',
    createdDate: dataflowDate(w.created_at),
    updatedDate: dataflowDate(w.updated_at),
    lastExecutionStatus: w.last_execution_status ?? null,
    lastExecutionDate: dataflowDate(w.last_execution_at),
    ...(w.problems && w.problems.length > 0 ? { problems: w.problems } : {}),
  };
}

async function viewOf(w: WorkflowItem) {
  return workflowView(w, await namedBy([w]));
}

/** A JOB node's jobCondition, checked as executeJob's is; only the fields given are stored. */
const parseJobCondition: ParseJobCondition = (value) => {
  const parsed = jobConditionSchema.safeParse(value);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
    };
  }
  const condition: JobCondition = {};
  for (const [field, v] of Object.entries(parsed.data)) {
    if (v !== undefined && v !== null) Object.assign(condition, { [field]: v });
  }
  return { condition };
};

/**
 * The request's nodes, validated against the job and trigger stores. A problem answers 400
 * listing every one, unless the workflow is a draft, which keeps them.
 */
async function checkedNodes(
  nodes: unknown[],
  isTemp: boolean,
): Promise<{ nodes: WorkflowNode[]; problems: Array<Omit<WorkflowProblem, 'index'>> }> {
  const result = await validateWorkflow(nodes, async (jobId) => findPipeline(jobId), {
    findTrigger: async (triggerId) => findTrigger(triggerId),
    parseJobCondition,
  });
  if (result.valid) return { nodes: result.nodes, problems: [] };
  if (!isTemp) throw problemsError(result.problems);
  return { nodes: result.nodes, problems: result.problems.map(({ index: _index, ...problem }) => problem) };
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

/** Points the trigger index at this workflow for the triggers it names; a draft is started by none. */
async function indexTriggers(w: Pick<WorkflowItem, 'id' | 'nodes' | 'is_temp'>): Promise<void> {
  await setTriggerRefs(w.id, w.is_temp ? [] : triggerIdsOf(w.nodes));
}

export async function createWorkflow(input: z.output<typeof workflowBodySchema>, principal: Principal) {
  const isTemp = input.isTemp ?? false;
  const { nodes, problems } = await checkedNodes(input.nodes, isTemp);
  const id = newId('workflow');
  const now = new Date().toISOString();
  const item: WorkflowItem = {
    pk: workflowKey(id),
    sk: 'META',
    gsi1pk: WORKFLOW_LIST,
    gsi1sk: id,
    id,
    name: input.name,
    description: input.description ?? '',
    nodes,
    is_temp: isTemp,
    ...(problems.length > 0 ? { problems } : {}),
    created_at: now,
    updated_at: now,
    created_by: principal.username,
  };
  await putNew(item);
  await indexTriggers(item);
  return viewOf(item);
}

export async function getWorkflow(id: string) {
  return viewOf(await requireWorkflow(id));
}

export async function listWorkflows(q: z.output<typeof listWorkflowsSchema>) {
  const all = await queryAll<WorkflowItem>({ index: 'gsi1', partition: WORKFLOW_LIST, newestFirst: true });
  const needle = q.name?.toLowerCase();
  const matching = needle ? all.filter((w) => w.name.toLowerCase().includes(needle)) : all;
  const page = dataflowPage(matching, q.page, q.limit);
  // Only the page's workflows have their jobs and triggers looked up.
  const named = await namedBy(page.list);
  return { ...page, list: page.list.map((w) => workflowView(w, named)) };
}

/** Replaces name, description, nodes and isTemp; the next execution deploys the changed definition. */
export async function updateWorkflow(id: string, input: z.output<typeof workflowBodySchema>) {
  await requireWorkflow(id);
  const isTemp = input.isTemp ?? false;
  const { nodes, problems } = await checkedNodes(input.nodes, isTemp);
  const updated = await updateItem<WorkflowItem>(workflowKey(id), 'META', {
    UpdateExpression: `SET #name = :name, description = :description, nodes = :nodes, is_temp = :temp, updated_at = :now ${
      problems.length > 0 ? ', problems = :problems' : 'REMOVE problems'
    }`,
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#name': 'name' },
    ExpressionAttributeValues: {
      ':name': input.name,
      ':description': input.description ?? '',
      ':nodes': nodes,
      ':temp': isTemp,
      ':now': new Date().toISOString(),
      ...(problems.length > 0 ? { ':problems': problems } : {}),
    },
  });
  if (!updated) throw new NotFoundError('WORKFLOW', id);
  await indexTriggers(updated);
  return viewOf(updated);
}

/**
 * Deletes a workflow with its execution records, its trigger index entries and its state
 * machine. The job runs it made stay: they are the jobs' executions. A workflow with an
 * execution in flight, or that a trigger targets (`target`), is not deleted.
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
  const triggers = await triggersOfJob(id);
  if (triggers.length > 0) {
    throw new ConflictError(
      `Workflow ${id} is the target of ${triggers.length} trigger(s) (${triggers.map((t) => t.name).join(', ')}); delete them first.`,
    );
  }
  await platform().engine.remove(id);
  await setTriggerRefs(id, []);
  for (const execution of executions) await deleteItem(executionKey(execution.id));
  await deleteItem(workflowKey(id));
}

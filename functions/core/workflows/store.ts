/**
 * Workflow records and the index of workflows by trigger, with no dependency on the other
 * areas (triggers.ts reads workflows through this module, and workflows.ts reads triggers).
 *
 * Records, all in the workflow's partition `WF#<id>`:
 * - META, listed under gsi1 `WORKFLOWS`;
 * - `TRIGGER#<triggerId>` per trigger a TRIGGER node of the saved (non-draft) workflow names,
 *   listed under gsi2 `TRIGGERWORKFLOWS#<triggerId>`: when a trigger fires, the workflows it
 *   starts are one Query of that partition (the trigger itself stores no workflow).
 *
 * Executions are `WFX#<id>` items listed under gsi1 `WFXS#<workflowId>` (executions.ts).
 */
import { deleteItem, getItem, type Item, putItem, queryAll } from '../db.ts';
import { NotFoundError } from '../errors.ts';
import type { WorkflowNode, WorkflowProblem } from './model.ts';

/** Workflow execution statuses (the Data Flow execution statuses). */
export type WorkflowExecutionStatus = 'READY' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export const ACTIVE_STATUSES: readonly WorkflowExecutionStatus[] = ['READY', 'RUNNING'];

export interface WorkflowItem extends Item {
  id: string;
  name: string;
  description: string;
  nodes: WorkflowNode[];
  /**
   * A draft (Data Flow's `isTemp: true`): saved as given, with its problems, never run and never
   * started by its triggers. Absent on workflows saved before drafts existed (= false).
   */
  is_temp?: boolean;
  /** A draft's validation problems (none for a saved, runnable workflow). */
  problems?: Array<Omit<WorkflowProblem, 'index'>>;
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
/** gsi1 partition listing every workflow. */
export const WORKFLOW_LIST = 'WORKFLOWS';

const TRIGGER_REF = 'TRIGGER#';
const triggerWorkflows = (triggerId: string) => `TRIGGERWORKFLOWS#${triggerId}`;

export async function findWorkflow(id: string): Promise<WorkflowItem | undefined> {
  return getItem<WorkflowItem>(workflowKey(id));
}

export async function requireWorkflow(id: string): Promise<WorkflowItem> {
  const item = await findWorkflow(id);
  if (!item) throw new NotFoundError('WORKFLOW', id);
  return item;
}

/** Ids of the workflows whose saved TRIGGER nodes name the trigger (one Query of gsi2). */
export async function workflowsOfTrigger(triggerId: string): Promise<string[]> {
  const refs = await queryAll<Item & { workflow_id: string }>({
    index: 'gsi2',
    partition: triggerWorkflows(triggerId),
  });
  return [...new Set(refs.map((r) => r.workflow_id))];
}

/**
 * Makes the index say that the workflow is started by exactly these triggers: refs of
 * triggers no longer named are removed, new ones written. A draft passes none.
 */
export async function setTriggerRefs(workflowId: string, triggerIds: Iterable<string>): Promise<void> {
  const wanted = new Set(triggerIds);
  const existing = await queryAll<Item & { sk: string }>({
    partition: workflowKey(workflowId),
    sortPrefix: TRIGGER_REF,
  });
  const have = new Set(existing.map((r) => r.sk.slice(TRIGGER_REF.length)));
  for (const triggerId of wanted) {
    if (have.has(triggerId)) continue;
    await putItem({
      pk: workflowKey(workflowId),
      sk: `${TRIGGER_REF}${triggerId}`,
      gsi2pk: triggerWorkflows(triggerId),
      gsi2sk: workflowId,
      workflow_id: workflowId,
      trigger_id: triggerId,
    });
  }
  for (const triggerId of have) {
    if (!wanted.has(triggerId)) await deleteItem(workflowKey(workflowId), `${TRIGGER_REF}${triggerId}`);
  }
}

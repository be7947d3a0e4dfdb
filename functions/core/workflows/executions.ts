/**
 * Workflow executions: `WFX#{id}` items, listed per workflow through gsi1 (`WFXS#{workflow}`).
 * Running a workflow compiles it with its jobs' current names and timeouts (a JOB node's
 * jobCondition.timeout over its job's), deploys the definition when it changed, records the
 * execution (with each JOB node's jobCondition, which its job's run gets) and starts it. The
 * state machine records each job's run as it reaches it (steps.ts). Its end comes back like a
 * pipeline execution's, through the finalizer (`settleWorkflowExecution`), which also stops job
 * runs left in flight when the workflow did not succeed.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { compileWorkflow, type WorkflowJobNode } from '../../../statemachines/workflow.ts';
import type { Principal } from '../auth/principal.ts';
import { dataflowDate, dataflowPage, executionView, pageQuerySchema } from '../dataflow/views.ts';
import { getItem, type Item, putNew, queryAll, updateItem } from '../db.ts';
import { type ExecutionStatusDetail, SLUICE_ERROR_PREFIX } from '../engine/contract.ts';
import { BadStateError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { logger } from '../observability.ts';
import { findPipeline, type PipelineItem } from '../pipelines/pipelines.ts';
import { type BatchItem, findBatch, finishBatch, TERMINAL } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';

import { type JobCondition, jobNodes } from './model.ts';
import {
  executionKey,
  executionListKey,
  requireWorkflow,
  type WorkflowExecutionStatus,
  type WorkflowItem,
  workflowKey,
} from './store.ts';

export interface WorkflowExecutionItem extends Item {
  id: string;
  workflow_id: string;
  workflow_name: string;
  status: WorkflowExecutionStatus;
  created_at: string;
  /** Absent until the state machine starts (so `if_not_exists` can fill it in). */
  started_at?: string;
  finished_at?: string;
  created_by: string;
  /** The JOB nodes this execution runs, as compiled, with the jobCondition their runs get. */
  plan: Array<{
    nodeId: number | string;
    key: string;
    name: string;
    jobId: string;
    jobCondition?: JobCondition;
  }>;
  /** Job runs (batch ids) by node key, written as the state machine reaches each job. */
  jobs: Record<string, string>;
  execution_id?: string;
  /** Why it failed: the first failing job's reason, else the state machine's. */
  error?: string;
  /** The trigger that started it, if one did. */
  trigger_id?: string;
  trigger_name?: string;
}

/** gsi2 partition of workflow executions that have not settled yet. */
const OPEN = 'WFX_OPEN';

/** Workflow executions that have not settled (READY or RUNNING), for the reconciler. */
export async function openWorkflowExecutions(): Promise<WorkflowExecutionItem[]> {
  return queryAll<WorkflowExecutionItem>({ index: 'gsi2', partition: OPEN });
}

export async function findExecution(id: string): Promise<WorkflowExecutionItem | undefined> {
  return getItem<WorkflowExecutionItem>(executionKey(id));
}

async function executionViewOf(x: WorkflowExecutionItem) {
  const runs: Array<{ node: WorkflowExecutionItem['plan'][number]; batch: BatchItem }> = [];
  for (const node of x.plan) {
    const batchId = x.jobs[node.key];
    const batch = batchId ? await findBatch(batchId) : undefined;
    if (batch) runs.push({ node, batch });
  }
  runs.sort(
    (a, b) => a.batch.created_at.localeCompare(b.batch.created_at) || a.node.key.localeCompare(b.node.key),
  );
  const started = x.started_at ? Date.parse(x.started_at) : undefined;
  const ended = x.finished_at ? Date.parse(x.finished_at) : undefined;
  return {
    workflowExecutionId: x.id,
    workflowId: x.workflow_id,
    workflowName: x.workflow_name,
    status: x.status,
    startDate: dataflowDate(x.started_at),
    endDate: dataflowDate(x.finished_at),
    createdDate: dataflowDate(x.created_at),
    /** Milliseconds from start to end (or to now while running). */
    runningTime: started === undefined ? 0 : (ended ?? Date.now()) - started,
    jobExecutions: runs.map(({ node, batch }) => ({
      ...executionView(batch),
      nodeId: node.nodeId,
      nodeName: node.name,
    })),
    ...(x.trigger_id ? { triggerId: x.trigger_id, triggerName: x.trigger_name } : {}),
    ...(x.error ? { errorMessage: x.error } : {}),
  };
}

export const WORKFLOW_EXECUTION_VIEWS = ['jobs', 'runs'] as const;

export const listWorkflowExecutionsSchema = pageQuerySchema.extend({
  /**
   * `jobs` (default): Data Flow's getWorkflowExecutions, one item per job execution of the
   * workflow's runs; `runs`: one item per workflow execution with its job executions.
   */
  view: z
    .enum(WORKFLOW_EXECUTION_VIEWS, { message: `must be one of ${WORKFLOW_EXECUTION_VIEWS.join(', ')}` })
    .default('jobs'),
  /** Data Flow's filter "by workflow name": items of a workflow or job whose name contains it. */
  filter: z.string().max(100, 'must be at most 100 characters').optional(),
});

/**
 * GET /workflows/{id}/executions. Both views page with `page` (0-based) and `limit` like every
 * Data Flow list, newest first. One Query lists the workflow's executions (the index holds them
 * whole, with their job runs); only the page's items are read in full.
 */
export async function listWorkflowExecutions(
  workflowId: string,
  query: z.output<typeof listWorkflowExecutionsSchema>,
) {
  const workflow = await requireWorkflow(workflowId);
  const all = await queryAll<WorkflowExecutionItem>({
    index: 'gsi1',
    partition: executionListKey(workflowId),
    newestFirst: true,
  });
  const needle = query.filter?.toLowerCase();
  const named = (name: string | undefined) => !needle || (name ?? '').toLowerCase().includes(needle);
  if (query.view === 'runs') {
    const shown = dataflowPage(needle && !named(workflow.name) ? [] : all, query.page, query.limit);
    const list = [];
    for (const item of shown.list) {
      const full = await findExecution(item.id);
      if (full) list.push(await executionViewOf(full));
    }
    return { ...shown, list };
  }
  // Job executions, newest first (batch ids sort by creation time), with the node that ran each.
  const runs = all
    .flatMap((x) =>
      x.plan.flatMap((node) => {
        const batchId = x.jobs?.[node.key];
        return batchId && (named(workflow.name) || named(node.name)) ? [{ x, node, batchId }] : [];
      }),
    )
    .sort((a, b) => (a.batchId < b.batchId ? 1 : a.batchId > b.batchId ? -1 : 0));
  const shown = dataflowPage(runs, query.page, query.limit);
  const list = [];
  for (const { x, node, batchId } of shown.list) {
    const batch = await findBatch(batchId);
    if (batch) list.push(jobExecutionView(x, node, batch));
  }
  return { ...shown, list };
}

/** A job execution of a workflow execution: the job execution view, naming the workflow run and node. */
function jobExecutionView(
  x: WorkflowExecutionItem,
  node: WorkflowExecutionItem['plan'][number],
  batch: BatchItem,
) {
  return {
    ...executionView(batch),
    workflowExecutionId: x.id,
    workflowId: x.workflow_id,
    workflowName: x.workflow_name,
    nodeId: node.nodeId,
    nodeName: node.name,
  };
}

export async function getWorkflowExecution(workflowId: string, executionId: string) {
  await requireWorkflow(workflowId);
  const x = await findExecution(executionId);
  if (!x || x.workflow_id !== workflowId) throw new NotFoundError('EXECUTION', executionId);
  return executionViewOf(x);
}

/**
 * A job's run timeout in seconds: the node's jobCondition.timeout, else the job's (0 minutes
 * means the platform's longest, 1,440).
 */
function runTimeoutSeconds(p: PipelineItem, condition: JobCondition | undefined): number {
  const minutes = condition?.timeout ?? p.timeout_minutes;
  return (minutes > 0 ? minutes : 1440) * 60;
}

/** The jobs of a workflow as they are now; refuses a draft, or when a job is gone or cannot run. */
async function currentJobs(workflow: WorkflowItem): Promise<WorkflowJobNode[]> {
  if (workflow.is_temp) {
    throw new BadStateError(
      `Workflow ${workflow.id} is a draft (isTemp) and cannot run; save it with isTemp false first.`,
    );
  }
  const problems: string[] = [];
  const compiled: WorkflowJobNode[] = [];
  for (const job of jobNodes(workflow.nodes)) {
    const pipeline = await findPipeline(job.jobId);
    if (!pipeline) problems.push(`node ${job.key}: job ${job.jobId} no longer exists`);
    else if (!pipeline.valid || pipeline.is_temp) {
      problems.push(`node ${job.key}: job ${pipeline.name} (${job.jobId}) is a draft and cannot run`);
    } else {
      compiled.push({
        key: job.key,
        jobId: job.jobId,
        jobName: pipeline.name,
        parents: job.parents,
        timeoutSeconds: runTimeoutSeconds(pipeline, job.jobCondition),
      });
    }
  }
  if (problems.length > 0) {
    throw new BadStateError(`Workflow ${workflow.id} cannot run: ${problems.join('; ')}.`);
  }
  return compiled;
}

/** Deploys the definition unless the deployed one is the same; answers what to start. */
async function deployed(workflow: WorkflowItem, definition: string): Promise<string> {
  const digest = createHash('sha256').update(definition).digest('hex').slice(0, 16);
  if (workflow.engine_ref && workflow.engine_digest === digest) return workflow.engine_ref;
  const ref = await platform().engine.deployWorkflow({ workflowId: workflow.id, definition });
  await updateItem(workflowKey(workflow.id), 'META', {
    UpdateExpression: 'SET engine_ref = :ref, engine_digest = :digest',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':ref': ref, ':digest': digest },
  });
  return ref;
}

/** POST /workflows/{id}/executions: records the execution and starts its state machine. */
export async function executeWorkflow(
  workflowId: string,
  principal: Pick<Principal, 'username'>,
  trigger?: { id: string; name: string },
) {
  const workflow = await requireWorkflow(workflowId);
  const jobs = await currentJobs(workflow);
  const definition = compileWorkflow({
    workflowId,
    nodes: jobs,
    stepArn: platform().settings.workflows.stepArn,
  });
  const ref = await deployed(workflow, definition);

  const id = newId('workflowExecution');
  const names = new Map(workflow.nodes.map((n) => [String(n.id), n]));
  const conditions = new Map(jobNodes(workflow.nodes).map((n) => [n.key, n.jobCondition]));
  const item: WorkflowExecutionItem = {
    pk: executionKey(id),
    sk: 'META',
    gsi1pk: executionListKey(workflowId),
    gsi1sk: id,
    // Listed as open until it settles: the reconciler's worklist.
    gsi2pk: OPEN,
    gsi2sk: id,
    id,
    workflow_id: workflowId,
    workflow_name: workflow.name,
    status: 'READY',
    created_at: new Date().toISOString(),
    created_by: principal.username,
    plan: jobs.map((j) => {
      const jobCondition = conditions.get(j.key);
      return {
        nodeId: names.get(j.key)?.id ?? j.key,
        key: j.key,
        name: names.get(j.key)?.name ?? j.jobName,
        jobId: j.jobId,
        ...(jobCondition ? { jobCondition } : {}),
      };
    }),
    jobs: {},
    ...(trigger ? { trigger_id: trigger.id, trigger_name: trigger.name } : {}),
  };
  await putNew(item);
  await noteLastExecution(workflowId, 'READY', item.created_at);
  try {
    const executionId = await platform().engine.startWorkflow({
      ref,
      input: { workflow_execution_id: id, workflow_id: workflowId },
    });
    await updateItem(executionKey(id), 'META', {
      UpdateExpression: 'SET execution_id = :arn',
      ExpressionAttributeValues: { ':arn': executionId },
    });
    await markRunning(id);
  } catch (error) {
    logger.error('could not start a workflow execution', { workflowExecutionId: id, error: error as Error });
    await settle(id, 'FAILED', 'The workflow could not be started; see the service logs for the request id.');
  }
  return executionViewOf((await findExecution(id)) ?? item);
}

/** READY -> RUNNING (the API after starting it, or the first job's record step, whichever is first). */
export async function markRunning(id: string): Promise<void> {
  const now = new Date().toISOString();
  const updated = await updateItem<WorkflowExecutionItem>(executionKey(id), 'META', {
    UpdateExpression: 'SET #status = :running, started_at = if_not_exists(started_at, :now)',
    ConditionExpression: '#status = :ready',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':running': 'RUNNING', ':ready': 'READY', ':now': now },
  });
  if (updated) await noteLastExecution(updated.workflow_id, 'RUNNING', updated.created_at);
}

/** The workflow keeps its latest execution's status and creation time. */
async function noteLastExecution(workflowId: string, status: WorkflowExecutionStatus, at: string) {
  await updateItem(workflowKey(workflowId), 'META', {
    UpdateExpression: 'SET last_execution_status = :s, last_execution_at = :at',
    ConditionExpression:
      'attribute_exists(pk) AND (attribute_not_exists(last_execution_at) OR last_execution_at <= :at)',
    ExpressionAttributeValues: { ':s': status, ':at': at },
  });
}

/**
 * Moves an execution to a terminal status, once. Unless it completed, job runs it left in
 * flight are stopped: a running one is stopped now; one recorded but never started is
 * marked stopped; one whose execution already ended is left to the finalizer, which records
 * how it really ended (its status change may arrive after the workflow's).
 */
async function settle(
  id: string,
  status: Exclude<WorkflowExecutionStatus, 'READY' | 'RUNNING'>,
  reason?: string,
): Promise<void> {
  const now = new Date().toISOString();
  const after = await updateItem<WorkflowExecutionItem>(executionKey(id), 'META', {
    UpdateExpression: `SET #status = :status, finished_at = :now, started_at = if_not_exists(started_at, :now)${
      reason ? ', #error = if_not_exists(#error, :reason)' : ''
    } REMOVE gsi2pk, gsi2sk`,
    ConditionExpression: '#status IN (:ready, :running)',
    ExpressionAttributeNames: { '#status': 'status', ...(reason ? { '#error': 'error' } : {}) },
    ExpressionAttributeValues: {
      ':status': status,
      ':now': now,
      ':ready': 'READY',
      ':running': 'RUNNING',
      ...(reason ? { ':reason': reason } : {}),
    },
  });
  if (!after) return;
  await noteLastExecution(after.workflow_id, status, after.created_at);
  if (status === 'COMPLETED') return;
  const cause = `Stopped because workflow execution ${id} ended (${status}).`;
  for (const batchId of Object.values(after.jobs)) {
    const batch = await findBatch(batchId);
    if (batch) await endJobRun(batch, 'stop', cause);
  }
}

/**
 * Ends a job run that the workflow gave up on: stops its execution when it is still running
 * and records `outcome`; a run that was recorded but never started is just recorded. A run
 * whose execution already ended is left alone: the finalizer is about to record it.
 */
export async function endJobRun(batch: BatchItem, outcome: 'stop' | 'failed', reason: string): Promise<void> {
  if (TERMINAL.includes(batch.status)) return;
  const runEngine = platform().engine;
  const state = batch.execution_id ? await runEngine.executionState(batch.execution_id) : 'UNKNOWN';
  if (state === 'ENDED') return;
  await finishBatch(batch.id, outcome, reason);
  if (state === 'RUNNING' && batch.execution_id) await runEngine.stop(batch.execution_id, reason);
}

/** Fails an execution the engine cannot tell about (the reconciler); answers whether it was still open. */
export async function settleOrphanedExecution(id: string, reason: string): Promise<boolean> {
  const before = await findExecution(id);
  if (before?.status !== 'READY' && before?.status !== 'RUNNING') return false;
  await settle(id, 'FAILED', reason);
  return true;
}

/** The finalizer's part for workflow executions (named after them, `wfx-...`). */
export async function settleWorkflowExecution(detail: ExecutionStatusDetail): Promise<void> {
  const id = detail.name;
  logger.appendKeys({ workflowExecutionId: id });
  switch (detail.status) {
    case 'SUCCEEDED':
      return settle(id, 'COMPLETED');
    case 'FAILED':
      return settle(
        id,
        'FAILED',
        // Sluice's own errors (a job failed, the local host stopped) carry a cause meant for users.
        detail.error?.startsWith(SLUICE_ERROR_PREFIX) && detail.cause
          ? detail.cause
          : `The workflow failed (${detail.error ?? 'unknown error'}).`,
      );
    case 'TIMED_OUT':
      return settle(id, 'FAILED', 'The workflow took longer than its timeout and was stopped.');
    case 'ABORTED':
      return settle(id, 'CANCELED', 'The workflow execution was stopped.');
    default:
      return;
  }
}

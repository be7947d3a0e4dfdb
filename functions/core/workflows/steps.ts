/**
 * The workflow-step Lambda's logic: the two Tasks a compiled workflow invokes per job
 * (statemachines/workflow.ts). `record` writes the job's batch (running, holding a run slot,
 * part of this workflow execution, with its node's jobCondition) and answers the deployed
 * version that the next Task starts with `startExecution.sync:2`; `fail` records why the job
 * failed, ending its run when the run cannot end by itself (it never started, or the workflow
 * stopped waiting for it).
 *
 * Errors leave with the engine contract's names, which the definition's Retry and Catch match:
 * job busy (no free run slot: retried), transient (retried); anything else fails the job.
 */

import { runSettings } from '../dataflow/jobs.ts';
import { updateItem } from '../db.ts';
import { SLUICE_ERRORS, WORKFLOW_STEP_ACTIONS } from '../engine/contract.ts';
import { AppError } from '../errors.ts';
import { newId } from '../ids.ts';
import { logger } from '../observability.ts';
import { findBatch, type RunRequest, recordRun } from '../pipelines/runs.ts';
import { endJobRun, findExecution, markRunning, type WorkflowExecutionItem } from './executions.ts';
import { reasonOf } from './model.ts';
import { ACTIVE_STATUSES, executionKey } from './store.ts';

export interface WorkflowStepEvent {
  action: 'record' | 'fail';
  workflow_execution_id: string;
  /** The workflow node (its key). */
  node_id: string;
  job_id: string;
  /** fail: what the Catch caught. */
  error?: { Error?: string; Cause?: string };
}

/** What `record` answers; the Run Task reads it from `$.run`. */
export interface RecordedRun {
  batch_id: string;
  pipeline_id: string;
  pipeline_version: number;
  /** The job's deployed version to start (a state machine version ARN on AWS). */
  state_machine: string;
}

const {
  workflowEnded: WORKFLOW_ENDED,
  recordFailed: RECORD_FAILED,
  transient: TRANSIENT,
  jobBusy: JOB_BUSY,
} = SLUICE_ERRORS;

class StepError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export async function runWorkflowStep(
  event: WorkflowStepEvent,
): Promise<RecordedRun | Record<string, never>> {
  logger.appendKeys({ workflowExecutionId: event.workflow_execution_id, nodeId: event.node_id });
  try {
    if (event.action === WORKFLOW_STEP_ACTIONS.record) return await record(event);
    if (event.action === WORKFLOW_STEP_ACTIONS.fail) {
      await fail(event);
      return {};
    }
    throw new StepError(RECORD_FAILED, `Unknown workflow step action "${String(event.action)}".`);
  } catch (error) {
    throw asStepError(error);
  }
}

async function activeExecution(id: string): Promise<WorkflowExecutionItem> {
  const execution = await findExecution(id);
  if (!execution || !ACTIVE_STATUSES.includes(execution.status)) {
    throw new StepError(WORKFLOW_ENDED, `Workflow execution ${id} is no longer running.`);
  }
  return execution;
}

async function record(event: WorkflowStepEvent): Promise<RecordedRun> {
  const execution = await activeExecution(event.workflow_execution_id);
  await markRunning(execution.id);
  // The node's batch id is written before the batch, so a retried call finds and reuses it.
  let batchId = execution.jobs[event.node_id];
  if (!batchId) {
    const candidate = newId('batch');
    const claimed = await updateItem(executionKey(execution.id), 'META', {
      UpdateExpression: 'SET jobs.#node = :batch',
      ConditionExpression: 'attribute_not_exists(jobs.#node) AND #status IN (:ready, :running)',
      ExpressionAttributeNames: { '#node': event.node_id, '#status': 'status' },
      ExpressionAttributeValues: { ':batch': candidate, ':ready': 'READY', ':running': 'RUNNING' },
    });
    batchId = claimed ? candidate : (await activeExecution(execution.id)).jobs[event.node_id];
    if (!batchId)
      throw new StepError(WORKFLOW_ENDED, `Workflow execution ${execution.id} is no longer running.`);
  }

  const recorded = await recordRun(event.job_id, runRequestOf(execution, event.node_id), batchId);
  if (!recorded) {
    throw new StepError(JOB_BUSY, `Job ${event.job_id} is running at its limit of concurrent runs.`);
  }
  // The workflow may have ended meanwhile (another branch failed): nothing would start this run.
  const now = await findExecution(execution.id);
  if (!now || !ACTIVE_STATUSES.includes(now.status)) {
    await endJobRun(recorded.batch, 'stop', `Stopped because workflow execution ${execution.id} ended.`);
    throw new StepError(WORKFLOW_ENDED, `Workflow execution ${execution.id} is no longer running.`);
  }
  return {
    batch_id: recorded.batch.id,
    pipeline_id: recorded.batch.pipeline_id,
    pipeline_version: recorded.batch.pipeline_version,
    state_machine: recorded.ref,
  };
}

/**
 * What a job's run inside the workflow gets: its JOB node's jobCondition (run settings and
 * parameters) and the trigger that started the workflow, if one did.
 */
function runRequestOf(execution: WorkflowExecutionItem, nodeKey: string): RunRequest {
  const condition = execution.plan.find((p) => p.key === nodeKey)?.jobCondition;
  return {
    principal: { username: execution.created_by },
    workflowExecutionId: execution.id,
    overrides: runSettings(condition),
    ...(condition?.parameters ? { parameters: condition.parameters } : {}),
    ...(execution.trigger_id
      ? { trigger: { id: execution.trigger_id, name: execution.trigger_name ?? execution.trigger_id } }
      : {}),
  };
}

async function fail(event: WorkflowStepEvent): Promise<void> {
  const execution = await findExecution(event.workflow_execution_id);
  if (!execution) return;
  const reason = reasonOf(event.error);
  const batchId = execution.jobs[event.node_id];
  const batch = batchId ? await findBatch(batchId) : undefined;
  if (batch) await endJobRun(batch, 'failed', reason);
  const settled = batchId ? await findBatch(batchId) : undefined;
  const jobName = settled?.name ?? event.job_id;
  const shown = settled?.status === 'failed' && settled.error ? settled.error : reason;
  // The first failing job explains the workflow's failure.
  await updateItem(executionKey(execution.id), 'META', {
    UpdateExpression: 'SET #error = :message',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#error)',
    ExpressionAttributeNames: { '#error': 'error' },
    ExpressionAttributeValues: { ':message': `Job ${jobName} (node ${event.node_id}) failed: ${shown}` },
  });
}

/** Maps any error to one the definition's Retry and Catch understand, without leaking internals. */
function asStepError(error: unknown): Error {
  if (error instanceof StepError) return error;
  if (error instanceof AppError) return new StepError(RECORD_FAILED, error.message);
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (
    e?.$retryable ||
    status >= 500 ||
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(e?.name ?? '')
  ) {
    return new StepError(TRANSIENT, 'A store was briefly unavailable; retrying.');
  }
  logger.error('workflow step failed', { error: error as Error });
  return new StepError(RECORD_FAILED, 'The job run could not be recorded; see the service logs.');
}

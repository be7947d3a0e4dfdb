/**
 * Firing a trigger: the one path from a schedule or an event to a run, on both hosts. The AWS
 * schedules and rules invoke the trigger-fire Lambda, the local scheduler and bus call this
 * directly; either way the run is recorded as a batch by `createRun`, exactly like an API run,
 * with the trigger's id and name on it.
 *
 * A trigger set to `onBusy: SKIP` starts nothing while its job could not start a run right away
 * (every run slot of `max_concurrent_runs` taken, or runs already waiting); QUEUE (the default)
 * leaves that to `createRun`, which queues the run as pending.
 */
import { BadStateError, NotFoundError } from '../errors.ts';
import { logger } from '../observability.ts';
import { findPipeline } from '../pipelines/pipelines.ts';
import { createRun, runWouldWait } from '../pipelines/runs.ts';
import { type FireCause, triggerRuntime } from './runtime.ts';
import { claimDelivery, findTrigger, recordFiring, releaseDelivery } from './triggers.ts';

export type FireOutcome =
  | { fired: true; batchId: string; status: string }
  | {
      fired: false;
      reason: 'missing' | 'disabled' | 'duplicate' | 'no-target' | 'job-missing' | 'busy' | 'not-runnable';
    };

function describeCause(cause: FireCause): Record<string, unknown> {
  const detail = cause.detail ?? {};
  const object = (detail.object as { key?: unknown } | undefined)?.key;
  return {
    cause: cause.kind,
    ...(cause.id ? { deliveryId: cause.id } : {}),
    ...(cause.detailType ? { detailType: cause.detailType } : {}),
    ...(typeof object === 'string' ? { objectKey: object } : {}),
    ...(typeof detail.datasetId === 'string' ? { datasetId: detail.datasetId } : {}),
    ...(typeof detail.batchId === 'string' ? { upstreamBatchId: detail.batchId } : {}),
  };
}

export async function fireTrigger(triggerId: string, cause: FireCause): Promise<FireOutcome> {
  const context = { triggerId, ...describeCause(cause) };
  const trigger = await findTrigger(triggerId);
  if (!trigger) {
    // A schedule or rule that outlived its trigger: take it down.
    logger.warn('trigger fired but no longer exists; removing its schedule or rule', context);
    await (await triggerRuntime()).unregister(triggerId);
    return { fired: false, reason: 'missing' };
  }
  if (!trigger.enabled) {
    logger.info('trigger is disabled; nothing started', context);
    return { fired: false, reason: 'disabled' };
  }
  if (!trigger.target) {
    logger.info('trigger has no target; nothing started', context);
    return { fired: false, reason: 'no-target' };
  }
  if (trigger.target.type === 'WORKFLOW')
    return fireWorkflow(trigger, trigger.target.workflow_id, cause, context);
  const jobId = trigger.target.job_id;
  const pipeline = await findPipeline(jobId);
  if (!pipeline) {
    logger.warn('the job of this trigger no longer exists; nothing started', { ...context, jobId });
    return { fired: false, reason: 'job-missing' };
  }
  if (trigger.on_busy === 'SKIP' && (await runWouldWait(pipeline))) {
    logger.info('job is busy and the trigger skips busy jobs; nothing started', { ...context, jobId });
    return { fired: false, reason: 'busy' };
  }
  if (cause.id && !(await claimDelivery(triggerId, cause.id))) {
    logger.info('delivery already handled; nothing started', context);
    return { fired: false, reason: 'duplicate' };
  }
  let batch: Awaited<ReturnType<typeof createRun>>['batch'];
  try {
    ({ batch } = await createRun(jobId, {
      principal: { username: `trigger:${trigger.name}` },
      trigger: { id: trigger.id, name: trigger.name },
    }));
  } catch (error) {
    if (error instanceof BadStateError || error instanceof NotFoundError) {
      // A draft job, or one deleted meanwhile: retrying would not help.
      logger.warn('trigger could not start its job', { ...context, jobId, reason: error.message });
      return { fired: false, reason: error instanceof NotFoundError ? 'job-missing' : 'not-runnable' };
    }
    // Let the delivery be retried (and end in the dead-letter queue if it keeps failing).
    if (cause.id) await releaseDelivery(triggerId, cause.id);
    throw error;
  }
  const { spent } = await recordFiring(trigger, batch.id);
  if (spent) await (await triggerRuntime()).unregister(triggerId);
  logger.info('trigger started a run', { ...context, jobId, batchId: batch.id, status: batch.status });
  return { fired: true, batchId: batch.id, status: batch.status };
}

/** A trigger that targets a workflow starts one workflow execution (its job runs are batches). */
async function fireWorkflow(
  trigger: NonNullable<Awaited<ReturnType<typeof findTrigger>>>,
  workflowId: string,
  cause: FireCause,
  context: Record<string, unknown>,
): Promise<FireOutcome> {
  const { executeWorkflow } = await import('../workflows/executions.ts');
  if (cause.id && !(await claimDelivery(trigger.id, cause.id))) {
    logger.info('delivery already handled; nothing started', context);
    return { fired: false, reason: 'duplicate' };
  }
  let executionId: string;
  try {
    const execution = await executeWorkflow(
      workflowId,
      { username: `trigger:${trigger.name}` },
      {
        id: trigger.id,
        name: trigger.name,
      },
    );
    executionId = execution.workflowExecutionId;
  } catch (error) {
    if (error instanceof BadStateError || error instanceof NotFoundError) {
      logger.warn('trigger could not start its workflow', { ...context, workflowId, reason: error.message });
      return { fired: false, reason: error instanceof NotFoundError ? 'job-missing' : 'not-runnable' };
    }
    if (cause.id) await releaseDelivery(trigger.id, cause.id);
    throw error;
  }
  const { spent } = await recordFiring(trigger, executionId);
  if (spent) await (await triggerRuntime()).unregister(trigger.id);
  logger.info('trigger started a workflow', { ...context, workflowId, workflowExecutionId: executionId });
  return { fired: true, batchId: executionId, status: 'RUNNING' };
}

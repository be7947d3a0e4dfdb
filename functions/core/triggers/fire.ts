/**
 * Firing a trigger: the one path from a schedule or an event to runs, on both hosts. The AWS
 * schedules and rules invoke the trigger-fire Lambda, the local scheduler and bus call this
 * directly.
 *
 * What a firing starts is resolved now, not when the trigger was made: the trigger's own
 * `target` (a job or a workflow), if it has one, and every workflow whose saved TRIGGER node
 * names it (one Query of the workflows-by-trigger index, workflows/store.ts), each once. A job
 * run is recorded as a batch by `createRun`, exactly like an API run; a workflow starts one
 * workflow execution, whose job runs are batches too. Both carry the trigger's id and name. A
 * trigger that finds nothing to start is logged and stays armed.
 *
 * A trigger set to `onBusy: SKIP` starts no run of its target job while that job could not
 * start one right away (every run slot of `max_concurrent_runs` taken, or runs already
 * waiting); QUEUE (the default) leaves that to `createRun`, which queues the run as pending.
 *
 * Each target starts once per delivery (`cause.id`: the schedule's execution or the event), with
 * Powertools idempotency (delivery.ts): a redelivery starts nothing already started, and after a
 * partial failure only what the first delivery did not start.
 */
import { BadStateError, NotFoundError } from '../errors.ts';
import { logger } from '../observability.ts';
import { findPipeline } from '../pipelines/pipelines.ts';
import { createRun, runWouldWait } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import { executeWorkflow } from '../workflows/executions.ts';
import { workflowsOfTrigger } from '../workflows/store.ts';
import { startOnce } from './delivery.ts';
import type { FireCause } from './runtime.ts';
import { findTrigger, recordFiring, type TriggerItem } from './store.ts';

type Target = { type: 'JOB'; jobId: string } | { type: 'WORKFLOW'; workflowId: string };

export type NotStartedReason = 'duplicate' | 'job-missing' | 'workflow-missing' | 'busy' | 'not-runnable';

/** What one firing did for one target: started an execution, or why not. */
export type TargetOutcome = Target &
  ({ started: true; executionId: string; status: string } | { started: false; reason: NotStartedReason });

export type FireOutcome =
  | { fired: true; targets: TargetOutcome[] }
  | { fired: false; reason: 'missing' | 'disabled' | 'no-target'; targets?: never }
  | { fired: false; reason: 'nothing-started'; targets: TargetOutcome[] };

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

/** The trigger's target, then the workflows that name it (each workflow once). */
async function targetsOf(trigger: TriggerItem): Promise<Target[]> {
  const targets: Target[] = [];
  if (trigger.target?.type === 'JOB') targets.push({ type: 'JOB', jobId: trigger.target.job_id });
  if (trigger.target?.type === 'WORKFLOW') {
    targets.push({ type: 'WORKFLOW', workflowId: trigger.target.workflow_id });
  }
  for (const workflowId of await workflowsOfTrigger(trigger.id)) {
    if (!targets.some((t) => t.type === 'WORKFLOW' && t.workflowId === workflowId)) {
      targets.push({ type: 'WORKFLOW', workflowId });
    }
  }
  return targets;
}

export interface FireOptions {
  /** Time left to the invocation's deadline (the Lambda context's); a claimed delivery holds until then. */
  remainingTimeInMillis?: () => number;
}

export async function fireTrigger(
  triggerId: string,
  cause: FireCause,
  options: FireOptions = {},
): Promise<FireOutcome> {
  const context = { triggerId, ...describeCause(cause) };
  const trigger = await findTrigger(triggerId);
  if (!trigger) {
    // A schedule or rule that outlived its trigger: take it down.
    logger.warn('trigger fired but no longer exists; removing its schedule or rule', context);
    await platform().triggers.unregister(triggerId);
    return { fired: false, reason: 'missing' };
  }
  if (!trigger.enabled) {
    logger.info('trigger is disabled; nothing started', context);
    return { fired: false, reason: 'disabled' };
  }
  const targets = await targetsOf(trigger);
  if (targets.length === 0) {
    logger.info('trigger has no target and no workflow names it; nothing started', context);
    return { fired: false, reason: 'no-target' };
  }

  const outcomes: TargetOutcome[] = [];
  let failure: unknown;
  for (const target of targets) {
    try {
      outcomes.push(await fireTarget(trigger, target, cause, context, options));
    } catch (error) {
      // Left for the redelivery (and the dead-letter queue in the end); the others still start.
      failure ??= error;
    }
  }
  const started = outcomes.filter((o) => o.started);
  const last = started.at(-1);
  if (last) {
    const { spent } = await recordFiring(trigger, last.executionId);
    if (spent) await platform().triggers.unregister(triggerId);
  }
  if (failure) throw failure;
  return started.length > 0
    ? { fired: true, targets: outcomes }
    : { fired: false, reason: 'nothing-started', targets: outcomes };
}

const notStarted = (target: Target, reason: NotStartedReason): TargetOutcome => ({
  ...target,
  started: false,
  reason,
});

/** Starts one target, once per delivery. Throws only what a redelivery may fix. */
async function fireTarget(
  trigger: TriggerItem,
  target: Target,
  cause: FireCause,
  context: Record<string, unknown>,
  options: FireOptions,
): Promise<TargetOutcome> {
  const targetId = target.type === 'JOB' ? target.jobId : target.workflowId;
  const at = { ...context, ...(target.type === 'JOB' ? { jobId: targetId } : { workflowId: targetId }) };

  if (target.type === 'JOB') {
    const pipeline = await findPipeline(target.jobId);
    if (!pipeline) {
      logger.warn('the job of this trigger no longer exists; nothing started', at);
      return notStarted(target, 'job-missing');
    }
    if (trigger.on_busy === 'SKIP' && (await runWouldWait(pipeline))) {
      logger.info('job is busy and the trigger skips busy jobs; nothing started', at);
      return notStarted(target, 'busy');
    }
  }
  if (!cause.id) return startTarget(trigger, target, at);
  const delivery = { triggerId: trigger.id, deliveryId: cause.id, targetId };
  const started = await startOnce(
    platform().stores,
    delivery,
    () => startTarget(trigger, target, at),
    options.remainingTimeInMillis,
  );
  if (started.duplicate) {
    logger.info('delivery already handled; nothing started', at);
    return notStarted(target, 'duplicate');
  }
  return started.outcome;
}

/** Starts the target now; what a redelivery cannot fix is an outcome, the rest is thrown. */
async function startTarget(
  trigger: TriggerItem,
  target: Target,
  at: Record<string, unknown>,
): Promise<TargetOutcome> {
  const by = { username: `trigger:${trigger.name}` };
  const from = { id: trigger.id, name: trigger.name };
  try {
    if (target.type === 'JOB') {
      const { batch } = await createRun(target.jobId, { principal: by, trigger: from });
      logger.info('trigger started a run', { ...at, batchId: batch.id, status: batch.status });
      return { ...target, started: true, executionId: batch.id, status: batch.status };
    }
    const execution = await executeWorkflow(target.workflowId, by, from);
    logger.info('trigger started a workflow', { ...at, workflowExecutionId: execution.workflowExecutionId });
    return { ...target, started: true, executionId: execution.workflowExecutionId, status: execution.status };
  } catch (error) {
    if (error instanceof BadStateError || error instanceof NotFoundError) {
      // A draft, a job deleted meanwhile: retrying would not help.
      logger.warn('trigger could not start its target', { ...at, reason: error.message });
      if (error instanceof BadStateError) return notStarted(target, 'not-runnable');
      return notStarted(target, target.type === 'JOB' ? 'job-missing' : 'workflow-missing');
    }
    throw error;
  }
}

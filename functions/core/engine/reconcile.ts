/**
 * The reconciler: settles runs whose end was never recorded. A batch or workflow execution that
 * still says running (or waits for a run slot) longer than a grace period is checked against
 * the engine (DescribeExecution on AWS), and what the engine says is recorded through the same
 * code as the finalizer, as if the lost status change had arrived. A run the engine has no
 * execution for is failed with the reason; a pipeline whose run slots leaked gets them back,
 * so that waiting batches start. On AWS a schedule runs it every 5 minutes; the local host runs
 * it on its own timer.
 */
import { logger } from '../observability.ts';
import { finishBatch, repairSlots, unfinishedBatches } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import { openWorkflowExecutions, settleOrphanedExecution } from '../workflows/executions.ts';
import type { ExecutionStatusDetail } from './contract.ts';
import { dropRunDatabase, onExecutionStatus } from './finalize.ts';

export interface ReconcileReport {
  /** Running batches and workflow executions looked at (older than the grace period). */
  checked: number;
  /** Those that had ended and are now recorded as ended. */
  settled: number;
  /** Waiting batches that were started. */
  started: number;
}

const NEVER_STARTED = 'The run never started: its execution was not recorded. Run it again.';
const LOST = 'The engine no longer knows this run’s execution; run it again.';

export async function reconcile(options: { graceSeconds: number; now?: number }): Promise<ReconcileReport> {
  const cutoff = (options.now ?? Date.now()) - options.graceSeconds * 1000;
  const old = (at: string | null | undefined) => at !== undefined && at !== null && Date.parse(at) <= cutoff;
  const runEngine = platform().engine;
  const report: ReconcileReport = { checked: 0, settled: 0, started: 0 };
  const { active, waiting } = await unfinishedBatches();

  for (const batch of active) {
    if (!old(batch.started_at ?? batch.created_at)) continue;
    report.checked++;
    const settled = batch.execution_id
      ? await settleFrom(await runEngine.describeExecution(batch.execution_id), async () =>
          // Its execution may have made a run database before it was lost.
          dropRunDatabase(batch.id, await finishBatch(batch.id, 'failed', LOST)),
        )
      : Boolean(await finishBatch(batch.id, 'failed', NEVER_STARTED));
    if (settled) {
      report.settled++;
      logger.warn('settled a batch whose end was not recorded', { batchId: batch.id });
    }
  }

  for (const execution of await openWorkflowExecutions()) {
    if (!old(execution.started_at ?? execution.created_at)) continue;
    report.checked++;
    const settled = execution.execution_id
      ? await settleFrom(await runEngine.describeExecution(execution.execution_id), () =>
          settleOrphanedExecution(execution.id, LOST),
        )
      : await settleOrphanedExecution(execution.id, NEVER_STARTED);
    if (settled) {
      report.settled++;
      logger.warn('settled a workflow execution whose end was not recorded', {
        workflowExecutionId: execution.id,
      });
    }
  }

  const stalled = new Set(waiting.filter((b) => old(b.created_at)).map((b) => b.pipeline_id));
  for (const pipelineId of stalled) report.started += (await repairSlots(pipelineId)).size;
  return report;
}

/** Records what the engine says of an execution that has ended; `lost` when it has none. */
async function settleFrom(
  described: ExecutionStatusDetail | undefined,
  lost: () => Promise<unknown>,
): Promise<boolean> {
  if (!described) {
    await lost();
    return true;
  }
  if (described.status === 'RUNNING' || described.status === 'PENDING_REDRIVE') return false;
  await onExecutionStatus(described);
  return true;
}

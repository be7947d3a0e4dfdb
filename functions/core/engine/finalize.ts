/**
 * Execution status changes → batch terminal states. On AWS these arrive from EventBridge
 * ("Step Functions Execution Status Change"); the local engine sends the same shape. The
 * execution is named after its batch (or, for a workflow's state machine, after its workflow
 * execution: see workflows/executions.ts). Duplicates and late events change nothing: a batch
 * leaves running/pending once (see runs.ts).
 */
import { isId } from '../ids.ts';
import { logger } from '../observability.ts';
import { runDatabaseOf } from '../pipelines/athena-program.ts';
import { findBatch, finishBatch } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import { settleWorkflowExecution } from '../workflows/executions.ts';
import { type ExecutionStatusDetail, RUN_DATABASE_PREFIX } from './contract.ts';
import { failureReason } from './failure.ts';

export type { ExecutionStatusDetail } from './contract.ts';

export async function onExecutionStatus(detail: ExecutionStatusDetail): Promise<void> {
  // Workflow state machines share the prefix; their executions are named after workflow executions.
  if (isId('workflowExecution', detail.name)) return settleWorkflowExecution(detail);
  const batchId = detail.name;
  logger.appendKeys({ batchId });
  await settleBatch(detail, batchId);
  await dropRunDatabase(batchId);
}

/** A batch that ran stages on Athena leaves a run database, dropped when its execution ends. */
async function dropRunDatabase(batchId: string): Promise<void> {
  if (!isBatchName(batchId)) return;
  const batch = await findBatch(batchId);
  if (!Object.values(batch?.stage_engines ?? {}).includes('ATHENA')) return;
  const drop = platform().engine.dropRunDatabase;
  if (!drop) return;
  try {
    await drop.call(platform().engine, runDatabaseOf(batchId, RUN_DATABASE_PREFIX));
  } catch (error) {
    // The batch's end is recorded; a database left behind holds no data of its own.
    logger.warn('could not drop the run database', { batchId, error: error as Error });
  }
}

const isBatchName = (batchId: string) => isId('batch', batchId);

async function settleBatch(detail: ExecutionStatusDetail, batchId: string): Promise<void> {
  switch (detail.status) {
    case 'SUCCEEDED':
      await finishBatch(batchId, 'completed');
      return;
    case 'FAILED':
    case 'TIMED_OUT':
      await finishBatch(batchId, 'failed', failureReason(detail));
      return;
    case 'ABORTED':
      // A stop through the API has already set `stop`; an abort from elsewhere (console) ends here.
      await finishBatch(batchId, 'stop', 'The execution was stopped outside Sluice.');
      return;
    default:
      return;
  }
}

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
import { type BatchItem, findBatch, finishBatch } from '../pipelines/runs.ts';
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
  const settled = await settleBatch(detail, batchId);
  if (ENDED.includes(detail.status)) await dropRunDatabase(batchId, settled);
}

/**
 * A batch that ran stages on Athena leaves a run database, dropped when its execution ends.
 * `settled` is the batch as settling it left it; read again only when something else (a stop
 * through the API) had settled it already.
 */
export async function dropRunDatabase(batchId: string, settled: BatchItem | undefined): Promise<void> {
  if (!isBatchName(batchId)) return;
  const batch = settled ?? (await findBatch(batchId));
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

/** The statuses of an execution that has ended (a RUNNING status change leaves its database alone). */
const ENDED: readonly string[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

const isBatchName = (batchId: string) => isId('batch', batchId);

async function settleBatch(detail: ExecutionStatusDetail, batchId: string): Promise<BatchItem | undefined> {
  switch (detail.status) {
    case 'SUCCEEDED':
      return finishBatch(batchId, 'completed');
    case 'FAILED':
    case 'TIMED_OUT':
      return finishBatch(batchId, 'failed', failureReason(detail));
    case 'ABORTED':
      // A stop through the API has already set `stop`; an abort from elsewhere (console) ends here.
      return finishBatch(batchId, 'stop', 'The execution was stopped outside Sluice.');
    default:
      return undefined;
  }
}

/**
 * Execution status changes → batch terminal states. On AWS these arrive from EventBridge
 * ("Step Functions Execution Status Change"); the local engine sends the same shape. The
 * execution is named after its batch. Duplicates and late events change nothing: a batch
 * leaves running/pending once (see runs.ts).
 */
import { logger } from '../observability.ts';
import { finishBatch } from '../pipelines/runs.ts';

export interface ExecutionStatusDetail {
  executionArn: string;
  stateMachineArn?: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  error?: string | null;
  cause?: string | null;
}

/** The reason a failed execution is shown with, without engine internals. */
function failureReason(detail: ExecutionStatusDetail): string {
  if (detail.status === 'TIMED_OUT') return 'The run took longer than its timeout and was stopped.';
  if (detail.error === 'Sluice.StepFailed' && detail.cause) return detail.cause;
  return 'A step failed; GET /api/v1/traces shows which one and why.';
}

export async function onExecutionStatus(detail: ExecutionStatusDetail): Promise<void> {
  const batchId = detail.name;
  logger.appendKeys({ batchId });
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

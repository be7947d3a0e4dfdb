/**
 * How a failed run is explained to users, from the status its execution ended with. Shared by
 * the finalizer (a pipeline execution's own status change) and by workflows (a job execution
 * that a workflow waited for); free of stores so that it can be unit-tested.
 */
import { SLUICE_ERRORS } from './contract.ts';

export interface EndedExecution {
  status: string;
  error?: string | null;
  cause?: string | null;
}

/** The reason a failed execution is shown with, without engine internals. */
export function failureReason(detail: EndedExecution): string {
  if (detail.status === 'TIMED_OUT') return 'The run took longer than its timeout and was stopped.';
  if (detail.error === SLUICE_ERRORS.stepFailed && detail.cause) return detail.cause;
  return 'A step failed; GET /api/v1/traces shows which one and why.';
}

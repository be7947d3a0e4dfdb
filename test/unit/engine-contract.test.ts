/**
 * The engine contract is what the compiled definitions and the code behind their Tasks agree on:
 * the compilers emit exactly its actions and error names, and the failure explanation reads the
 * same names back.
 */
import { describe, expect, it } from 'vitest';
import {
  SLUICE_ERRORS,
  STATES_ERRORS,
  TRANSIENT_ERRORS,
  WORKER_ACTIONS,
  WORKFLOW_STEP_ACTIONS,
} from '#core/engine/contract';
import { failureReason } from '#core/engine/failure';
import { compilePipeline } from '../../statemachines/compile.ts';
import { compileWorkflow } from '../../statemachines/workflow.ts';

interface State {
  Type: string;
  Parameters?: { action?: string };
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[] }>;
  Error?: string;
  Branches?: Machine[];
  ItemProcessor?: Machine;
}
interface Machine {
  States: Record<string, State>;
}

/** Every state of a definition, inside Parallel branches and Map processors too. */
function statesOf(definition: string): State[] {
  const found: State[] = [];
  const walk = (machine: Machine | undefined) => {
    for (const state of Object.values(machine?.States ?? {})) {
      found.push(state);
      for (const branch of state.Branches ?? []) walk(branch);
      walk(state.ItemProcessor);
    }
  };
  walk(JSON.parse(definition) as Machine);
  return found;
}

const pipeline = compilePipeline({
  pipelineId: 'pl-0001',
  version: 1,
  stages: [
    { key: '1', stepName: 'read', parents: [], partitioned: true },
    { key: '2', stepName: 'left', parents: ['1'], partitioned: false },
    { key: '3', stepName: 'right', parents: ['1'], partitioned: false },
  ],
  timeoutSeconds: 3600,
  maxConcurrency: 4,
  workerArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-step-worker',
});

const workflow = compileWorkflow({
  workflowId: 'wf-0001',
  nodes: [
    { key: '1', jobId: 'pl-1', jobName: 'A', parents: [], timeoutSeconds: 600 },
    { key: '2', jobId: 'pl-2', jobName: 'B', parents: ['1'], timeoutSeconds: 600 },
  ],
  stepArn: 'arn:aws:lambda:us-east-1:123456789012:function:sluice-workflow-step',
});

describe('the pipeline compiler', () => {
  it('asks the step worker for exactly the contract’s actions', () => {
    const actions = new Set(statesOf(pipeline).flatMap((s) => s.Parameters?.action ?? []));

    expect([...actions].sort()).toEqual(Object.values(WORKER_ACTIONS).sort());
  });

  it('retries the contract’s transient errors, catches everything and fails with StepFailed', () => {
    const states = statesOf(pipeline);
    const retried = states.flatMap((s) => s.Retry ?? []).map((r) => r.ErrorEquals);
    const caught = states.flatMap((s) => s.Catch ?? []).map((c) => c.ErrorEquals);
    const fails = states.filter((s) => s.Type === 'Fail' && s.Error !== undefined).map((s) => s.Error);

    expect(retried.length).toBeGreaterThan(0);
    for (const errors of retried) expect(errors).toEqual([...TRANSIENT_ERRORS]);
    expect(caught.length).toBeGreaterThan(0);
    for (const errors of caught) expect(errors).toEqual([STATES_ERRORS.all]);
    expect(fails.length).toBeGreaterThan(0);
    for (const error of fails) expect(error).toBe(SLUICE_ERRORS.stepFailed);
  });
});

describe('the workflow compiler', () => {
  it('asks the workflow-step Lambda for exactly the contract’s actions', () => {
    const actions = new Set(statesOf(workflow).flatMap((s) => s.Parameters?.action ?? []));

    expect([...actions].sort()).toEqual(Object.values(WORKFLOW_STEP_ACTIONS).sort());
  });

  it('waits on JobBusy and fails with JobFailed', () => {
    const states = statesOf(workflow);
    const retried = states.flatMap((s) => s.Retry ?? []).flatMap((r) => r.ErrorEquals);
    const fails = states.filter((s) => s.Type === 'Fail').map((s) => s.Error);

    expect(retried).toContain(SLUICE_ERRORS.jobBusy);
    expect(retried).toEqual(expect.arrayContaining([...TRANSIENT_ERRORS]));
    expect(fails).toEqual([SLUICE_ERRORS.jobFailed, SLUICE_ERRORS.jobFailed]);
  });
});

describe('the failure explanation', () => {
  it('shows the cause of a run that ended with the contract’s StepFailed', () => {
    expect(failureReason({ status: 'FAILED', error: SLUICE_ERRORS.stepFailed, cause: 'bad sql' })).toBe(
      'bad sql',
    );
  });

  it('keeps the cause of any other error to itself', () => {
    expect(
      failureReason({ status: 'FAILED', error: 'Lambda.Unknown', cause: 'internal detail' }),
    ).not.toContain('internal detail');
  });
});

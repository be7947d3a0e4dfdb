/**
 * The local engine's second kind of deployment: a compiled workflow whose Run Tasks start the
 * jobs' pipeline definitions in the same engine and wait for them, as `startExecution.sync:2`
 * does on AWS. The worker, the workflow step and the finalizer are fakes here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerEvent } from '#core/engine/contract';
import type { ExecutionStatusDetail } from '#core/engine/finalize';
import type { WorkflowStepEvent } from '#core/workflows/steps';
import { createLocalEngine, type LocalEngine } from '#local/engine';
import { compilePipeline } from '../../statemachines/compile.ts';
import { compileWorkflow } from '../../statemachines/workflow.ts';

let dataDir: string;
let statuses: ExecutionStatusDetail[];
let steps: WorkflowStepEvent[];
let engines: LocalEngine[];
/** Pipeline ids whose only step never ends (until stopped). */
let hanging: Set<string>;
let refs: Map<string, string>;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-engine-'));
  statuses = [];
  steps = [];
  engines = [];
  hanging = new Set();
  refs = new Map();
});

afterEach(async () => {
  for (const engine of engines) await engine.stopAll();
  await rm(dataDir, { recursive: true, force: true });
});

function newEngine(): LocalEngine {
  const engine = createLocalEngine({
    dataDir,
    region: 'us-east-1',
    async worker(event: WorkerEvent, signal: AbortSignal) {
      if (event.action === 'run' && hanging.has(event.pipeline_id)) {
        // A stop may come before the step has begun: an aborted signal ends it at once.
        await new Promise((_, reject) => {
          if (signal.aborted) reject(new Error('stopped'));
          signal.addEventListener('abort', () => reject(new Error('stopped')));
        });
      }
      return {};
    },
    async workflowStep(event: WorkflowStepEvent) {
      steps.push(event);
      if (event.action === 'fail') return {};
      return {
        batch_id: `batch-${event.node_id}`,
        pipeline_id: event.job_id,
        pipeline_version: 1,
        state_machine: refs.get(event.job_id),
      };
    },
    async onStatus(detail) {
      statuses.push(detail);
    },
    track: () => undefined,
    log: () => undefined,
  });
  engines.push(engine);
  return engine;
}

async function deployJob(engine: LocalEngine, pipelineId: string) {
  const definition = compilePipeline({
    pipelineId,
    version: 1,
    stages: [{ key: '1', stepName: 'only', parents: [], partitioned: false }],
    timeoutSeconds: 60,
    maxConcurrency: 1,
    workerArn: 'arn:aws:lambda:us-east-1:000000000000:function:worker',
  });
  refs.set(pipelineId, await engine.deploy({ pipelineId, version: 1, definition }));
}

async function startWorkflow(engine: LocalEngine, jobs: string[]) {
  const definition = compileWorkflow({
    workflowId: 'wf-1',
    nodes: jobs.map((jobId, i) => ({
      key: String(i + 1),
      jobId,
      jobName: jobId,
      parents: i === 0 ? [] : [String(i)],
      timeoutSeconds: 60,
    })),
    stepArn: 'arn:aws:lambda:us-east-1:000000000000:function:workflow-step',
  });
  const ref = await engine.deployWorkflow({ workflowId: 'wf-1', definition });
  return engine.startWorkflow({ ref, input: { workflow_execution_id: 'wfx-1', workflow_id: 'wf-1' } });
}

async function until(what: string, done: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const summary = () => statuses.map((s) => `${s.name} ${s.status}`);

describe('workflows on the local engine', () => {
  it('runs each job as an execution of its pipeline and finalizes it before the next starts', async () => {
    const engine = newEngine();
    await deployJob(engine, 'pl-a');
    await deployJob(engine, 'pl-b');

    const arn = await startWorkflow(engine, ['pl-a', 'pl-b']);
    await until('the workflow to end', () => statuses.some((s) => s.name === 'wfx-1'));

    expect(arn).toBe('arn:aws:states:us-east-1:000000000000:execution:sluice-local-wf-1:wfx-1');
    expect(summary()).toEqual(['batch-1 SUCCEEDED', 'batch-2 SUCCEEDED', 'wfx-1 SUCCEEDED']);
    expect(statuses[0]?.executionArn).toBe(engine.executionIdOf(refs.get('pl-a') ?? '', 'batch-1'));
    expect(steps.map((s) => `${s.action} ${s.node_id}`)).toEqual(['record 1', 'record 2']);
  });

  it('fails the job Task with the job execution as its cause when the job fails', async () => {
    const engine = newEngine();
    await deployJob(engine, 'pl-a');
    await deployJob(engine, 'pl-b');
    hanging.add('pl-a');

    await startWorkflow(engine, ['pl-a', 'pl-b']);
    await until('the job to run', () => steps.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    await engine.stop(engine.executionIdOf(refs.get('pl-a') ?? '', 'batch-1'), 'test');
    await until('the workflow to end', () => statuses.some((s) => s.name === 'wfx-1'));

    expect(summary()).toEqual(['batch-1 ABORTED', 'wfx-1 FAILED']);
    const fail = steps.find((s) => s.action === 'fail');
    expect(fail?.error?.Error).toBe('States.TaskFailed');
    expect(JSON.parse(fail?.error?.Cause ?? '{}')).toMatchObject({ Name: 'batch-1', Status: 'ABORTED' });
  });

  it('stops the job execution a stopped workflow is waiting for', async () => {
    const engine = newEngine();
    await deployJob(engine, 'pl-a');
    hanging.add('pl-a');
    const job = () => engine.executionIdOf(refs.get('pl-a') ?? '', 'batch-1');

    const arn = await startWorkflow(engine, ['pl-a']);
    await until('the job to run', () => steps.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(await engine.executionState(job())).toBe('RUNNING');
    await engine.stop(arn, 'test');
    await until('both to end', () => statuses.length === 2);

    expect(summary().sort()).toEqual(['batch-1 ABORTED', 'wfx-1 ABORTED']);
    expect(await engine.executionState(job())).toBe('UNKNOWN');
  });

  it('reports a workflow execution cut off by a shutdown as failed when it starts again', async () => {
    const first = newEngine();
    await deployJob(first, 'pl-a');
    hanging.add('pl-a');
    await startWorkflow(first, ['pl-a']);
    await until('the job to run', () => steps.length === 1);
    await first.stopAll();
    expect(statuses).toEqual([]);

    newEngine();
    await until('the recovery', () => statuses.length === 1);

    expect(statuses[0]).toMatchObject({
      name: 'wfx-1',
      status: 'FAILED',
      error: 'Sluice.HostStopped',
      executionArn: 'arn:aws:states:us-east-1:000000000000:execution:sluice-local-wf-1:wfx-1',
    });
  });
});

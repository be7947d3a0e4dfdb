import { createRequire } from 'node:module';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionInput, WorkerEvent } from '#core/engine/contract';
import {
  type CompileRequest,
  type CompileStage,
  compilePipeline,
  taskStateNames,
} from '../../statemachines/compile.ts';

// asl-validator ships no type declarations: load it through require with the shape it documents.
type AslValidator = (
  definition: object,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errors: Array<{ message?: string }>; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const WORKER = 'arn:aws:lambda:us-east-1:123456789012:function:sluice-step-worker';

function request(nodes: CompileStage[], extra: Partial<CompileRequest> = {}): CompileRequest {
  return {
    pipelineId: 'pl-0001',
    version: 3,
    stages: nodes,
    timeoutSeconds: 21_600,
    maxConcurrency: 10,
    workerArn: WORKER,
    ...extra,
  };
}

const node = (key: string, stepName: string, parents: string[] = [], partitioned = false): CompileStage => ({
  key,
  stepName,
  parents,
  partitioned,
});

const PIPELINES: Record<string, CompileStage[]> = {
  empty: [],
  linear: [node('1', 'read orders'), node('2', 'filter paid', ['1']), node('3', 'write dataset', ['2'])],
  diamond: [
    node('1', 'source'),
    node('2', 'left transform', ['1']),
    node('3', 'right transform', ['1']),
    node('4', 'join', ['2', '3']),
  ],
  twoChains: [
    node('10', 'source a'),
    node('11', 'filter a', ['10']),
    node('12', 'target a', ['11']),
    node('20', 'source b'),
    node('21', 'target b', ['20']),
  ],
  partitioned: [
    node('1', '로그 읽기 (S3)', [], true),
    node('2', 'aggregate', ['1']),
    node('3', 'target', ['2']),
  ],
};

function validate(definition: string): void {
  const result = aslValidator(JSON.parse(definition));
  if (!result.isValid) console.error(result.errorsText('\n'));
  expect(result.isValid).toBe(true);
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('compilePipeline', () => {
  for (const [name, nodes] of Object.entries(PIPELINES)) {
    it(`compiles the ${name} pipeline`, () => {
      const definition = compilePipeline(request(nodes));
      expect(definition).toMatchSnapshot();
      validate(definition);
    });
  }

  it('compiles an empty pipeline to one Succeed state', () => {
    expect(JSON.parse(compilePipeline(request([])))).toEqual({
      Comment: 'Sluice pipeline pl-0001 version 3',
      StartAt: 'No steps',
      TimeoutSeconds: 21_600,
      States: { 'No steps': { Type: 'Succeed' } },
    });
  });

  it('is byte-identical whatever the node order', () => {
    for (const nodes of Object.values(PIPELINES)) {
      const expected = compilePipeline(request(nodes));
      for (let seed = 1; seed <= 5; seed++) {
        expect(compilePipeline(request(shuffled(nodes, seed)))).toBe(expected);
      }
    }
  });

  it('runs a level of several nodes as one Parallel state, branches ordered by numeric key', () => {
    const nodes = [node('1', 's'), node('10', 'b', ['1']), node('9', 'a', ['1']), node('2', 'c', ['1'])];
    const machine = JSON.parse(compilePipeline(request(nodes)));
    expect(Object.keys(machine.States).filter((n) => machine.States[n].Type !== 'Fail')).toEqual([
      'Run 1 s',
      'Parallel level 2',
      'Record failure 1 s',
    ]);
    expect(machine.States['Parallel level 2'].Branches.map((b: any) => b.StartAt)).toEqual([
      'Run 2 c',
      'Run 9 a',
      'Run 10 b',
    ]);
    validate(JSON.stringify(machine));
  });

  it('places a node at its longest path from a root', () => {
    // 3 depends on 1 and on 2 (which depends on 1): it must wait for level 2.
    const nodes = [node('1', 'a'), node('2', 'b', ['1']), node('3', 'c', ['1', '2'])];
    const machine = JSON.parse(compilePipeline(request(nodes)));
    expect(machine.StartAt).toBe('Run 1 a');
    expect(machine.States['Run 1 a'].Next).toBe('Run 2 b');
    expect(machine.States['Run 2 b'].Next).toBe('Run 3 c');
    expect(machine.States['Run 3 c'].End).toBe(true);
  });

  it('keeps state names unique, at most 80 characters and whole code points', () => {
    const long = '한국어😀'.repeat(40);
    const nodes = [node('1', long, [], true), node('2', `${long}/\t"x"`, ['1']), node('3', '???', ['1'])];
    const definition = compilePipeline(request(nodes));
    validate(definition);
    const names: string[] = [];
    const collect = (machine: any) => {
      for (const [name, state] of Object.entries<any>(machine.States)) {
        names.push(name);
        for (const branch of state.Branches ?? []) collect(branch);
        if (state.ItemProcessor) collect(state.ItemProcessor);
      }
    };
    collect(JSON.parse(definition));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toBe(name.trim());
      expect(name).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      expect(name).not.toMatch(/[\t"/?]/);
    }
    expect(names).toContain('Run 3');
  });

  it('sends the worker a tiny WorkerEvent from every Task, with Retry, Catch and a timeout', () => {
    const machine = JSON.parse(compilePipeline(request(PIPELINES.partitioned ?? [])));
    const plan = machine.States['Plan 1 로그 읽기 (S3)'];
    expect(plan.Parameters).toEqual({
      'batch_id.$': '$$.Execution.Input.batch_id',
      'pipeline_id.$': '$$.Execution.Input.pipeline_id',
      'pipeline_version.$': '$$.Execution.Input.pipeline_version',
      action: 'plan',
      stage_id: '1',
    });
    expect(plan.ResultSelector).toEqual({ 'partitions.$': '$.partitions' });
    const map = machine.States['Partitions 1 로그 읽기 (S3)'];
    expect(map.ItemsPath).toBe('$.plan.partitions');
    expect(map.MaxConcurrency).toBe(10);
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'INLINE' });
    const run = machine.States['Run 2 aggregate'];
    expect(run.TimeoutSeconds).toBe(900);
    expect(run.ResultPath).toBeNull();
    expect(run.Retry[0]).toMatchObject({
      IntervalSeconds: 2,
      BackoffRate: 2,
      MaxAttempts: 3,
      JitterStrategy: 'FULL',
    });
    expect(run.Retry[0].ErrorEquals).toContain('Sluice.Transient');
    expect(run.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Record failure 2 aggregate' },
    ]);
    // The run ends with what the recorder answers (the failed node, named for the user) ...
    expect(machine.States['Record failure 2 aggregate']).toMatchObject({
      ResultSelector: { 'cause.$': '$.cause' },
      ResultPath: '$.failure',
      Next: 'Failed 2 aggregate',
    });
    expect(machine.States['Failed 2 aggregate']).toEqual({
      Type: 'Fail',
      Error: 'Sluice.StepFailed',
      CausePath: '$.failure.cause',
    });
    // ... or, when the recorder itself failed, with the stage.
    expect(machine.States['Unrecorded 2 aggregate']).toEqual({
      Type: 'Fail',
      Error: 'Sluice.StepFailed',
      Cause: 'Stage 2 (aggregate) failed',
    });
    expect(JSON.stringify(machine)).not.toMatch(/JSONata|QueryLanguage/);
  });

  it('lists every Task state, including Parallel branches and Map processors', () => {
    const definition = compilePipeline(
      request([node('1', 'src', [], true), node('2', 'a', ['1'], true), node('3', 'b', ['1'])]),
    );
    expect(taskStateNames(definition)).toEqual([
      'Partition 1 src',
      'Partition 2 a',
      'Plan 1 src',
      'Plan 2 a',
      'Record failure 1 src',
      'Record failure 2 a',
      'Record failure 3 b',
      'Run 3 b',
      'Seal 1 src',
      'Seal 2 a',
    ]);
    expect(taskStateNames(JSON.parse(definition))).toEqual(taskStateNames(definition));
  });
});

describe('a compiled pipeline on aws-local-stepfunctions', () => {
  beforeAll(() => {
    // aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
    const P = Promise as unknown as { withResolvers?: unknown };
    if (typeof P.withResolvers !== 'function') {
      P.withResolvers = <T>() => {
        let resolve!: (value: T) => void;
        let reject!: (reason?: unknown) => void;
        const promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      };
    }
  });

  const input: ExecutionInput = { batch_id: 'batch-x', pipeline_id: 'pl-0001', pipeline_version: 3 };
  const PARTITIONS = 4;

  interface Call {
    event: WorkerEvent;
    state: string;
  }

  /** Runs `definition` with a recording handler per Task state; `fault` may throw for one event. */
  async function execute(definition: string, fault?: (event: WorkerEvent) => void) {
    const calls: Call[] = [];
    const finished: string[] = [];
    const handlers: Record<string, (event: any) => Promise<any>> = {};
    for (const state of taskStateNames(definition)) {
      handlers[state] = async (event: WorkerEvent) => {
        calls.push({ event, state });
        await new Promise((resolve) => setTimeout(resolve, 2));
        fault?.(event);
        if (event.action === 'run' && event.partition === undefined) finished.push(event.stage_id);
        if (event.action === 'seal') finished.push(event.stage_id);
        if (event.action === 'plan') {
          return { partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition })) };
        }
        if (event.action === 'fail') return { cause: `Recorded ${event.stage_id}` };
        return event.action === 'run' ? { rows: 1, bytes: 10 } : {};
      };
    }
    const machine = new StateMachine(JSON.parse(definition));
    const execution = machine.run(input as any, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: { Execution: { Input: input as any, Name: 'batch-x' } },
    });
    try {
      return { calls, finished, output: await execution.result, error: undefined };
    } catch (error) {
      return { calls, finished, output: undefined, error: error as Error };
    }
  }

  const events = (calls: Call[], action: string) =>
    calls.filter((c) => c.event.action === action).map((c) => c.event);

  it('runs every node once, in dependency order, partitions fanned out', async () => {
    const nodes = [
      node('1', 'source', [], true),
      node('2', 'left', ['1']),
      node('3', 'right', ['1'], true),
      node('4', 'join', ['2', '3']),
      node('5', 'target', ['4']),
    ];
    const definition = compilePipeline(request(nodes));
    const { calls, finished, error, output } = await execute(definition);
    expect(error).toBeUndefined();
    // State data stays the execution input plus the partition count of the last Map.
    expect(output).toEqual({ ...input, plan: { partitions: PARTITIONS } });

    for (const call of calls) {
      expect(call.event).toMatchObject({ batch_id: 'batch-x', pipeline_id: 'pl-0001', pipeline_version: 3 });
    }
    expect(events(calls, 'fail')).toEqual([]);
    expect(events(calls, 'plan').map((e) => e.stage_id)).toEqual(['1', '3']);
    expect(events(calls, 'seal').map((e) => e.stage_id)).toEqual(['1', '3']);
    const whole = events(calls, 'run').filter((e) => e.partition === undefined);
    expect(whole.map((e) => e.stage_id).sort()).toEqual(['2', '4', '5']);
    expect(whole[0]).toEqual({ ...input, action: 'run', stage_id: '2' });
    for (const key of ['1', '3']) {
      const parts = events(calls, 'run').filter((e) => e.stage_id === key && e.partition !== undefined);
      expect(parts.map((e) => e.partition).sort()).toEqual([0, 1, 2, 3]);
      expect(parts[0]).toEqual({ ...input, action: 'run', stage_id: key, partition: parts[0]?.partition });
    }

    // A node starts only after each parent finished.
    const startOf = (key: string) => calls.findIndex((c) => c.event.stage_id === key);
    expect(finished.sort()).toEqual(['1', '2', '3', '4', '5']);
    const order = calls.map((c) => c.event.stage_id);
    for (const n of nodes) {
      for (const parent of n.parents) {
        const parentDone = order.lastIndexOf(parent);
        expect(startOf(n.key)).toBeGreaterThan(parentDone);
      }
    }
  });

  it('runs an empty pipeline to completion', async () => {
    const { calls, error } = await execute(compilePipeline(request([])));
    expect(error).toBeUndefined();
    expect(calls).toEqual([]);
  });

  const causeOf = (error: Error | undefined) => error?.cause as Error | undefined;

  const stepFailed = () => Object.assign(new Error('bad sql'), { name: 'Sluice.StepFailed' });

  it('records a failing top-level step once and fails the execution', async () => {
    const definition = compilePipeline(request(PIPELINES.linear ?? []));
    const { calls, error } = await execute(definition, (e) => {
      if (e.action === 'run' && e.stage_id === '2') throw stepFailed();
    });
    expect(error).toBeInstanceOf(ExecutionError);
    expect(causeOf(error)?.name).toBe('Sluice.StepFailed');
    expect(causeOf(error)?.message).toBe('Recorded 2');
    expect(events(calls, 'fail')).toEqual([
      { ...input, action: 'fail', stage_id: '2', error: { Error: 'Sluice.StepFailed', Cause: 'bad sql' } },
    ]);
    expect(calls.some((c) => c.event.stage_id === '3')).toBe(false);
  });

  it('records a failing Parallel branch inside the branch and stops the run', async () => {
    const definition = compilePipeline(request(PIPELINES.diamond ?? []));
    const { calls, error } = await execute(definition, (e) => {
      if (e.action === 'run' && e.stage_id === '3') throw stepFailed();
    });
    expect(causeOf(error)?.name).toBe('Sluice.StepFailed');
    expect(causeOf(error)?.message).toBe('Recorded 3');
    expect(events(calls, 'fail')).toEqual([
      { ...input, action: 'fail', stage_id: '3', error: { Error: 'Sluice.StepFailed', Cause: 'bad sql' } },
    ]);
    expect(calls.some((c) => c.event.stage_id === '4')).toBe(false);
  });

  it('records a failing partition once for its step, without sealing it', async () => {
    const definition = compilePipeline(request(PIPELINES.partitioned ?? []));
    const { calls, error } = await execute(definition, (e) => {
      if (e.action === 'run' && e.stage_id === '1' && e.partition !== undefined && e.partition >= 1) {
        throw stepFailed();
      }
    });
    expect(causeOf(error)?.name).toBe('Sluice.StepFailed');
    expect(events(calls, 'fail')).toEqual([
      { ...input, action: 'fail', stage_id: '1', error: { Error: 'Sluice.StepFailed', Cause: 'bad sql' } },
    ]);
    expect(events(calls, 'seal')).toEqual([]);
    expect(calls.some((c) => c.event.stage_id === '2')).toBe(false);
  });

  it('still fails the run when the failure recorder itself fails', async () => {
    const definition = compilePipeline(request(PIPELINES.linear ?? []));
    const { calls, error } = await execute(definition, (e) => {
      if (e.stage_id === '1') throw stepFailed();
    });
    expect(causeOf(error)?.message).toBe('Stage 1 (read orders) failed');
    expect(events(calls, 'fail').map((e) => e.stage_id)).toEqual(['1']);
  });
});

import { describe, expect, it } from 'vitest';
import { type NodeRole, type Plan, type PlanInputNode, planStages } from '../../statemachines/plan.ts';

/** `n('3', 'row', '1', '2')`: node 3, row-wise, reading 1 and 2. */
const n = (key: string, role: NodeRole, ...parents: string[]): PlanInputNode => ({ key, role, parents });

/** The plan as `stage: nodes [reasons] <- after`, one line per stage, for readable expectations. */
function shape(plan: Plan): string[] {
  return plan.stages.map(
    (s) =>
      `${s.id}${s.partitioned ? '*' : ''}: ${s.nodes.join(' ')}` +
      (s.reasons.length ? ` [${s.reasons.join(',')}]` : '') +
      (s.after.length ? ` <- ${s.after.join(' ')}` : ''),
  );
}

describe('planStages', () => {
  it('plans nothing for an empty pipeline', () => {
    expect(planStages([])).toEqual({ stages: [], stageOf: {} });
  });

  it('runs a lone source per partition', () => {
    expect(shape(planStages([n('1', 'source')]))).toEqual(['s1*: 1 [partitions]']);
  });

  it('fuses row-wise nodes after a source into its partition stage; a target reads them after', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'row', '1'),
      n('3', 'row', '2'),
      n('4', 'target', '3'),
    ]);
    expect(shape(plan)).toEqual(['s1*: 1 2 3 [partitions]', 's2: 4 [target] <- s1']);
    expect(plan.stages[0]).toMatchObject({ outputs: ['3'], targets: [], source: '1' });
    expect(plan.stages[1]).toMatchObject({ outputs: [], targets: ['4'] });
  });

  it('starts a whole-input stage at the first node that needs all rows, and fuses what follows', () => {
    // The benchmark's chain: filter -> key -> aggregate -> dataset.
    const plan = planStages([
      n('1', 'source'),
      n('2', 'row', '1'),
      n('3', 'row', '2'),
      n('4', 'all', '3'),
      n('5', 'target', '4'),
    ]);
    expect(shape(plan)).toEqual(['s1*: 1 2 3 [partitions]', 's2: 4 5 [all-rows] <- s1']);
  });

  it('keeps row-wise nodes after an all-rows node in its stage', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'all', '1'),
      n('3', 'row', '2'),
      n('4', 'row', '3'),
      n('5', 'target', '4'),
    ]);
    expect(shape(plan)).toEqual(['s1*: 1 [partitions]', 's2: 2 3 4 5 [all-rows] <- s1']);
  });

  it('joins two sources in one stage after both partition stages', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'source'),
      n('3', 'row', '1'),
      n('4', 'all', '3', '2'),
      n('5', 'target', '4'),
    ]);
    expect(shape(plan)).toEqual([
      's1*: 1 3 [partitions]',
      's2*: 2 [partitions]',
      's3: 4 5 [all-rows] <- s1 s2',
    ]);
    expect(plan.stages[0]?.outputs).toEqual(['3']);
    expect(plan.stages[1]?.outputs).toEqual(['2']);
  });

  it('fans out to two targets from one whole-input stage', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'all', '1'),
      n('3', 'row', '2'),
      n('4', 'target', '3'),
      n('5', 'target', '2'),
    ]);
    expect(shape(plan)).toEqual(['s1*: 1 [partitions]', 's2: 2 3 4 5 [all-rows] <- s1']);
    expect(plan.stages[1]?.targets).toEqual(['4', '5']);
  });

  it('runs both row-wise branches of one source in its partition stage; each target in its own', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'row', '1'),
      n('3', 'row', '1'),
      n('4', 'target', '2'),
      n('5', 'target', '3'),
    ]);
    // The targets are not connected to each other: two stages, which run in parallel.
    expect(shape(plan)).toEqual(['s1*: 1 2 3 [partitions]', 's2: 4 [target] <- s1', 's3: 5 [target] <- s1']);
    expect(plan.stages[0]?.outputs).toEqual(['2', '3']);
  });

  it('fuses a diamond after an all-rows node into one stage', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'all', '1'),
      n('3', 'row', '2'),
      n('4', 'row', '2'),
      n('5', 'all', '3', '4'),
      n('6', 'target', '5'),
    ]);
    expect(shape(plan)).toEqual(['s1*: 1 [partitions]', 's2: 2 3 4 5 6 [all-rows] <- s1']);
  });

  it('merges independent whole-input branches where they meet', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'source'),
      n('3', 'all', '1'),
      n('4', 'all', '2'),
      n('5', 'all', '3', '4'),
      n('6', 'target', '5'),
    ]);
    expect(shape(plan)).toEqual([
      's1*: 1 [partitions]',
      's2*: 2 [partitions]',
      's3: 3 4 5 6 [all-rows] <- s1 s2',
    ]);
  });

  it('writes a materialized node and starts its children in a new stage', () => {
    const nodes = [
      n('1', 'source'),
      { ...n('2', 'all', '1'), materialize: true },
      n('3', 'row', '2'),
      n('4', 'target', '3'),
    ];
    const plan = planStages(nodes);
    expect(shape(plan)).toEqual([
      's1*: 1 [partitions]',
      's2: 2 [all-rows] <- s1',
      's3: 3 4 [materialize] <- s2',
    ]);
    expect(plan.stages[1]?.outputs).toEqual(['2']);
  });

  it('ends a partition stage at a materialized row-wise node', () => {
    const nodes = [n('1', 'source'), { ...n('2', 'row', '1'), materialize: true }, n('3', 'row', '2')];
    expect(shape(planStages(nodes))).toEqual(['s1*: 1 2 [partitions]', 's2: 3 [materialize] <- s1']);
  });

  it('keeps a stage that another parent already reads apart instead of making a cycle', () => {
    // 2 is materialized, so 3 is in another stage than 2's; 4 reads 1's stage (through 5) and 3's.
    const nodes = [
      n('1', 'source'),
      n('5', 'all', '1'),
      { ...n('2', 'row', '5'), materialize: true },
      n('3', 'row', '2'),
      n('4', 'all', '5', '3'),
    ];
    const plan = planStages(nodes);
    expect(shape(plan)).toEqual([
      's1*: 1 [partitions]',
      's2: 5 2 [all-rows] <- s1',
      's3: 3 4 [materialize] <- s2',
    ]);
    expect(plan.stages[1]?.outputs).toEqual(['5', '2']);
  });

  it('splits where the engine changes', () => {
    const nodes = [
      n('1', 'source'),
      n('2', 'all', '1'),
      { ...n('3', 'all', '2'), engine: 'ATHENA' as const },
      n('4', 'target', '3'),
    ];
    const plan = planStages(nodes, 'DUCKDB');
    expect(shape(plan)).toEqual([
      's1*: 1 [partitions]',
      's2: 2 [all-rows] <- s1',
      's3: 3 [engine] <- s2',
      's4: 4 [engine] <- s3',
    ]);
    expect(plan.stages.map((s) => s.engine)).toEqual(['DUCKDB', 'DUCKDB', 'ATHENA', 'DUCKDB']);
  });

  it('gives every stage the pipeline engine by default', () => {
    const plan = planStages([n('1', 'source'), n('2', 'all', '1'), n('3', 'source')], 'ATHENA');
    // Athena reads a source whole: no partition stage, the source fuses with what reads it.
    expect(plan.stages.map((s) => s.engine)).toEqual(['ATHENA', 'ATHENA']);
  });

  it('runs a union of two partitioned chains after both', () => {
    const plan = planStages([
      n('1', 'source'),
      n('2', 'row', '1'),
      n('3', 'source'),
      n('4', 'row', '3'),
      n('5', 'all', '2', '4'),
      n('6', 'row', '5'),
      n('7', 'target', '6'),
    ]);
    expect(shape(plan)).toEqual([
      's1*: 1 2 [partitions]',
      's2*: 3 4 [partitions]',
      's3: 5 6 7 [all-rows] <- s1 s2',
    ]);
  });

  it('does not fuse a row-wise node with two parents into a partition stage', () => {
    const plan = planStages([n('1', 'source'), n('2', 'source'), n('3', 'row', '1', '2')]);
    expect(shape(plan)).toEqual(['s1*: 1 [partitions]', 's2*: 2 [partitions]', 's3: 3 [all-rows] <- s1 s2']);
  });

  it('reads a self-join input once', () => {
    const plan = planStages([n('1', 'source'), n('2', 'all', '1', '1')]);
    expect(shape(plan)).toEqual(['s1*: 1 [partitions]', 's2: 2 [all-rows] <- s1']);
    expect(plan.stages[0]?.outputs).toEqual(['1']);
  });

  it('is the same plan whatever order the nodes come in', () => {
    const nodes = [
      n('1', 'source'),
      n('2', 'source'),
      n('10', 'row', '1'),
      n('11', 'all', '10', '2'),
      n('12', 'target', '11'),
      n('13', 'target', '10'),
    ];
    const expected = planStages(nodes);
    for (let shift = 1; shift < nodes.length; shift++) {
      const rotated = [...nodes.slice(shift), ...nodes.slice(0, shift)];
      expect(planStages(rotated)).toEqual(expected);
      expect(planStages([...rotated].reverse())).toEqual(expected);
    }
    expect(shape(expected)).toEqual([
      's1*: 1 10 [partitions]',
      's2*: 2 [partitions]',
      's3: 11 12 [all-rows] <- s1 s2',
      's4: 13 [target] <- s1',
    ]);
  });

  it('refuses a cycle', () => {
    expect(() => planStages([n('1', 'row', '2'), n('2', 'row', '1')])).toThrow(/cycle/);
  });
});

/**
 * Engine choice: AUTO picks Athena for the stages whose upstream sources exceed the threshold,
 * DUCKDB and ATHENA force every node, and a change of engine is a stage boundary. Pure: the
 * pipelines are validated against an in-memory catalog, and sizes are given.
 */
import { describe, expect, it } from 'vitest';
import { chooseEngines, engineSchema, resolveEngines } from '#core/pipelines/engine-choice';
import type { Field } from '#core/pipelines/model';
import type { PlanNode } from '#core/pipelines/nodes/index';
import { planOf } from '#core/pipelines/pipelines';
import { stagesOf } from '#core/pipelines/stages';
import { type ValidationEnv, validatePipeline } from '#core/pipelines/validate';

const SALES: Field[] = [
  { name: 'region', type: 'string' },
  { name: 'qty', type: 'bigint' },
];
const REGIONS: Field[] = [
  { name: 'region', type: 'string' },
  { name: 'manager', type: 'string' },
];

const env: ValidationEnv = {
  allowedBuckets: ['ext'],
  resolveCollection: async (database) => (database === 'shop' ? { collectionId: 'col-1' } : undefined),
  resolveDataset: async (_collection, table) =>
    table === 'sales'
      ? { datasetId: 'ds-sales', fields: SALES }
      : table === 'regions'
        ? { datasetId: 'ds-regions', fields: REGIONS }
        : undefined,
};

async function plan(nodes: unknown[]): Promise<PlanNode[]> {
  const result = await validatePipeline(nodes, env);
  expect(result.problems).toEqual([]);
  return planOf(result);
}

const source = (id: number, table: string) => ({
  id,
  name: table,
  type: 'SOURCE_CATALOG',
  parentNodeIds: [],
  database: 'shop',
  table,
});
const filter = (id: number, parent: number) => ({
  id,
  name: `filter ${id}`,
  type: 'TRANSFORM_FILTER',
  parentNodeIds: [parent],
  filterType: 'AND',
  filterConditionList: [{ name: 'qty', operator: 'GT', value: 1 }],
});
const join = (id: number, left: number, right: number) => ({
  id,
  name: `join ${id}`,
  type: 'TRANSFORM_JOIN',
  parentNodeIds: [left, right],
  joinType: 'INNER',
  leftNodeId: left,
  rightNodeId: right,
  joinConditionList: [{ leftField: 'region', rightField: 'region', joinOperator: 'EQ' }],
});
const target = (id: number, parent: number) => ({
  id,
  name: `load ${id}`,
  type: 'TARGET_CATALOG',
  parentNodeIds: [parent],
  database: 'shop',
  table: `out ${id}`,
});

/** sales -> filter; regions; join; target. */
const JOINED = [source(1, 'sales'), filter(2, 1), source(3, 'regions'), join(4, 2, 3), target(5, 4)];

const shape = (nodes: PlanNode[], engines?: Record<string, 'DUCKDB' | 'ATHENA'>) =>
  stagesOf(nodes, 'DUCKDB', engines).stages.map(
    (s) => `${s.id}${s.partitioned ? '*' : ''} ${s.engine}: ${s.nodes.join(' ')} [${s.reasons.join(' ')}]`,
  );

describe('AUTO', () => {
  it('keeps every stage on DuckDB when no stage reads more than the threshold', async () => {
    const nodes = await plan(JOINED);

    const engines = chooseEngines(nodes, { '1': 1000, '3': 1000 }, 2000);

    expect(engines).toBeUndefined();
  });

  it('sends a stage to Athena once the bytes upstream of it exceed the threshold', async () => {
    const nodes = await plan(JOINED);

    const engines = chooseEngines(nodes, { '1': 1500, '3': 600 }, 2000);

    // The partition stages read 1500 and 600 bytes; the join stage reads both, 2100.
    expect(engines).toEqual({ '1': 'DUCKDB', '2': 'DUCKDB', '3': 'DUCKDB', '4': 'ATHENA', '5': 'ATHENA' });
  });

  it('puts a big source on Athena with everything downstream of it, fused into one stage', async () => {
    const nodes = await plan(JOINED);

    const engines = chooseEngines(nodes, { '1': 5000, '3': 10 }, 2000);

    expect(engines).toEqual({ '1': 'ATHENA', '2': 'ATHENA', '3': 'DUCKDB', '4': 'ATHENA', '5': 'ATHENA' });
    expect(shape(nodes, engines)).toEqual(['s1 ATHENA: 1 2 4 5 [engine]', 's2* DUCKDB: 3 [partitions]']);
  });

  it('counts a threshold of exactly the input size as not exceeded', async () => {
    const nodes = await plan([source(1, 'sales'), target(2, 1)]);

    expect(chooseEngines(nodes, { '1': 2000 }, 2000)).toBeUndefined();
    expect(chooseEngines(nodes, { '1': 2001 }, 2000)).toEqual({ '1': 'ATHENA', '2': 'ATHENA' });
  });
});

describe('forced engines', () => {
  it('plans DUCKDB as before: partition stages, then whole-input stages', async () => {
    const nodes = await plan(JOINED);

    expect(await resolveEngines(nodes, 'DUCKDB')).toBeUndefined();
    expect(shape(nodes)).toEqual([
      's1* DUCKDB: 1 2 [partitions]',
      's2* DUCKDB: 3 [partitions]',
      's3 DUCKDB: 4 5 [all-rows]',
    ]);
  });

  it('plans ATHENA as one whole-input stage: Athena reads sources whole', async () => {
    const nodes = await plan(JOINED);

    const engines = await resolveEngines(nodes, 'ATHENA');

    expect(shape(nodes, engines)).toEqual(['s1 ATHENA: 1 2 3 4 5 []']);
  });

  it('refuses ATHENA, naming the engine field, when a node needs columns known only at run time', async () => {
    const nodes = await plan([
      source(1, 'sales'),
      {
        id: 2,
        name: 'sql',
        type: 'TRANSFORM_SQL',
        parentNodeIds: [1],
        sourceNameList: [{ parentId: 1, newName: 's' }],
        sql: 'SELECT * FROM s',
      },
      {
        id: 3,
        name: 'dedupe',
        type: 'TRANSFORM_DROP_DUPLICATION',
        parentNodeIds: [2],
        fieldList: ['region'],
      },
      target(4, 3),
    ]);

    const refused = await resolveEngines(nodes, 'ATHENA').catch((error: unknown) => error);

    expect(refused).toMatchObject({
      status: 400,
      extras: {
        errors: [{ field: 'engine', message: expect.stringContaining('TRANSFORM_DROP_DUPLICATION') }],
      },
    });
  });
});

describe('a change of engine', () => {
  it('is a boundary between two whole-input stages, with the reason engine', async () => {
    const nodes = await plan([
      source(1, 'sales'),
      filter(2, 1),
      source(3, 'regions'),
      join(4, 2, 3),
      target(5, 4),
    ]);

    const shapes = shape(nodes, {
      '1': 'DUCKDB',
      '2': 'DUCKDB',
      '3': 'DUCKDB',
      '4': 'ATHENA',
      '5': 'ATHENA',
    });

    expect(shapes).toEqual([
      's1* DUCKDB: 1 2 [partitions]',
      's2* DUCKDB: 3 [partitions]',
      's3 ATHENA: 4 5 [engine]',
    ]);
  });

  it('is a boundary back to DuckDB after an Athena stage', async () => {
    const nodes = await plan([source(1, 'sales'), filter(2, 1), target(3, 2)]);

    const shapes = shape(nodes, { '1': 'ATHENA', '2': 'ATHENA', '3': 'DUCKDB' });

    expect(shapes).toEqual(['s1 ATHENA: 1 2 []', 's2 DUCKDB: 3 [engine]']);
  });
});

describe('the engine field', () => {
  it('takes AUTO, DUCKDB and ATHENA in any case', () => {
    expect(['auto', 'DuckDB', 'ATHENA'].map((v) => engineSchema.parse(v))).toEqual([
      'AUTO',
      'DUCKDB',
      'ATHENA',
    ]);
  });

  it('refuses any other engine with the list of engines', () => {
    const result = engineSchema.safeParse('SPARK');

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be one of AUTO, DUCKDB, ATHENA');
  });
});

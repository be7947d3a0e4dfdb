import { describe, expect, it } from 'vitest';
import type { Field } from '#core/pipelines/model';
import { type ValidationEnv, validatePipeline } from '#core/pipelines/validate';
import { seed004Nodes } from '#test/fixtures/seed004';

const ORDERS: Field[] = [
  { name: 'order_id', type: 'bigint' },
  { name: 'customer', type: 'string' },
  { name: 'amount', type: 'double' },
  { name: 'ordered_on', type: 'date' },
];

function env(overrides: Partial<ValidationEnv> = {}): ValidationEnv {
  return {
    allowedBuckets: ['aitems'],
    async resolveCollection(database) {
      return database === 'sales' || database === 'col-1' ? { collectionId: 'col-1' } : undefined;
    },
    async resolveDataset(collectionId, table) {
      if (collectionId !== 'col-1' || (table !== 'orders' && table !== 'ds-1')) return undefined;
      return { datasetId: 'ds-1', fields: ORDERS };
    },
    ...overrides,
  };
}

const ID = 1697770000000;

const fields = (...list: Array<[string, string]>) => list.map(([name, type]) => ({ name, type }));

/** A CSV source with id/name/age/joined/active columns. */
const source = (n: number, extra: Record<string, unknown> = {}) => ({
  type: 'SOURCE_OBS',
  id: ID + n,
  name: `Source ${n}`,
  parentNodeIds: [],
  regionNo: '1',
  bucketName: 'aitems',
  prefix: 'in',
  dataType: 'CSV',
  fieldList: fields(
    ['id', 'int'],
    ['name', 'string'],
    ['age', 'int'],
    ['joined', 'date'],
    ['active', 'boolean'],
  ),
  ...extra,
});

const node = (n: number, type: string, parents: number[], extra: Record<string, unknown> = {}) => ({
  type,
  id: ID + n,
  name: `Node ${n}`,
  parentNodeIds: parents.map((p) => ID + p),
  ...extra,
});

const filter = (n: number, parent: number, conditions: Array<Record<string, unknown>>) =>
  node(n, 'TRANSFORM_FILTER', [parent], { filterType: 'AND', filterConditionList: conditions });

const target = (n: number, parent: number, extra: Record<string, unknown> = {}) =>
  node(n, 'TARGET_OBS', [parent], { bucketName: 'aitems', prefix: 'out', dataType: 'PARQUET', ...extra });

const key = (n: number) => String(ID + n);

/** Problems as `nodeKey field: message` lines. */
async function problemsOf(nodes: unknown, environment = env()): Promise<string[]> {
  const result = await validatePipeline(nodes, environment);
  return result.problems.map((p) => `${p.nodeId ?? '-'} ${p.field}: ${p.message}`);
}

describe('validatePipeline', () => {
  it('accepts the createJob example of seed 004', async () => {
    const seed = seed004Nodes();
    const result = await validatePipeline(seed, env());
    expect(result.problems).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.order).toEqual(['1697770000001', '1697770000002', '1697770000003']);
    expect(result.stepNames).toEqual({
      '1697770000001': 'Object Storage',
      '1697770000002': '필터',
      '1697770000003': 'Object Storage (2)',
    });
    expect(result.outputs['1697770000003']).toEqual(
      fields(['id', 'string'], ['name', 'string'], ['description', 'string']),
    );
    expect(Object.keys(result.nodes)).toEqual(['1697770000001', '1697770000002', '1697770000003']);
  });

  it('accepts an empty node list', async () => {
    const result = await validatePipeline([], env());
    expect(result).toEqual({
      valid: true,
      problems: [],
      order: [],
      outputs: {},
      stepNames: {},
      nodes: {},
      datasets: {},
    });
  });

  it('rejects a body that is not an array', async () => {
    expect(await problemsOf({ nodes: [] })).toEqual(['- nodes: must be an array of nodes']);
  });

  it('rejects a node that is not an object, locating it by position', async () => {
    expect(await problemsOf([source(1), 'filter'])).toEqual(['- nodes.1: must be an object']);
  });

  it('rejects an unknown node type and still checks the common fields', async () => {
    const problems = await problemsOf([{ type: 'TRANSFORM_MAGIC', id: ID + 1, name: '', parentNodeIds: [] }]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toBe(`${key(1)} name: must not be empty`);
    expect(problems[1]).toMatch(
      new RegExp(`^${key(1)} type: unknown node type "TRANSFORM_MAGIC"; expected one of SOURCE_OBS,`),
    );
  });

  it('reports schema problems with the path of the field inside the node', async () => {
    const problems = await problemsOf([
      source(1, { dataType: 'XML', fieldList: [{ name: 'id', type: 'uuid' }] }),
      filter(2, 1, [{ name: 'name', operator: 'LIKE', value: 'A' }]),
      node(3, 'TARGET_OBS', [2], { prefix: 'out', dataType: 'CSV' }),
    ]);
    expect(problems).toEqual([
      `${key(1)} dataType: must be one of CSV, JSON, NDJSON, PARQUET`,
      expect.stringMatching(
        new RegExp(`^${key(1)} fieldList\\.0\\.type: must be a field type \\(boolean, tinyint,`),
      ),
      `${key(2)} filterConditionList.0.operator: must be one of EQ, NE, GT, LT, GTE, LTE`,
      `${key(3)} bucketName: is required`,
    ]);
  });

  it('rejects an id that is neither a number nor a string of digits, locating the node by position', async () => {
    expect(await problemsOf([source(1, { id: 'abc' })])).toEqual([
      '- nodes.0.id: must be a number or a string of digits',
    ]);
  });

  it('rejects a duplicate node id', async () => {
    expect(await problemsOf([source(1), source(2, { id: String(ID + 1) })])).toEqual([
      `${key(1)} id: duplicate node id ${key(1)}: nodes.0 ("Source 1") has it too`,
    ]);
  });

  it('rejects a parent that does not exist', async () => {
    expect(await problemsOf([source(1), filter(2, 9, [{ name: 'id', operator: 'EQ', value: 1 }])])).toEqual([
      `${key(2)} parentNodeIds: parent node ${key(9)} does not exist`,
    ]);
  });

  it('rejects a cycle, naming the nodes in it, and gives no order', async () => {
    const nodes = [
      source(1),
      node(2, 'TRANSFORM_UNION', [1, 4], { unionType: 'ALL' }),
      filter(3, 2, [{ name: 'id', operator: 'GT', value: 1 }]),
      filter(4, 3, [{ name: 'id', operator: 'GT', value: 2 }]),
      target(5, 4),
    ];
    const result = await validatePipeline(nodes, env());
    expect(result.problems.map((p) => `${p.nodeId} ${p.field}: ${p.message}`)).toEqual([
      `${key(2)} parentNodeIds: nodes form a cycle: ${key(2)} "Node 2", ${key(3)} "Node 3", ${key(4)} "Node 4"`,
    ]);
    expect(result.order).toEqual([]);
  });

  it('rejects a node listed as its own parent', async () => {
    expect(await problemsOf([source(1), node(2, 'TRANSFORM_UNION', [1, 2], { unionType: 'ALL' })])).toEqual([
      `${key(2)} parentNodeIds: lists the node itself as a parent, which makes a cycle`,
    ]);
  });

  it('rejects the wrong number of inputs', async () => {
    expect(
      await problemsOf([
        source(1, { parentNodeIds: [ID + 2] }),
        source(2),
        node(3, 'TRANSFORM_JOIN', [1], {
          joinType: 'INNER',
          leftNodeId: ID + 1,
          rightNodeId: ID + 1,
          joinConditionList: [{ leftField: 'id', rightField: 'id' }],
        }),
        node(4, 'TRANSFORM_UNION', [1], { unionType: 'ALL' }),
        target(5, 1, { parentNodeIds: [ID + 1, ID + 2] }),
      ]),
    ).toEqual([
      `${key(1)} parentNodeIds: SOURCE_OBS is a source and takes no inputs, got 1`,
      `${key(3)} parentNodeIds: TRANSFORM_JOIN takes exactly 2 inputs, got 1`,
      `${key(3)} rightNodeId: must differ from leftNodeId`,
      `${key(4)} parentNodeIds: TRANSFORM_UNION takes 2 to 10 inputs, got 1`,
      `${key(5)} parentNodeIds: TARGET_OBS takes exactly 1 input, got 2`,
    ]);
  });

  it('rejects a join whose leftNodeId or rightNodeId is not one of its parents', async () => {
    expect(
      await problemsOf([
        source(1),
        source(2),
        source(3),
        node(4, 'TRANSFORM_JOIN', [1, 2], {
          joinType: 'INNER',
          leftNodeId: ID + 1,
          rightNodeId: ID + 3,
          joinConditionList: [{ leftField: 'id', rightField: 'id' }],
        }),
      ]),
    ).toEqual([`${key(4)} rightNodeId: must be one of the node's parents (${key(1)}, ${key(2)})`]);
  });

  it('rejects a SQL transform whose sourceNameList does not name exactly its parents', async () => {
    expect(
      await problemsOf([
        source(1),
        source(2),
        node(3, 'TRANSFORM_SQL', [1, 2], {
          sourceNameList: [
            { parentId: ID + 1, newName: 'a' },
            { parentId: ID + 5, newName: 'b' },
          ],
          sql: 'SELECT * FROM a',
        }),
      ]),
    ).toEqual([
      `${key(3)} sourceNameList: must name each parent exactly once: parent ${key(2)} has no name; ${key(5)} is not a parent`,
    ]);
  });

  it('leaves what SQL may read to the step sandbox: a query naming a file passes verify', async () => {
    const sql = (text: string) =>
      node(2, 'TRANSFORM_SQL', [1], { sourceNameList: [{ parentId: ID + 1, newName: 'src' }], sql: text });
    expect(await problemsOf([source(1), sql("SELECT * FROM read_csv('/etc/passwd')")])).toEqual([]);
    expect(await problemsOf([source(1), sql("SELECT name, 'from x' AS label FROM src")])).toEqual([]);
  });

  it('refuses S3 prefixes with "." or ".." segments, backslashes or control characters, naming the field', async () => {
    const message =
      'must be a plain folder path (no "." or ".." segments, backslashes or control characters)';
    for (const prefix of ['../secrets', 'in/../../other-bucket', './in', 'in\\..\\x', 'in\u0000x']) {
      expect(await problemsOf([source(1, { prefix }), target(2, 1)])).toEqual([
        `${key(1)} prefix: ${message}`,
      ]);
      expect(await problemsOf([source(1), target(2, 1, { prefix })])).toEqual([
        `${key(2)} prefix: ${message}`,
      ]);
    }
    expect(
      await problemsOf([source(1, { prefix: 'in/2026..12/' }), target(2, 1, { prefix: 'out/a.b/' })]),
    ).toEqual([]);
  });

  it('rejects a column reference the input lacks, naming the column and the available ones', async () => {
    expect(
      await problemsOf([source(1), filter(2, 1, [{ name: 'nmae', operator: 'EQ', value: 'A' }])]),
    ).toEqual([
      `${key(2)} filterConditionList.0.name: column "nmae" is not in the input; available: id, name, age, joined, active`,
    ]);
  });

  it('truncates the list of available columns', async () => {
    const wide = source(1, {
      fieldList: Array.from({ length: 15 }, (_, i) => ({ name: `c${i}`, type: 'int' })),
    });
    expect(await problemsOf([wide, filter(2, 1, [{ name: 'x', operator: 'EQ', value: 1 }])])).toEqual([
      `${key(2)} filterConditionList.0.name: column "x" is not in the input; available: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 5 more`,
    ]);
  });

  it('checks the column references of every node type', async () => {
    const missing = (field: string, where = 'the input') =>
      expect.stringMatching(
        new RegExp(`^\\d+ ${field.replaceAll('.', '\\.')}: column "nope" is not in ${where};`),
      );
    const problems = await problemsOf([
      source(1),
      node(2, 'TRANSFORM_DEFINE', [1], { defineFieldList: [{ name: 'nope', newType: 'string' }] }),
      node(3, 'TRANSFORM_SELECT', [1], { fieldList: ['nope'] }),
      node(4, 'TRANSFORM_RENAME', [1], { renameFieldList: [{ name: 'nope', newName: 'x' }] }),
      node(5, 'TRANSFORM_JOIN', [1, 6], {
        joinType: 'LEFT_OUTER',
        leftNodeId: ID + 1,
        rightNodeId: ID + 6,
        joinConditionList: [{ leftField: 'nope', rightField: 'nope' }],
      }),
      source(6),
      node(7, 'TRANSFORM_AGGREGATE', [1], {
        groupByList: ['nope'],
        aggregateFieldList: [{ name: 'nope', ResultName: 'n', function: 'MAX' }],
      }),
      node(8, 'TRANSFORM_DROP_DUPLICATION', [1], { dropFieldList: ['nope'] }),
      node(9, 'TRANSFORM_DROP_NULL', [1], { fieldList: ['nope'] }),
      node(10, 'TRANSFORM_FILL_MISSING_VALUES', [1], {
        missingValueFieldList: [{ name: 'nope', defaultValue: 1 }],
      }),
      target(11, 1, { fieldList: [{ name: 'nope', type: 'string' }] }),
      node(12, 'SOURCE_CATALOG', [], { database: 'sales', table: 'orders', fieldList: ['nope'] }),
    ]);
    expect(problems).toEqual([
      missing('defineFieldList.0.name'),
      missing('fieldList.0.name'),
      missing('renameFieldList.0.name'),
      missing('joinConditionList.0.leftField', 'the left input'),
      missing('joinConditionList.0.rightField', 'the right input'),
      missing('aggregateFieldList.0.name'),
      missing('groupByList.0'),
      missing('dropFieldList.0'),
      missing('fieldList.0.name'),
      missing('missingValueFieldList.0.name'),
      missing('fieldList.0.name'),
      missing('fieldList.0.name', 'dataset "orders"'),
    ]);
  });

  it('rejects filter literals that do not fit the column type', async () => {
    expect(
      await problemsOf([
        source(1),
        filter(2, 1, [
          { name: 'age', operator: 'EQ', value: 'abc' },
          { name: 'joined', operator: 'GT', value: 'yesterday' },
          { name: 'active', operator: 'EQ', value: 'maybe' },
          { name: 'age', operator: 'GT', value: null },
          { name: 'joined', operator: 'GTE', value: '2024-01-31' },
          { name: 'age', operator: 'LT', value: '42' },
        ]),
      ]),
    ).toEqual([
      `${key(2)} filterConditionList.0.value: "abc" is not a number, but column "age" is int`,
      `${key(2)} filterConditionList.1.value: "yesterday" is not a date (YYYY-MM-DD), but column "joined" is date`,
      `${key(2)} filterConditionList.2.value: "maybe" is not a boolean (true or false), but column "active" is boolean`,
      `${key(2)} filterConditionList.3.value: null can only be compared with EQ or NE`,
    ]);
  });

  it('rejects SUM and AVG over a non-numeric column', async () => {
    expect(
      await problemsOf([
        source(1),
        node(2, 'TRANSFORM_AGGREGATE', [1], {
          groupByList: ['active'],
          aggregateFieldList: [
            { name: 'name', ResultName: 'total', function: 'SUM' },
            { name: 'joined', ResultName: 'mean', function: 'AVG' },
            { name: 'name', ResultName: 'first', function: 'MIN' },
            { name: 'age', ResultName: 'total', function: 'SUM' },
          ],
        }),
      ]),
    ).toEqual([
      `${key(2)} aggregateFieldList.0.function: SUM needs a numeric column, but "name" is string`,
      `${key(2)} aggregateFieldList.1.function: AVG needs a numeric column, but "joined" is date`,
      `${key(2)} aggregateFieldList.3.ResultName: column "total" appears more than once`,
    ]);
  });

  it('rejects join conditions between columns of different type families', async () => {
    expect(
      await problemsOf([
        source(1),
        node(2, 'SOURCE_CATALOG', [], { database: 'sales', table: 'orders' }),
        node(3, 'TRANSFORM_JOIN', [1, 2], {
          joinType: 'INNER',
          leftNodeId: ID + 1,
          rightNodeId: ID + 2,
          joinConditionList: [
            { leftField: 'id', rightField: 'order_id' },
            { leftField: 'name', rightField: 'amount', conditionOperator: 'AND' },
          ],
        }),
      ]),
    ).toEqual([
      `${key(3)} joinConditionList.1.rightField: cannot compare left column "name" (string) with right column "amount" (double)`,
    ]);
  });

  it('rejects union inputs with different columns or incompatible types', async () => {
    expect(
      await problemsOf([
        source(1),
        source(2, {
          fieldList: fields(['id', 'bigint'], ['name', 'string'], ['age', 'int'], ['joined', 'string']),
        }),
        node(3, 'TRANSFORM_UNION', [1, 2], { unionType: 'DISTINCT' }),
      ]),
    ).toEqual([
      `${key(3)} parentNodeIds: union inputs need the same column names: the input from node ${key(2)} lacks "active" compared with node ${key(1)}`,
      `${key(3)} parentNodeIds: column "joined" is date in node ${key(1)} but string in node ${key(2)}`,
    ]);
  });

  it('rejects fill defaults that do not fit the column type', async () => {
    expect(
      await problemsOf([
        source(1),
        node(2, 'TRANSFORM_FILL_MISSING_VALUES', [1], {
          missingValueFieldList: [
            { name: 'age', defaultValue: 'unknown' },
            { name: 'age', defaultValue: 1.5 },
            { name: 'joined', defaultValue: '2024-02-30' },
            { name: 'name', defaultValue: 0 },
          ],
        }),
      ]),
    ).toEqual([
      `${key(2)} missingValueFieldList.0.defaultValue: "unknown" is not a number, but column "age" is int`,
      `${key(2)} missingValueFieldList.1.defaultValue: 1.5 is not a whole number that fits int, but column "age" is int`,
      `${key(2)} missingValueFieldList.1.name: column "age" appears more than once`,
      `${key(2)} missingValueFieldList.2.defaultValue: "2024-02-30" is not a date (YYYY-MM-DD), but column "joined" is date`,
    ]);
  });

  it('rejects a define cast between incompatible type families', async () => {
    expect(
      await problemsOf([
        source(1),
        node(2, 'TRANSFORM_DEFINE', [1], {
          defineFieldList: [
            { name: 'active', newType: 'date' },
            { name: 'age', newType: 'string', newName: 'age_text' },
            { name: 'joined', newType: 'Timestamp' },
          ],
        }),
      ]),
    ).toEqual([`${key(2)} defineFieldList.0.newType: cannot cast column "active" from boolean to date`]);
  });

  it('rejects a define or rename that gives two columns the same name', async () => {
    expect(
      await problemsOf([
        source(1),
        node(2, 'TRANSFORM_DEFINE', [1], {
          defineFieldList: [{ name: 'age', newType: 'string', newName: 'Name' }],
        }),
        node(3, 'TRANSFORM_RENAME', [1], {
          renameFieldList: [
            { name: 'id', newName: 'key' },
            { name: 'age', newName: 'key' },
          ],
        }),
      ]),
    ).toEqual([
      `${key(2)} defineFieldList.0.newName: column "Name" appears more than once`,
      `${key(3)} renameFieldList.1.newName: column "key" appears more than once`,
    ]);
  });

  it('rejects a bucket that is not allowed, listing the allowed ones', async () => {
    expect(
      await problemsOf([source(1, { bucketName: 'other' }), target(2, 1, { bucketName: 'aitems' })]),
    ).toEqual([`${key(1)} bucketName: bucket "other" is not allowed; allowed buckets: aitems`]);
  });

  it('says that no buckets are configured when none are', async () => {
    expect(await problemsOf([source(1), target(2, 1)], env({ allowedBuckets: [] }))).toEqual([
      `${key(1)} bucketName: bucket "aitems" is not allowed: no external buckets are configured (set SLUICE_BUCKETS)`,
      `${key(2)} bucketName: bucket "aitems" is not allowed: no external buckets are configured (set SLUICE_BUCKETS)`,
    ]);
  });

  it('rejects a catalog source whose collection or dataset does not exist', async () => {
    const result = await validatePipeline(
      [
        node(1, 'SOURCE_CATALOG', [], { database: 'nowhere', table: 'orders' }),
        node(2, 'SOURCE_CATALOG', [], { database: 'sales', table: 'missing' }),
        node(3, 'SOURCE_CATALOG', [], { database: 'sales', table: 'orders' }),
      ],
      env(),
    );
    expect(result.problems.map((p) => `${p.nodeId} ${p.field}: ${p.message}`)).toEqual([
      `${key(1)} database: collection "nowhere" does not exist`,
      `${key(2)} table: dataset "missing" does not exist in collection "sales"`,
    ]);
    expect(result.datasets).toEqual({ [key(3)]: { collectionId: 'col-1', datasetId: 'ds-1' } });
    expect(result.outputs[key(3)]).toEqual(ORDERS);
  });

  it('rejects a catalog target whose collection does not exist but accepts a dataset it will create', async () => {
    const result = await validatePipeline(
      [
        source(1),
        node(2, 'TARGET_CATALOG', [1], { database: 'nowhere', table: 'new' }),
        node(3, 'TARGET_CATALOG', [1], { database: 'sales', table: 'new', updateType: 'append' }),
        node(4, 'TARGET_CATALOG', [1], { database: 'col-1', table: 'ds-1' }),
      ],
      env(),
    );
    expect(result.problems.map((p) => `${p.nodeId} ${p.field}: ${p.message}`)).toEqual([
      `${key(2)} database: collection "nowhere" does not exist`,
    ]);
    expect(result.datasets).toEqual({
      [key(3)]: { collectionId: 'col-1' },
      [key(4)]: { collectionId: 'col-1', datasetId: 'ds-1' },
    });
  });

  it('skips downstream checks for nodes whose input is unknown', async () => {
    const result = await validatePipeline(
      [
        node(1, 'SOURCE_CATALOG', [], { database: 'sales', table: 'missing' }),
        filter(2, 1, [{ name: 'whatever', operator: 'EQ', value: 'x' }]),
        source(3),
        node(4, 'TRANSFORM_SQL', [3], {
          sourceNameList: [{ parentId: ID + 3, newName: 'src' }],
          sql: 'SELECT id AS renamed FROM src',
        }),
        node(5, 'TRANSFORM_SELECT', [4], { fieldList: ['renamed'] }),
        target(6, 5),
      ],
      env(),
    );
    expect(result.problems.map((p) => `${p.nodeId} ${p.field}: ${p.message}`)).toEqual([
      `${key(1)} table: dataset "missing" does not exist in collection "sales"`,
    ]);
    expect(result.outputs).toEqual({
      [key(1)]: null,
      [key(2)]: null,
      [key(3)]: fields(
        ['id', 'int'],
        ['name', 'string'],
        ['age', 'int'],
        ['joined', 'date'],
        ['active', 'boolean'],
      ),
      [key(4)]: null,
      [key(5)]: null,
      [key(6)]: null,
    });
  });

  it('lists problems by node position, then field, whatever order they were found in', async () => {
    const result = await validatePipeline(
      [
        filter(3, 2, [
          { name: 'x', operator: 'EQ', value: 1 },
          { name: 'y', operator: 'EQ', value: 1 },
        ]),
        source(2, { bucketName: 'other' }),
        target(1, 9),
      ],
      env(),
    );
    expect(result.problems.map((p) => [p.nodeId, p.nodeName, p.field])).toEqual([
      [key(3), 'Node 3', 'filterConditionList.0.name'],
      [key(3), 'Node 3', 'filterConditionList.1.name'],
      [key(2), 'Source 2', 'bucketName'],
      [key(1), 'Node 1', 'parentNodeIds'],
    ]);
  });

  it('orders nodes topologically, breaking ties by position in the request', async () => {
    const result = await validatePipeline(
      [
        target(5, 4),
        node(4, 'TRANSFORM_UNION', [2, 3], { unionType: 'ALL' }),
        source(3),
        filter(2, 1, [{ name: 'id', operator: 'GT', value: 0 }]),
        source(1),
      ],
      env(),
    );
    expect(result.problems).toEqual([]);
    expect(result.order).toEqual([key(3), key(1), key(2), key(4), key(5)]);
  });

  it('makes repeated step names unique in request order', async () => {
    const result = await validatePipeline(
      [
        source(1, { name: 'Object Storage' }),
        source(2, { name: 'Object Storage' }),
        node(3, 'TRANSFORM_UNION', [1, 2], { name: 'Object Storage (2)', unionType: 'ALL' }),
        target(4, 3, { name: 'Object Storage' }),
      ],
      env(),
    );
    expect(result.stepNames).toEqual({
      [key(1)]: 'Object Storage',
      [key(2)]: 'Object Storage (2)',
      [key(3)]: 'Object Storage (2) (2)',
      [key(4)]: 'Object Storage (3)',
    });
  });
});

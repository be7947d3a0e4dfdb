/**
 * The pipeline editor's node forms: each registry type's JSON Schema (as the console build
 * captures it) becomes form fields, and the helpers that read and write a node's values.
 */
import { describe, expect, it } from 'vitest';
import { nodeTypeCatalog } from '../../console/scripts/node-types.ts';
import {
  type FormField,
  fieldsOf,
  formatList,
  getIn,
  initialValues,
  labelOf,
  parseList,
  parseValue,
  problemsAt,
  problemsByNode,
  setIn,
} from '../../console/src/pipeline/fields.ts';

const catalog = nodeTypeCatalog();
const formOf = (type: string): FormField[] => {
  const entry = catalog.find((t) => t.type === type);
  if (!entry) throw new Error(`no node type ${type}`);
  return fieldsOf(entry.schema as never);
};
const field = (fields: FormField[], key: string) => {
  const found = fields.find((f) => f.key === key);
  if (!found) throw new Error(`no field ${key} in ${fields.map((f) => f.key).join(', ')}`);
  return found;
};

describe('node type catalog', () => {
  it('lists every registered node type with its kind and arity', () => {
    const types = catalog.map((t) => t.type);

    expect(types).toEqual(
      expect.arrayContaining(['SOURCE_CATALOG', 'TRANSFORM_FILTER', 'TRANSFORM_JOIN', 'TARGET_OBS']),
    );
    expect(catalog.find((t) => t.type === 'SOURCE_OBS')).toMatchObject({
      kind: 'source',
      arity: { min: 0, max: 0 },
    });
    expect(catalog.find((t) => t.type === 'TRANSFORM_JOIN')).toMatchObject({
      kind: 'transform',
      arity: { min: 2, max: 2 },
    });
  });
});

describe('schema → form fields', () => {
  it('leaves the graph-owned fields (type, id, parentNodeIds) out of every form', () => {
    const keys = catalog.flatMap((t) => fieldsOf(t.schema as never).map((f) => f.key));

    expect(keys).not.toContain('type');
    expect(keys).not.toContain('id');
    expect(keys).not.toContain('parentNodeIds');
  });

  it('maps the filter: an enum select, a repeatable condition group with a column, an operator enum and a free value', () => {
    const fields = formOf('TRANSFORM_FILTER');

    expect(field(fields, 'filterType')).toMatchObject({
      kind: 'enum',
      options: ['AND', 'OR'],
      required: true,
    });
    const conditions = field(fields, 'filterConditionList');
    expect(conditions).toMatchObject({ kind: 'list', minItems: 1, label: 'Filter condition list' });
    const item = conditions.kind === 'list' ? conditions.item : [];
    expect(field(item, 'name')).toMatchObject({ kind: 'text', column: true, required: true });
    expect(field(item, 'operator')).toMatchObject({
      kind: 'enum',
      options: ['EQ', 'NE', 'GT', 'LT', 'GTE', 'LTE'],
    });
    expect(field(item, 'value')).toMatchObject({ kind: 'value', required: true });
    expect(field(fields, 'materialize')).toMatchObject({ kind: 'boolean', required: false });
  });

  it('maps the join: its left and right inputs are choices among the node inputs', () => {
    const fields = formOf('TRANSFORM_JOIN');

    expect(field(fields, 'leftNodeId')).toMatchObject({ kind: 'node', required: true });
    expect(field(fields, 'rightNodeId')).toMatchObject({ kind: 'node', required: true });
    const item = ((f) => (f.kind === 'list' ? f.item : []))(field(formOf('TRANSFORM_SQL'), 'sourceNameList'));
    expect(field(item, 'parentId')).toMatchObject({ kind: 'node' });
  });

  it('maps a target: a defaulted update type, a text area for SQL, and string lists for key columns', () => {
    expect(field(formOf('TARGET_OBS'), 'updateType')).toMatchObject({
      kind: 'enum',
      defaultValue: 'OVERWRITE',
      options: ['OVERWRITE', 'APPEND', 'IGNORE'],
    });
    expect(field(formOf('TRANSFORM_SQL'), 'sql')).toMatchObject({ kind: 'text', multiline: true });
    expect(field(formOf('TRANSFORM_DROP_DUPLICATION'), 'dropFieldList')).toMatchObject({
      kind: 'strings',
      column: true,
    });
  });

  it('starts a new node with defaults, one row per required list, and no optional lists', () => {
    expect(initialValues(formOf('TRANSFORM_FILTER'))).toEqual({
      filterType: 'AND',
      filterConditionList: [{ operator: 'EQ' }],
    });
    expect(initialValues(formOf('SOURCE_CATALOG'))).toEqual({});
    expect(initialValues(formOf('TARGET_CATALOG'))).toMatchObject({ updateType: 'OVERWRITE' });
  });
});

describe('form values', () => {
  it('reads typed text as the API wants it', () => {
    expect([
      parseValue('10'),
      parseValue('-2.5'),
      parseValue('true'),
      parseValue('null'),
      parseValue('abc'),
    ]).toEqual([10, -2.5, true, null, 'abc']);
    expect(parseValue('007a')).toBe('007a');
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(formatList([{ name: 'a' }, 'b'])).toBe('a, b');
  });

  it('sets a nested path without touching the original node', () => {
    const node = { name: 'Filter', filterConditionList: [{ name: 'x', operator: 'EQ' }] };

    const next = setIn(node, 'filterConditionList.0.name', 'price');
    const grown = setIn(node, 'filterConditionList.1.value', 3);

    expect(getIn(next, 'filterConditionList.0.name')).toBe('price');
    expect(node.filterConditionList[0]?.name).toBe('x');
    expect(Array.isArray(grown.filterConditionList)).toBe(true);
    expect(getIn(grown, 'filterConditionList.1.value')).toBe(3);
    expect(setIn(node, 'name', undefined)).not.toHaveProperty('name');
  });

  it('files problems under their node and under the field path they name', () => {
    const problems = [
      { nodeId: 2, field: 'filterConditionList.0.name', message: 'no such column' },
      { nodeId: '2', field: 'filterType', message: 'bad' },
      { nodeId: null, field: '', message: 'cycle' },
    ];

    const byNode = problemsByNode(problems);

    expect(byNode.get('2')).toHaveLength(2);
    expect(byNode.get('')).toHaveLength(1);
    expect(problemsAt(problems, 'filterConditionList').map((p) => p.message)).toEqual(['no such column']);
    expect(problemsAt(problems, 'filterConditionList.0.name')).toHaveLength(1);
    expect(labelOf('joinConditionList')).toBe('Join condition list');
  });
});

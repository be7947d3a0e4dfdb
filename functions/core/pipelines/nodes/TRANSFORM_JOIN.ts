/** TRANSFORM_JOIN: joins its left and right parents on a list of column conditions. */
import * as z from 'zod';
import { alwaysCheck } from '../../schemas.ts';
import { sqlIdent } from '../../sql.ts';
import { type Field, type FieldType, nodeKey } from '../model.ts';
import { column } from './columns.ts';
import type { NodeDefinition } from './definition.ts';
import { typeFamily } from './field-types.ts';
import {
  CONDITION_OPERATORS,
  columnName,
  common,
  idSchema,
  isId,
  listedParents,
  OPERATORS,
  upperEnum,
} from './schema-parts.ts';
import { inputOf, OPERATOR_SQL } from './sql-parts.ts';
import { knownColumns, trinoIdent } from './trino.ts';

const schema = z
  .looseObject({
    ...common('TRANSFORM_JOIN'),
    joinType: upperEnum(['INNER', 'LEFT_OUTER', 'RIGHT_OUTER', 'FULL_OUTER']),
    leftNodeId: idSchema,
    rightNodeId: idSchema,
    joinConditionList: z
      .array(
        z.looseObject({
          leftField: columnName,
          rightField: columnName,
          joinOperator: upperEnum(OPERATORS).default('EQ'),
          conditionOperator: upperEnum(CONDITION_OPERATORS).optional(),
        }),
      )
      .min(1, 'must list at least one condition'),
    /** Put before right-hand column names that collide with left-hand ones; default `right_`. */
    prefix: z.string().max(100, 'must be at most 100 characters').optional(),
  })
  .superRefine((node, ctx) => {
    // Runs even when other fields failed, so inputs may be partly invalid.
    const parents = listedParents(node);
    const listed = parents.join(', ') || 'none';
    for (const side of ['leftNodeId', 'rightNodeId'] as const) {
      const id = node[side];
      if (isId(id) && !parents.includes(nodeKey(id))) {
        ctx.addIssue({
          code: 'custom',
          path: [side],
          message: `must be one of the node's parents (${listed})`,
        });
      }
    }
    if (
      isId(node.leftNodeId) &&
      isId(node.rightNodeId) &&
      nodeKey(node.leftNodeId) === nodeKey(node.rightNodeId)
    ) {
      ctx.addIssue({ code: 'custom', path: ['rightNodeId'], message: 'must differ from leftNodeId' });
    }
  }, alwaysCheck);

export type JoinNode = z.output<typeof schema>;

/** Where each output column of a join comes from. */
interface JoinColumn {
  side: 'left' | 'right';
  source: string;
  name: string;
  type: FieldType;
}

/** Left columns, then right ones; a right name taken already gets the prefix (repeatedly). */
function joinColumns(left: readonly Field[], right: readonly Field[], prefix: string): JoinColumn[] {
  const taken = new Set(left.map((f) => f.name.toLowerCase()));
  const out: JoinColumn[] = left.map((f) => ({ side: 'left', source: f.name, name: f.name, type: f.type }));
  for (const f of right) {
    let name = f.name;
    while (taken.has(name.toLowerCase())) name = `${prefix}${name}`;
    taken.add(name.toLowerCase());
    out.push({ side: 'right', source: f.name, name, type: f.type });
  }
  return out;
}

const JOIN_SQL = {
  INNER: 'INNER JOIN',
  LEFT_OUTER: 'LEFT OUTER JOIN',
  RIGHT_OUTER: 'RIGHT OUTER JOIN',
  FULL_OUTER: 'FULL OUTER JOIN',
} as const;

/** The default prefix of right-hand columns whose names the left side already has. */
export const DEFAULT_JOIN_PREFIX = 'right_';

/** An empty prefix would never make a name unique: it means the default too. */
const joinPrefix = (node: JoinNode) => node.prefix || DEFAULT_JOIN_PREFIX;

/**
 * The ON clause: the first condition is the head; later ones combine in order (AND unless OR).
 * `ident` quotes in the dialect; `L` and `R` are the sides' quoted aliases.
 */
function onClause(node: JoinNode, ident: (name: string) => string, L: string, R: string): string {
  let on = '';
  node.joinConditionList.forEach((cond, i) => {
    const term = `${L}.${ident(cond.leftField)} ${OPERATOR_SQL[cond.joinOperator]} ${R}.${ident(cond.rightField)}`;
    on = i === 0 ? `(${term})` : `(${on} ${cond.conditionOperator === 'OR' ? 'OR' : 'AND'} ${term})`;
  });
  return on;
}

const TRANSFORM_JOIN: NodeDefinition<JoinNode> = {
  type: 'TRANSFORM_JOIN',
  kind: 'transform',
  arity: { min: 2, max: 2 },
  schema,
  output(node, inputs, ctx) {
    const parents = node.parentNodeIds.map(String);
    const left = inputs[parents.indexOf(nodeKey(node.leftNodeId))];
    const right = inputs[parents.indexOf(nodeKey(node.rightNodeId))];
    if (!left || !right) return null;
    node.joinConditionList.forEach((cond, i) => {
      const l = column(left, cond.leftField, `joinConditionList.${i}.leftField`, ctx, 'the left input');
      const r = column(right, cond.rightField, `joinConditionList.${i}.rightField`, ctx, 'the right input');
      if (l && r && typeFamily(l.type) !== typeFamily(r.type)) {
        ctx.problem(
          `joinConditionList.${i}.rightField`,
          `cannot compare left column "${l.name}" (${l.type}) with right column "${r.name}" (${r.type})`,
        );
      }
    });
    return joinColumns(left, right, joinPrefix(node)).map((c) => ({
      name: c.name,
      type: c.type,
    }));
  },
  sql(node, inputs) {
    const left = inputOf(inputs, node.leftNodeId);
    const right = inputOf(inputs, node.rightNodeId);
    const L = sqlIdent('__sluice_left');
    const R = sqlIdent('__sluice_right');
    const on = onClause(node, sqlIdent, L, R);
    // Unknown columns: DuckDB names colliding right columns itself (`id_1`).
    const columns =
      left.fields && right.fields
        ? joinColumns(left.fields, right.fields, joinPrefix(node))
            .map((c) => `${c.side === 'left' ? L : R}.${sqlIdent(c.source)} AS ${sqlIdent(c.name)}`)
            .join(', ')
        : `${L}.*, ${R}.*`;
    return `SELECT ${columns} FROM ${left.relation} AS ${L} ${JOIN_SQL[node.joinType]} ${right.relation} AS ${R} ON ${on}`;
  },
  athenaSql(node, inputs) {
    // The same join; Trino would keep two columns of one name where DuckDB makes `id_1`, so the
    // columns (renamed with the prefix) are always listed and must be known.
    const left = inputOf(inputs, node.leftNodeId);
    const right = inputOf(inputs, node.rightNodeId);
    const L = trinoIdent('__sluice_left');
    const R = trinoIdent('__sluice_right');
    const on = onClause(node, trinoIdent, L, R);
    const columns = joinColumns(
      knownColumns('TRANSFORM_JOIN', left),
      knownColumns('TRANSFORM_JOIN', right),
      joinPrefix(node),
    )
      .map((c) => `${c.side === 'left' ? L : R}.${trinoIdent(c.source)} AS ${trinoIdent(c.name)}`)
      .join(', ');
    return `SELECT ${columns} FROM ${left.relation} AS ${L} ${JOIN_SQL[node.joinType]} ${right.relation} AS ${R} ON ${on}`;
  },
};

export default TRANSFORM_JOIN;

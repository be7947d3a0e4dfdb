/**
 * TRANSFORM_SQL: a query the user wrote over its inputs, each given a name.
 *
 * The query runs as written on its stage's engine, so its dialect is that engine's: DuckDB SQL
 * on the DuckDB engine (the default) and Trino SQL (Athena engine v3) on the Athena engine.
 * Either way its inputs are named by `sourceNameList` through a WITH clause, and the validation
 * shape check (statement.ts) is the same.
 */
import * as z from 'zod';
import { alwaysCheck } from '../../schemas.ts';
import { sqlIdent } from '../../sql.ts';
import { nodeKey } from '../model.ts';
import type { NodeDefinition } from './definition.ts';
import { common, idSchema, isId, listedParents } from './schema-parts.ts';
import { inputOf } from './sql-parts.ts';
import { scanStatement } from './statement.ts';
import { trinoIdent } from './trino.ts';

const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const schema = z
  .looseObject({
    ...common('TRANSFORM_SQL'),
    sourceNameList: z
      .array(
        z.looseObject({
          parentId: idSchema,
          newName: z
            .string()
            .max(128, 'must be at most 128 characters')
            .regex(
              IDENTIFIER_RE,
              'must be a plain identifier (letters, digits and _, not starting with a digit)',
            ),
        }),
      )
      .min(1, 'must name at least one input'),
    sql: z.string().min(1, 'must not be empty').max(100_000, 'must be at most 100000 characters'),
  })
  .superRefine((node, ctx) => {
    if (typeof node.sql === 'string') {
      const scanned = scanStatement(node.sql);
      if ('error' in scanned) ctx.addIssue({ code: 'custom', path: ['sql'], message: scanned.error });
    }
    if (!Array.isArray(node.sourceNameList)) return;
    const parents = listedParents(node);
    const named = node.sourceNameList.map((s) => (isId(s?.parentId) ? nodeKey(s.parentId) : undefined));
    const missing = parents.filter((p) => !named.includes(p));
    const extra = named.filter((n): n is string => n !== undefined && !parents.includes(n));
    const twice = named.filter((n, i): n is string => n !== undefined && named.indexOf(n) !== i);
    if (missing.length > 0 || extra.length > 0 || twice.length > 0) {
      const parts = [
        missing.length > 0 ? `parent ${missing.join(', ')} has no name` : '',
        extra.length > 0 ? `${extra.join(', ')} is not a parent` : '',
        twice.length > 0 ? `${twice.join(', ')} is named more than once` : '',
      ].filter(Boolean);
      ctx.addIssue({
        code: 'custom',
        path: ['sourceNameList'],
        message: `must name each parent exactly once: ${parts.join('; ')}`,
      });
    }
    const seen = new Set<string>();
    node.sourceNameList.forEach((s, i) => {
      if (typeof s?.newName !== 'string') return;
      const key = s.newName.toLowerCase();
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['sourceNameList', i, 'newName'], message: 'is used twice' });
      }
      seen.add(key);
    });
  }, alwaysCheck);

export type SqlNode = z.output<typeof schema>;

const TRANSFORM_SQL: NodeDefinition<SqlNode> = {
  type: 'TRANSFORM_SQL',
  kind: 'transform',
  arity: { min: 1, max: 10 },
  schema,
  // Columns are known only once the query runs.
  output: () => null,
  userSql: (node) => ({ field: 'sql', sql: node.sql, inputs: node.sourceNameList.map((s) => s.newName) }),
  sql(node, inputs) {
    const scanned = scanStatement(node.sql);
    if ('error' in scanned) throw new Error(`sql ${scanned.error}`);
    const names = node.sourceNameList
      .map((s) => `${sqlIdent(s.newName)} AS (SELECT * FROM ${inputOf(inputs, s.parentId).relation})`)
      .join(', ');
    // The user's query is a subquery, so it may start with its own WITH.
    return `WITH ${names}\nSELECT * FROM (\n${scanned.body}\n) AS ${sqlIdent('__sluice_sql')}`;
  },
  athenaSql(node, inputs) {
    // The same wrapping: Trino reads a WITH inside a subquery too, and `SELECT *` over an input
    // needs no known columns.
    const scanned = scanStatement(node.sql);
    if ('error' in scanned) throw new Error(`sql ${scanned.error}`);
    const names = node.sourceNameList
      .map((s) => `${trinoIdent(s.newName)} AS (SELECT * FROM ${inputOf(inputs, s.parentId).relation})`)
      .join(', ');
    return `WITH ${names}\nSELECT * FROM (\n${scanned.body}\n) AS ${trinoIdent('__sluice_sql')}`;
  },
};

export default TRANSFORM_SQL;

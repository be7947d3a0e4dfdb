/**
 * A shape check of SQL the user wrote (TRANSFORM_SQL): one statement that reads like a query.
 *
 * DuckDB's own parser (`json_serialize_sql`) is the authority and the step worker asks it before
 * running; this scanner answers during validation, where no DuckDB instance is loaded (the
 * functions that validate pipelines stay small), so a draft shows the problem on its field.
 * TRANSFORM_SQL also uses it to drop trailing semicolons before wrapping the query.
 */

/**
 * Scans one statement the way DuckDB's lexer splits them (quotes, E'' strings, dollar quotes,
 * comments). Returns the statement without trailing semicolons, or why it is not one query.
 * This is a shape check for early, per-field feedback, not a security rule: what the SQL may
 * read is enforced by the step's sandboxed DuckDB instance (see `duckdb.ts`).
 */
export function scanStatement(sql: string): { body: string } | { error: string } {
  let i = 0;
  let end = -1;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) return { error: 'has an unterminated /* comment' };
      i = close + 2;
    } else if (c === "'") {
      const escapes = /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
      i++;
      for (;;) {
        if (i >= n) return { error: 'has an unterminated quoted string' };
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) return { error: 'has an unterminated quoted identifier' };
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') break;
        else i++;
      }
      i++;
    } else if (c === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close === -1) return { error: 'has an unterminated dollar-quoted string' };
        i = close + tag[0].length;
      } else i++;
    } else if (c === ';') {
      if (end === -1) end = i;
      i++;
    } else {
      if (end !== -1 && !/\s/.test(c)) return { error: 'must be a single statement (found more after ";")' };
      i++;
    }
  }
  const body = (end === -1 ? sql : sql.slice(0, end)).trimEnd();
  const first = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(body)?.[1]?.toUpperCase();
  if (!first) return { error: 'must not be empty' };
  if (!['SELECT', 'WITH', 'FROM', 'VALUES'].includes(first)) {
    return { error: `must be one query starting with SELECT or WITH (found ${first})` };
  }
  return { body };
}

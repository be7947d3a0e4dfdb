/**
 * Quoting for DuckDB SQL text. Kept apart from duckdb.ts so code that only writes SQL (the
 * node registry, used by request-path Lambdas) does not load the native DuckDB module.
 */

function rejectNul(s: string): string {
  if (s.includes('\u0000')) throw new Error('SQL text cannot contain NUL characters');
  return s;
}

/** A SQL string literal: `it's` → `'it''s'`. */
export function sqlString(s: string): string {
  return `'${rejectNul(s).replaceAll("'", "''")}'`;
}

/** A SQL identifier, always quoted: `a"b` → `"a""b"`. */
export function sqlIdent(s: string): string {
  return `"${rejectNul(s).replaceAll('"', '""')}"`;
}

/**
 * Whether a query a user wrote (TRANSFORM_SQL) gives exactly one row per row of its input, read
 * from the statement DuckDB's own parser serializes (`json_serialize_sql`). Such a node's rows
 * are its input's rows, so the step worker need not count them, nor its input's when a later
 * node counts in its own pass (see worker.ts, `countingReaders`).
 *
 * The answer is only ever "yes" for a plain projection: one SELECT over exactly one of the node's
 * inputs, by name, with no WHERE, GROUP BY, HAVING, QUALIFY, sampling, DISTINCT, LIMIT, set
 * operation, join or WITH of its own, and no aggregate or `unnest` anywhere in its select list
 * (window functions keep rows). Anything else, including anything this code does not recognise,
 * is "no": the rows are then counted, as they always were. A wrong "yes" would record wrong row
 * counts, a wrong "no" only costs a count.
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Functions that change the number of rows from a select list, besides aggregates. */
const ROW_CHANGING = new Set(['unnest']);

/**
 * @param parsed `json_serialize_sql(sql)` as parsed JSON.
 * @param inputs the names the query reads its inputs by (its WITH names).
 * @param aggregates DuckDB's aggregate function names, lower case (`duckdb_functions()`).
 */
export function keepsEveryRow(
  parsed: unknown,
  inputs: readonly string[],
  aggregates: ReadonlySet<string>,
): boolean {
  if (!isObject(parsed) || parsed.error !== false || !Array.isArray(parsed.statements)) return false;
  if (parsed.statements.length !== 1) return false;
  const [statement] = parsed.statements;
  const node = isObject(statement) ? statement.node : undefined;
  if (!isObject(node) || node.type !== 'SELECT_NODE') return false;
  // Only ORDER BY among the modifiers (DISTINCT and LIMIT change rows).
  const modifiers = node.modifiers;
  if (!Array.isArray(modifiers) || !modifiers.every((m) => isObject(m) && m.type === 'ORDER_MODIFIER'))
    return false;
  const ctes = isObject(node.cte_map) ? node.cte_map.map : undefined;
  if (!Array.isArray(ctes) || ctes.length > 0) return false;
  for (const clause of ['where_clause', 'having', 'sample', 'qualify'] as const) {
    if (node[clause] !== null) return false;
  }
  if (!Array.isArray(node.group_expressions) || node.group_expressions.length > 0) return false;
  if (!Array.isArray(node.group_sets) || node.group_sets.length > 0) return false;
  if (node.aggregate_handling !== 'STANDARD_HANDLING') return false;
  const from = node.from_table;
  if (!isObject(from) || from.type !== 'BASE_TABLE') return false;
  if (from.sample !== null || from.at_clause !== null || from.schema_name !== '' || from.catalog_name !== '')
    return false;
  const table = typeof from.table_name === 'string' ? from.table_name.toLowerCase() : undefined;
  if (!table || !inputs.some((name) => name.toLowerCase() === table)) return false;
  if (!Array.isArray(node.select_list) || node.select_list.length === 0) return false;
  return node.select_list.every((expression) => !changesRows(expression, aggregates));
}

/** Whether an expression (or anything inside it, subqueries included) calls an aggregate or `unnest`. */
function changesRows(value: unknown, aggregates: ReadonlySet<string>): boolean {
  if (Array.isArray(value)) return value.some((v) => changesRows(v, aggregates));
  if (!isObject(value)) return false;
  if (value.class === 'FUNCTION' && typeof value.function_name === 'string') {
    const name = value.function_name.toLowerCase();
    if (aggregates.has(name) || ROW_CHANGING.has(name)) return true;
  }
  return Object.values(value).some((v) => changesRows(v, aggregates));
}

/**
 * SQL pieces for the Athena (Trino) dialect of the node registry: each transform and target's
 * `athenaSql()` builds one Trino SELECT with these, producing the rows, column names and column
 * types its DuckDB `sql()` produces.
 *
 * What differs from DuckDB, and so shapes every `athenaSql()`:
 * - Trino has no star modifiers (`* EXCLUDE`, `* REPLACE`, `* RENAME`, `COLUMNS(...)`), no
 *   `QUALIFY`, no `DISTINCT ON`, no `UNION BY NAME` and no `::` casts: a node that needs them on
 *   DuckDB lists its columns instead, so it needs its input's columns (`knownColumns`).
 * - Type names differ (`trinoTypeOfField`): REAL, VARBINARY, TIMESTAMP(6) (a bare TIMESTAMP is
 *   milliseconds in Trino), TIMESTAMP(6) WITH TIME ZONE.
 * - Quoting is the same: identifiers in double quotes, strings in single quotes, each doubling
 *   its own quote; neither dialect reads backslash escapes in them.
 * - Each input's `relation` is a table reference, e.g. `"run_db"."n_2"`.
 */
import { sqlIdent, sqlString } from '../../sql.ts';
import { trinoTypeOfField } from '../../type-map.ts';
import type { Field, FieldType } from '../model.ts';
import type { NodeInput } from './definition.ts';
import { INTEGER_TYPES } from './field-types.ts';

/** A Trino identifier, always quoted: `a"b` → `"a""b"`. */
export const trinoIdent = (name: string): string => sqlIdent(name);

/** A Trino string literal: `it's` → `'it''s'`. */
export const trinoString = (text: string): string => sqlString(text);

/**
 * Why a node cannot be written as Athena SQL: its SQL must list columns that are only known once
 * an input runs (e.g. downstream of TRANSFORM_SQL). The engine reports it on the node.
 */
export class AthenaSqlError extends Error {
  override name = 'AthenaSqlError';
}

/** The columns of `input`, or an AthenaSqlError naming the node type when they are unknown. */
export function knownColumns(nodeType: string, input: NodeInput): Field[] {
  if (input.fields) return input.fields;
  throw new AthenaSqlError(
    `Node type ${nodeType} needs known input columns to run on Athena, but the columns of input ${input.nodeId} are only known once it runs (e.g. it comes after TRANSFORM_SQL); run this pipeline on DuckDB or list the columns with TRANSFORM_SELECT`,
  );
}

/** The columns of `input` (which must be known), checking that each of `names` is one of them. */
export function listedColumns(nodeType: string, input: NodeInput, names: readonly string[]): Field[] {
  const fields = knownColumns(nodeType, input);
  for (const name of names) {
    if (!fields.some((f) => f.name === name))
      throw new Error(`column "${name}" is not in input ${input.nodeId}`);
  }
  return fields;
}

/** The type of column `name` of a node's input, which must be known on Athena. */
export function knownType(nodeType: string, input: NodeInput, name: string): FieldType {
  const type = knownColumns(nodeType, input).find((f) => f.name === name)?.type;
  if (!type) throw new Error(`column "${name}" is not in input ${input.nodeId}`);
  return type;
}

const STRING_TYPE = trinoTypeOfField('string');

/**
 * `expr` as a value of field type `to`, rendered as DuckDB's CAST renders it where Trino's CAST
 * differs. `from` is the value's field type when known. A cast to the same type name is kept,
 * as on DuckDB: a field type stands for several physical types (`decimal` for any precision,
 * `timestamp` for Athena's millisecond TIMESTAMP), and the cast fixes the one the node declares.
 * - To text: doubles and reals print as Java's toString (`1.5`, `100.0`; Trino's CAST prints
 *   `1.5E0`), which is DuckDB's text for 0 and magnitudes from 1e-3 to 1e7 (beyond, Java writes
 *   `1.0E7` where DuckDB writes `10000000.0`, and `NaN` for `nan`); timestamps drop trailing
 *   fraction zeros as DuckDB prints them (Trino's CAST of a TIMESTAMP(6) always prints six
 *   digits); bytes are read as UTF-8 (Trino has no CAST from VARBINARY to VARCHAR).
 * - Text to bytes is Trino's CAST, the text's UTF-8 bytes (DuckDB also reads `\xAA` escapes).
 */
export function trinoCast(expr: string, to: FieldType, from?: FieldType): string {
  const target = trinoTypeOfField(to);
  if (from && target === STRING_TYPE) {
    switch (from) {
      case 'float':
      case 'double':
        // format() prints a NULL argument as "null".
        return `CASE WHEN ${expr} IS NULL THEN NULL ELSE format('%s', ${expr}) END`;
      case 'datetime':
      case 'timestamp':
        // `.500000` → `.5`, `.000000` → ``; a value without a fraction is left alone.
        return `regexp_replace(regexp_replace(CAST(${expr} AS VARCHAR), '(\\.[0-9]*?)0+$', '$1'), '\\.$', '')`;
      case 'binary':
        return `from_utf8(${expr})`;
    }
  }
  return `CAST(${expr} AS ${target})`;
}

/**
 * `SELECT` list items for a column list, each optionally cast to its type: `"a", CAST("b" AS T)
 * AS "b"`. `from` gives the input columns when known (casts to text then follow DuckDB's text
 * forms, see trinoCast).
 */
export function trinoProjection(
  list: ReadonlyArray<{ name: string; type?: FieldType | undefined }>,
  from: readonly Field[] | null,
): string {
  return list
    .map((f) => {
      const col = trinoIdent(f.name);
      if (!f.type) return col;
      return `${trinoCast(col, f.type, from?.find((g) => g.name === f.name)?.type)} AS ${col}`;
    })
    .join(', ');
}

/** `SUM(col)` as the declared type of TRANSFORM_AGGREGATE: BIGINT for integers, else DOUBLE or DECIMAL. */
export function trinoSum(col: string, type: FieldType | undefined): string {
  if (!type) return `sum(${col})`;
  if (INTEGER_TYPES.has(type)) return `CAST(sum(${col}) AS BIGINT)`;
  if (type === 'decimal') return `CAST(sum(${col}) AS ${trinoTypeOfField('decimal')})`;
  // Trino sums REAL as REAL; DuckDB sums FLOAT as DOUBLE.
  return `sum(CAST(${col} AS DOUBLE))`;
}

/**
 * Text in Trino's literal form for TIMESTAMP: `YYYY-MM-DD HH:MM:SS[.f]`. DuckDB also reads a
 * `T` separator, minutes without seconds and a date alone; Trino's CAST does not read the `T`.
 */
export function trinoTimestampText(text: string): string {
  const m = /^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]([0-9]{2}:[0-9]{2})(:[0-9]{2}(?:\.[0-9]+)?)?)?$/.exec(text);
  if (!m) return text;
  return `${m[1]} ${m[2] ?? '00:00'}${m[3] ?? ':00'}`;
}

/** A zone suffix (`Z`, `+09`, `+0900`, `+09:00`) as Trino reads it: `+HH:MM`. */
export function trinoZoneText(zone: string): string {
  const z = zone.trim();
  if (/^z$/i.test(z)) return '+00:00';
  const m = /^([+-])([0-9]{2}):?([0-9]{2})?$/.exec(z);
  return m ? `${m[1]}${m[2]}:${m[3] ?? '00'}` : z;
}

/** Decimal text as Trino's CAST reads it: no `+`, a digit before and after any point. */
export function trinoDecimalText(text: string): string {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(text);
  if (!m) return text;
  const sign = m[1] === '-' ? '-' : '';
  const whole = m[2] || '0';
  return m[3] ? `${sign}${whole}.${m[3]}` : `${sign}${whole}`;
}

/**
 * Text cast to bytes as DuckDB casts it (ASCII characters as themselves, `\xAA` escapes as
 * bytes) written as a Trino binary literal `X'..'`, or why DuckDB would refuse it.
 */
export function trinoBinaryLiteral(text: string): { sql: string } | { error: string } {
  let hex = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (text[i] === '\\') {
      const hexEscape = /^\\x([0-9A-Fa-f]{2})/.exec(text.slice(i));
      if (!hexEscape) return { error: `${JSON.stringify(text)} has a "\\" that is not a \\xAA escape` };
      hex += (hexEscape[1] as string).toUpperCase();
      i += 3;
    } else if (code > 0x7f) {
      return {
        error: `${JSON.stringify(text)} has a non-ASCII character, which binary text must escape as \\xAA`,
      };
    } else {
      hex += code.toString(16).padStart(2, '0').toUpperCase();
    }
  }
  return { sql: `X'${hex}'` };
}

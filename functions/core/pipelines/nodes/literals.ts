/** Literal values a user typed (filter values, fill defaults) as SQL of a column's type. */
import { sqlString } from '../../sql.ts';
import { isDateValue, isTimestampValue } from '../../tables/csv.ts';
import { duckDbTypeOfField, trinoTypeOfField } from '../../type-map.ts';
import type { FieldType } from '../model.ts';
import { typeFamily } from './field-types.ts';
import type { Scalar } from './schema-parts.ts';
import { trinoBinaryLiteral, trinoDecimalText, trinoTimestampText, trinoZoneText } from './trino.ts';

/** Which engine's SQL a literal is written for: DuckDB (`sql()`) or Athena/Trino (`athenaSql()`). */
export type SqlDialect = 'duckdb' | 'trino';

const NUMBER_RE = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const WHOLE_RE = /^[+-]?[0-9]+$/;
/** A timestamp with a zone after its time: group 1 is the part before the zone. */
const ZONED_RE = /^(.*[0-9]:[0-5][0-9](?:\.[0-9]+)?)\s*(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)$/i;

const INTEGER_RANGE: Partial<Record<FieldType, readonly [bigint, bigint]>> = {
  tinyint: [-(2n ** 7n), 2n ** 7n - 1n],
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

type LiteralResult = { sql: string } | { error: string };

const shown = (value: Scalar) => JSON.stringify(value);

function isTimestampTzValue(value: string): boolean {
  return isTimestampValue(ZONED_RE.exec(value)?.[1] ?? value);
}

/** The timestamp-with-zone text as Trino's CAST reads it (`+HH:MM` after a space). */
function trinoTimestampTzText(text: string): string {
  const base = ZONED_RE.exec(text)?.[1];
  if (base === undefined) return trinoTimestampText(text);
  return `${trinoTimestampText(base)} ${trinoZoneText(text.slice(base.length))}`;
}

/**
 * A literal as SQL typed for a column of type `type`, or why it does not fit. `compare` keeps
 * numeric comparisons exact (`1.5` against an int column compares as a double); `assign`
 * produces a value of exactly the column type (COALESCE defaults). In the `trino` dialect the
 * same value is written with Trino's type names and in text Trino's CAST reads.
 */
export function typedLiteral(
  value: Scalar,
  type: FieldType,
  mode: 'compare' | 'assign',
  dialect: SqlDialect = 'duckdb',
): LiteralResult {
  const trino = dialect === 'trino';
  const typeName = trino ? trinoTypeOfField : duckDbTypeOfField;
  const cast = (text: string, to: string) => ({ sql: `CAST(${sqlString(text)} AS ${to})` });
  switch (typeFamily(type)) {
    case 'string':
      return { sql: sqlString(String(value)) };
    case 'numeric': {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
      if (!NUMBER_RE.test(text)) return { error: `${shown(value)} is not a number` };
      const range = INTEGER_RANGE[type];
      if (range) {
        const whole = WHOLE_RE.test(text) && BigInt(text) >= range[0] && BigInt(text) <= range[1];
        if (whole) return cast(text, typeName(type));
        if (mode === 'assign') return { error: `${shown(value)} is not a whole number that fits ${type}` };
        return cast(text, 'DOUBLE');
      }
      if (type === 'decimal' && /^[+-]?[0-9]{0,28}(?:\.[0-9]{0,10})?$/.test(text))
        return cast(trino ? trinoDecimalText(text) : text, 'DECIMAL(38,10)');
      return cast(text, mode === 'assign' ? typeName(type) : 'DOUBLE');
    }
    case 'boolean': {
      const t = String(value).trim().toLowerCase();
      if (t === 'true' || t === '1') return { sql: 'TRUE' };
      if (t === 'false' || t === '0') return { sql: 'FALSE' };
      return { error: `${shown(value)} is not a boolean (true or false)` };
    }
    case 'temporal': {
      const text = typeof value === 'string' ? value.trim() : '';
      if (type === 'date') {
        return isDateValue(text)
          ? cast(text, 'DATE')
          : { error: `${shown(value)} is not a date (YYYY-MM-DD)` };
      }
      if (type === 'timestampwithtimezone') {
        if (!isTimestampTzValue(text)) {
          return { error: `${shown(value)} is not a timestamp (YYYY-MM-DD HH:MM:SS with an optional zone)` };
        }
        return trino ? cast(trinoTimestampTzText(text), typeName(type)) : cast(text, 'TIMESTAMPTZ');
      }
      if (!isTimestampValue(text))
        return { error: `${shown(value)} is not a timestamp (YYYY-MM-DD HH:MM:SS)` };
      return trino ? cast(trinoTimestampText(text), typeName(type)) : cast(text, 'TIMESTAMP');
    }
    case 'binary':
      if (typeof value !== 'string') return { error: `${shown(value)} is not binary text` };
      // DuckDB reads the text's escapes when it casts; Trino gets the bytes themselves.
      return trino ? trinoBinaryLiteral(value) : cast(value, 'BLOB');
  }
}

/** A literal whose column type is unknown: DuckDB converts it on comparison. */
function untypedLiteral(value: Scalar): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') return String(value);
  return sqlString(value);
}

/**
 * A literal as SQL (typed when the column type is known); throws when it does not fit. Trino
 * converts no text to numbers on comparison, so its callers always know the type.
 */
export function literalSql(
  value: Scalar,
  type: FieldType | undefined,
  mode: 'compare' | 'assign',
  dialect: SqlDialect = 'duckdb',
): string {
  if (!type) {
    if (dialect === 'trino') throw new Error('a literal for Athena needs the type of its column');
    return untypedLiteral(value);
  }
  const result = typedLiteral(value, type, mode, dialect);
  if ('error' in result) throw new Error(result.error);
  return result.sql;
}

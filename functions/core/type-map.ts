/**
 * Every mapping between Sluice's type systems, each named `<to>TypeOf<From>`:
 * - field types: the Data Flow types a pipeline node declares (`FieldType`, pipelines/model.ts);
 * - column types: the six types a dataset column is stored as (`ColumnType`);
 * - DuckDB types: what the engine computes with, as DESCRIBE prints them;
 * - Trino types: what a stage on Athena computes with (`trinoTypeOfField`);
 * - SQL types: Trino/Athena names, as the query API shows result columns;
 * - Glue types: Hive names in a dataset's Glue table.
 *
 * Pure functions over names: no runtime imports, so any bundle may load it.
 */
import type { FieldType } from './pipelines/model.ts';

/** The types a dataset column is stored as (detected at upload or written by a pipeline). */
export type ColumnType = 'integer' | 'double' | 'boolean' | 'date' | 'timestamp' | 'string';

// ---------------------------------------------------------------------------------------------
// Field types

const DUCKDB_TYPE_OF_FIELD: Record<FieldType, string> = {
  boolean: 'BOOLEAN',
  tinyint: 'TINYINT',
  smallint: 'SMALLINT',
  int: 'INTEGER',
  bigint: 'BIGINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  decimal: 'DECIMAL(38,10)',
  string: 'VARCHAR',
  char: 'VARCHAR',
  varchar: 'VARCHAR',
  date: 'DATE',
  datetime: 'TIMESTAMP',
  timestamp: 'TIMESTAMP',
  timestampwithtimezone: 'TIMESTAMPTZ',
  binary: 'BLOB',
  // Complex values are carried as JSON text.
  array: 'VARCHAR',
  map: 'VARCHAR',
  struct: 'VARCHAR',
};

/** The DuckDB type a field type is stored as. `array`, `map` and `struct` are JSON text. */
export function duckDbTypeOfField(t: FieldType): string {
  return DUCKDB_TYPE_OF_FIELD[t];
}

/** Trino's names where they differ from DuckDB's (the values are the same). */
const TRINO_TYPE_OF_FIELD: Record<FieldType, string> = {
  ...DUCKDB_TYPE_OF_FIELD,
  // Trino's 32-bit float is REAL (it has no FLOAT type name).
  float: 'REAL',
  // Trino's bare TIMESTAMP is TIMESTAMP(3): microseconds, as DuckDB keeps them, need the precision.
  datetime: 'TIMESTAMP(6)',
  timestamp: 'TIMESTAMP(6)',
  timestampwithtimezone: 'TIMESTAMP(6) WITH TIME ZONE',
  binary: 'VARBINARY',
};

/**
 * The Trino (Athena engine v3) type a field type is computed as: the same values as
 * `duckDbTypeOfField`, under Trino's names. `array`, `map` and `struct` are JSON text.
 */
export function trinoTypeOfField(t: FieldType): string {
  return TRINO_TYPE_OF_FIELD[t];
}

/** The field type of a DuckDB type name as DESCRIBE prints it. */
export function fieldTypeOfDuckDb(duckType: string): FieldType {
  const t = duckType.trim().toUpperCase();
  // Nested types first: their names contain other type names.
  if (t.endsWith(']')) return 'array';
  if (t.startsWith('STRUCT') || t.startsWith('UNION')) return 'struct';
  if (t.startsWith('MAP')) return 'map';
  if (t.startsWith('DECIMAL') || t.startsWith('NUMERIC')) return 'decimal';
  if (t.startsWith('TIMESTAMP WITH TIME ZONE') || t === 'TIMESTAMPTZ') return 'timestampwithtimezone';
  if (t.startsWith('TIMESTAMP') || t === 'DATETIME') return 'timestamp';
  switch (t) {
    case 'BOOLEAN':
    case 'BOOL':
      return 'boolean';
    case 'TINYINT':
    case 'INT1':
      return 'tinyint';
    case 'SMALLINT':
    case 'INT2':
    case 'UTINYINT':
      return 'smallint';
    case 'INTEGER':
    case 'INT':
    case 'INT4':
    case 'USMALLINT':
      return 'int';
    case 'BIGINT':
    case 'INT8':
    case 'UINTEGER':
      return 'bigint';
    // Integers wider than BIGINT keep their values as decimals.
    case 'UBIGINT':
    case 'HUGEINT':
    case 'UHUGEINT':
      return 'decimal';
    case 'FLOAT':
    case 'REAL':
    case 'FLOAT4':
      return 'float';
    case 'DOUBLE':
    case 'FLOAT8':
      return 'double';
    case 'DATE':
      return 'date';
    case 'BLOB':
    case 'BYTEA':
      return 'binary';
    default:
      // VARCHAR, UUID, ENUM, JSON, TIME, INTERVAL, BIT...: text.
      return 'string';
  }
}

const FIELD_TYPE_OF_COLUMN: Record<ColumnType, FieldType> = {
  integer: 'bigint',
  double: 'double',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  string: 'string',
};

/** The field type of a dataset column. */
export function fieldTypeOfColumn(type: ColumnType): FieldType {
  return FIELD_TYPE_OF_COLUMN[type];
}

// ---------------------------------------------------------------------------------------------
// Column types

const DUCKDB_TYPE_OF_COLUMN: Record<ColumnType, string> = {
  integer: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  string: 'VARCHAR',
};

/** The DuckDB type a dataset column is read and written as. */
export function duckDbTypeOfColumn(type: ColumnType): string {
  return DUCKDB_TYPE_OF_COLUMN[type];
}

/** The dataset column type a DuckDB result type is stored as. */
export function columnTypeOfDuckDb(duckType: string): ColumnType {
  const t = duckType.toUpperCase();
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|INT\d*)$/.test(t))
    return 'integer';
  if (/^(DOUBLE|FLOAT|REAL|DECIMAL)/.test(t)) return 'double';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  return 'string';
}

const GLUE_TYPE_OF_COLUMN: Record<ColumnType, string> = {
  integer: 'bigint',
  double: 'double',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  string: 'string',
};

/** The Hive type of a dataset column in its Glue table; a type it does not know is a string. */
export function glueTypeOfColumn(type: ColumnType): string {
  return GLUE_TYPE_OF_COLUMN[type] ?? 'string';
}

/** The SQL type a dataset column has in query results (anything unknown is varchar). */
export function sqlTypeOfColumn(type: string): string {
  const field = Object.hasOwn(FIELD_TYPE_OF_COLUMN, type)
    ? FIELD_TYPE_OF_COLUMN[type as ColumnType]
    : 'string';
  return field === 'string' ? 'varchar' : field;
}

// ---------------------------------------------------------------------------------------------
// Query results

const SQL_TYPE_OF_DUCKDB: Record<string, string> = {
  BIGINT: 'bigint',
  INTEGER: 'integer',
  SMALLINT: 'smallint',
  TINYINT: 'tinyint',
  HUGEINT: 'decimal(38,0)',
  UBIGINT: 'decimal(20,0)',
  UINTEGER: 'bigint',
  USMALLINT: 'integer',
  UTINYINT: 'smallint',
  DOUBLE: 'double',
  FLOAT: 'real',
  BOOLEAN: 'boolean',
  VARCHAR: 'varchar',
  DATE: 'date',
  TIME: 'time',
  TIMESTAMP: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp with time zone',
  BLOB: 'varbinary',
  UUID: 'uuid',
  INTERVAL: 'interval day to second',
};

/** DuckDB type names as the query API shows them (Trino's lower-case names). */
export function sqlTypeOfDuckDb(type: string): string {
  const t = type.toUpperCase();
  if (Object.hasOwn(SQL_TYPE_OF_DUCKDB, t)) return SQL_TYPE_OF_DUCKDB[t] as string;
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  if (t.endsWith('[]')) return `array(${sqlTypeOfDuckDb(t.slice(0, -2))})`;
  return type.toLowerCase();
}

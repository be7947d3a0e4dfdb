/**
 * The node-type registry: for every ETLJobNode type, its schema (common + own fields, with the
 * normalised form the rest of Sluice works on), how many inputs it takes, what columns it
 * produces from its inputs (reporting bad references and types as it goes), and the single
 * SELECT it runs as on DuckDB.
 *
 * Conventions that hold throughout:
 * - Identifiers are always quoted with sqlIdent and literals with sqlString.
 * - Column names match exactly; two names that differ only in case count as the same name when
 *   checking for collisions, because DuckDB resolves identifiers case-insensitively.
 * - `sql()` also works when an input's columns are unknown (`fields: null`, e.g. downstream of
 *   TRANSFORM_SQL): it then relies on DuckDB star modifiers and untyped literals. Known columns
 *   still give better results in two places: TRANSFORM_JOIN renames colliding right-hand columns
 *   with its prefix (DuckDB's own `id_1` otherwise), and SUM is cast to its declared type.
 */
import { z } from 'zod';
import { isPlainKey, PLAIN_KEY_MESSAGE } from '../object-keys.ts';
import { alwaysCheck } from '../schemas.ts';
import { sqlIdent, sqlString } from '../sql.ts';
import { type ColumnType, isDateValue, isTimestampValue } from '../tables/csv.ts';
import {
  FIELD_TYPES,
  type Field,
  type FieldType,
  type NodeKind,
  nodeKey,
  type PipelineNode,
} from './model.ts';

// ---------------------------------------------------------------------------------------------
// Field types

const DUCKDB_TYPES: Record<FieldType, string> = {
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
export function duckdbType(t: FieldType): string {
  return DUCKDB_TYPES[t];
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

const COLUMN_FIELD_TYPES: Record<ColumnType, FieldType> = {
  integer: 'bigint',
  double: 'double',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  string: 'string',
};

/** The field type of a dataset column. */
export function fieldTypeOfColumn(type: ColumnType): FieldType {
  return COLUMN_FIELD_TYPES[type];
}

type TypeFamily = 'numeric' | 'string' | 'temporal' | 'boolean' | 'binary';

const INTEGER_TYPES: ReadonlySet<FieldType> = new Set(['tinyint', 'smallint', 'int', 'bigint']);

function typeFamily(t: FieldType): TypeFamily {
  switch (t) {
    case 'tinyint':
    case 'smallint':
    case 'int':
    case 'bigint':
    case 'float':
    case 'double':
    case 'decimal':
      return 'numeric';
    case 'date':
    case 'datetime':
    case 'timestamp':
    case 'timestampwithtimezone':
      return 'temporal';
    case 'boolean':
      return 'boolean';
    case 'binary':
      return 'binary';
    default:
      // string, char, varchar and the complex types (JSON text).
      return 'string';
  }
}

/** Whether DuckDB can CAST a value of one type to another (text converts both ways). */
function castable(from: FieldType, to: FieldType): boolean {
  const a = typeFamily(from);
  const b = typeFamily(to);
  if (a === b || a === 'string' || b === 'string') return true;
  return (a === 'numeric' && b === 'boolean') || (a === 'boolean' && b === 'numeric');
}

const INTEGER_RANK: Partial<Record<FieldType, number>> = { tinyint: 1, smallint: 2, int: 3, bigint: 4 };

/** The type two union inputs meet at, or undefined when their families differ. */
function commonType(a: FieldType, b: FieldType): FieldType | undefined {
  if (a === b) return a;
  const family = typeFamily(a);
  if (family !== typeFamily(b)) return undefined;
  switch (family) {
    case 'numeric':
      if (a === 'double' || b === 'double' || a === 'float' || b === 'float') return 'double';
      if (a === 'decimal' || b === 'decimal') return 'decimal';
      return (INTEGER_RANK[a] ?? 0) >= (INTEGER_RANK[b] ?? 0) ? a : b;
    case 'temporal':
      if (a === 'timestampwithtimezone' || b === 'timestampwithtimezone') return 'timestampwithtimezone';
      return 'timestamp';
    default:
      return 'string';
  }
}

// ---------------------------------------------------------------------------------------------
// Literals

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

type Scalar = string | number | boolean;
type LiteralResult = { sql: string } | { error: string };

const shown = (value: Scalar) => JSON.stringify(value);

function isTimestampTzValue(value: string): boolean {
  return isTimestampValue(ZONED_RE.exec(value)?.[1] ?? value);
}

/**
 * A literal as SQL typed for a column of type `type`, or why it does not fit. `compare` keeps
 * numeric comparisons exact (`1.5` against an int column compares as a double); `assign`
 * produces a value of exactly the column type (COALESCE defaults).
 */
function typedLiteral(value: Scalar, type: FieldType, mode: 'compare' | 'assign'): LiteralResult {
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
        if (whole) return cast(text, duckdbType(type));
        if (mode === 'assign') return { error: `${shown(value)} is not a whole number that fits ${type}` };
        return cast(text, 'DOUBLE');
      }
      if (type === 'decimal' && /^[+-]?[0-9]{0,28}(?:\.[0-9]{0,10})?$/.test(text))
        return cast(text, 'DECIMAL(38,10)');
      return cast(text, mode === 'assign' ? duckdbType(type) : 'DOUBLE');
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
        return isTimestampTzValue(text)
          ? cast(text, 'TIMESTAMPTZ')
          : { error: `${shown(value)} is not a timestamp (YYYY-MM-DD HH:MM:SS with an optional zone)` };
      }
      return isTimestampValue(text)
        ? cast(text, 'TIMESTAMP')
        : { error: `${shown(value)} is not a timestamp (YYYY-MM-DD HH:MM:SS)` };
    }
    case 'binary':
      return typeof value === 'string'
        ? cast(value, 'BLOB')
        : { error: `${shown(value)} is not binary text` };
  }
}

/** A literal whose column type is unknown: DuckDB converts it on comparison. */
function untypedLiteral(value: Scalar): string {
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') return String(value);
  return sqlString(value);
}

function literalSql(value: Scalar, type: FieldType | undefined, mode: 'compare' | 'assign'): string {
  if (!type) return untypedLiteral(value);
  const result = typedLiteral(value, type, mode);
  if ('error' in result) throw new Error(result.error);
  return result.sql;
}

// ---------------------------------------------------------------------------------------------
// Schemas

const ID_MESSAGE = 'must be a number or a string of digits';
/** Whether a value is a node id. */
export const isId = (v: unknown): v is number | string =>
  (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ||
  (typeof v === 'string' && /^[0-9]{1,19}$/.test(v));

/** A node id: Data Flow's Long, as a number or a string of digits. */
export const idSchema = z.custom<number | string>(isId, {
  error: (issue) => (issue.input === undefined ? 'is required' : ID_MESSAGE),
});

const text = (max: number) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const columnName = text(255);
const upper = (s: string) => s.toUpperCase();

/** An enum whose values arrive in any case and are kept upper-case. */
function upperEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .transform(upper)
    .pipe(z.enum(values, { error: `must be one of ${values.join(', ')}` }));
}

const fieldTypeSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(FIELD_TYPES, { error: `must be a field type (${FIELD_TYPES.join(', ')})` }));

const propertiesSchema = z.array(z.unknown()).optional();

/** A declared column: name and type (SOURCE_OBS). */
const fieldSpecSchema = z.looseObject({
  name: columnName,
  type: fieldTypeSchema,
  properties: propertiesSchema,
});
/** A column reference whose type, when given, is a cast. */
const fieldRefSchema = z.looseObject({
  name: columnName,
  type: fieldTypeSchema.optional(),
  properties: propertiesSchema,
});
/** A column reference given as `{name, ...}` or as a bare name. */
const fieldRefOrName = z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), fieldRefSchema);
/** A column name given as a bare name or as `{name}`. */
const nameOrRef = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { name?: unknown }).name : v),
  columnName,
);

export type FieldRef = z.output<typeof fieldRefSchema>;

const scalarSchema = z.custom<Scalar | null>(
  (v) =>
    v === null ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)),
  {
    error: (issue) =>
      issue.input === undefined ? 'is required' : 'must be a string, number, boolean or null',
  },
);
const defaultValueSchema = z.custom<Scalar>(
  (v) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)),
  { error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string, number or boolean') },
);

const OPERATORS = ['EQ', 'NE', 'GT', 'LT', 'GTE', 'LTE'] as const;
type Operator = (typeof OPERATORS)[number];
const OPERATOR_SQL: Record<Operator, string> = { EQ: '=', NE: '<>', GT: '>', LT: '<', GTE: '>=', LTE: '<=' };
const CONDITION_OPERATORS = ['HEAD', 'AND', 'OR'] as const;
const UPDATE_TYPES = ['OVERWRITE', 'APPEND', 'IGNORE'] as const;
const AGGREGATE_FUNCTIONS = ['SUM', 'AVG', 'MAX', 'MIN', 'COUNT', 'COUNT_DISTINCT'] as const;
type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** The common fields, `type` pinned to one value (accepted in any case). */
function common<const T extends string>(type: T) {
  return {
    type: z.string().transform(upper).pipe(z.literal(type)),
    id: idSchema,
    name: text(200),
    parentNodeIds: z.array(idSchema).default([]),
  };
}

/** The common fields alone, to report on a node whose type is unknown. */
export const commonNodeSchema = z.looseObject({
  id: idSchema,
  name: text(200),
  parentNodeIds: z.array(idSchema).default([]),
});

const regionNo = z.union([z.string(), z.number()]).optional();

const sourceObsSchema = z.looseObject({
  ...common('SOURCE_OBS'),
  regionNo,
  bucketName: text(63),
  /** '' reads the whole bucket. */
  prefix: z
    .string()
    .max(1024, 'must be at most 1024 characters')
    .refine(isPlainKey, PLAIN_KEY_MESSAGE)
    .default(''),
  dataType: upperEnum(['CSV', 'JSON', 'NDJSON', 'PARQUET']),
  fieldList: z.array(fieldSpecSchema).min(1, 'must list at least one field'),
});

const sourceCatalogSchema = z.looseObject({
  ...common('SOURCE_CATALOG'),
  database: text(200),
  table: text(200),
  schemaVersion: z.union([z.number(), z.string()]).optional(),
  fieldList: z.array(fieldRefOrName).optional(),
});

const filterSchema = z.looseObject({
  ...common('TRANSFORM_FILTER'),
  filterType: upperEnum(['AND', 'OR']),
  filterConditionList: z
    .array(
      z.looseObject({
        name: columnName,
        operator: upperEnum(OPERATORS),
        value: scalarSchema,
        // Accepted for Data Flow compatibility; conditions combine with filterType.
        conditionOperator: upperEnum(CONDITION_OPERATORS).optional(),
      }),
    )
    .min(1, 'must list at least one condition'),
});

const defineSchema = z.looseObject({
  ...common('TRANSFORM_DEFINE'),
  defineFieldList: z
    .array(z.looseObject({ name: columnName, newType: fieldTypeSchema, newName: columnName.optional() }))
    .min(1, 'must list at least one field'),
});

const selectSchema = z.looseObject({
  ...common('TRANSFORM_SELECT'),
  fieldList: z.array(fieldRefOrName).min(1, 'must list at least one field'),
});

const renameSchema = z.looseObject({
  ...common('TRANSFORM_RENAME'),
  renameFieldList: z
    .array(z.looseObject({ name: columnName, newName: columnName }))
    .min(1, 'must list at least one field'),
});

const joinSchema = z
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
    const parents = Array.isArray(node.parentNodeIds) ? node.parentNodeIds.map(String) : [];
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

const unionSchema = z.looseObject({
  ...common('TRANSFORM_UNION'),
  unionType: upperEnum(['ALL', 'DISTINCT']),
});

const aggregateSchema = z.looseObject({
  ...common('TRANSFORM_AGGREGATE'),
  groupByList: z.array(nameOrRef).default([]),
  aggregateFieldList: z
    .array(
      z
        .object({
          name: columnName,
          ResultName: columnName.optional(),
          resultName: columnName.optional(),
          function: upperEnum(AGGREGATE_FUNCTIONS),
        })
        .transform((a) => ({
          name: a.name,
          // Default: `sum_price`, `count` for COUNT(*).
          resultName:
            a.ResultName ??
            a.resultName ??
            (a.name === '*' ? a.function.toLowerCase() : `${a.function.toLowerCase()}_${a.name}`),
          function: a.function,
        })),
    )
    .min(1, 'must list at least one aggregate'),
});

const dropDuplicationSchema = z.looseObject({
  ...common('TRANSFORM_DROP_DUPLICATION'),
  /** Key columns; empty compares whole rows. */
  dropFieldList: z.array(nameOrRef).default([]),
});

const dropNullSchema = z.looseObject({
  ...common('TRANSFORM_DROP_NULL'),
  /** Columns checked for nulls; empty checks every column. */
  fieldList: z.array(fieldRefOrName).default([]),
});

const fillSchema = z.looseObject({
  ...common('TRANSFORM_FILL_MISSING_VALUES'),
  missingValueFieldList: z
    .array(z.looseObject({ name: columnName, defaultValue: defaultValueSchema }))
    .min(1, 'must list at least one field'),
});

const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const sqlSchema = z
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
    const parents = Array.isArray(node.parentNodeIds) ? node.parentNodeIds.map(String) : [];
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

const targetObsSchema = z.looseObject({
  ...common('TARGET_OBS'),
  regionNo,
  bucketName: text(63),
  /** Never the bucket root: OVERWRITE replaces everything under the prefix. */
  prefix: text(1024).refine(isPlainKey, PLAIN_KEY_MESSAGE),
  dataType: upperEnum(['CSV', 'JSON', 'PARQUET']),
  updateType: upperEnum(UPDATE_TYPES).default('OVERWRITE'),
  fieldList: z.array(fieldRefOrName).optional(),
  /** Write one file (absent means true; see targetSingleFile). */
  coalesce: z.boolean().optional(),
});

const targetCatalogSchema = z.looseObject({
  ...common('TARGET_CATALOG'),
  database: text(200),
  table: text(200),
  fieldList: z.array(fieldRefOrName).optional(),
  updateType: upperEnum(UPDATE_TYPES).default('OVERWRITE'),
});

export type SourceObsNode = z.output<typeof sourceObsSchema>;
export type SourceCatalogNode = z.output<typeof sourceCatalogSchema>;
export type FilterNode = z.output<typeof filterSchema>;
export type DefineNode = z.output<typeof defineSchema>;
export type SelectNode = z.output<typeof selectSchema>;
export type RenameNode = z.output<typeof renameSchema>;
export type JoinNode = z.output<typeof joinSchema>;
export type UnionNode = z.output<typeof unionSchema>;
export type AggregateNode = z.output<typeof aggregateSchema>;
export type DropDuplicationNode = z.output<typeof dropDuplicationSchema>;
export type DropNullNode = z.output<typeof dropNullSchema>;
export type FillMissingValuesNode = z.output<typeof fillSchema>;
export type SqlNode = z.output<typeof sqlSchema>;
export type TargetObsNode = z.output<typeof targetObsSchema>;
export type TargetCatalogNode = z.output<typeof targetCatalogSchema>;

/** A node after its schema: types upper-case, field types lower-case, defaults filled in. */
export type ParsedNode = PipelineNode &
  (
    | SourceObsNode
    | SourceCatalogNode
    | FilterNode
    | DefineNode
    | SelectNode
    | RenameNode
    | JoinNode
    | UnionNode
    | AggregateNode
    | DropDuplicationNode
    | DropNullNode
    | FillMissingValuesNode
    | SqlNode
    | TargetObsNode
    | TargetCatalogNode
  );

// ---------------------------------------------------------------------------------------------
// The registry's shape

/** One input of a node at run time. */
export interface NodeInput {
  nodeId: string;
  /** A SQL expression usable after FROM: `read_parquet([...])` or a quoted view name. */
  relation: string;
  fields: Field[] | null;
}

/** Where `output()` reports what is wrong; `field` is the path inside the node. */
export interface CheckContext {
  problem(field: string, message: string): void;
}

export interface NodeTypeDef<N = ParsedNode> {
  type: string;
  kind: NodeKind;
  arity: { min: number; max: number };
  /** Validates the whole node (common + own fields); the output is the normalised node. */
  schema: z.ZodType;
  /**
   * The node's output columns from its inputs (in parentNodeIds order; for SOURCE_CATALOG the
   * dataset's columns), or null when they cannot be known. Bad references are reported on ctx.
   */
  output(node: N, inputs: Array<Field[] | null>, ctx: CheckContext): Field[] | null;
  /** Transforms and targets: one SELECT producing the output. */
  sql?(node: N, inputs: NodeInput[]): string;
  /**
   * SQL text the user wrote in a field of this node, which must parse as one SELECT on its own
   * before it runs (the step worker checks it with DuckDB's parser).
   */
  userSql?(node: N): { field: string; sql: string };
}

// ---------------------------------------------------------------------------------------------
// Column checks shared by the output functions

const MAX_LISTED = 10;

function availableList(fields: readonly Field[]): string {
  if (fields.length === 0) return 'none';
  const names = fields.slice(0, MAX_LISTED).map((f) => f.name);
  const more = fields.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** The column `name` of `fields`, or a problem naming it and the columns there are. */
function column(
  fields: readonly Field[],
  name: string,
  field: string,
  ctx: CheckContext,
  where = 'the input',
): Field | undefined {
  const found = fields.find((f) => f.name === name);
  if (found) return found;
  const near = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
  const hint = near ? ` (did you mean "${near.name}"?)` : '';
  ctx.problem(field, `column "${name}" is not in ${where}${hint}; available: ${availableList(fields)}`);
  return undefined;
}

/** Reports names that repeat (ignoring case) in a list of output names. */
function checkUnique(names: Array<{ name: string; field: string }>, ctx: CheckContext): boolean {
  const seen = new Set<string>();
  let ok = true;
  for (const { name, field } of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) {
      ctx.problem(field, `column "${name}" appears more than once`);
      ok = false;
    }
    seen.add(key);
  }
  return ok;
}

/** A projection onto `list` (each column optionally cast); null when a column is missing. */
function projectOutput(
  list: readonly FieldRef[],
  input: readonly Field[],
  listField: string,
  ctx: CheckContext,
  where?: string,
): Field[] | null {
  let ok = true;
  const out: Field[] = [];
  list.forEach((ref, i) => {
    const col = column(input, ref.name, `${listField}.${i}.name`, ctx, where);
    if (!col) {
      ok = false;
      return;
    }
    if (ref.type && !castable(col.type, ref.type)) {
      ctx.problem(
        `${listField}.${i}.type`,
        `cannot cast column "${col.name}" from ${col.type} to ${ref.type}`,
      );
      ok = false;
    }
    out.push({ name: col.name, type: ref.type ?? col.type });
  });
  const unique = checkUnique(
    list.map((ref, i) => ({ name: ref.name, field: `${listField}.${i}.name` })),
    ctx,
  );
  return ok && unique ? out : null;
}

/** Checks that each named column exists; true when all do. */
function checkColumns(
  names: readonly string[],
  input: readonly Field[],
  listField: string,
  ctx: CheckContext,
) {
  let ok = true;
  names.forEach((name, i) => {
    if (!column(input, name, `${listField}.${i}`, ctx)) ok = false;
  });
  return ok;
}

const copyFields = (fields: readonly Field[]): Field[] => fields.map((f) => ({ name: f.name, type: f.type }));

// ---------------------------------------------------------------------------------------------
// SQL helpers

const ROW = sqlIdent('__sluice_row');

/** `SELECT [CAST(]col[ AS T)] AS col, ...` for a column list (types optional). */
function projection(list: ReadonlyArray<{ name: string; type?: FieldType }>): string {
  return list
    .map((f) =>
      f.type ? `CAST(${sqlIdent(f.name)} AS ${duckdbType(f.type)}) AS ${sqlIdent(f.name)}` : sqlIdent(f.name),
    )
    .join(', ');
}

function typeOf(fields: Field[] | null | undefined, name: string): FieldType | undefined {
  return fields?.find((f) => f.name === name)?.type;
}

function onlyInput(inputs: NodeInput[]): NodeInput {
  const input = inputs[0];
  if (!input) throw new Error('the node has no input');
  return input;
}

function inputOf(inputs: NodeInput[], id: number | string): NodeInput {
  const input = inputs.find((i) => i.nodeId === nodeKey(id));
  if (!input) throw new Error(`input ${nodeKey(id)} is missing`);
  return input;
}

const fileList = (files: readonly string[]) => `[${files.map(sqlString).join(', ')}]`;

/** A typed, empty relation with the given columns. */
function emptySelect(fields: readonly Field[]): string {
  return `SELECT ${fields.map((f) => `CAST(NULL AS ${duckdbType(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} WHERE false`;
}

/**
 * Scans one statement the way DuckDB's lexer splits them (quotes, E'' strings, dollar quotes,
 * comments). Returns the statement without trailing semicolons, or why it is not one query.
 * This is a shape check for early, per-field feedback, not a security rule: what the SQL may
 * read is enforced by the step's sandboxed DuckDB instance (see `duckdb.ts`).
 */
function scanStatement(sql: string): { body: string } | { error: string } {
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

// ---------------------------------------------------------------------------------------------
// Node types

const ONE = { min: 1, max: 1 };

const sourceObs: NodeTypeDef<SourceObsNode> = {
  type: 'SOURCE_OBS',
  kind: 'source',
  arity: { min: 0, max: 0 },
  schema: sourceObsSchema,
  output(node, _inputs, ctx) {
    const unique = checkUnique(
      node.fieldList.map((f, i) => ({ name: f.name, field: `fieldList.${i}.name` })),
      ctx,
    );
    return unique ? copyFields(node.fieldList) : null;
  },
};

const sourceCatalog: NodeTypeDef<SourceCatalogNode> = {
  type: 'SOURCE_CATALOG',
  kind: 'source',
  arity: { min: 0, max: 0 },
  schema: sourceCatalogSchema,
  output(node, [dataset], ctx) {
    if (!dataset) return null;
    if (!node.fieldList) return copyFields(dataset);
    return projectOutput(node.fieldList, dataset, 'fieldList', ctx, `dataset "${node.table}"`);
  },
};

function filterCondition(
  cond: FilterNode['filterConditionList'][number],
  type: FieldType | undefined,
): string {
  const col = sqlIdent(cond.name);
  if (cond.value === null) {
    if (cond.operator === 'EQ') return `${col} IS NULL`;
    if (cond.operator === 'NE') return `${col} IS NOT NULL`;
    throw new Error(`null can only be compared with EQ or NE, not ${cond.operator}`);
  }
  return `${col} ${OPERATOR_SQL[cond.operator]} ${literalSql(cond.value, type, 'compare')}`;
}

const filter: NodeTypeDef<FilterNode> = {
  type: 'TRANSFORM_FILTER',
  kind: 'transform',
  arity: ONE,
  schema: filterSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.filterConditionList.forEach((cond, i) => {
      const col = column(input, cond.name, `filterConditionList.${i}.name`, ctx);
      if (cond.value === null) {
        if (cond.operator !== 'EQ' && cond.operator !== 'NE') {
          ctx.problem(`filterConditionList.${i}.value`, `null can only be compared with EQ or NE`);
        }
        return;
      }
      if (!col) return;
      const literal = typedLiteral(cond.value, col.type, 'compare');
      if ('error' in literal) {
        ctx.problem(
          `filterConditionList.${i}.value`,
          `${literal.error}, but column "${col.name}" is ${col.type}`,
        );
      }
    });
    return copyFields(input);
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const joiner = ` ${node.filterType} `;
    const where = node.filterConditionList
      .map((cond) => `(${filterCondition(cond, typeOf(input.fields, cond.name))})`)
      .join(joiner);
    return `SELECT * FROM ${input.relation} WHERE ${where}`;
  },
};

const define: NodeTypeDef<DefineNode> = {
  type: 'TRANSFORM_DEFINE',
  kind: 'transform',
  arity: ONE,
  schema: defineSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    let ok = true;
    const out = copyFields(input);
    const defined = new Set<string>();
    node.defineFieldList.forEach((d, i) => {
      const col = column(input, d.name, `defineFieldList.${i}.name`, ctx);
      if (!col) {
        ok = false;
        return;
      }
      if (defined.has(col.name)) {
        ctx.problem(`defineFieldList.${i}.name`, `column "${col.name}" is defined more than once`);
        ok = false;
      }
      defined.add(col.name);
      if (!castable(col.type, d.newType)) {
        ctx.problem(
          `defineFieldList.${i}.newType`,
          `cannot cast column "${col.name}" from ${col.type} to ${d.newType}`,
        );
        ok = false;
      }
      const target = out.find((f) => f.name === col.name);
      if (target) {
        target.type = d.newType;
        if (d.newName) target.name = d.newName;
      }
    });
    const renamed = node.defineFieldList.flatMap((d, i) =>
      d.newName ? [{ source: d.name, name: d.newName, field: `defineFieldList.${i}.newName` }] : [],
    );
    const kept = input.filter((f) => !renamed.some((r) => r.source === f.name));
    const unique = checkUnique([...kept.map((f) => ({ name: f.name, field: '' })), ...renamed], ctx);
    return ok && unique ? out : null;
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const casts = node.defineFieldList
      .map((d) => `CAST(${sqlIdent(d.name)} AS ${duckdbType(d.newType)}) AS ${sqlIdent(d.name)}`)
      .join(', ');
    const cast = `SELECT * REPLACE (${casts}) FROM ${input.relation}`;
    const renames = node.defineFieldList.filter((d) => d.newName && d.newName !== d.name);
    if (renames.length === 0) return cast;
    const list = renames.map((d) => `${sqlIdent(d.name)} AS ${sqlIdent(d.newName as string)}`).join(', ');
    return `SELECT * RENAME (${list}) FROM (${cast})`;
  },
};

const select: NodeTypeDef<SelectNode> = {
  type: 'TRANSFORM_SELECT',
  kind: 'transform',
  arity: ONE,
  schema: selectSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    // A type given here describes the column; it does not cast (use TRANSFORM_DEFINE).
    const names = node.fieldList.map((f) => ({ name: f.name }));
    return projectOutput(names, input, 'fieldList', ctx);
  },
  sql(node, inputs) {
    return `SELECT ${projection(node.fieldList.map((f) => ({ name: f.name })))} FROM ${onlyInput(inputs).relation}`;
  },
};

const rename: NodeTypeDef<RenameNode> = {
  type: 'TRANSFORM_RENAME',
  kind: 'transform',
  arity: ONE,
  schema: renameSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    let ok = true;
    const out = copyFields(input);
    const renamedFrom = new Set<string>();
    node.renameFieldList.forEach((r, i) => {
      const col = column(input, r.name, `renameFieldList.${i}.name`, ctx);
      if (!col) {
        ok = false;
        return;
      }
      if (renamedFrom.has(col.name)) {
        ctx.problem(`renameFieldList.${i}.name`, `column "${col.name}" is renamed more than once`);
        ok = false;
      }
      renamedFrom.add(col.name);
      const target = out.find((f) => f.name === col.name);
      if (target) target.name = r.newName;
    });
    const renamed = node.renameFieldList.map((r, i) => ({
      name: r.newName,
      field: `renameFieldList.${i}.newName`,
    }));
    const kept = input.filter((f) => !renamedFrom.has(f.name)).map((f) => ({ name: f.name, field: '' }));
    const unique = checkUnique([...kept, ...renamed], ctx);
    return ok && unique ? out : null;
  },
  sql(node, inputs) {
    const list = node.renameFieldList.map((r) => `${sqlIdent(r.name)} AS ${sqlIdent(r.newName)}`).join(', ');
    return `SELECT * RENAME (${list}) FROM ${onlyInput(inputs).relation}`;
  },
};

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

const join: NodeTypeDef<JoinNode> = {
  type: 'TRANSFORM_JOIN',
  kind: 'transform',
  arity: { min: 2, max: 2 },
  schema: joinSchema,
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
    let on = '';
    node.joinConditionList.forEach((cond, i) => {
      const term = `${L}.${sqlIdent(cond.leftField)} ${OPERATOR_SQL[cond.joinOperator]} ${R}.${sqlIdent(cond.rightField)}`;
      // The first condition is the head; later ones combine in order (AND unless OR).
      on = i === 0 ? `(${term})` : `(${on} ${cond.conditionOperator === 'OR' ? 'OR' : 'AND'} ${term})`;
    });
    // Unknown columns: DuckDB names colliding right columns itself (`id_1`).
    const columns =
      left.fields && right.fields
        ? joinColumns(left.fields, right.fields, joinPrefix(node))
            .map((c) => `${c.side === 'left' ? L : R}.${sqlIdent(c.source)} AS ${sqlIdent(c.name)}`)
            .join(', ')
        : `${L}.*, ${R}.*`;
    return `SELECT ${columns} FROM ${left.relation} AS ${L} ${JOIN_SQL[node.joinType]} ${right.relation} AS ${R} ON ${on}`;
  },
};

/** The union's columns (first input's order, common types), or the reasons there are none. */
function unionColumns(
  node: UnionNode,
  inputs: readonly Field[][],
): { fields: Field[] } | { problems: string[] } {
  const [first, ...rest] = inputs;
  if (!first) return { problems: ['has no inputs'] };
  const parent = (i: number) => `node ${nodeKey(node.parentNodeIds[i] ?? i)}`;
  const problems: string[] = [];
  const out = copyFields(first);
  rest.forEach((fields, r) => {
    const i = r + 1;
    const missing = first.filter((f) => !fields.some((g) => g.name === f.name)).map((f) => f.name);
    const extra = fields.filter((g) => !first.some((f) => f.name === g.name)).map((g) => g.name);
    if (missing.length > 0 || extra.length > 0) {
      const parts = [
        missing.length > 0 ? `lacks ${missing.map((m) => `"${m}"`).join(', ')}` : '',
        extra.length > 0 ? `has extra ${extra.map((m) => `"${m}"`).join(', ')}` : '',
      ].filter(Boolean);
      problems.push(
        `union inputs need the same column names: the input from ${parent(i)} ${parts.join(' and ')} compared with ${parent(0)}`,
      );
    }
    for (const f of out) {
      const g = fields.find((x) => x.name === f.name);
      if (!g) continue;
      const common = commonType(f.type, g.type);
      if (common) f.type = common;
      else problems.push(`column "${f.name}" is ${f.type} in ${parent(0)} but ${g.type} in ${parent(i)}`);
    }
  });
  return problems.length > 0 ? { problems } : { fields: out };
}

const union: NodeTypeDef<UnionNode> = {
  type: 'TRANSFORM_UNION',
  kind: 'transform',
  arity: { min: 2, max: 10 },
  schema: unionSchema,
  output(node, inputs, ctx) {
    if (inputs.some((i) => !i)) return null;
    const result = unionColumns(node, inputs as Field[][]);
    if ('problems' in result) {
      for (const p of result.problems) ctx.problem('parentNodeIds', p);
      return null;
    }
    return result.fields;
  },
  sql(node, inputs) {
    const op = node.unionType === 'ALL' ? 'UNION ALL' : 'UNION';
    const known = inputs.every((i) => i.fields)
      ? unionColumns(
          node,
          inputs.map((i) => i.fields as Field[]),
        )
      : null;
    if (known && 'fields' in known) {
      const list = projection(known.fields);
      return inputs.map((i) => `SELECT ${list} FROM ${i.relation}`).join(`\n${op}\n`);
    }
    return inputs.map((i) => `SELECT * FROM ${i.relation}`).join(`\n${op} BY NAME\n`);
  },
};

function aggregateType(fn: AggregateFunction, input: FieldType): FieldType {
  switch (fn) {
    case 'COUNT':
    case 'COUNT_DISTINCT':
      return 'bigint';
    case 'AVG':
      return 'double';
    case 'SUM':
      return INTEGER_TYPES.has(input) ? 'bigint' : input === 'decimal' ? 'decimal' : 'double';
    default:
      return input;
  }
}

const aggregate: NodeTypeDef<AggregateNode> = {
  type: 'TRANSFORM_AGGREGATE',
  kind: 'transform',
  arity: ONE,
  schema: aggregateSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    let ok = checkColumns(node.groupByList, input, 'groupByList', ctx);
    const out: Field[] = [];
    for (const name of node.groupByList) {
      const col = input.find((f) => f.name === name);
      if (col) out.push({ name: col.name, type: col.type });
    }
    node.aggregateFieldList.forEach((a, i) => {
      const field = `aggregateFieldList.${i}`;
      if (a.name === '*') {
        if (a.function !== 'COUNT') {
          ctx.problem(`${field}.name`, `"*" can only be counted (COUNT), not used with ${a.function}`);
          ok = false;
        }
        out.push({ name: a.resultName, type: 'bigint' });
        return;
      }
      const col = column(input, a.name, `${field}.name`, ctx);
      if (!col) {
        ok = false;
        return;
      }
      if ((a.function === 'SUM' || a.function === 'AVG') && typeFamily(col.type) !== 'numeric') {
        ctx.problem(
          `${field}.function`,
          `${a.function} needs a numeric column, but "${col.name}" is ${col.type}`,
        );
        ok = false;
      }
      out.push({ name: a.resultName, type: aggregateType(a.function, col.type) });
    });
    const unique = checkUnique(
      [
        ...node.groupByList.map((name, i) => ({ name, field: `groupByList.${i}` })),
        ...node.aggregateFieldList.map((a, i) => ({
          name: a.resultName,
          field: `aggregateFieldList.${i}.ResultName`,
        })),
      ],
      ctx,
    );
    return ok && unique ? out : null;
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const groups = node.groupByList.map(sqlIdent);
    const results = node.aggregateFieldList.map((a) => {
      const col = a.name === '*' ? '*' : sqlIdent(a.name);
      const type = a.name === '*' ? undefined : typeOf(input.fields, a.name);
      let expr: string;
      switch (a.function) {
        case 'COUNT':
          expr = `count(${col})`;
          break;
        case 'COUNT_DISTINCT':
          expr = `count(DISTINCT ${col})`;
          break;
        case 'AVG':
          expr = `CAST(avg(${col}) AS DOUBLE)`;
          break;
        case 'SUM':
          // DuckDB sums integers into HUGEINT; the declared type is BIGINT (overflow fails loudly).
          expr = type ? `CAST(sum(${col}) AS ${duckdbType(aggregateType('SUM', type))})` : `sum(${col})`;
          break;
        default:
          expr = `${a.function.toLowerCase()}(${col})`;
      }
      return `${expr} AS ${sqlIdent(a.resultName)}`;
    });
    const list = [...groups, ...results].join(', ');
    if (groups.length === 0) return `SELECT ${list} FROM ${input.relation}`;
    return `SELECT ${list} FROM ${input.relation} GROUP BY ${groups.join(', ')} ORDER BY ${groups.join(', ')}`;
  },
};

const dropDuplication: NodeTypeDef<DropDuplicationNode> = {
  type: 'TRANSFORM_DROP_DUPLICATION',
  kind: 'transform',
  arity: ONE,
  schema: dropDuplicationSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    checkColumns(node.dropFieldList, input, 'dropFieldList', ctx);
    return copyFields(input);
  },
  sql(node, inputs) {
    // Number rows in input order, keep the first of each key, and keep input order.
    const relation = onlyInput(inputs).relation;
    const first = (keys: string) =>
      `QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY ${ROW}) = 1 ORDER BY ${ROW}`;
    if (node.dropFieldList.length > 0) {
      const numbered = `SELECT *, row_number() OVER () AS ${ROW} FROM ${relation}`;
      return `SELECT * EXCLUDE (${ROW}) FROM (${numbered}) ${first(node.dropFieldList.map(sqlIdent).join(', '))}`;
    }
    // Whole rows: the row itself, as a struct, is the key.
    const IN = sqlIdent('__sluice_in');
    const KEY = sqlIdent('__sluice_key');
    const numbered = `SELECT *, ${IN} AS ${KEY}, row_number() OVER () AS ${ROW} FROM ${relation} AS ${IN}`;
    return `SELECT * EXCLUDE (${ROW}, ${KEY}) FROM (${numbered}) ${first(KEY)}`;
  },
};

const dropNull: NodeTypeDef<DropNullNode> = {
  type: 'TRANSFORM_DROP_NULL',
  kind: 'transform',
  arity: ONE,
  schema: dropNullSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.fieldList.forEach((f, i) => {
      column(input, f.name, `fieldList.${i}.name`, ctx);
    });
    return copyFields(input);
  },
  sql(node, inputs) {
    const relation = onlyInput(inputs).relation;
    if (node.fieldList.length === 0) return `SELECT * FROM ${relation} WHERE COLUMNS(*) IS NOT NULL`;
    const where = node.fieldList.map((f) => `${sqlIdent(f.name)} IS NOT NULL`).join(' AND ');
    return `SELECT * FROM ${relation} WHERE ${where}`;
  },
};

const fillMissingValues: NodeTypeDef<FillMissingValuesNode> = {
  type: 'TRANSFORM_FILL_MISSING_VALUES',
  kind: 'transform',
  arity: ONE,
  schema: fillSchema,
  output(node, [input], ctx) {
    if (!input) return null;
    node.missingValueFieldList.forEach((m, i) => {
      const col = column(input, m.name, `missingValueFieldList.${i}.name`, ctx);
      if (!col) return;
      const literal = typedLiteral(m.defaultValue, col.type, 'assign');
      if ('error' in literal) {
        ctx.problem(
          `missingValueFieldList.${i}.defaultValue`,
          `${literal.error}, but column "${col.name}" is ${col.type}`,
        );
      }
    });
    checkUnique(
      node.missingValueFieldList.map((m, i) => ({ name: m.name, field: `missingValueFieldList.${i}.name` })),
      ctx,
    );
    return copyFields(input);
  },
  sql(node, inputs) {
    const input = onlyInput(inputs);
    const list = node.missingValueFieldList
      .map((m) => {
        const col = sqlIdent(m.name);
        return `COALESCE(${col}, ${literalSql(m.defaultValue, typeOf(input.fields, m.name), 'assign')}) AS ${col}`;
      })
      .join(', ');
    return `SELECT * REPLACE (${list}) FROM ${input.relation}`;
  },
};

const sqlTransform: NodeTypeDef<SqlNode> = {
  type: 'TRANSFORM_SQL',
  kind: 'transform',
  arity: { min: 1, max: 10 },
  schema: sqlSchema,
  // Columns are known only once the query runs.
  output: () => null,
  userSql: (node) => ({ field: 'sql', sql: node.sql }),
  sql(node, inputs) {
    const scanned = scanStatement(node.sql);
    if ('error' in scanned) throw new Error(`sql ${scanned.error}`);
    const names = node.sourceNameList
      .map((s) => `${sqlIdent(s.newName)} AS (SELECT * FROM ${inputOf(inputs, s.parentId).relation})`)
      .join(', ');
    // The user's query is a subquery, so it may start with its own WITH.
    return `WITH ${names}\nSELECT * FROM (\n${scanned.body}\n) AS ${sqlIdent('__sluice_sql')}`;
  },
};

function targetOutput(
  node: TargetObsNode | TargetCatalogNode,
  input: Field[] | null | undefined,
  ctx: CheckContext,
) {
  if (!input) return null;
  return node.fieldList ? projectOutput(node.fieldList, input, 'fieldList', ctx) : copyFields(input);
}

function targetSql(node: TargetObsNode | TargetCatalogNode, inputs: NodeInput[]): string {
  const relation = onlyInput(inputs).relation;
  return node.fieldList
    ? `SELECT ${projection(node.fieldList)} FROM ${relation}`
    : `SELECT * FROM ${relation}`;
}

const targetObs: NodeTypeDef<TargetObsNode> = {
  type: 'TARGET_OBS',
  kind: 'target',
  arity: ONE,
  schema: targetObsSchema,
  output: (node, [input], ctx) => targetOutput(node, input, ctx),
  sql: targetSql,
};

const targetCatalog: NodeTypeDef<TargetCatalogNode> = {
  type: 'TARGET_CATALOG',
  kind: 'target',
  arity: ONE,
  schema: targetCatalogSchema,
  output: (node, [input], ctx) => targetOutput(node, input, ctx),
  sql: targetSql,
};

export const NODE_TYPES: Readonly<Record<string, NodeTypeDef>> = Object.freeze(
  Object.fromEntries(
    (
      [
        sourceObs,
        sourceCatalog,
        filter,
        define,
        select,
        rename,
        join,
        union,
        aggregate,
        dropDuplication,
        dropNull,
        fillMissingValues,
        sqlTransform,
        targetObs,
        targetCatalog,
      ] as NodeTypeDef[]
    ).map((def) => [def.type, def]),
  ),
);

/** The definition of a node type (any case), or undefined. */
export function nodeType(type: string): NodeTypeDef | undefined {
  const key = type.toUpperCase();
  return Object.hasOwn(NODE_TYPES, key) ? NODE_TYPES[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Sources and targets at run time

function asType<T extends ParsedNode['type']>(node: ParsedNode, type: T): Extract<ParsedNode, { type: T }> {
  if (node.type !== type) throw new Error(`expected a ${type} node, got ${node.type}`);
  return node as Extract<ParsedNode, { type: T }>;
}

/**
 * A SELECT over local copies of a SOURCE_OBS prefix, projecting and casting to fieldList.
 * CSV columns are typed by header name (so column order and extra columns do not matter, and a
 * bad value fails with its line); JSON keys are typed the same way; Parquet columns are cast,
 * nested ones turned into JSON text.
 */
export function sourceObsSql(node: ParsedNode, files: string[]): string {
  const source = asType(node, 'SOURCE_OBS');
  const fields = source.fieldList;
  if (files.length === 0) return emptySelect(fields);
  const types = `{${fields.map((f) => `${sqlString(f.name)}: ${sqlString(duckdbType(f.type))}`).join(', ')}}`;
  const list = fileList(files);
  switch (source.dataType) {
    case 'CSV':
      return `SELECT ${projection(fields)} FROM read_csv(${list}, header = true, all_varchar = true, union_by_name = true, types = ${types})`;
    case 'JSON':
    case 'NDJSON': {
      const format = source.dataType === 'JSON' ? 'auto' : 'newline_delimited';
      return `SELECT ${projection(fields)} FROM read_json(${list}, format = '${format}', columns = ${types})`;
    }
    case 'PARQUET': {
      const columns = fields.map((f) => {
        const col = sqlIdent(f.name);
        if (f.type === 'array' || f.type === 'map' || f.type === 'struct') {
          // A nested Parquet value becomes JSON text; text stays as it is.
          return `CASE WHEN typeof(${col}) = 'VARCHAR' THEN CAST(${col} AS VARCHAR) ELSE CAST(to_json(${col}) AS VARCHAR) END AS ${col}`;
        }
        return `CAST(${col} AS ${duckdbType(f.type)}) AS ${col}`;
      });
      return `SELECT ${columns.join(', ')} FROM read_parquet(${list}, union_by_name = true)`;
    }
  }
}

/**
 * A SELECT over the local Parquet parts of a dataset version, projecting (and casting) to
 * fieldList when given. With no parts, `fields` (the node's output columns) shapes an empty result.
 */
export function sourceCatalogSql(node: ParsedNode, files: string[], fields?: Field[]): string {
  const source = asType(node, 'SOURCE_CATALOG');
  if (files.length === 0) {
    if (!fields) throw new Error('a dataset with no files needs its columns');
    return emptySelect(fields);
  }
  const columns = source.fieldList ? projection(source.fieldList) : '*';
  return `SELECT ${columns} FROM read_parquet(${fileList(files)}, union_by_name = true)`;
}

/** COPY options for a TARGET_OBS file. JSON is written newline-delimited. */
export function targetCopyOptions(node: ParsedNode): string {
  switch (asType(node, 'TARGET_OBS').dataType) {
    case 'CSV':
      return '(FORMAT csv, HEADER true)';
    case 'JSON':
      return '(FORMAT json)';
    case 'PARQUET':
      return '(FORMAT parquet, COMPRESSION snappy)';
  }
}

/** The file extension a TARGET_OBS writes. */
export function targetFileExtension(node: ParsedNode): 'csv' | 'json' | 'parquet' {
  switch (asType(node, 'TARGET_OBS').dataType) {
    case 'CSV':
      return 'csv';
    case 'JSON':
      return 'json';
    case 'PARQUET':
      return 'parquet';
  }
}

/** Whether a TARGET_OBS writes a single file (`coalesce`, true unless set to false). */
export function targetSingleFile(node: ParsedNode): boolean {
  return asType(node, 'TARGET_OBS').coalesce !== false;
}

// ---------------------------------------------------------------------------------------------
// Echo

/**
 * The node as the API returns it: normalised, ids as given, every fieldList entry with
 * `properties` (Data Flow adds `[]`), and aggregate result names under Data Flow's `ResultName`.
 */
export function echoNode(node: ParsedNode): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (Array.isArray(node.fieldList)) {
    out.fieldList = (node.fieldList as FieldRef[]).map((f) => ({ ...f, properties: f.properties ?? [] }));
  }
  if (node.type === 'TRANSFORM_AGGREGATE') {
    out.aggregateFieldList = (node as AggregateNode).aggregateFieldList.map((a) => ({
      name: a.name,
      ResultName: a.resultName,
      function: a.function,
    }));
  }
  return out;
}

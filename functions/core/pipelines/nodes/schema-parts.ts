/** Zod parts the node schemas share: ids, names, enums, field lists, literal values. */
import * as z from 'zod';
import { FIELD_TYPES } from '../model.ts';

const ID_MESSAGE = 'must be a number or a string of digits';
/** Whether a value is a node id. */
export const isId = (v: unknown): v is number | string =>
  (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) ||
  (typeof v === 'string' && /^[0-9]{1,19}$/.test(v));

/** A node id: Data Flow's Long, as a number or a string of digits. */
export const idSchema = z.custom<number | string>(isId, {
  error: (issue) => (issue.input === undefined ? 'is required' : ID_MESSAGE),
});

export const text = (max: number) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
export const columnName = text(255);
const upper = (s: string) => s.toUpperCase();

/** An enum whose values arrive in any case and are kept upper-case. */
export function upperEnum<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .string()
    .transform(upper)
    .pipe(z.enum(values, { error: `must be one of ${values.join(', ')}` }));
}

export const fieldTypeSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(FIELD_TYPES, { error: `must be a field type (${FIELD_TYPES.join(', ')})` }));

const propertiesSchema = z.array(z.unknown()).optional();

/** A declared column: name and type (SOURCE_OBS). */
export const fieldSpecSchema = z.looseObject({
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
export const fieldRefOrName = z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), fieldRefSchema);
/** A column name given as a bare name or as `{name}`. */
export const nameOrRef = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { name?: unknown }).name : v),
  columnName,
);

export type FieldRef = z.output<typeof fieldRefSchema>;

/** A literal value a node compares with or fills in. */
export type Scalar = string | number | boolean;

export const scalarSchema = z.custom<Scalar | null>(
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
export const defaultValueSchema = z.custom<Scalar>(
  (v) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)),
  { error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string, number or boolean') },
);

export const OPERATORS = ['EQ', 'NE', 'GT', 'LT', 'GTE', 'LTE'] as const;
export type Operator = (typeof OPERATORS)[number];
export const CONDITION_OPERATORS = ['HEAD', 'AND', 'OR'] as const;
export const UPDATE_TYPES = ['OVERWRITE', 'APPEND', 'IGNORE'] as const;

/** The common fields, `type` pinned to one value (accepted in any case). */
export function common<const T extends string>(type: T) {
  return {
    type: z.string().transform(upper).pipe(z.literal(type)),
    id: idSchema,
    name: text(200),
    parentNodeIds: z.array(idSchema).default([]),
    /**
     * Sluice's addition: write this node's output and let the nodes after it read it back, a
     * stage boundary (statemachines/plan.ts). For a large intermediate several branches read, or
     * to keep a result a rerun can start from.
     */
    materialize: z.boolean({ error: 'must be true or false' }).optional(),
  };
}

/** The common fields alone, to report on a node whose type is unknown. */
export const commonNodeSchema = z.looseObject({
  id: idSchema,
  name: text(200),
  parentNodeIds: z.array(idSchema).default([]),
});

export const regionNo = z.union([z.string(), z.number()]).optional();

/** The parent keys a node lists, read leniently (a refinement runs even when fields failed). */
export const listedParents = (node: { parentNodeIds?: unknown }): string[] =>
  Array.isArray(node.parentNodeIds) ? node.parentNodeIds.map(String) : [];

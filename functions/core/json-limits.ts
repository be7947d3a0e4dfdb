/**
 * The structural limits of every JSON request body, checked once on the parsed body before any
 * schema or store sees it (http.ts): size, nesting depth, array and object sizes, string lengths,
 * and numbers and text that DynamoDB and JavaScript can both hold. Route schemas (zod) add the
 * limits of their own fields on top; this check only guarantees that whatever a schema lets
 * through free-form (`parameters`, extra node fields) can be stored and read back.
 *
 * Numbers: a JSON number becomes a JavaScript double; the DynamoDB marshaller refuses any number
 * outside ±Number.MAX_SAFE_INTEGER (it would lose precision: `1.5e300`, `1e20`), DynamoDB itself
 * refuses magnitudes below 1e-130, and NaN/Infinity have no JSON or DynamoDB form. We refuse such
 * numbers anywhere in a body (400 naming the field) rather than storing them as strings, so what a
 * client reads back is always what it sent; a client that needs such a value sends it as a string
 * (node values such as a filter's `value` accept strings and are cast by the engine).
 */
import type { FieldProblem } from './errors.ts';

export const BODY_LIMITS = {
  /** Bytes of JSON text: well under DynamoDB's 400 KB item, which a definition must fit in. */
  maxBytes: 300 * 1024,
  /** Levels of arrays and objects; the body itself is level 1. */
  maxDepth: 32,
  /** Elements of any one array (node lists have lower limits of their own). */
  maxArrayLength: 1000,
  /** Properties of any one object. */
  maxObjectKeys: 1000,
  /** Characters of any one property name. */
  maxKeyLength: 255,
  /** Characters (UTF-16 code units) of any one string: the longest field, a Data Query statement (256 KiB). */
  maxStringLength: 256 * 1024,
  /** Smallest non-zero magnitude DynamoDB stores. */
  minMagnitude: 1e-130,
  /** Problems listed in one answer; the walk stops after these. */
  maxProblems: 20,
} as const;

/**
 * Property names that are not data: `__proto__` reaches an object's prototype when copied key by
 * key, and the DynamoDB marshaller tells maps from other types by `value.constructor.name`, so
 * a map with a `constructor` property fails to marshal (or is written as something else).
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

/** Why a number cannot be stored as sent, or undefined when it can. */
export function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return 'must be a finite number';
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) {
    return `must be between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}; send larger numbers as a string`;
  }
  if (n !== 0 && Math.abs(n) < BODY_LIMITS.minMagnitude) {
    return `must be 0 or at least ${BODY_LIMITS.minMagnitude} in magnitude; send smaller numbers as a string`;
  }
  return undefined;
}

/** Whether a string is well-formed UTF-16 (no lone surrogate), i.e. has a UTF-8 form. */
function wellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/**
 * Every structural problem of a parsed JSON value (up to `maxProblems`), each naming its field as
 * a dotted path under `prefix` (`body.nodes.0.id`). Containers beyond the depth limit are
 * reported once and not walked.
 */
export function jsonShapeProblems(value: unknown, prefix = 'body'): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const full = () => problems.length >= BODY_LIMITS.maxProblems;
  const add = (field: string, message: string) => {
    if (!full()) problems.push({ field, message });
  };
  const walk = (v: unknown, path: string, depth: number): void => {
    if (full()) return;
    if (typeof v === 'number') {
      const problem = numberProblem(v);
      if (problem) add(path, problem);
      return;
    }
    if (typeof v === 'string') {
      if (v.length > BODY_LIMITS.maxStringLength) {
        add(path, `must be at most ${BODY_LIMITS.maxStringLength} characters`);
      } else if (!wellFormed(v)) add(path, 'must be valid Unicode text (it has an unpaired surrogate)');
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (depth > BODY_LIMITS.maxDepth) {
      add(path, `nests too deeply: at most ${BODY_LIMITS.maxDepth} levels of arrays and objects`);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length > BODY_LIMITS.maxArrayLength) {
        add(path, `must have at most ${BODY_LIMITS.maxArrayLength} items`);
        return;
      }
      v.forEach((item, i) => {
        walk(item, `${path}.${i}`, depth + 1);
      });
      return;
    }
    const keys = Object.keys(v);
    if (keys.length > BODY_LIMITS.maxObjectKeys) {
      add(path, `must have at most ${BODY_LIMITS.maxObjectKeys} properties`);
      return;
    }
    for (const key of keys) {
      const at = `${path}.${key.length > 64 ? `${key.slice(0, 64)}…` : key}`;
      if (key === '') add(`${path}.""`, 'property names must not be empty');
      else if (key.length > BODY_LIMITS.maxKeyLength) {
        add(at, `property names must be at most ${BODY_LIMITS.maxKeyLength} characters`);
      } else if (RESERVED_KEYS.has(key)) add(at, 'is a reserved name and cannot be a property name');
      else if (!wellFormed(key)) add(at, 'property names must be valid Unicode text');
      else walk((v as Record<string, unknown>)[key], at, depth + 1);
    }
  };
  walk(value, prefix, 1);
  return problems;
}

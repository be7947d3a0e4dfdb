/**
 * Amazon EventBridge event-pattern matching, for the local in-process event bus: a trigger's
 * pattern selects the same events locally as the EventBridge rule built from it does on AWS.
 *
 * A pattern is an object. Each of its fields is either a nested object (descend into the event
 * field of that name) or a non-empty array of match values (the leaf). Every field of a pattern
 * object must match (AND); a leaf matches when any of its values matches (OR). A `$or` field holds
 * two or more sub-patterns, each applied to the same event object; one of them must match.
 *
 * Leaf values are exact values (string, number, boolean, null) or a one-key matcher object:
 *   prefix, suffix (each optionally `{ "equals-ignore-case": "..." }`), equals-ignore-case,
 *   anything-but (a value, a list of strings or of numbers, or `{ prefix | suffix |
 *   equals-ignore-case | wildcard }`), numeric (one comparison, or a lower and an upper bound),
 *   exists, wildcard (`*` for any run of characters, `\*` and `\\` for the literal characters),
 *   cidr (IPv4 only here; EventBridge also accepts IPv6).
 *
 * How event values meet leaves, following the EventBridge documentation:
 * - Exact strings compare case-sensitively; null and "" are different values; numbers compare as
 *   numbers (`300` matches `3.0e2`, which JSON.parse has already made the same number) and never
 *   match a string holding digits.
 * - prefix, suffix, equals-ignore-case, wildcard and cidr only match strings; numeric only numbers.
 * - When the event field is an array, the leaf matches if any element matches. Nested arrays are
 *   flattened. When a nested pattern object meets an array of objects, it must match within one
 *   element (fields are not combined across elements).
 * - A field is "present" for a leaf only when it holds a leaf value: an object, an empty array or
 *   a missing field counts as absent. EventBridge documents `exists` as working on leaf nodes only,
 *   so `exists: false` matches a field holding an object and `exists: true` does not. A field
 *   holding null is present.
 * - An absent field fails every matcher except `exists: false`. That includes anything-but: on
 *   EventBridge anything-but excludes values, it does not select missing fields, so
 *   `{ state: [{ "anything-but": "x" }] }` does not match an event without `state`. To also accept
 *   a missing field, add `{ exists: false }` to the same leaf. A field holding null, a number or a
 *   boolean is present, so a string anything-but (including its prefix and suffix forms) matches it.
 *
 * Pure: no imports, no state.
 */

export type EventPattern = Record<string, unknown>;

/** A pattern that EventBridge would reject; `path` names the offending part (`detail.size[0]`). */
export class InvalidPatternError extends Error {
  readonly path: string;

  constructor(path: string, problem: string) {
    super(`Invalid event pattern at ${path === '' ? 'the top level' : path}: ${problem}`);
    this.name = 'InvalidPatternError';
    this.path = path;
  }
}

const OR_KEY = '$or';
const LOWER_BOUNDS = new Set(['>', '>=']);
const UPPER_BOUNDS = new Set(['<', '<=']);
const NUMERIC_OPERATORS = new Set(['=', ...LOWER_BOUNDS, ...UPPER_BOUNDS]);

type Scalar = string | number | boolean | null;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Throws InvalidPatternError (its message names the path) for a malformed pattern. */
export function validatePattern(pattern: EventPattern): void {
  validateObject(pattern, '');
}

function validateObject(node: unknown, path: string): void {
  if (!isObject(node)) throw new InvalidPatternError(path, `expected an object, got ${describe(node)}`);
  const keys = Object.keys(node);
  // An empty object would select everything (or, nested, nothing in particular); treat it as a
  // mistake rather than a rule that fires on every event.
  if (keys.length === 0) throw new InvalidPatternError(path, 'a pattern object must name at least one field');
  for (const key of keys) {
    const value = node[key];
    const at = childPath(path, key);
    if (key === OR_KEY) validateOr(value, at);
    else if (Array.isArray(value)) validateLeaf(value, at);
    else if (isObject(value)) validateObject(value, at);
    else {
      throw new InvalidPatternError(
        at,
        `expected an array of match values or a nested object, got ${describe(value)}`,
      );
    }
  }
}

function validateOr(value: unknown, path: string): void {
  if (!Array.isArray(value) || value.length < 2) {
    throw new InvalidPatternError(path, '$or takes an array of at least two pattern objects');
  }
  value.forEach((sub, i) => {
    validateObject(sub, `${path}[${i}]`);
  });
}

function validateLeaf(values: unknown[], path: string): void {
  if (values.length === 0) throw new InvalidPatternError(path, 'the array of match values is empty');
  values.forEach((value, i) => {
    const at = `${path}[${i}]`;
    if (isObject(value)) validateMatcher(value, at);
    else if (typeof value === 'number') requireFiniteNumber(value, at);
    else if (!isScalar(value)) {
      throw new InvalidPatternError(
        at,
        `a match value must be a string, number, boolean, null or matcher object, got ${describe(value)}`,
      );
    }
  });
}

function validateMatcher(matcher: Record<string, unknown>, path: string): void {
  const keys = Object.keys(matcher);
  const [op] = keys;
  if (op === undefined || keys.length !== 1) {
    throw new InvalidPatternError(path, `a matcher object takes exactly one operator, got ${keys.length}`);
  }
  const arg = matcher[op];
  const at = childPath(path, op);
  switch (op) {
    case 'prefix':
    case 'suffix':
      if (typeof arg === 'string') return;
      if (isObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string')
        return;
      throw new InvalidPatternError(at, `${op} takes a string or { "equals-ignore-case": string }`);
    case 'equals-ignore-case':
      if (typeof arg !== 'string') throw new InvalidPatternError(at, 'equals-ignore-case takes a string');
      return;
    case 'anything-but':
      validateAnythingBut(arg, at);
      return;
    case 'numeric':
      validateNumeric(arg, at);
      return;
    case 'exists':
      if (typeof arg !== 'boolean') throw new InvalidPatternError(at, 'exists takes true or false');
      return;
    case 'wildcard':
      if (typeof arg !== 'string') throw new InvalidPatternError(at, 'wildcard takes a string');
      validateWildcard(arg, at);
      return;
    case 'cidr':
      parseCidr(arg, at);
      return;
    default:
      throw new InvalidPatternError(at, `unknown operator "${op}"`);
  }
}

function validateAnythingBut(arg: unknown, path: string): void {
  if (typeof arg === 'string') return;
  if (typeof arg === 'number') {
    requireFiniteNumber(arg, path);
    return;
  }
  if (Array.isArray(arg)) {
    const allStrings = arg.every((v) => typeof v === 'string');
    const allNumbers = arg.every((v) => typeof v === 'number' && Number.isFinite(v));
    if (arg.length > 0 && (allStrings || allNumbers)) return;
    throw new InvalidPatternError(
      path,
      'an anything-but list must be non-empty and all strings or all numbers',
    );
  }
  if (isObject(arg)) {
    const keys = Object.keys(arg);
    const [op] = keys;
    if (op !== undefined && keys.length === 1) {
      const inner = arg[op];
      const at = childPath(path, op);
      switch (op) {
        case 'prefix':
        case 'suffix':
          if (typeof inner === 'string' && inner !== '') return;
          throw new InvalidPatternError(at, `anything-but ${op} takes a non-empty string`);
        case 'equals-ignore-case':
        case 'wildcard': {
          const list = Array.isArray(inner) ? inner : [inner];
          if (list.length === 0 || !list.every((v) => typeof v === 'string')) {
            throw new InvalidPatternError(
              at,
              `anything-but ${op} takes a string or a non-empty list of strings`,
            );
          }
          if (op === 'wildcard') {
            list.forEach((w, i) => {
              validateWildcard(w, Array.isArray(inner) ? `${at}[${i}]` : at);
            });
          }
          return;
        }
        default:
          throw new InvalidPatternError(at, `unknown anything-but operator "${op}"`);
      }
    }
  }
  throw new InvalidPatternError(
    path,
    'anything-but takes a string, a number, a list of either, or { prefix | suffix | equals-ignore-case | wildcard }',
  );
}

function requireFiniteNumber(value: number, path: string): void {
  if (!Number.isFinite(value)) throw new InvalidPatternError(path, 'numbers must be finite');
}

function validateNumeric(arg: unknown, path: string): void {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw new InvalidPatternError(
      path,
      'numeric takes [operator, number] or [operator, number, operator, number]',
    );
  }
  const operators: string[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op)) {
      throw new InvalidPatternError(`${path}[${i}]`, `unknown numeric operator ${JSON.stringify(op)}`);
    }
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new InvalidPatternError(`${path}[${i + 1}]`, `numeric operator "${op}" needs a finite number`);
    }
    operators.push(op);
  }
  if (operators.length === 2) {
    const [a = '', b = ''] = operators;
    const range =
      (LOWER_BOUNDS.has(a) && UPPER_BOUNDS.has(b)) || (UPPER_BOUNDS.has(a) && LOWER_BOUNDS.has(b));
    if (!range) {
      throw new InvalidPatternError(
        path,
        'two numeric comparisons must be one lower bound (> or >=) and one upper bound (< or <=)',
      );
    }
  }
}

function validateWildcard(wildcard: string, path: string): void {
  for (let i = 0; i < wildcard.length; i++) {
    const c = wildcard[i];
    if (c === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidPatternError(path, 'in a wildcard a backslash may only escape * or \\');
      }
      i++;
    } else if (c === '*' && wildcard[i + 1] === '*') {
      throw new InvalidPatternError(path, 'a wildcard may not contain consecutive * characters');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// IPv4

/** Parses dotted-quad IPv4 to an unsigned 32-bit number, or undefined. */
function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let out = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    out = out * 256 + octet;
  }
  return out;
}

interface Cidr {
  network: number;
  /** Number of low address bits that are free (32 - prefix length). */
  hostBits: number;
}

function parseCidr(arg: unknown, path: string): Cidr {
  if (typeof arg !== 'string')
    throw new InvalidPatternError(path, 'cidr takes a string such as "10.0.0.0/24"');
  if (arg.includes(':')) throw new InvalidPatternError(path, 'only IPv4 CIDR blocks are supported locally');
  const [address = '', bits, ...rest] = arg.split('/');
  const network = parseIpv4(address);
  const prefixLength = bits !== undefined && /^\d{1,2}$/.test(bits) ? Number(bits) : Number.NaN;
  if (network === undefined || rest.length > 0 || !(prefixLength >= 0 && prefixLength <= 32)) {
    throw new InvalidPatternError(path, `"${arg}" is not an IPv4 CIDR block such as "10.0.0.0/24"`);
  }
  return { network, hostBits: 32 - prefixLength };
}

function inCidr(value: string, cidr: Cidr): boolean {
  const ip = parseIpv4(value);
  if (ip === undefined) return false;
  // Division instead of bit shifts keeps everything unsigned (a /0 block shifts by 32).
  const size = 2 ** cidr.hostBits;
  return Math.floor(ip / size) === Math.floor(cidr.network / size);
}

// ---------------------------------------------------------------------------------------------
// Matching

/**
 * Whether `event` matches `pattern`. The pattern is validated first, so a malformed one throws
 * InvalidPatternError instead of silently never matching.
 */
export function matchesPattern(pattern: EventPattern, event: Record<string, unknown>): boolean {
  validatePattern(pattern);
  return matchObject(pattern, event);
}

/** `node` is the event value at the pattern object's position: an object, array, leaf or undefined. */
function matchObject(pattern: Record<string, unknown>, node: unknown): boolean {
  if (Array.isArray(node)) {
    const elements = node.flat(Number.POSITIVE_INFINITY) as unknown[];
    // An empty array has no fields at all, so the pattern sees only absent fields.
    if (elements.length === 0) return matchFields(pattern, undefined);
    return elements.some((element) => matchFields(pattern, element));
  }
  return matchFields(pattern, node);
}

function matchFields(pattern: Record<string, unknown>, node: unknown): boolean {
  for (const [key, sub] of Object.entries(pattern)) {
    let ok: boolean;
    if (key === OR_KEY) {
      ok = (sub as Record<string, unknown>[]).some((alternative) => matchObject(alternative, node));
    } else {
      const value = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      ok = Array.isArray(sub) ? matchLeaf(sub, value) : matchObject(sub as Record<string, unknown>, value);
    }
    if (!ok) return false;
  }
  return true;
}

/** The leaf values an event field holds: none when it is missing, an object or an empty array. */
function leafValues(value: unknown): Scalar[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? (value.flat(Number.POSITIVE_INFINITY) as unknown[]) : [value];
  return items.filter(isScalar);
}

function matchLeaf(matchValues: unknown[], field: unknown): boolean {
  const values = leafValues(field);
  return matchValues.some((matchValue) => {
    if (isObject(matchValue) && 'exists' in matchValue) {
      const present = values.length > 0;
      return matchValue.exists === present;
    }
    return values.some((value) => matchValueAgainst(matchValue, value));
  });
}

function sameScalar(expected: unknown, actual: Scalar): boolean {
  // Strict equality already compares numbers by value and keeps "5" apart from 5.
  return expected === actual;
}

function fold(text: string): string {
  return text.toLowerCase();
}

function matchValueAgainst(matchValue: unknown, value: Scalar): boolean {
  if (!isObject(matchValue)) return sameScalar(matchValue, value);
  const [op = ''] = Object.keys(matchValue);
  const arg = matchValue[op];
  switch (op) {
    case 'prefix':
    case 'suffix':
      return typeof value === 'string' && affixMatches(op, arg, value);
    case 'equals-ignore-case':
      return typeof value === 'string' && fold(value) === fold(arg as string);
    case 'anything-but':
      return !excludedBy(arg, value);
    case 'numeric':
      return typeof value === 'number' && numericMatches(arg as (string | number)[], value);
    case 'wildcard':
      return typeof value === 'string' && wildcardMatches(arg as string, value);
    case 'cidr':
      return typeof value === 'string' && inCidr(value, parseCidr(arg, ''));
    default:
      return false;
  }
}

/** `arg` is a string or `{ "equals-ignore-case": string }`. */
function affixMatches(op: 'prefix' | 'suffix', arg: unknown, value: string): boolean {
  let affix: string;
  let subject = value;
  if (typeof arg === 'string') affix = arg;
  else {
    affix = fold((arg as Record<string, string>)['equals-ignore-case'] ?? '');
    subject = fold(value);
  }
  return op === 'prefix' ? subject.startsWith(affix) : subject.endsWith(affix);
}

/** Whether anything-but's argument excludes `value`; a value of another type is never excluded. */
function excludedBy(arg: unknown, value: Scalar): boolean {
  if (Array.isArray(arg)) return arg.some((excluded) => sameScalar(excluded, value));
  if (!isObject(arg)) return sameScalar(arg, value);
  if (typeof value !== 'string') return false;
  const [op = ''] = Object.keys(arg);
  const inner = arg[op];
  const list = (Array.isArray(inner) ? inner : [inner]) as string[];
  switch (op) {
    case 'prefix':
      return value.startsWith(inner as string);
    case 'suffix':
      return value.endsWith(inner as string);
    case 'equals-ignore-case':
      return list.some((excluded) => fold(excluded) === fold(value));
    case 'wildcard':
      return list.some((wildcard) => wildcardMatches(wildcard, value));
    default:
      return false;
  }
}

function compare(operator: string | number | undefined, value: number, bound: number): boolean {
  switch (operator) {
    case '=':
      return value === bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    default:
      return value >= bound;
  }
}

/** `spec` has been validated: operator/number pairs, all of which must hold. */
function numericMatches(spec: (string | number)[], value: number): boolean {
  for (let i = 0; i < spec.length; i += 2) {
    if (!compare(spec[i], value, spec[i + 1] as number)) return false;
  }
  return true;
}

/** Literal pieces between unescaped `*` characters. */
function wildcardPieces(wildcard: string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < wildcard.length; i++) {
    const c = wildcard[i];
    if (c === '\\') {
      current += wildcard[i + 1] ?? '';
      i++;
    } else if (c === '*') {
      pieces.push(current);
      current = '';
    } else current += c;
  }
  pieces.push(current);
  return pieces;
}

/**
 * Star-only glob matching without regular expressions: the first piece anchors the start, the
 * last anchors the end, and the pieces between are found left to right (taking the earliest
 * occurrence of each never rules out a match that a later one would allow).
 */
function wildcardMatches(wildcard: string, value: string): boolean {
  const pieces = wildcardPieces(wildcard);
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return value === first;
  const last = pieces[pieces.length - 1] ?? '';
  if (!value.startsWith(first)) return false;
  const end = value.length - last.length;
  if (end < first.length || !value.endsWith(last)) return false;
  let position = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = value.indexOf(piece, position);
    if (found < 0 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}

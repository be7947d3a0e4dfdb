/**
 * A node type's form, from its JSON Schema (the registry's zod schema in zod's output form, see
 * console/scripts/node-types.ts). Pure, unit-tested in node (test/unit/console-fields.test.ts).
 *
 * Mapping: a string enum → a select; a string → a text input (`sql` a text area; column names
 * get the parents' columns as suggestions); number/integer → a number input; boolean → a
 * checkbox; an array of objects → a repeatable group of the item's fields; an array of strings
 * → a comma-separated list; a schema with no type (ids, values) → a text input whose text is
 * read as a number, true/false or null when it looks like one; a node reference (`leftNodeId`,
 * `parentId`) → a choice among the node's inputs. The common fields (`type`,
 * `id`, `parentNodeIds`) are the graph's, not the form's.
 */

export interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxLength?: number;
  pattern?: string;
}

interface FieldBase {
  /** Property name in the node (or in a list item). */
  key: string;
  label: string;
  required: boolean;
}

export type FormField =
  | (FieldBase & { kind: 'enum'; options: string[]; defaultValue?: string })
  | (FieldBase & { kind: 'text'; multiline: boolean; column: boolean; maxLength?: number })
  | (FieldBase & { kind: 'number' })
  | (FieldBase & { kind: 'boolean' })
  | (FieldBase & { kind: 'value' })
  | (FieldBase & { kind: 'node' })
  | (FieldBase & { kind: 'strings'; column: boolean })
  | (FieldBase & { kind: 'list'; item: FormField[]; minItems: number });

/** Keys handled by the graph itself. */
const GRAPH_KEYS = new Set(['type', 'id', 'parentNodeIds']);
/** Text fields that name an input column. */
const COLUMN_KEYS = new Set(['name', 'leftField', 'rightField', 'groupByList', 'dropFieldList']);
const MULTILINE_KEYS = new Set(['sql', 'description']);

/** "filterConditionList" → "Filter condition list". */
export function labelOf(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function types(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function fieldOf(key: string, schema: JsonSchema, required: boolean, inList: boolean): FormField {
  const base = { key, label: labelOf(key), required };
  const t = types(schema);
  if (/NodeId$/.test(key) || key === 'parentId') return { ...base, kind: 'node' };
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) {
    return {
      ...base,
      kind: 'enum',
      options: schema.enum as string[],
      ...(typeof schema.default === 'string' ? { defaultValue: schema.default } : {}),
    };
  }
  if (t.includes('array')) {
    const item = schema.items ?? {};
    if (types(item).includes('object') && item.properties) {
      return { ...base, kind: 'list', item: fieldsOf(item, true), minItems: schema.minItems ?? 0 };
    }
    return { ...base, kind: 'strings', column: COLUMN_KEYS.has(key) || key === 'fieldList' };
  }
  if (t.length === 1 && t[0] === 'boolean') return { ...base, kind: 'boolean' };
  if (t.length > 0 && t.every((x) => x === 'number' || x === 'integer')) return { ...base, kind: 'number' };
  if (t.length === 1 && t[0] === 'string') {
    return {
      ...base,
      kind: 'text',
      multiline: MULTILINE_KEYS.has(key),
      column: inList ? COLUMN_KEYS.has(key) : COLUMN_KEYS.has(key) && key !== 'name',
      ...(schema.maxLength !== undefined ? { maxLength: schema.maxLength } : {}),
    };
  }
  return { ...base, kind: 'value' };
}

/** The form fields of an object schema, in the schema's property order. */
export function fieldsOf(schema: JsonSchema, inList = false): FormField[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .filter(([key]) => inList || !GRAPH_KEYS.has(key))
    .map(([key, prop]) => fieldOf(key, prop, required.has(key), inList));
}

/** Initial values of a new node of the type: defaults, one empty row per required list. */
export function initialValues(fields: readonly FormField[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.kind === 'enum' && (f.defaultValue !== undefined || f.required)) {
      values[f.key] = f.defaultValue ?? f.options[0];
    } else if (f.kind === 'list' && f.minItems > 0) {
      values[f.key] = [initialValues(f.item)];
    } else if ((f.kind === 'list' || f.kind === 'strings') && f.required) {
      // Optional lists stay absent: an empty `fieldList` would mean "no columns", not "all".
      values[f.key] = [];
    }
  }
  return values;
}

/** Text typed into a `value` field, as the API wants it. */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === 'null') return null;
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed !== '' && /^-?\d+(\.\d+)?$/.test(trimmed) && Number.isFinite(Number(trimmed)))
    return Number(trimmed);
  return text;
}

/** A value as text in an input. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'null';
  return String(value);
}

/** "a, b ,c" → ["a", "b", "c"]. */
export function parseList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** List entries as text: strings as is, `{name}` objects (field lists) by name. */
export function formatList(value: unknown): string {
  if (!Array.isArray(value)) return '';
  return value
    .map((v) =>
      v && typeof v === 'object' && 'name' in v ? String((v as { name: unknown }).name) : String(v),
    )
    .join(', ');
}

/** A copy of `target` with the value at a dotted path (`filterConditionList.0.value`) set. */
export function setIn(
  target: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split('.') as [string, ...string[]];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(target) ? [...target] : { ...target };
  const index = Array.isArray(copy) ? Number(head) : head;
  if (rest.length === 0) {
    if (value === undefined && !Array.isArray(copy)) delete (copy as Record<string, unknown>)[head];
    else (copy as Record<string | number, unknown>)[index] = value;
    return copy as Record<string, unknown>;
  }
  const child = (copy as Record<string | number, unknown>)[index];
  const next = child && typeof child === 'object' ? child : /^\d+$/.test(rest[0] as string) ? [] : {};
  (copy as Record<string | number, unknown>)[index] = setIn(
    next as Record<string, unknown>,
    rest.join('.'),
    value,
  );
  return copy as Record<string, unknown>;
}

/** The value at a dotted path, or undefined. */
export function getIn(target: unknown, path: string): unknown {
  let at: unknown = target;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export interface Problem {
  nodeId: string | number | null;
  nodeName?: string;
  field: string;
  message: string;
}

/** Problems grouped by node id (as a string); problems of no node under ''. */
export function problemsByNode(problems: readonly Problem[]): Map<string, Problem[]> {
  const byNode = new Map<string, Problem[]>();
  for (const p of problems) {
    const key = p.nodeId === null || p.nodeId === undefined ? '' : String(p.nodeId);
    byNode.set(key, [...(byNode.get(key) ?? []), p]);
  }
  return byNode;
}

/**
 * The problems of one form field: those whose path is the field's or lies inside it
 * (`filterConditionList.0.name` belongs to `filterConditionList.0.name` and to `filterConditionList`).
 */
export function problemsAt(problems: readonly Problem[], path: string): Problem[] {
  return problems.filter((p) => p.field === path || p.field.startsWith(`${path}.`));
}

/**
 * The node-type registry as the build captured it (console/scripts/node-types.ts): kind, arity
 * and JSON Schema per type, and each type's form fields.
 */
import catalog from 'virtual:sluice-node-types';
import { type FormField, fieldsOf, type JsonSchema } from './fields.ts';

export interface NodeTypeInfo {
  type: string;
  kind: 'source' | 'transform' | 'target';
  arity: { min: number; max: number };
  location: 'bucket' | 'dataset' | null;
  schema: JsonSchema;
}

export const NODE_TYPES: readonly NodeTypeInfo[] = catalog as NodeTypeInfo[];

const FORMS = new Map<string, FormField[]>(NODE_TYPES.map((t) => [t.type, fieldsOf(t.schema)]));

export function formOf(type: string): FormField[] {
  return FORMS.get(type.toUpperCase()) ?? [];
}

export function typeInfo(type: string): NodeTypeInfo | undefined {
  return NODE_TYPES.find((t) => t.type === type.toUpperCase());
}

/** "TRANSFORM_DROP_NULL" → "Drop null". */
export function typeLabel(type: string): string {
  const words = type
    .replace(/^(SOURCE|TRANSFORM|TARGET)_/, '')
    .replace(/_/g, ' ')
    .toLowerCase();
  const base = words.charAt(0).toUpperCase() + words.slice(1);
  if (type.startsWith('SOURCE_')) return `${base} source`;
  if (type.startsWith('TARGET_')) return `${base} target`;
  return base;
}

/** How field types relate: families, which casts DuckDB can make, where union inputs meet. */
import type { FieldType } from '../model.ts';

export type TypeFamily = 'numeric' | 'string' | 'temporal' | 'boolean' | 'binary';

export const INTEGER_TYPES: ReadonlySet<FieldType> = new Set(['tinyint', 'smallint', 'int', 'bigint']);

export function typeFamily(t: FieldType): TypeFamily {
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
export function castable(from: FieldType, to: FieldType): boolean {
  const a = typeFamily(from);
  const b = typeFamily(to);
  if (a === b || a === 'string' || b === 'string') return true;
  return (a === 'numeric' && b === 'boolean') || (a === 'boolean' && b === 'numeric');
}

const INTEGER_RANK: Partial<Record<FieldType, number>> = { tinyint: 1, smallint: 2, int: 3, bigint: 4 };

/** The type two union inputs meet at, or undefined when their families differ. */
export function commonType(a: FieldType, b: FieldType): FieldType | undefined {
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

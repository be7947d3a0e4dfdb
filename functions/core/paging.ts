/**
 * Opaque paging tokens for the D.Hub list convention (`{items, token}`). A token carries only
 * the sort-key position of the last item; the partition is rebuilt from the request, so a
 * token cannot be pointed at another list.
 */
import { ValidationError } from './errors.ts';

const VERSION = 1;

export interface PageRequest {
  limit: number;
  /** Position after which the page starts, decoded from the request's `token`. */
  after?: Record<string, string>;
}

export function encodeToken(position: Record<string, string> | undefined): string | null {
  if (!position) return null;
  return Buffer.from(JSON.stringify({ v: VERSION, p: position }), 'utf8').toString('base64url');
}

export function decodeToken(
  token: string | undefined,
  field = 'query.token',
): Record<string, string> | undefined {
  if (token === undefined || token === '' || token === 'null') return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw ValidationError.field(field, 'is not a valid paging token');
  }
  const body = parsed as { v?: unknown; p?: unknown };
  if (
    body === null ||
    typeof body !== 'object' ||
    body.v !== VERSION ||
    body.p === null ||
    typeof body.p !== 'object' ||
    !Object.values(body.p as object).every((v) => typeof v === 'string')
  ) {
    throw ValidationError.field(field, 'is not a valid paging token');
  }
  return body.p as Record<string, string>;
}

/** D.Hub list body: ids map to the item serialised as a JSON string. */
export function dhubList<T extends { id: string }>(
  items: T[],
  next: Record<string, string> | undefined,
): { items: Record<string, string>; token: string | null } {
  const out: Record<string, string> = {};
  for (const item of items) out[item.id] = JSON.stringify(item);
  return { items: out, token: encodeToken(next) };
}

/**
 * Who is calling. The authorizer authenticates and passes its verdict to the handler as flat
 * context values; the handler wrapper (http.ts) enforces it, so a denied request answers the
 * same 401 problem+json on API Gateway and on the local host.
 */
import { ROLES, type Role } from '../routes.ts';

export interface Principal {
  kind: 'user' | 'credential';
  userId: string;
  username: string;
  role: Role;
  credentialId?: string;
}

/** What the authorizer hands to API Gateway (`context`), all primitive values. */
export interface AuthContext {
  sub?: string;
  username?: string;
  role?: string;
  kind?: string;
  credentialId?: string;
  /** Why authentication failed; present only when there is no principal. */
  denied?: string;
  [key: string]: string | undefined;
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

export function hasRole(principal: Pick<Principal, 'role'>, minimum: Role): boolean {
  return RANK[principal.role] >= RANK[minimum];
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function principalToContext(p: Principal): AuthContext {
  return {
    sub: p.userId,
    username: p.username,
    role: p.role,
    kind: p.kind,
    ...(p.credentialId ? { credentialId: p.credentialId } : {}),
  };
}

export function contextToPrincipal(ctx: AuthContext | undefined): Principal | undefined {
  if (!ctx || ctx.denied || !ctx.sub || !ctx.username || !isRole(ctx.role)) return undefined;
  if (ctx.kind !== 'user' && ctx.kind !== 'credential') return undefined;
  return {
    kind: ctx.kind,
    userId: ctx.sub,
    username: ctx.username,
    role: ctx.role,
    ...(ctx.credentialId ? { credentialId: ctx.credentialId } : {}),
  };
}

/**
 * Access tokens: HS256 JWTs signed with jose. The key comes from SLUICE_JWT_SECRET (the local
 * host reads it from its data directory) or from Secrets Manager (SLUICE_JWT_SECRET_ARN), read
 * through the platform's secrets port, which caches it for a while (a rotated key is picked up
 * when the cache expires).
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomToken } from '../ids.ts';
import { platform } from '../platform/platform.ts';
import { requireJwtKey } from '../settings.ts';
import type { Principal } from './principal.ts';
import { isRole } from './principal.ts';

const ISSUER = 'sluice';
const AUDIENCE = 'sluice-api';

async function signingKey(): Promise<Uint8Array> {
  const on = platform();
  const { jwtSecret, jwtSecretArn } = requireJwtKey(on.settings.auth);
  return new TextEncoder().encode(jwtSecret ?? (await on.secrets.read(jwtSecretArn as string)));
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
}

export async function issueAccessToken(
  p: Pick<Principal, 'userId' | 'username' | 'role'>,
): Promise<IssuedToken> {
  const expiresIn = platform().settings.auth.accessTokenTtlSeconds;
  const token = await new SignJWT({ name: p.username, role: p.role, typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(p.userId)
    .setJti(randomToken(16))
    .setIssuedAt()
    .setExpirationTime(`${expiresIn}s`)
    .sign(await signingKey());
  return { token, expiresIn };
}

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: string };

export async function verifyAccessToken(token: string): Promise<TokenCheck> {
  try {
    const { payload } = await jwtVerify(token, await signingKey(), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
    });
    if (
      payload.typ !== 'access' ||
      !payload.sub ||
      typeof payload.name !== 'string' ||
      !isRole(payload.role)
    ) {
      return { ok: false, reason: 'The access token is not valid.' };
    }
    return {
      ok: true,
      principal: { kind: 'user', userId: payload.sub, username: payload.name, role: payload.role },
    };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: 'The access token has expired.' };
    return { ok: false, reason: 'The access token is not valid.' };
  }
}

/** True when the string has the shape of a JWT (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

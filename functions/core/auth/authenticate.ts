/**
 * Reads credentials from request headers: a Bearer access token (JWT), a Bearer service
 * token (`<credential id>.<secret>`), or Credential-ID + Credential-Secret headers.
 */
import { type CredentialCheck, verifyCredential } from './credentials.ts';
import type { AuthContext } from './principal.ts';
import { principalToContext } from './principal.ts';
import { looksLikeJwt, verifyAccessToken } from './tokens.ts';

export async function authenticate(headers: Record<string, string | undefined>): Promise<AuthContext> {
  const verdict = await check(headers);
  return verdict.ok ? principalToContext(verdict.principal) : { denied: verdict.reason };
}

async function check(headers: Record<string, string | undefined>): Promise<CredentialCheck> {
  const id = headers['credential-id']?.trim();
  const secret = headers['credential-secret']?.trim();
  if (id || secret) {
    if (!id || !secret) return { ok: false, reason: 'Send both Credential-ID and Credential-Secret.' };
    return verifyCredential(id, secret);
  }
  const authorization = headers.authorization?.trim();
  if (!authorization) return { ok: false, reason: 'Authentication is required.' };
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match?.[1]) return { ok: false, reason: 'The Authorization header must be "Bearer <token>".' };
  const token = match[1];
  if (looksLikeJwt(token)) return verifyAccessToken(token);
  const dot = token.indexOf('.');
  if (token.startsWith('cred-') && dot > 0)
    return verifyCredential(token.slice(0, dot), token.slice(dot + 1));
  return { ok: false, reason: 'The access token is not valid.' };
}

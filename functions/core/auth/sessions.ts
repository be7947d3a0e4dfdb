/**
 * Login, refresh and logout. Refresh tokens are opaque (`<id>.<secret>`), stored as a SHA-256
 * digest, single-use and rotated on every refresh; presenting a used one again revokes its
 * whole family (the sign of a stolen token). Failed logins are counted per login name and
 * lock that name out for a while after too many.
 *
 * Refresh and logout take the token from the body or, when the body has none, from the
 * refresh cookie (see cookies.ts); a token in the body wins.
 */
import * as z from 'zod';
import { deleteItem, getItem, type Item, putItem, queryAll, updateItem } from '../db.ts';
import { TooManyRequestsError, UnauthorizedError } from '../errors.ts';
import { newId } from '../ids.ts';
import { normalizeName } from '../names.ts';
import { logger } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { alwaysCheck } from '../schemas.ts';
import { decoyHash, digest, digestEquals, newSecret, verifyPassword } from './passwords.ts';
import { issueAccessToken } from './tokens.ts';
import { findUserByLogin, getUserItem, type UserItem } from './users.ts';

const config = () => platform().settings.auth;

export const loginSchema = z
  .object({
    username: z.string().min(1).max(254).optional(),
    email: z.string().min(1).max(254).optional(),
    password: z.string().min(1, 'is required').max(256),
  })
  .refine((b) => b.username !== undefined || b.email !== undefined, {
    message: 'username or email is required',
    path: ['username'],
    ...alwaysCheck,
  });

/** Refresh and logout bodies; the token may instead come as the refresh cookie. */
export const refreshSchema = z.object({
  refresh_token: z.string().min(1, 'must not be empty').max(512).optional(),
});

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  refresh_expires_in: number;
}

interface RefreshItem extends Item {
  id: string;
  user_id: string;
  family: string;
  digest: string;
  used: boolean;
  expires_at: number;
  ttl: number;
}

interface FailureItem extends Item {
  failures: number;
  first_at: number;
  locked_until?: number;
}

const failureKey = (login: string) => `LOGINFAIL#${normalizeName(login)}`;
const refreshKey = (id: string) => `RT#${id}`;

async function issueTokens(user: UserItem, family: string): Promise<TokenPair> {
  const access = await issueAccessToken({ userId: user.id, username: user.username, role: user.role });
  const id = newId('refreshToken');
  const secret = newSecret(32);
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + config().refreshTokenTtlSeconds;
  const item: RefreshItem = {
    pk: refreshKey(id),
    sk: 'META',
    gsi2pk: `RTFAMILY#${family}`,
    gsi2sk: id,
    id,
    user_id: user.id,
    family,
    digest: digest(secret),
    used: false,
    expires_at: expiresAt,
    ttl: expiresAt,
  };
  await putItem(item);
  return {
    access_token: access.token,
    refresh_token: `${id}.${secret}`,
    token_type: 'bearer',
    expires_in: access.expiresIn,
    refresh_expires_in: config().refreshTokenTtlSeconds,
  };
}

export async function login(loginName: string, password: string): Promise<TokenPair> {
  const now = Date.now();
  const key = failureKey(loginName);
  let record = await getItem<FailureItem>(key);
  if (record?.locked_until && record.locked_until > now) {
    throw new TooManyRequestsError(
      'Too many failed logins for this user; try again later.',
      (record.locked_until - now) / 1000,
    );
  }
  if (record && now - record.first_at > config().loginLockSeconds * 1000) record = undefined;

  const user = await findUserByLogin(loginName);
  const ok = await verifyPassword(password, user?.password_hash ?? (await decoyHash()));
  if (!user || !ok) {
    const failures = (record?.failures ?? 0) + 1;
    const lock = failures >= config().loginMaxFailures;
    await putItem({
      pk: key,
      sk: 'META',
      failures,
      first_at: record?.first_at ?? now,
      ...(lock ? { locked_until: now + config().loginLockSeconds * 1000 } : {}),
      ttl: Math.floor(now / 1000) + 2 * config().loginLockSeconds,
    });
    logger.info('login failed', { failures, locked: lock });
    throw new UnauthorizedError('Invalid username or password.');
  }
  if (record) await deleteItem(key);
  return issueTokens(user, newId('refreshToken'));
}

function parseRefreshToken(token: string): { id: string; secret: string } | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

const INVALID_REFRESH = 'The refresh token is not valid or has expired.';
const MISSING_REFRESH =
  'The refresh token is missing: send {"refresh_token": "..."} or the refresh_token cookie that login sets.';

async function revokeFamily(family: string): Promise<void> {
  const members = await queryAll<RefreshItem>({ index: 'gsi2', partition: `RTFAMILY#${family}` });
  await Promise.all(members.map((m) => deleteItem(refreshKey(m.id))));
}

export async function refresh(token: string | undefined): Promise<TokenPair> {
  if (token === undefined) throw new UnauthorizedError(MISSING_REFRESH);
  const parsed = parseRefreshToken(token);
  if (!parsed) throw new UnauthorizedError(INVALID_REFRESH);
  const item = await getItem<RefreshItem>(refreshKey(parsed.id));
  if (!item || !digestEquals(parsed.secret, item.digest)) throw new UnauthorizedError(INVALID_REFRESH);
  if (item.used) {
    logger.warn('refresh token reused; revoking its family', { family: item.family });
    await revokeFamily(item.family);
    throw new UnauthorizedError(INVALID_REFRESH);
  }
  const claimed = await updateItem(refreshKey(item.id), 'META', {
    UpdateExpression: 'SET used = :true',
    ConditionExpression: 'used = :false',
    ExpressionAttributeValues: { ':true': true, ':false': false },
  });
  if (!claimed) throw new UnauthorizedError(INVALID_REFRESH);
  const user = await getUserItem(item.user_id);
  if (!user) throw new UnauthorizedError(INVALID_REFRESH);
  return issueTokens(user, item.family);
}

/**
 * Revokes the session the refresh token belongs to. Holding the token is the authority to end
 * its session (whoever holds it could use it), so no access token is needed. Unknown, invalid
 * or missing tokens are ignored: logging out twice is not an error.
 */
export async function logout(token: string | undefined): Promise<void> {
  const parsed = token === undefined ? undefined : parseRefreshToken(token);
  if (!parsed) return;
  const item = await getItem<RefreshItem>(refreshKey(parsed.id));
  if (!item || !digestEquals(parsed.secret, item.digest)) return;
  await revokeFamily(item.family);
}

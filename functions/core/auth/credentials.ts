/**
 * Service credentials: an id and a secret for machines. The secret is shown once, at
 * creation, and stored only as a SHA-256 digest. They authenticate as `Credential-ID` +
 * `Credential-Secret` headers or as `Authorization: Bearer <id>.<secret>`. Every request looks
 * the credential up, so deleting one revokes it at once.
 */
import * as z from 'zod';
import { deleteItem, getItem, type Item, pageRequest, putItem, queryAll, queryPage } from '../db.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { dhubList } from '../paging.ts';
import type { Role } from '../routes.ts';
import { digest, digestEquals, newSecret } from './passwords.ts';
import { hasRole, type Principal } from './principal.ts';
import { roleSchema } from './users.ts';

export const createCredentialSchema = z.object({
  name: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
  role: roleSchema.optional(),
  expires_in_days: z.number().int().min(1).max(3650).optional(),
});

interface CredentialItem extends Item {
  id: string;
  name: string;
  role: Role;
  owner_id: string;
  owner_username: string;
  digest: string;
  created_at: string;
  expires_at?: string;
  ttl?: number;
}

export interface CredentialView {
  credential_id: string;
  name: string;
  role: Role;
  owner_id: string;
  owner_username: string;
  created_at: string;
  expires_at: string | null;
}

const credKey = (id: string) => `CRED#${id}`;

function view(c: CredentialItem): CredentialView {
  return {
    credential_id: c.id,
    name: c.name,
    role: c.role,
    owner_id: c.owner_id,
    owner_username: c.owner_username,
    created_at: c.created_at,
    expires_at: c.expires_at ?? null,
  };
}

export async function createCredential(input: z.output<typeof createCredentialSchema>, principal: Principal) {
  if (principal.kind === 'credential') {
    throw new ForbiddenError('Service credentials cannot create other credentials; log in as a user.');
  }
  const role = input.role ?? principal.role;
  if (!hasRole(principal, role)) {
    throw new ForbiddenError(
      `You cannot create a credential with the ${role} role; yours is ${principal.role}.`,
    );
  }
  const id = newId('credential');
  const secret = newSecret(32);
  const now = new Date();
  const expiresAt = input.expires_in_days
    ? new Date(now.getTime() + input.expires_in_days * 86_400_000)
    : undefined;
  const item: CredentialItem = {
    pk: credKey(id),
    sk: 'META',
    gsi1pk: 'CREDENTIALS',
    gsi1sk: id,
    gsi2pk: `USER#${principal.userId}#CREDS`,
    gsi2sk: id,
    id,
    name: input.name,
    role,
    owner_id: principal.userId,
    owner_username: principal.username,
    digest: digest(secret),
    created_at: now.toISOString(),
    ...(expiresAt
      ? { expires_at: expiresAt.toISOString(), ttl: Math.floor(expiresAt.getTime() / 1000) }
      : {}),
  };
  await putItem(item);
  return { ...view(item), credential_secret: secret, token: `${id}.${secret}` };
}

/** Admins see every credential; everyone else sees their own. */
export async function listCredentials(principal: Principal, limit?: number, token?: string) {
  const spec =
    principal.role === 'admin'
      ? { index: 'gsi1' as const, partition: 'CREDENTIALS' }
      : { index: 'gsi2' as const, partition: `USER#${principal.userId}#CREDS` };
  const page = await queryPage<CredentialItem>(spec, pageRequest(limit, token));
  return dhubList(
    page.items.map((c) => ({ id: c.id, ...view(c) })),
    page.next,
  );
}

export async function deleteCredential(id: string, principal: Principal): Promise<void> {
  const item = await getItem<CredentialItem>(credKey(id));
  if (!item || (item.owner_id !== principal.userId && principal.role !== 'admin')) {
    throw new NotFoundError('CREDENTIAL', id);
  }
  await deleteItem(credKey(id));
}

export async function revokeUserCredentials(userId: string): Promise<void> {
  const items = await queryAll<CredentialItem>({ index: 'gsi2', partition: `USER#${userId}#CREDS` });
  await Promise.all(items.map((c) => deleteItem(credKey(c.id))));
}

export type CredentialCheck = { ok: true; principal: Principal } | { ok: false; reason: string };

const INVALID = 'The service credential is not valid.';

export async function verifyCredential(id: string, secret: string): Promise<CredentialCheck> {
  if (!isId('credential', id) || secret.length === 0 || secret.length > 256)
    return { ok: false, reason: INVALID };
  const item = await getItem<CredentialItem>(credKey(id));
  if (!item || !digestEquals(secret, item.digest)) return { ok: false, reason: INVALID };
  if (item.expires_at && Date.parse(item.expires_at) <= Date.now()) {
    return { ok: false, reason: 'The service credential has expired.' };
  }
  return {
    ok: true,
    principal: {
      kind: 'credential',
      userId: item.owner_id,
      username: item.owner_username,
      role: item.role,
      credentialId: item.id,
    },
  };
}

/**
 * Users: admin, editor or viewer, with a scrypt password hash. Usernames (and e-mail
 * addresses, when given) are unique through name guards, so login can find a user by either.
 */
import * as z from 'zod';
import { deleteItem, getItem, type Item, pageRequest, putItem, queryAll, queryPage } from '../db.ts';
import { BadStateError, ConflictError, NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { claimName, nameOwner, normalizeName, releaseName } from '../names.ts';
import { dhubList } from '../paging.ts';
import { ROLES, type Role } from '../routes.ts';
import { hashPassword } from './passwords.ts';

export const usernameSchema = z
  .string()
  .trim()
  .min(3, 'must be at least 3 characters')
  .max(64, 'must be at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._@-]*$/,
    'may contain letters, digits, ".", "_", "@" and "-", starting with a letter or digit',
  );

export const passwordSchema = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(256, 'must be at most 256 characters');

export const roleSchema = z.enum(ROLES);

export const createUserSchema = z.object({
  username: usernameSchema,
  password: passwordSchema,
  role: roleSchema,
  email: z.email('must be an e-mail address').max(254).optional(),
});

export interface UserItem extends Item {
  pk: string;
  id: string;
  username: string;
  email?: string;
  role: Role;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

export interface UserView {
  id: string;
  username: string;
  email?: string;
  role: Role;
  created_at: string;
}

export function userView(u: UserItem): UserView {
  return {
    id: u.id,
    username: u.username,
    ...(u.email ? { email: u.email } : {}),
    role: u.role,
    created_at: u.created_at,
  };
}

const userKey = (id: string) => `USER#${id}`;

export async function getUserItem(id: string): Promise<UserItem | undefined> {
  return getItem<UserItem>(userKey(id));
}

export async function getUser(id: string): Promise<UserView> {
  const user = await getUserItem(id);
  if (!user) throw new NotFoundError('USER', id);
  return userView(user);
}

const holdsName = (field: 'username' | 'email', name: string) => async (ownerId: string) => {
  const owner = await getUserItem(ownerId);
  const value = owner?.[field];
  return typeof value === 'string' && normalizeName(value) === normalizeName(name);
};

export async function createUser(input: z.output<typeof createUserSchema>): Promise<UserView> {
  const id = newId('user');
  if (!(await claimName('USER', input.username, id, holdsName('username', input.username)))) {
    throw new ConflictError(`A user named "${input.username}" already exists.`);
  }
  if (input.email && !(await claimName('EMAIL', input.email, id, holdsName('email', input.email)))) {
    await releaseName('USER', input.username, id);
    throw new ConflictError(`A user with e-mail "${input.email}" already exists.`);
  }
  const now = new Date().toISOString();
  const item: UserItem = {
    pk: userKey(id),
    sk: 'META',
    gsi1pk: 'USERS',
    gsi1sk: id,
    id,
    username: input.username,
    ...(input.email ? { email: input.email } : {}),
    role: input.role,
    password_hash: await hashPassword(input.password),
    created_at: now,
    updated_at: now,
  };
  await putItem(item);
  return userView(item);
}

/** Finds a user by username or e-mail address (login accepts either). */
export async function findUserByLogin(login: string): Promise<UserItem | undefined> {
  const byName = await nameOwner('USER', login);
  const id = byName ?? (login.includes('@') ? await nameOwner('EMAIL', login) : undefined);
  if (!id) return undefined;
  const user = await getUserItem(id);
  if (!user) return undefined;
  const matches =
    normalizeName(user.username) === normalizeName(login) ||
    (user.email !== undefined && normalizeName(user.email) === normalizeName(login));
  return matches ? user : undefined;
}

export async function listUsers(limit?: number, token?: string) {
  const page = await queryPage<UserItem>({ index: 'gsi1', partition: 'USERS' }, pageRequest(limit, token));
  return dhubList(page.items.map(userView), page.next);
}

/**
 * Deletes a user, their service credentials and (through the user lookup at refresh) their
 * sessions. Nobody deletes themselves, and the last admin stays.
 */
export async function deleteUser(
  id: string,
  actorId: string,
  revokeCredentials: (userId: string) => Promise<void>,
) {
  const user = await getUserItem(id);
  if (!user) throw new NotFoundError('USER', id);
  if (id === actorId) throw new BadStateError('You cannot delete your own user.');
  if (user.role === 'admin') {
    const admins = (await queryAll<UserItem>({ index: 'gsi1', partition: 'USERS' })).filter(
      (u) => u.role === 'admin',
    );
    if (admins.length <= 1) throw new BadStateError('The last admin cannot be deleted.');
  }
  await deleteItem(userKey(id));
  await releaseName('USER', user.username, id);
  if (user.email) await releaseName('EMAIL', user.email, id);
  await revokeCredentials(id);
}

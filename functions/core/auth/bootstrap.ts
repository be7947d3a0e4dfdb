/**
 * The first admin. On a new deployment (or a new local data directory) one admin user is
 * created, once: a marker item records that bootstrap happened, so deleting or renaming that
 * user later does not bring it back.
 */
import { getItem, putItem } from '../db.ts';
import { ConflictError } from '../errors.ts';
import { newSecret } from './passwords.ts';
import { createUser } from './users.ts';

const MARKER = 'BOOTSTRAP#admin';

export interface BootstrapResult {
  created: boolean;
  username: string;
  /** Set only when the password was generated here; show it once, then forget it. */
  generatedPassword?: string;
}

export async function ensureBootstrapAdmin(username: string, password?: string): Promise<BootstrapResult> {
  if (await getItem(MARKER)) return { created: false, username };
  const generated = password ? undefined : newSecret(18);
  let created = true;
  try {
    await createUser({ username, password: password ?? (generated as string), role: 'admin' });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    created = false;
  }
  await putItem({ pk: MARKER, sk: 'META', username, created_at: new Date().toISOString() });
  return { created, username, ...(created && generated ? { generatedPassword: generated } : {}) };
}

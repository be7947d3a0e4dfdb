/**
 * Where `sluice login` keeps the session: `$XDG_CONFIG_HOME/sluice/config.json`, else
 * `~/.config/sluice/config.json`. The file holds tokens, so it is written with mode 0600 (in a
 * 0700 directory) through a temporary file and a rename: a reader never sees half a file, and a
 * crash never leaves the old token half-overwritten.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface StoredSession {
  /** The API's origin, e.g. `http://localhost:3000`. */
  endpoint?: string;
  username?: string;
  refresh_token?: string;
  /** Kept so that commands run within its lifetime need no refresh. */
  access_token?: string;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'sluice', 'config.json');
}

export function readSession(file = configPath()): StoredSession {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as StoredSession) : {};
  } catch {
    throw new Error(`${file} is not valid JSON; delete it and run sluice login again.`);
  }
}

export function writeSession(session: StoredSession, file = configPath()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
    // The mode given above is filtered by the umask; say it once more, unfiltered.
    chmodSync(temporary, 0o600);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Seconds until a JWT's `exp`, or undefined when the token is not a readable JWT. */
export function secondsLeft(token: string, now = Date.now()): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp - now / 1000 : undefined;
  } catch {
    return undefined;
  }
}

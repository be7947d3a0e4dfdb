/**
 * Prefixed, time-sortable identifiers: `<prefix>-<10 chars of time><12 random chars>`, all in
 * lower-case Crockford base32. Sorting ids as strings sorts them by creation time (to the ms),
 * which is what list queries rely on.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_LENGTH = 10;
const RANDOM_LENGTH = 12;

export const ID_PREFIXES = {
  collection: 'col',
  dataset: 'ds',
  user: 'usr',
  credential: 'cred',
  refreshToken: 'rt',
  upload: 'upl',
  pipeline: 'pl',
  batch: 'batch',
  trigger: 'trg',
  workflow: 'wf',
  workflowExecution: 'wfx',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < TIME_LENGTH; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) & 31];
  return out;
}

export function newId(kind: IdKind, now: number = Date.now()): string {
  return `${ID_PREFIXES[kind]}-${encodeTime(now)}${randomToken(RANDOM_LENGTH)}`;
}

const ID_BODY = new RegExp(`^[${ALPHABET}]{${TIME_LENGTH + RANDOM_LENGTH}}$`);

export function isId(kind: IdKind, value: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}-`;
  return value.startsWith(prefix) && ID_BODY.test(value.slice(prefix.length));
}

/** The creation time encoded in an id, in epoch milliseconds. */
export function idTime(id: string): number {
  const body = id.slice(id.indexOf('-') + 1, id.indexOf('-') + 1 + TIME_LENGTH);
  let ms = 0;
  for (const ch of body) ms = ms * 32 + ALPHABET.indexOf(ch);
  return ms;
}

/**
 * Object keys and prefixes that come from users (pipeline S3 prefixes, query result paths).
 * S3 takes `..` in a key as plain characters, but the local S3 stand-in stores objects as files
 * and would resolve it, out of the bucket's folder; and a prefix that reads like a path should
 * mean the folder it names. So `.` and `..` segments, backslashes and control characters are
 * refused wherever a key is built from user input, and once more where every key is used
 * (storage.ts).
 */

export const PLAIN_KEY_MESSAGE =
  'must be a plain folder path (no "." or ".." segments, backslashes or control characters)';

/** Whether `key` is free of `.`/`..` segments, backslashes and control characters. */
export function isPlainKey(key: string): boolean {
  if ([...key].some((c) => c < ' ' || c === '\u007f' || c === '\\')) return false;
  return !key.split('/').some((segment) => segment === '.' || segment === '..');
}

/** Guards a key about to reach the object store: a bug or a missed check fails here instead. */
export function requirePlainKey(key: string): string {
  if (!isPlainKey(key))
    throw new Error(`Refused an object key with a relative or control segment: ${JSON.stringify(key)}`);
  return key;
}

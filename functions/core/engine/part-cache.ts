/**
 * A bounded cache, on the worker's local disk, of the run parts it has just uploaded. A node's
 * output is usually the next node's input, and the next step often runs in the same process
 * (always on the local host; on AWS whenever the same warm Lambda environment takes it), so a
 * later step links the file instead of downloading it again.
 *
 * Entries are keyed by object key and checked against the ETag in the caller's listing, so an
 * object rewritten since (a retried step) is downloaded, never served stale. The cache belongs
 * to this process (a directory named after its pid, emptied on first use and removed at exit)
 * and evicts least recently used entries past `SLUICE_PART_CACHE_MB`. Every cache failure
 * answers "not cached": the caller downloads as before.
 */
import { rmSync } from 'node:fs';
import { copyFile, link, mkdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { platform } from '../platform/platform.ts';

interface Entry {
  file: string;
  etag: string;
  size: number;
}

/** Insertion order is recency order: a hit re-inserts its entry. */
const entries = new Map<string, Entry>();
let total = 0;
let sequence = 0;
let ready: Promise<string> | undefined;

function directory(): Promise<string> {
  ready ??= (async () => {
    const dir = join(platform().settings.tables.tmpDir, `sluice-part-cache-${process.pid}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })();
  return ready;
}

/** A hard link where the file system allows one, else a copy. */
async function place(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

async function drop(key: string): Promise<void> {
  const entry = entries.get(key);
  if (!entry) return;
  entries.delete(key);
  total -= entry.size;
  await unlink(entry.file).catch(() => undefined);
}

/** Keeps `file` (just uploaded as `key` with `etag`) for a later step. */
export async function rememberPart(key: string, etag: string | undefined, file: string, size: number) {
  const max = platform().settings.pipelines.partCacheBytes;
  if (!etag || size > max) return;
  try {
    await drop(key);
    const cached = join(await directory(), `part-${++sequence}.parquet`);
    await place(file, cached);
    entries.set(key, { file: cached, etag, size });
    total += size;
    for (const oldest of entries.keys()) {
      if (total <= max) break;
      await drop(oldest);
    }
  } catch {
    await drop(key);
  }
}

/** Places the cached copy of `key` at `dest` when its ETag still matches; false otherwise. */
export async function recallPart(key: string, etag: string | undefined, dest: string): Promise<boolean> {
  const entry = entries.get(key);
  if (!entry || !etag || entry.etag !== etag) return false;
  try {
    await place(entry.file, dest);
    entries.delete(key);
    entries.set(key, entry);
    return true;
  } catch {
    await drop(key);
    return false;
  }
}

/** What the cache holds (for tests). */
export function cachedParts(): { count: number; bytes: number } {
  return { count: entries.size, bytes: total };
}

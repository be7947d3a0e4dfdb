import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onTestPlatform } from './test-platform.ts';

// Two 1 MiB entries fit; a third evicts the least recently used.
process.env.SLUICE_PART_CACHE_MB = '2';
const { cachedParts, recallPart, rememberPart } = await import('#core/engine/part-cache');

onTestPlatform();

const MiB = 1024 * 1024;
let dir: string;

async function file(name: string, fill: string, size = MiB): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, fill.repeat(size));
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-part-cache-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('run part cache', () => {
  it('answers a remembered part while its ETag matches, and only then', async () => {
    await rememberPart('runs/b/1/part-00000.parquet', '"e1"', await file('a', 'a'), MiB);
    const hit = path.join(dir, 'hit');
    expect(await recallPart('runs/b/1/part-00000.parquet', '"e1"', hit)).toBe(true);
    expect((await readFile(hit, 'utf8')).slice(0, 3)).toBe('aaa');
    // Rewritten since (a retried step): not served.
    expect(await recallPart('runs/b/1/part-00000.parquet', '"e2"', path.join(dir, 'x'))).toBe(false);
    // Unknown key, or a listing without ETags.
    expect(await recallPart('runs/b/2/part-00000.parquet', '"e1"', path.join(dir, 'y'))).toBe(false);
    expect(await recallPart('runs/b/1/part-00000.parquet', undefined, path.join(dir, 'z'))).toBe(false);
  });

  it('keeps the cached copy when the caller removes its own file', async () => {
    const own = await file('b', 'b');
    await rememberPart('runs/b/3/part-00000.parquet', '"e3"', own, MiB);
    await rm(own);
    const hit = path.join(dir, 'hit-b');
    expect(await recallPart('runs/b/3/part-00000.parquet', '"e3"', hit)).toBe(true);
    expect((await readFile(hit, 'utf8')).slice(0, 3)).toBe('bbb');
  });

  it('evicts the least recently used entry past its size, and skips files larger than it', async () => {
    // Entries now: part 1 (used first), part 3 (used last). Touch part 1, then add a third.
    expect(await recallPart('runs/b/1/part-00000.parquet', '"e1"', path.join(dir, 'touch'))).toBe(true);
    await rememberPart('runs/b/4/part-00000.parquet', '"e4"', await file('c', 'c'), MiB);
    expect(cachedParts()).toEqual({ count: 2, bytes: 2 * MiB });
    expect(await recallPart('runs/b/3/part-00000.parquet', '"e3"', path.join(dir, 'gone'))).toBe(false);
    expect(await recallPart('runs/b/1/part-00000.parquet', '"e1"', path.join(dir, 'kept'))).toBe(true);

    await rememberPart('runs/b/5/part-00000.parquet', '"e5"', await file('d', 'd', 3 * MiB), 3 * MiB);
    expect(await recallPart('runs/b/5/part-00000.parquet', '"e5"', path.join(dir, 'big'))).toBe(false);
    expect(cachedParts().count).toBe(2);
  });
});

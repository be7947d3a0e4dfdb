/**
 * The pool of sandboxed DuckDB instances behind the local Data Query: an instance serves one
 * piece of work after another only while nothing of the earlier work can reach the later one.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandboxPool, type PooledSandbox, type SandboxPool, sqlString } from '#core/duckdb';

let base: string;
let pool: SandboxPool;

beforeEach(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'sluice-pool-test-'));
  pool = createSandboxPool({ root: path.join(base, 'pool'), threads: 1, maxUses: 5 });
});

afterEach(async () => {
  await pool.close();
  await rm(base, { recursive: true, force: true });
});

/** Runs `fn` in the pool and waits until the instance is back (or gone). */
async function work<T>(fn: (sandbox: PooledSandbox) => Promise<T>): Promise<T> {
  try {
    return await pool.run(fn);
  } finally {
    await pool.settled();
  }
}

/** One value from a statement, or the error it raised. */
async function value(sandbox: PooledSandbox, sql: string): Promise<string> {
  try {
    const reader = await sandbox.connection.runAndReadAll(sql);
    return String(reader.getRows()[0]?.[0]);
  } catch (error) {
    return (error as Error).message;
  }
}

/** Writes a small CSV file holding `text` in the work's folder; answers its path. */
async function plant(sandbox: PooledSandbox, text: string): Promise<string> {
  const file = path.join(sandbox.dir, 'input.csv');
  await writeFile(file, `v\n${text}\n`);
  return file;
}

describe('sandbox pool', () => {
  it('serves work after work on one instance, each in a new folder that is gone afterwards', async () => {
    const first = await work(async (s) => {
      const file = await plant(s, 'one');
      expect(await value(s, `SELECT v FROM read_csv(${sqlString(file)})`)).toBe('one');
      return { root: s.root, dir: s.dir, file };
    });
    expect(existsSync(first.dir)).toBe(false);

    const second = await work(async (s) => {
      expect(s.root).toBe(first.root);
      expect(s.dir).not.toBe(first.dir);
      return value(s, `SELECT v FROM read_csv(${sqlString(first.file)})`);
    });
    expect(second).toMatch(/No files found|does not exist/);
    expect(pool.stats()).toMatchObject({ created: 1, reused: 1, discarded: 0, idle: 1, busy: 0 });
  });

  it('gives concurrent work separate instances, neither of which can read the other’s folder', async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let planted = '';
    let started = () => {};
    const ready = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = pool.run(async (s) => {
      planted = await plant(s, 'held');
      started();
      await held;
    });
    await ready;
    const seen = await pool.run(async (s) => {
      // Two instances of one pool: sibling folders.
      expect(path.dirname(s.root)).toBe(path.dirname(path.dirname(path.dirname(planted))));
      expect(planted.startsWith(s.root)).toBe(false);
      return [
        await value(s, `SELECT v FROM read_csv(${sqlString(planted)})`),
        await value(s, `SELECT count(*) FROM glob(${sqlString(`${path.dirname(s.root)}/**`)})`),
      ];
    });
    release();
    await first;
    expect(seen[0]).toMatch(/^Permission Error/);
    expect(seen[1]).toMatch(/^Permission Error/);
    await pool.settled();
    expect(pool.stats()).toMatchObject({ created: 2, idle: 2 });
  });

  it('leaves no temporary view, table or macro behind: they go with the work’s connection', async () => {
    await work(async (s) => {
      await s.connection.run('CREATE TEMP VIEW v AS SELECT 1 AS x');
      await s.connection.run('CREATE TEMP TABLE t AS SELECT 1 AS x');
      await s.connection.run('CREATE TEMP MACRO m() AS 42');
    });
    const left = await work(async (s) =>
      value(
        s,
        `SELECT (SELECT count(*) FROM duckdb_views() WHERE NOT internal)
              + (SELECT count(*) FROM duckdb_tables())
              + (SELECT count(*) FROM duckdb_functions() WHERE function_name = 'm')`,
      ),
    );
    expect(left).toBe('0');
    expect(pool.stats()).toMatchObject({ created: 1, reused: 1, discarded: 0 });
  });

  it('discards an instance whose state a statement changed, even one nobody reviewed', async () => {
    const changed = await work(async (s) => {
      expect(await value(s, 'SELECT count(*) FROM enable_logging()')).toBe('0');
      return s.root;
    });
    const after = await work(async (s) => ({
      root: s.root,
      logging: await value(s, "SELECT value FROM duckdb_settings() WHERE name = 'enable_logging'"),
      logs: await value(s, 'SELECT count(*) FROM duckdb_logs'),
    }));
    expect(after.root).not.toBe(changed);
    expect([after.logging, after.logs]).toEqual(['0', '0']);
    expect(existsSync(changed)).toBe(false);
    expect(pool.stats()).toMatchObject({ created: 2, discarded: 1 });
  });

  it.each([
    ['SELECT * FROM range(3) r, read_csv(?) x WHERE EXISTS (SELECT 1 FROM duckdb_settings())', true],
    ['SELECT * FROM (SELECT 1) t, LATERAL (SELECT * FROM query(?))', false],
    ['WITH c AS (SELECT * FROM checkpoint()) SELECT * FROM c', false],
    ['SELECT * FROM main.enable_peg_parser()', false],
    ['EXPLAIN SELECT 1', false],
    ['SELEC 1', true],
  ])('after reviewing %s, keeps the instance: %s', async (sql, kept) => {
    const first = await work(async (s) => {
      s.review(sql.replace('?', "'x'"));
      return s.root;
    });
    const next = await work(async (s) => s.root);
    expect(next === first).toBe(kept);
  });

  it('discards an instance that work spoiled or that threw, and one past its uses', async () => {
    await work(async (s) => s.spoil());
    await expect(
      work(async () => {
        throw new Error('failed half way');
      }),
    ).rejects.toThrow('failed half way');
    expect(pool.stats()).toMatchObject({ created: 2, discarded: 2, idle: 0 });
    for (let i = 0; i < 5; i++) await work(async () => undefined);
    expect(pool.stats()).toMatchObject({ created: 3, reused: 4, discarded: 3, idle: 0 });
  });

  it('removes every instance and folder on close, and refuses work afterwards', async () => {
    await work(async (s) => plant(s, 'kept'));
    expect(pool.stats()).toMatchObject({ idle: 1 });
    await pool.close();
    expect(await readdir(base)).toEqual([]);
    expect(pool.stats()).toMatchObject({ idle: 0, discarded: 1 });
    await expect(pool.run(async () => undefined)).rejects.toThrow(/closed/);
  });
});

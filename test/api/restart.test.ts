import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, client, type RunningHost, startHost, tempDir, until } from './harness.ts';

let host: RunningHost | undefined;
/** Every host a test starts; all are stopped at the end, also when a test fails. */
const hosts: RunningHost[] = [];

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
});

async function track(starting: Promise<RunningHost>): Promise<RunningHost> {
  const started = await starting;
  hosts.push(started);
  return started;
}

describe('the local host', () => {
  it('keeps every record and table across a clean restart', async () => {
    const dataDir = await tempDir('sluice-restart-');
    host = await track(startHost({ dataDir }));
    let api = client(host.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const col = await api.post('/api/v1/collections', { name: '재시작 테스트' }, { token });
    const ds = await api.post('/api/v1/datasets', { name: '데이터', collection_id: col.body.id }, { token });
    expect((await api.upload(ds.body.id, 'k,v\n1,하나\n2,둘\n', token)).status).toBe(200);
    const before = await api.get(`/api/v1/tables/${ds.body.id}?page=1&page_size=10`, { token });

    expect(await host.stop()).toBe(0);
    expect(host.output()).toContain('Stopped cleanly');

    host = await track(startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: 'ignored-after-first-start' } }));
    api = client(host.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const after = await api.get(`/api/v1/tables/${ds.body.id}?page=1&page_size=10`, { token });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    expect(after.body.data).toEqual([
      [1, '하나'],
      [2, '둘'],
    ]);
    const collections = await api.get('/api/v1/collections', { token });
    expect(Object.keys(collections.body.items)).toContain(col.body.id);
  });

  it('prints a generated admin password once, on the first start only', async () => {
    const dataDir = await tempDir('sluice-firststart-');
    const first = await track(startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: '' } }));
    const password = /Password:\s+(\S+)/.exec(first.output())?.[1];
    expect(password).toBeDefined();
    const api = client(first.url);
    expect((await api.post('/api/v1/auth/login', { username: ADMIN.username, password })).status).toBe(200);
    expect(await first.stop()).toBe(0);
    const second = await track(startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: '' } }));
    expect(second.output()).not.toContain(password as string);
    expect(await second.stop()).toBe(0);
  });

  it('marks a batch that was running when the host stopped as failed on the next start', async () => {
    const dataDir = await tempDir('sluice-inflight-');
    host = await track(startHost({ dataDir }));
    let api = client(host.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const slow = await startSlowBatch(api, token, '중단 테스트');

    expect(await host.stop()).toBe(0);
    host = await track(startHost({ dataDir }));
    api = client(host.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const batch = await api.get(`/api/v1/batches/${slow.batchId}`, { token });
    expect(batch.body.status).toBe('failed');
    expect(batch.body.error).toMatch(/local host stopped/);
    expect(host.output()).toMatch(/Marked 1 batch\(es\) interrupted/);
    // The pipeline's run slot is free again: a new run starts.
    const again = await api.post(`/api/v1/pipelines/${slow.pipelineId}/run`, {}, { token });
    expect(again.body.status).toBe('running');
    await api.put(`/api/v1/batches/${slow.pipelineId}/${again.body.batch_id}/stop`, {}, { token });
  });

  it('ends a query that was running when the host stopped as FAILED, with the reason', async () => {
    const dataDir = await tempDir('sluice-query-inflight-');
    host = await track(startHost({ dataDir }));
    let api = client(host.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const submitted = await api.post(
      '/v1/data-query/query',
      {
        query: 'SELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b',
        bucketName: 'sluice-results',
        path: 'restart',
      },
      { token },
    );
    expect(submitted.status, submitted.text).toBe(200);
    const id = submitted.body.queryId as string;
    for (let i = 0; i < 300; i++) {
      const q = await api.get(`/v1/data-query/query/${id}`, { token });
      if (q.body.queryInfo.state === 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(await host.stop()).toBe(0);
    host = await track(startHost({ dataDir }));
    api = client(host.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const after = await api.get(`/v1/data-query/query/${id}`, { token });
    expect(after.body.queryInfo).toMatchObject({ state: 'FAILED', isStored: false });
    expect(after.body.queryInfo.errorMessage).toMatch(/local host stopped/);
  });

  it('aborts a query that runs past the time limit, with the reason, and stores nothing', async () => {
    const dataDir = await tempDir('sluice-query-limit-');
    host = await track(startHost({ dataDir, env: { SLUICE_QUERY_TIMEOUT_SECONDS: '2' } }));
    const api = client(host.url);
    const token = await api.login(ADMIN.username, ADMIN.password);
    const submitted = await api.post(
      '/v1/data-query/query',
      {
        query: 'SELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b',
        bucketName: 'sluice-results',
        path: 'limit',
      },
      { token },
    );
    expect(submitted.status, submitted.text).toBe(200);
    let info: { state: string; isStored: boolean; errorMessage?: string } | undefined;
    for (let i = 0; i < 150; i++) {
      info = (await api.get(`/v1/data-query/query/${submitted.body.queryId}`, { token })).body.queryInfo;
      if (info && ['FINISHED', 'FAILED', 'ABORTED'].includes(info.state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(info).toMatchObject({ state: 'ABORTED', isStored: false });
    expect(info?.errorMessage).toBe(
      'The query ran longer than the time limit of 2 second(s) and was aborted.',
    );
  });
});

/** A pipeline with one slow SQL step, started; answers once that step runs. */
async function startSlowBatch(api: ReturnType<typeof client>, token: string, collection = 'kill-9 테스트') {
  const col = await api.post('/api/v1/collections', { name: collection }, { token });
  const ds = await api.post('/api/v1/datasets', { name: 'src', collection_id: col.body.id }, { token });
  expect((await api.upload(ds.body.id, 'k,v\n1,하나\n2,둘\n', token)).status).toBe(200);
  const nodes = [
    { id: 1, name: 'src', type: 'SOURCE_CATALOG', parentNodeIds: [], database: col.body.name, table: 'src' },
    {
      id: 2,
      name: 'slow',
      type: 'TRANSFORM_SQL',
      parentNodeIds: [1],
      sourceNameList: [{ parentId: 1, newName: 'src' }],
      sql: 'SELECT count(*) AS n FROM src, range(200000) a, range(200000) b',
    },
  ];
  const pl = await api.post(
    '/api/v1/pipelines',
    { name: 'slow', collection_id: col.body.id, nodes },
    { token },
  );
  const run = await api.post(`/api/v1/pipelines/${pl.body.id}/run`, {}, { token });
  expect(run.body.status).toBe('running');
  await until(
    'the slow step to run',
    async () => (await api.get(`/api/v1/batches/${run.body.batch_id}`, { token })).body,
    (b) => b.state?.steps?.slow?.state === 'running',
  );
  return {
    datasetId: ds.body.id as string,
    pipelineId: pl.body.id as string,
    batchId: run.body.batch_id as string,
  };
}

/**
 * A zombie: a helper node process spawns `true` and blocks its event loop in a synchronous read
 * of stdin, so the exited `true` stays unreaped. Ending stdin lets the helper reap it and exit.
 */
async function zombie(): Promise<{ pid: number; release(): Promise<void> }> {
  const helper: ChildProcessByStdio<Writable, Readable, null> = spawn(
    process.execPath,
    [
      '-e',
      "const c = require('node:child_process').spawn('true'); process.stdout.write(c.pid + '\\n'); require('node:fs').readSync(0, Buffer.alloc(1));",
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const exited = new Promise((r) => helper.once('exit', r));
  const release = async () => {
    helper.stdin.end();
    await exited;
  };
  try {
    const pid = await new Promise<number>((res) =>
      helper.stdout.once('data', (d: Buffer) => res(Number(String(d).trim()))),
    );
    await until(
      'the zombie',
      async () => processState(pid),
      (state) => state === 'Z',
      10_000,
    );
    return { pid, release };
  } catch (error) {
    await release();
    throw error;
  }
}

function readLock(lockFile: string): string {
  try {
    return readFileSync(lockFile, 'utf8');
  } catch {
    return '';
  }
}

/** The state letter in /proc/<pid>/stat (Linux), or undefined when there is no such process. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Blocks this whole process, event loop included, until `done` holds or the time is up. */
function blockUntil(done: () => boolean, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!done() && Date.now() < deadline) Atomics.wait(pause, 0, 0, 20);
}

describe('the data directory lock', () => {
  it('takes over from a host killed with kill -9 mid-batch: table intact, batch failed', async () => {
    const dataDir = await tempDir('sluice-kill9-');
    const killed = await track(startHost({ dataDir, detached: true }));
    let api = client(killed.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const { datasetId, batchId } = await startSlowBatch(api, token);
    const page = `/api/v1/tables/${datasetId}?page=1&page_size=10`;
    const before = await api.get(page, { token });
    expect(before.status).toBe(200);

    // The whole process group, at once; the next host starts without waiting for it to be reaped.
    const lockFile = join(dataDir, 'host.pid');
    const lockPid = () => Number(/\d+/.exec(readLock(lockFile))?.[0]); // the pid comes first
    const pid = killed.child.pid as number;
    expect(lockPid()).toBe(pid);
    process.kill(-pid, 'SIGKILL');
    const starting = track(startHost({ dataDir })); // spawns the new host before returning
    let stateAtTakeover: string | undefined;
    if (process.platform === 'linux') {
      // This process reaps its children only when its event loop runs: blocking the loop keeps the
      // killed host a zombie while the new one claims the data directory (or gives up).
      blockUntil(() => lockPid() !== pid, 30_000);
      stateAtTakeover = processState(pid);
    }
    const next = await starting;
    if (process.platform === 'linux') expect(stateAtTakeover).toBe('Z');
    expect(killed.child.signalCode).toBe('SIGKILL');
    expect(lockPid()).toBe(next.child.pid);

    api = client(next.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const after = await api.get(page, { token });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before.body);
    const batch = await api.get(`/api/v1/batches/${batchId}`, { token });
    expect(batch.body.status).toBe('failed');
    expect(batch.body.error).toMatch(/local host stopped/);
    expect(batch.body.state.steps.slow.state).toBe('failed');
    expect(next.output()).toMatch(/Marked 1 batch\(es\) interrupted/);
    expect(await next.stop()).toBe(0);
    expect(existsSync(join(dataDir, 'host.pid'))).toBe(false);
  });

  it.runIf(process.platform === 'linux')(
    'is not blocked by a lock naming a zombie or a live process that is not the host that wrote it',
    async () => {
      const dataDir = await tempDir('sluice-stale-lock-');
      const lockFile = join(dataDir, 'host.pid');
      const dead = await zombie();
      try {
        // kill(pid, 0) succeeds on a zombie; the old bare-pid format.
        await writeFile(lockFile, String(dead.pid));
        const first = await track(startHost({ dataDir }));
        expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(first.child.pid);
        expect(await first.stop()).toBe(0);
      } finally {
        await dead.release();
      }
      // A recycled pid: this test process is alive, but it is not the process that took the lock
      // (its start time differs from the recorded one).
      const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
      await writeFile(lockFile, JSON.stringify({ pid: process.pid, started: `${bootId}:1` }));
      const second = await track(startHost({ dataDir }));
      expect(JSON.parse(await readFile(lockFile, 'utf8')).pid).toBe(second.child.pid);
      expect(await second.stop()).toBe(0);
    },
  );

  it('refuses a data directory a running host holds; of two hosts starting at once one wins', async () => {
    const dataDir = await tempDir('sluice-lock-held-');
    const holder = await track(startHost({ dataDir }));
    await expect(track(startHost({ dataDir }))).rejects.toThrow(
      new RegExp(`Another Sluice host \\(pid ${holder.child.pid}\\) is using`),
    );
    expect(await holder.stop()).toBe(0);

    // Both find a stale lock (a pid no process has) and race to take it over.
    await writeFile(join(dataDir, 'host.pid'), JSON.stringify({ pid: 2 ** 22 + 1, started: 'gone:1' }));
    const results = await Promise.allSettled([startHost({ dataDir }), startHost({ dataDir })]);
    for (const r of results) if (r.status === 'fulfilled') hosts.push(r.value);
    const winners = results.filter((r) => r.status === 'fulfilled');
    const losers = results.filter((r) => r.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(String(losers[0]?.reason)).toMatch(/Another Sluice host \(pid \d+\) is using/);
    expect(await (winners[0] as PromiseFulfilledResult<RunningHost>).value.stop()).toBe(0);
  });
});

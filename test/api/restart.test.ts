import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, client, type RunningHost, startHost, tempDir } from './harness.ts';

let host: RunningHost | undefined;

afterAll(async () => {
  await host?.stop();
});

describe('the local host', () => {
  it('keeps every record and table across a clean restart', async () => {
    const dataDir = await tempDir('sluice-restart-');
    host = await startHost({ dataDir });
    let api = client(host.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const col = await api.post('/api/v1/collections', { name: '재시작 테스트' }, { token });
    const ds = await api.post('/api/v1/datasets', { name: '데이터', collection_id: col.body.id }, { token });
    expect((await api.upload(ds.body.id, 'k,v\n1,하나\n2,둘\n', token)).status).toBe(200);
    const before = await api.get(`/api/v1/tables/${ds.body.id}?page=1&page_size=10`, { token });

    expect(await host.stop()).toBe(0);
    expect(host.output()).toContain('Stopped cleanly');

    host = await startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: 'ignored-after-first-start' } });
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
    const first = await startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: '' } });
    const password = /Password:\s+(\S+)/.exec(first.output())?.[1];
    expect(password).toBeDefined();
    const api = client(first.url);
    expect((await api.post('/api/v1/auth/login', { username: ADMIN.username, password })).status).toBe(200);
    expect(await first.stop()).toBe(0);
    const second = await startHost({ dataDir, env: { SLUICE_ADMIN_PASSWORD: '' } });
    expect(second.output()).not.toContain(password as string);
    expect(await second.stop()).toBe(0);
  });

  it('marks a batch that was running when the host stopped as failed on the next start', async () => {
    const dataDir = await tempDir('sluice-inflight-');
    host = await startHost({ dataDir });
    let api = client(host.url);
    let token = await api.login(ADMIN.username, ADMIN.password);
    const col = await api.post('/api/v1/collections', { name: '중단 테스트' }, { token });
    const ds = await api.post('/api/v1/datasets', { name: 'src', collection_id: col.body.id }, { token });
    expect((await api.upload(ds.body.id, 'k\n1\n', token)).status).toBe(200);
    const nodes = [
      {
        id: 1,
        name: 'src',
        type: 'SOURCE_CATALOG',
        parentNodeIds: [],
        database: col.body.name,
        table: 'src',
      },
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
    for (let i = 0; i < 300; i++) {
      const b = await api.get(`/api/v1/batches/${run.body.batch_id}`, { token });
      if (b.body.state?.steps?.slow?.state === 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(await host.stop()).toBe(0);
    host = await startHost({ dataDir });
    api = client(host.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const batch = await api.get(`/api/v1/batches/${run.body.batch_id}`, { token });
    expect(batch.body.status).toBe('failed');
    expect(batch.body.error).toMatch(/local host stopped/);
    expect(host.output()).toMatch(/Marked 1 batch\(es\) interrupted/);
    // The pipeline's run slot is free again: a new run starts.
    const again = await api.post(`/api/v1/pipelines/${pl.body.id}/run`, {}, { token });
    expect(again.body.status).toBe('running');
    await api.put(`/api/v1/batches/${pl.body.id}/${again.body.batch_id}/stop`, {}, { token });
  });

  it('ends a query that was running when the host stopped as FAILED, with the reason', async () => {
    const dataDir = await tempDir('sluice-query-inflight-');
    host = await startHost({ dataDir });
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
    host = await startHost({ dataDir });
    api = client(host.url);
    token = await api.login(ADMIN.username, ADMIN.password);
    const after = await api.get(`/v1/data-query/query/${id}`, { token });
    expect(after.body.queryInfo).toMatchObject({ state: 'FAILED', isStored: false });
    expect(after.body.queryInfo.errorMessage).toMatch(/local host stopped/);
  });

  it('aborts a query that runs past the time limit, with the reason, and stores nothing', async () => {
    const dataDir = await tempDir('sluice-query-limit-');
    host = await startHost({ dataDir, env: { SLUICE_QUERY_TIMEOUT_SECONDS: '2' } });
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

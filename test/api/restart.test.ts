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
});

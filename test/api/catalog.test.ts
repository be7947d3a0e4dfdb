import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique } from './harness.ts';

const api = client(inject('hostUrl'));
let token: string;

async function collection(name = unique('col')) {
  const res = await api.post('/api/v1/collections', { name, description: 'test' }, { token });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string };
}

async function dataset(collectionId: string, name = unique('ds')) {
  const res = await api.post('/api/v1/datasets', { name, collection_id: collectionId }, { token });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string };
}

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

describe('collections', () => {
  it('are created, read, renamed and deleted', async () => {
    const col = await collection();
    const got = await api.get(`/api/v1/collections/${col.id}`, { token });
    expect(got.body).toMatchObject({ id: col.id, name: col.name, description: 'test' });

    const renamed = unique('renamed');
    const put = await api.put(
      `/api/v1/collections/${col.id}`,
      { name: renamed, description: '설명' },
      { token },
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: col.id, name: renamed, description: '설명' });

    const del = await api.del(`/api/v1/collections/${col.id}`, { token });
    expect(del.status).toBe(200);
    expect((await api.get(`/api/v1/collections/${col.id}`, { token })).status).toBe(404);
  });

  it('list in the D.Hub convention, paged by limit and token', async () => {
    const made = [await collection(), await collection(), await collection()];
    const seen = new Map<string, { id: string; name: string }>();
    let next: string | null | undefined;
    let pages = 0;
    do {
      const res = await api.get(
        `/api/v1/collections?limit=2${next ? `&token=${encodeURIComponent(next)}` : ''}`,
        {
          token,
        },
      );
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.items).length).toBeLessThanOrEqual(2);
      for (const [id, json] of Object.entries(res.body.items as Record<string, string>)) {
        expect(typeof json).toBe('string');
        seen.set(id, JSON.parse(json));
      }
      next = res.body.token;
      pages++;
    } while (next);
    expect(pages).toBeGreaterThanOrEqual(2);
    for (const c of made) expect(seen.get(c.id)?.name).toBe(c.name);
  });

  it('answer 409 to a duplicate name', async () => {
    const col = await collection();
    const res = await api.post('/api/v1/collections', { name: col.name }, { token });
    expect(res.status).toBe(409);
    expect(res.body.errorType).toBe('conflict');
  });

  it('refuse deletion while datasets remain, unless forced', async () => {
    const col = await collection();
    const ds = await dataset(col.id);
    const refused = await api.del(`/api/v1/collections/${col.id}`, { token });
    expect(refused.status).toBe(409);
    const forced = await api.del(`/api/v1/collections/${col.id}?force=true`, { token });
    expect(forced.status).toBe(200);
    expect((await api.get(`/api/v1/datasets/${ds.id}`, { token })).status).toBe(404);
  });

  it('answer 404 problem+json with the resource kind for an unknown id', async () => {
    const res = await api.get('/api/v1/collections/col-doesnotexist', { token });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      errorType: 'resource-not-found/COLLECTION',
      instance: '/api/v1/collections/col-doesnotexist',
    });
  });

  it('name the field when the body is invalid', async () => {
    const res = await api.post('/api/v1/collections', { name: '', description: 42 }, { token });
    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe('bad-parameter');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.description']));
  });
});

describe('datasets', () => {
  it('are unique by name within a collection but not across collections', async () => {
    const a = await collection();
    const b = await collection();
    const ds = await dataset(a.id, '교통량 데이터');
    const dup = await api.post('/api/v1/datasets', { name: '교통량 데이터', collection_id: a.id }, { token });
    expect(dup.status).toBe(409);
    const other = await api.post(
      '/api/v1/datasets',
      { name: '교통량 데이터', collection_id: b.id },
      { token },
    );
    expect(other.status).toBe(201);
    expect(ds.name).toBe('교통량 데이터');
  });

  it('are listed per collection', async () => {
    const col = await collection();
    const one = await dataset(col.id);
    const two = await dataset(col.id);
    const res = await api.get(`/api/v1/datasets?collection_id=${col.id}`, { token });
    expect(Object.keys(res.body.items).sort()).toEqual([one.id, two.id].sort());
    expect(res.body.token).toBeNull();
    const all = await api.get('/api/v1/datasets?limit=1000', { token });
    expect(Object.keys(all.body.items)).toEqual(expect.arrayContaining([one.id, two.id]));
  });

  it('are renamed and deleted, freeing the name', async () => {
    const col = await collection();
    const ds = await dataset(col.id, 'before');
    const put = await api.put(`/api/v1/datasets/${ds.id}`, { name: 'after' }, { token });
    expect(put.body.name).toBe('after');
    expect(
      (await api.post('/api/v1/datasets', { name: 'before', collection_id: col.id }, { token })).status,
    ).toBe(201);
    expect((await api.del(`/api/v1/datasets/${ds.id}`, { token })).status).toBe(200);
    expect(
      (await api.post('/api/v1/datasets', { name: 'after', collection_id: col.id }, { token })).status,
    ).toBe(201);
  });

  it('need an existing collection', async () => {
    const res = await api.post('/api/v1/datasets', { name: 'x', collection_id: 'col-nope' }, { token });
    expect(res.status).toBe(404);
    expect(res.body.errorType).toBe('resource-not-found/COLLECTION');
  });
});

describe('the HTTP surface', () => {
  it('answers 404 problem+json for an unknown route', async () => {
    const res = await api.get('/api/v1/nothing-here', { token });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const res = await api.call('PATCH', '/api/v1/collections', { token });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
    expect(res.headers.get('allow')).toContain('POST');
  });

  it('answers 400 to malformed JSON', async () => {
    const res = await api.call('POST', '/api/v1/collections', {
      token,
      raw: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/JSON/);
  });

  it('answers 413 to a body over the limit', async () => {
    const res = await api.call('POST', '/api/v1/collections', {
      token,
      raw: JSON.stringify({ name: 'x', description: 'y'.repeat(7 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
  });

  it('answers 400 to a forged paging token', async () => {
    const res = await api.get('/api/v1/collections?token=eyJ2IjoxLCJwIjp7IngiOiJ5In19', { token });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('query.token');
  });
});

/**
 * Reads the API answers no other test file reads, so the check every test-client answer goes
 * through (harness.ts, against openapi.json) covers each documented success response at least once.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, unique } from './harness.ts';

const api = client(inject('hostUrl'));
let token = '';
const catalog = catalogHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

describe('answers as openapi.json documents them', () => {
  it('reads a dataset before and after its first upload', async () => {
    const collectionId = await catalog.newCollection('documented');
    const created = await api.post(
      '/api/v1/datasets',
      { name: unique('empty'), collection_id: collectionId },
      { token },
    );
    expect(created.status).toBe(201);
    const empty = await api.get(`/api/v1/datasets/${created.body.id}`, { token });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ current_version: 0, total_rows: 0, column_count: 0 });

    const loaded = await catalog.newDataset(collectionId, unique('loaded'), 'a,b\n1,x\n2,y\n');
    const read = await api.get(`/api/v1/datasets/${loaded}`, { token });
    expect(read.body).toMatchObject({ current_version: 1, total_rows: 2, column_count: 2 });
  });

  it('lists pipelines, all of them and those of one collection', async () => {
    const collectionId = await catalog.newCollection('documented');
    const name = unique('listed');
    const created = await api.post('/api/v1/pipelines', { name, collection_id: collectionId }, { token });
    expect(created.status).toBe(201);
    const ofCollection = await api.get(`/api/v1/pipelines?collection_id=${collectionId}`, { token });
    expect(ofCollection.status).toBe(200);
    expect(Object.keys(ofCollection.body.items)).toEqual([created.body.id]);
    const all = await api.get('/api/v1/pipelines?limit=1', { token });
    expect(all.status).toBe(200);
    expect(Object.keys(all.body.items)).toHaveLength(1);
  });
});

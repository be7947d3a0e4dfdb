/**
 * Collections and datasets made through the API for tests to work on, asserting each step with
 * vitest's `expect`. Kept apart from harness.ts, which global-setup and the benchmarks load
 * outside of a test run.
 */
import { expect } from 'vitest';
import { type Client, unique } from './harness.ts';

/**
 * Helpers bound to a file's client; `token` is read at each call, since files log in inside
 * `beforeAll`.
 */
export function catalogHelpers(api: Client, token: () => string) {
  return {
    /** Creates a collection with a unique name that starts with `stem`; answers its id. */
    async newCollection(stem: string): Promise<string> {
      const res = await api.post('/api/v1/collections', { name: unique(stem) }, { token: token() });
      expect(res.status, res.text).toBe(201);
      return res.body.id;
    },

    /** Creates a dataset in the collection and uploads `csv` to it; answers its id. */
    async newDataset(collectionId: string, name: string, csv: string): Promise<string> {
      const res = await api.post(
        '/api/v1/datasets',
        { name, collection_id: collectionId },
        { token: token() },
      );
      expect(res.status, res.text).toBe(201);
      const up = await api.upload(res.body.id, csv, token());
      expect(up.status, up.text).toBe(200);
      return res.body.id;
    },
  };
}

/**
 * The two nodes most pipeline tests start with: a dataset read as `extract` (node 1), then one
 * TRANSFORM_SQL step (node 2) that names it `input`.
 */
export function sqlOverDataset(options: {
  collection: string;
  dataset: string;
  sql: string;
  input: string;
  step?: string;
}) {
  return [
    {
      id: 1,
      name: 'extract',
      type: 'SOURCE_CATALOG',
      parentNodeIds: [],
      database: options.collection,
      table: options.dataset,
    },
    {
      id: 2,
      name: options.step ?? 'transform',
      type: 'TRANSFORM_SQL',
      parentNodeIds: [1],
      sourceNameList: [{ parentId: 1, newName: options.input }],
      sql: options.sql,
    },
  ];
}

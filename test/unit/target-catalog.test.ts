/**
 * TARGET_CATALOG's write, on a context made here: where it writes is looked up as the stage
 * begins (`prepare`), and what its update type decides is checked again under the dataset's
 * lease, as the dataset is when the rows are ready. The API tests run it on the local host.
 */
import { describe, expect, it } from 'vitest';
import type { DatasetRef, HookContext, TargetContext } from '#core/pipelines/nodes/hooks';
import TARGET_CATALOG from '#core/pipelines/nodes/TARGET_CATALOG';

const COLUMNS = [
  { name: 'zone', type: 'string' as const },
  { name: 'total', type: 'double' as const },
];

const dataset = (fields: Partial<DatasetRef> = {}): DatasetRef => ({
  id: 'ds-1',
  name: 'zones',
  current_version: 0,
  columns: [],
  ...fields,
});

/** A context whose look-ups answer `found`, whose lease finds `leased`; it records what happened. */
function context(found: DatasetRef | undefined, leased: DatasetRef, prepared?: Promise<unknown>) {
  const seen = { lookups: 0, created: 0, published: [] as string[], copied: 0, logs: [] as string[] };
  const hooks: HookContext = {
    failure: (message) => new Error(message),
    log: (line) => {
      seen.logs.push(line);
    },
    requireAllowedBucket: () => undefined,
    listObjects: async () => [],
    findCollection: async () => ({ id: 'col-1' }),
    findDataset: async () => {
      seen.lookups++;
      return seen.created > 0 ? dataset() : found;
    },
  };
  const ctx: TargetContext = {
    ...hooks,
    select: 'SELECT * FROM "node_4"',
    batchId: 'batch-1',
    prepared,
    copyToFile: async () => {
      seen.copied++;
      return { rows: 3, path: '/work/dataset.parquet' };
    },
    describeQuery: async () => [
      { name: 'zone', type: 'VARCHAR' },
      { name: 'total', type: 'DOUBLE' },
    ],
    sample: async () => ({ columns: ['zone', 'total'], rows: [] }),
    putFile: async () => 100,
    deleteObject: async () => undefined,
    createDataset: async () => {
      seen.created++;
      return { id: 'ds-1' };
    },
    publishVersion: async (_id, mode, write) => {
      seen.published.push(mode);
      const part = await write('datasets/ds-1/v2/part-00000.parquet', leased);
      return { version: leased.current_version + 1, rows: part.rows };
    },
  };
  return { ctx, seen, hooks };
}

const node = (updateType: string) =>
  TARGET_CATALOG.schema.parse({
    id: 5,
    name: 'load',
    type: 'TARGET_CATALOG',
    parentNodeIds: [4],
    database: 'sales',
    table: 'zones',
    updateType,
  });

describe('TARGET_CATALOG', () => {
  it('writes where its prepare found, without looking again', async () => {
    const { hooks } = context(dataset(), dataset());
    const prepared = TARGET_CATALOG.target?.prepare?.(node('OVERWRITE'), hooks) as Promise<unknown>;
    const { ctx, seen } = context(dataset(), dataset(), prepared);

    const out = await TARGET_CATALOG.target?.write(node('OVERWRITE'), ctx);

    expect(out).toMatchObject({ rows: 3, bytes: 100 });
    expect(seen.lookups).toBe(0);
    expect(seen.published).toEqual(['overwrite']);
  });

  it('looks again when its prepare failed, and creates a dataset that is not there', async () => {
    const failed = Promise.reject(new Error('throttled'));
    failed.catch(() => undefined);
    const { ctx, seen } = context(undefined, dataset(), failed);

    await TARGET_CATALOG.target?.write(node('OVERWRITE'), ctx);

    // Looked up once, created, then read back.
    expect(seen.lookups).toBe(2);
    expect(seen.created).toBe(1);
  });

  it('IGNORE leaves a dataset that got data while the stage ran unchanged, found under the lease', async () => {
    const { ctx, seen } = context(dataset(), dataset({ current_version: 1, columns: COLUMNS }));

    const out = await TARGET_CATALOG.target?.write(node('IGNORE'), ctx);

    expect(out).toEqual({ rows: 0, bytes: 0 });
    expect(seen.copied).toBe(0);
    expect(seen.logs).toEqual(['dataset ds-1 already has data; IGNORE left it unchanged']);
  });

  it('APPEND checks the columns of the dataset as the lease finds it', async () => {
    const other = [{ name: 'zone', type: 'string' as const }];
    const { ctx, seen } = context(dataset(), dataset({ current_version: 1, columns: other }));

    await expect(TARGET_CATALOG.target?.write(node('APPEND'), ctx)).rejects.toThrow(
      'APPEND needs the columns of dataset "zones" (zone string); this node produces zone string, total double.',
    );
    expect(seen.published).toEqual(['append']);
    expect(seen.copied).toBe(0);
  });

  it('APPEND to a dataset without data yet writes its first version', async () => {
    const { ctx, seen } = context(dataset(), dataset());

    const out = await TARGET_CATALOG.target?.write(node('APPEND'), ctx);

    expect(out).toMatchObject({ rows: 3 });
    expect(seen.published).toEqual(['append']);
  });
});

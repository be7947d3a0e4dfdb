/**
 * Pipeline helpers of the API tests: create and run pipelines on the shared local host, wait
 * for their batches, read traces and datasets, and the node shapes the tests build from.
 */
import { expect } from 'vitest';
import { type Client, unique, until } from './harness.ts';

export const TERMINAL = ['completed', 'failed', 'stop'];

export function pipelineHelpers(api: Client, token: () => string) {
  async function getBatch(pipelineId: string, batchId: string) {
    const res = await api.get(`/api/v1/batches/${pipelineId}/${batchId}`, { token: token() });
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  /** Polls the batch until it is completed, failed or stopped (up to 60 s). */
  async function waitForBatch(pipelineId: string, batchId: string, timeoutMs = 60_000) {
    return until(
      `batch ${batchId} to finish`,
      () => getBatch(pipelineId, batchId),
      (b) => TERMINAL.includes(b.status),
      timeoutMs,
    );
  }

  async function newPipeline(collectionId: string, nodes: unknown[], extra: Record<string, unknown> = {}) {
    const res = await api.post(
      '/api/v1/pipelines',
      { name: unique('pipeline'), collection_id: collectionId, nodes, ...extra },
      { token: token() },
    );
    expect(res.status, res.text).toBe(201);
    expect(res.body.problems, JSON.stringify(res.body.problems)).toEqual([]);
    return res.body as { id: string; name: string; version: number };
  }

  async function run(pipelineId: string): Promise<string> {
    const res = await api.post(`/api/v1/pipelines/${pipelineId}/run`, {}, { token: token() });
    expect(res.status, res.text).toBe(200);
    return res.body.batch_id;
  }

  async function runToEnd(pipelineId: string) {
    return waitForBatch(pipelineId, await run(pipelineId));
  }

  async function traces(pipelineId: string, batchId: string) {
    const res = await api.get(`/api/v1/traces?pipeline_id=${pipelineId}&batch_id=${batchId}`, {
      token: token(),
    });
    expect(res.status, res.text).toBe(200);
    return res.body;
  }

  /** The dataset of that name in the collection (a TARGET_CATALOG creates it). */
  async function datasetNamed(collectionId: string, name: string): Promise<string> {
    const res = await api.get(`/api/v1/datasets?collection_id=${collectionId}&limit=1000`, {
      token: token(),
    });
    expect(res.status, res.text).toBe(200);
    const found = Object.values(res.body.items as Record<string, string>)
      .map((json) => JSON.parse(json))
      .find((d) => d.name === name);
    expect(found, `dataset "${name}" in ${collectionId}`).toBeDefined();
    return found.id;
  }

  async function table(datasetId: string) {
    const res = await api.get(`/api/v1/tables/${datasetId}?page=1&page_size=100`, { token: token() });
    expect(res.status, res.text).toBe(200);
    return res.body as { columns: string[]; data: unknown[][]; total_rows: number };
  }

  return { getBatch, waitForBatch, newPipeline, run, runToEnd, traces, datasetNamed, table };
}

export const catalogSource = (id: number, name: string, database: string, tableName: string) => ({
  id,
  name,
  type: 'SOURCE_CATALOG',
  parentNodeIds: [],
  database,
  table: tableName,
});

export const catalogTarget = (
  id: number,
  name: string,
  parent: number,
  database: string,
  tableName: string,
  updateType = 'OVERWRITE',
) => ({
  id,
  name,
  type: 'TARGET_CATALOG',
  parentNodeIds: [parent],
  database,
  table: tableName,
  updateType,
});

export const sqlNode = (id: number, name: string, parent: number, newName: string, sql: string) => ({
  id,
  name,
  type: 'TRANSFORM_SQL',
  parentNodeIds: [parent],
  sourceNameList: [{ parentId: parent, newName }],
  sql,
});

/** Keeps DuckDB busy for minutes (10^10 hashed rows): only a stop ends it. */
export const SLOW_SQL = 'SELECT sum(hash(a.range * b.range)) AS n FROM src, range(100000) a, range(100000) b';

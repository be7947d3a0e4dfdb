import { describe, expect, it } from 'vitest';

process.env.SLUICE_TABLE ??= 'unit';
process.env.SLUICE_DATA_BUCKET ??= 'unit';
const { parseBatchPath } = await import('#core/pipelines/runs');

describe('the greedy batches path', () => {
  it('reads a pipeline id with a trailing slash as the list', () => {
    expect(parseBatchPath('pl-1/')).toEqual({ kind: 'list', pipelineId: 'pl-1' });
  });

  it('reads two segments as one batch of a pipeline, with or without a trailing slash', () => {
    expect(parseBatchPath('pl-1/batch-2')).toEqual({ kind: 'one', pipelineId: 'pl-1', batchId: 'batch-2' });
    expect(parseBatchPath('pl-1/batch-2/')).toEqual({ kind: 'one', pipelineId: 'pl-1', batchId: 'batch-2' });
  });

  it('reads one segment without a slash as a pipeline or batch reference', () => {
    expect(parseBatchPath('batch-2')).toEqual({ kind: 'ref', ref: 'batch-2' });
  });

  it('answers not found for deeper or empty paths', () => {
    expect(() => parseBatchPath('a/b/c')).toThrow(/not found/);
    expect(() => parseBatchPath('/')).toThrow(/not found/);
  });
});

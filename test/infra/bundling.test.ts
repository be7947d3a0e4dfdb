import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resourcesOfType, synthesizeBeforeAll } from './synth.ts';

/** One synth with real esbuild bundling and command hooks: the slow test of the suite. */
const synth = synthesizeBeforeAll({ bundle: true }, 120_000);

/** The staged asset directory of a function: `asset.<hash>` for Code.S3Key `<hash>.zip`. */
function assetDir(functionIdPrefix: string): string {
  const entry = Object.entries(resourcesOfType(synth.template, 'AWS::Lambda::Function')).find(([id]) =>
    id.startsWith(functionIdPrefix),
  );
  const s3Key = (entry?.[1].Properties?.Code as { S3Key?: string } | undefined)?.S3Key;
  if (!s3Key) throw new Error(`no asset for ${functionIdPrefix}`);
  return path.join(synth.outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
}

describe('bundles', () => {
  it('ship ingest and the step worker as ESM with DuckDB and its linux-x64 binding beside it', () => {
    for (const fn of ['ApiIngestFunction', 'UploadIngestFunction', 'EngineStepWorker']) {
      const dir = assetDir(fn);
      expect(existsSync(path.join(dir, 'index.mjs')), fn).toBe(true);
      expect(existsSync(path.join(dir, 'index.mjs.map')), fn).toBe(true);
      for (const pkg of ['@duckdb/node-api', '@duckdb/node-bindings', '@duckdb/node-bindings-linux-x64']) {
        expect(existsSync(path.join(dir, 'node_modules', pkg, 'package.json')), `${fn}: ${pkg}`).toBe(true);
      }
      expect(existsSync(path.join(dir, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node')), fn).toBe(
        true,
      );
    }
  });

  it('keep DuckDB out of the area bundles', () => {
    for (const fn of [
      'ApiCatalogFunction',
      'ApiTablesFunction',
      'ApiAuthFunction',
      'ApiAuthorizerFunction',
      'ApiPipelinesFunction',
      'ApiQueryFunction',
      'EngineFinalizer',
      'QueryQueryEvents',
    ]) {
      const dir = assetDir(fn);
      expect(readdirSync(dir).sort(), fn).toEqual(['index.mjs', 'index.mjs.map']);
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8'), fn).not.toContain('@duckdb/node-bindings');
    }
  });

  it('bundle the AWS SDK and a createRequire shim for CommonJS dependencies', () => {
    const code = readFileSync(path.join(assetDir('ApiHealthFunction'), 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as __sluiceCreateRequire } from 'node:module';")).toBe(
      true,
    );
    expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
    expect(code).toContain('HeadBucketCommand');
  });
});

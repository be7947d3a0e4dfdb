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

  it('ship the docs function with the OpenAPI document and Swagger UI’s files, offline', () => {
    const dir = assetDir('ApiDocsFunction');
    const files = ['package.json', 'swagger-ui.css', 'swagger-ui-bundle.js'];
    for (const file of files) {
      expect(existsSync(path.join(dir, 'node_modules/swagger-ui-dist', file)), file).toBe(true);
    }
    expect(readdirSync(path.join(dir, 'node_modules/swagger-ui-dist'))).not.toContain(
      'swagger-ui-bundle.js.map',
    );
    // The document is bundled as data: its path templates are in the code.
    const code = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    expect(code.includes('"/api/v1/collections/{collection_id}"')).toBe(true);
  });

  it('leave the response schemas (bin/openapi/) out of the area bundles: only the document needs them', () => {
    const areas = Object.keys(resourcesOfType(synth.template, 'AWS::Lambda::Function')).filter(
      (id) => /^Api\w+Function[0-9A-F]{8}$/.test(id) && !id.startsWith('ApiDocsFunction'),
    );
    expect(areas.length).toBeGreaterThan(10);
    for (const id of areas) {
      const code = readFileSync(path.join(assetDir(id), 'index.mjs'), 'utf8');
      // A description only bin/openapi/query.ts holds (the docs function has it inside openapi.json).
      expect(code.includes('Human-readable duration'), id).toBe(false);
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

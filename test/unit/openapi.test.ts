/**
 * The OpenAPI document: generated from the route table and the operations' zod schemas, it holds
 * every route once and nothing else, and the committed `openapi.json` is the generated one.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#core/routes';
import { OPENAPI_FILE, openApiText } from '../../bin/openapi.ts';

const text = await openApiText();
const doc = JSON.parse(text) as {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; security: unknown[]; tags: string[] }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, ...op })),
);
const documented = (path: string) => path.replace(/\{([a-z_]+)\+\}/g, '{$1}');

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with the three ways to authenticate and the problem schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'bearerJwt',
      'credentialId',
      'credentialSecret',
      'serviceToken',
    ]);
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it('has every route of the route table once, and nothing else', () => {
    expect(operations.map((o) => o.key).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${documented(r.path)}`).sort(),
    );
  });

  it('names each operation once, after its route', () => {
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['createJob', 'getJobs', 'createCollection', 'submitQuery']));
  });

  it('asks for no credentials on the public routes only', () => {
    for (const route of ROUTES) {
      const op = doc.paths[documented(route.path)]?.[route.method.toLowerCase()];
      expect(op?.security, `${route.method} ${route.path}`).toEqual(
        route.access === 'public' ? [] : expect.any(Array),
      );
      if (route.access !== 'public') expect(op?.security.length).toBe(3);
    }
  });

  it('documents request bodies and parameters from the operations’ schemas', () => {
    const create = doc.paths['/api/v1/collections']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
    };
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name']);
    const page = doc.paths['/api/v1/tables/{dataset_id}']?.get as unknown as {
      parameters: Array<{ in: string; name: string }>;
    };
    expect(page.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['path:dataset_id', 'query:page', 'query:page_size', 'query:format']),
    );
  });

  it('is the committed openapi.json (run npm run openapi after changing a route or schema)', async () => {
    expect(await readFile(OPENAPI_FILE, 'utf8')).toBe(text);
  });
});

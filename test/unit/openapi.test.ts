/**
 * The OpenAPI document: generated from the route table and the operations' zod schemas, it holds
 * every route once and nothing else, and the committed `openapi.json` is the generated one.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AREAS, ROUTES } from '#core/routes';
import { RESPONSES } from '../../bin/openapi/responses.ts';
import { OPENAPI_FILE, openApiText } from '../../bin/openapi.ts';

const text = await openApiText();
const doc = JSON.parse(text) as {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        security: unknown[];
        tags: string[];
        responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
      }
    >
  >;
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

  it('describes itself: the document and the Swagger UI page are operations of it, without credentials', () => {
    expect(doc.paths['/openapi.json']?.get?.operationId).toBe('getOpenApiDocument');
    expect(doc.paths['/docs']?.get?.operationId).toBe('getDocsPage');
    expect(doc.paths['/docs/{proxy}']?.get?.operationId).toBe('getDocsAsset');
    for (const path of ['/openapi.json', '/docs', '/docs/{proxy}'])
      expect(doc.paths[path]?.get?.security).toEqual([]);
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

  it('documents at least one success status of every operation, never a 2XX range or any JSON', () => {
    expect.hasAssertions();
    for (const op of operations) {
      const success = Object.keys(op.responses).filter((status) => status.startsWith('2'));
      expect(success.length, op.key).toBeGreaterThan(0);
      expect(
        success.every((status) => /^2\d\d$/.test(status)),
        op.key,
      ).toBe(true);
      // The trailing-slash catch-all answers as the route it names: any of their bodies.
      if (/^(GET|POST) \/api\/v1\/\{proxy\}$/.test(op.key)) continue;
      for (const status of success) {
        for (const [media, { schema }] of Object.entries(op.responses[status]?.content ?? {})) {
          expect(Object.keys(schema).length, `${op.key} ${status} ${media}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('documents responses for the operations of the route table and no others', () => {
    const routed = new Set(ROUTES.filter((r) => !r.trailingSlash).map((r) => `${r.area}.${r.operation}`));
    const documented = AREAS.flatMap((area) => Object.keys(RESPONSES[area]).map((op) => `${area}.${op}`));
    expect(documented.sort()).toEqual([...routed].sort());
  });

  it('documents the answers that are not JSON with their media types, and 201, 204 and 503', () => {
    const statusesOf = (path: string, method: string) =>
      Object.fromEntries(
        Object.entries(doc.paths[path]?.[method]?.responses ?? {}).map(([status, r]) => [
          status,
          Object.keys(r.content ?? {}),
        ]),
      );
    expect(statusesOf('/api/v1/tables/{dataset_id}', 'get')['200']).toEqual(['application/json', 'text/csv']);
    expect(statusesOf('/docs', 'get')['200']).toEqual(['text/html']);
    expect(statusesOf('/docs/{proxy}', 'get')['200']).toEqual(['text/css', 'text/javascript']);
    expect(statusesOf('/api/v1/collections', 'post')['201']).toEqual(['application/json']);
    expect(statusesOf('/api/v1/jobs/{job_id}', 'delete')['204']).toEqual([]);
    expect(statusesOf('/health', 'get')['503']).toEqual(['application/json']);
  });

  it('serves "Try it out" from the host that serves it', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
  });

  it('is the committed openapi.json (run npm run openapi after changing a route or schema)', async () => {
    expect(await readFile(OPENAPI_FILE, 'utf8')).toBe(text);
  });
});

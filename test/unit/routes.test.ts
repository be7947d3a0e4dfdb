import { describe, expect, it } from 'vitest';
import { matchRoute, PUBLIC_ROUTES, ROUTES, routeKey } from '#core/routes';

describe('the route table', () => {
  it('has one entry per method and path', () => {
    const keys = ROUTES.map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves exactly login, refresh, logout, health and the API description public', () => {
    expect(PUBLIC_ROUTES.map(routeKey).sort()).toEqual(
      [
        'GET /health',
        'POST /api/v1/auth/login',
        'POST /api/v1/auth/refresh',
        'POST /api/v1/auth/logout',
        // The OpenAPI document and Swagger UI hold no data; Data Flow's own docs are public too.
        'GET /openapi.json',
        'GET /docs',
        'GET /docs/{proxy+}',
      ].sort(),
    );
  });

  it('serves the OpenAPI document, the Swagger UI page and its files from the docs area', () => {
    for (const path of ['/openapi.json', '/docs', '/docs/swagger-ui-bundle.js', '/docs/initializer.js']) {
      const match = matchRoute('GET', path);
      expect(match && 'route' in match && match.route.area, path).toBe('docs');
    }
    const asset = matchRoute('GET', '/docs/swagger-ui.css');
    expect(asset && 'route' in asset && asset.params).toEqual({ proxy: 'swagger-ui.css' });
  });

  it('matches templates and decodes parameters', () => {
    const match = matchRoute('GET', '/api/v1/tables/ds-%ED%95%9C/schema');
    expect(match && 'route' in match && match.route.operation).toBe('getTableSchema');
    expect(match && 'route' in match && match.params).toEqual({ dataset_id: 'ds-한' });
  });

  it('tells a wrong method from an unknown path', () => {
    expect(matchRoute('PATCH', '/api/v1/collections')).toEqual({ allowed: ['POST', 'GET'] });
    expect(matchRoute('PATCH', '/api/v1/nope')).toBeUndefined();
    expect(matchRoute('GET', '/api/v1/nope', { withoutCatchAll: true })).toBeUndefined();
    expect(matchRoute('GET', '/api/v1/collections/', { withoutCatchAll: true })).toBeUndefined();
  });

  it('sends GET and POST paths no template matches to the trailing-slash catch-all', () => {
    for (const [method, path] of [
      ['POST', '/api/v1/datasets/'],
      ['POST', '/api/v1/collections/'],
      ['POST', '/api/v1/pipelines/'],
      ['GET', '/api/v1/datasets/'],
      ['GET', '/api/v1/nope'],
    ] as const) {
      const match = matchRoute(method, path);
      expect(match && 'route' in match && match.route.trailingSlash, `${method} ${path}`).toBe(true);
    }
    const bare = matchRoute('POST', '/api/v1/datasets', { withoutCatchAll: true });
    expect(bare && 'route' in bare && bare.route.operation).toBe('createDataset');
  });

  it('never lists a catch-all in the methods a path allows', () => {
    expect(matchRoute('PUT', '/api/v1/auth/me')).toEqual({ allowed: ['GET'] });
    expect(matchRoute('POST', '/api/v1/auth/me', { withoutCatchAll: true })).toEqual({ allowed: ['GET'] });
  });

  it('prefers the greedy template with the longest literal prefix', () => {
    const traces = matchRoute('GET', '/api/v1/traces/pipelines/pl-1/');
    expect(traces && 'route' in traces && traces.route.operation).toBe('tracesProxy');
    expect(traces && 'route' in traces && traces.params).toEqual({ proxy: 'pl-1/' });
    const latest = matchRoute('GET', '/api/v1/traces/pipelines/pl-1');
    expect(latest && 'route' in latest && latest.route.operation).toBe('getLatestTrace');
    const one = matchRoute('GET', '/api/v1/traces/pipelines/pl-1/batch-2');
    expect(one && 'route' in one && one.route.operation).toBe('getBatchTrace');
  });

  it('routes schema inference, the dataset upload and step traces of the D.Hub reference', () => {
    const schema = matchRoute('POST', '/api/v1/tables/schema');
    expect(schema && 'route' in schema && schema.route.operation).toBe('inferSchema');
    const upload = matchRoute('POST', '/api/v1/datasets/ds-1/upload');
    expect(upload && 'route' in upload && [upload.route.area, upload.route.operation]).toEqual([
      'ingest',
      'uploadTable',
    ]);
    const steps = matchRoute('GET', '/api/v1/traces/steps/batch-1');
    expect(steps && 'route' in steps && steps.route.operation).toBe('getStepTraces');
  });

  it('sends a trailing-slash batches path to the greedy route, as API Gateway does', () => {
    const list = matchRoute('GET', '/api/v1/batches/pl-1/');
    expect(list && 'route' in list && list.route.operation).toBe('batchesProxy');
    expect(list && 'route' in list && list.params).toEqual({ proxy: 'pl-1/' });
    const latest = matchRoute('GET', '/api/v1/batches/pl-1');
    expect(latest && 'route' in latest && latest.route.operation).toBe('getBatchByRef');
    const one = matchRoute('GET', '/api/v1/batches/pl-1/batch-2');
    expect(one && 'route' in one && one.route.operation).toBe('getBatch');
    const stop = matchRoute('PUT', '/api/v1/batches/pl-1/batch-2/stop');
    expect(stop && 'route' in stop && stop.route.operation).toBe('stopBatch');
  });
});

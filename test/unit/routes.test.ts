import { describe, expect, it } from 'vitest';
import { matchRoute, PUBLIC_ROUTES, ROUTES, routeKey } from '#core/routes';

describe('the route table', () => {
  it('has one entry per method and path', () => {
    const keys = ROUTES.map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves exactly login, refresh and health public', () => {
    expect(PUBLIC_ROUTES.map(routeKey).sort()).toEqual(
      ['GET /health', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh'].sort(),
    );
  });

  it('matches templates and decodes parameters', () => {
    const match = matchRoute('GET', '/api/v1/tables/ds-%ED%95%9C/schema');
    expect(match && 'route' in match && match.route.operation).toBe('getTableSchema');
    expect(match && 'route' in match && match.params).toEqual({ dataset_id: 'ds-한' });
  });

  it('tells a wrong method from an unknown path', () => {
    expect(matchRoute('PATCH', '/api/v1/collections')).toEqual({ allowed: ['POST', 'GET'] });
    expect(matchRoute('GET', '/api/v1/nope')).toBeUndefined();
    expect(matchRoute('GET', '/api/v1/collections/')).toBeUndefined();
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

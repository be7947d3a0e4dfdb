/**
 * The API tests' check of every answer against the OpenAPI document (bin/openapi/conformance.ts):
 * it passes what the document says and fails, naming route, status and field, what it does not.
 */
import { describe, expect, it } from 'vitest';
import { conformanceProblems, type ObservedResponse } from '../../bin/openapi/conformance.ts';

const collection = {
  id: 'col-1',
  name: 'traffic',
  description: '',
  created_at: '2026-01-02T03:04:05.678Z',
  updated_at: '2026-01-02T03:04:05.678Z',
  created_by: 'admin',
};

const answer = (observed: Partial<ObservedResponse> & Pick<ObservedResponse, 'method' | 'path'>) =>
  conformanceProblems({
    status: 200,
    contentType: 'application/json; charset=utf-8',
    text: '',
    ...observed,
  });

describe('the conformance check', () => {
  it('passes an answer the document describes, extra fields included', () => {
    expect(
      answer({
        method: 'GET',
        path: '/api/v1/collections/col-1',
        text: JSON.stringify({ ...collection, engine: 'DUCKDB' }),
      }),
    ).toEqual([]);
  });

  it('names the route, the status and the field that does not match', () => {
    const problems = answer({
      method: 'GET',
      path: '/api/v1/collections/col-1',
      text: JSON.stringify({ ...collection, created_by: 7 }),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('GET /api/v1/collections/{collection_id} (getCollection) answered 200');
    expect(problems[0]).toContain('body.created_by');
  });

  it('fails a missing field and a time that is not ISO 8601', () => {
    const { created_at: _gone, ...rest } = collection;
    const problems = answer({
      method: 'PUT',
      path: '/api/v1/collections/col-1',
      text: JSON.stringify({ ...rest, updated_at: 'yesterday' }),
    });
    expect(problems.map((p) => p.split(': ').slice(1)[0])).toEqual(['body.created_at', 'body.updated_at']);
  });

  it('checks the items inside a D.Hub list’s JSON strings', () => {
    const problems = answer({
      method: 'GET',
      path: '/api/v1/collections',
      text: JSON.stringify({
        items: { 'col-1': JSON.stringify({ ...collection, name: null }) },
        token: null,
      }),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('body.items.col-1.name');
  });

  it('fails a status the operation does not document', () => {
    const problems = answer({
      method: 'POST',
      path: '/api/v1/collections',
      status: 200,
      text: JSON.stringify(collection),
    });
    expect(problems).toEqual([
      expect.stringContaining(
        'POST /api/v1/collections (createCollection) answered 200: the document has no 200',
      ),
    ]);
    expect(
      answer({ method: 'POST', path: '/api/v1/collections', status: 201, text: JSON.stringify(collection) }),
    ).toEqual([]);
  });

  it('fails a body on a 204 and an undocumented content type', () => {
    expect(answer({ method: 'DELETE', path: '/api/v1/jobs/pl-1', status: 204, text: '' })).toEqual([]);
    expect(answer({ method: 'DELETE', path: '/api/v1/jobs/pl-1', status: 204, text: '{}' })).toEqual([
      expect.stringContaining('the document says no body'),
    ]);
    expect(
      answer({ method: 'GET', path: '/api/v1/collections/col-1', contentType: 'text/html', text: '<p>' }),
    ).toEqual([expect.stringContaining('content type text/html is not documented')]);
  });

  it('checks errors against the Problem schema', () => {
    const problem = {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No collection col-9.',
      instance: '/api/v1/collections/col-9',
      errorType: 'resource-not-found/COLLECTION',
    };
    const error = (body: unknown) =>
      answer({
        method: 'GET',
        path: '/api/v1/collections/col-9',
        status: 404,
        contentType: 'application/problem+json',
        text: JSON.stringify(body),
      });
    expect(error(problem)).toEqual([]);
    const { errorType: _gone, ...withoutType } = problem;
    expect(error(withoutType)).toEqual([expect.stringContaining('body.errorType')]);
    expect(
      answer({
        method: 'GET',
        path: '/api/v1/nope/x',
        status: 404,
        text: '<html>',
        contentType: 'text/html',
      }),
    ).toEqual([expect.stringContaining('content type text/html is not documented')]);
  });

  it('checks a trailing-slash path against the route it names', () => {
    expect(
      answer({ method: 'POST', path: '/api/v1/collections/', status: 201, text: JSON.stringify(collection) }),
    ).toEqual([]);
    expect(
      answer({ method: 'POST', path: '/api/v1/collections/', status: 201, text: JSON.stringify({ id: 1 }) }),
    ).not.toEqual([]);
  });

  it('checks non-JSON answers by media type', () => {
    const csv = { method: 'GET', path: '/api/v1/tables/ds-1', text: 'a,b\n1,2\n' };
    expect(answer({ ...csv, contentType: 'text/csv; charset=utf-8' })).toEqual([]);
    expect(answer({ ...csv, contentType: 'text/plain' })).toEqual([
      expect.stringContaining('content type text/plain is not documented'),
    ]);
  });

  it('fails an answer without a header the document requires', () => {
    const tokens = JSON.stringify({
      access_token: 'a.b.c',
      refresh_token: 'r',
      token_type: 'bearer',
      expires_in: 900,
      refresh_expires_in: 86400,
    });
    const login = { method: 'POST', path: '/api/v1/auth/login', text: tokens };
    expect(answer({ ...login, headers: new Headers({ 'set-cookie': 'refresh_token=r; HttpOnly' }) })).toEqual(
      [],
    );
    expect(answer({ ...login, headers: new Headers() })).toEqual([
      expect.stringContaining('header set-cookie'),
    ]);
  });

  it('leaves paths outside the API alone', () => {
    expect(answer({ method: 'GET', path: '/', contentType: 'text/html', text: '<!doctype html>' })).toEqual(
      [],
    );
  });
});

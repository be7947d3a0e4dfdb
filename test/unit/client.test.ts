/**
 * The client's own behaviour against a scripted fetch (no network): how it signs requests,
 * when it refreshes, and what it throws. test/api/client.test.ts covers it against a real host.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { createSluiceClient, SluiceProblem } from '../../client/index.ts';

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
  credentials: Request['credentials'];
}

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });

const problem = (status: number, extra: Record<string, unknown> = {}) =>
  json(
    status,
    {
      type: 'about:blank',
      title: status === 401 ? 'Unauthorized' : 'Bad Request',
      status,
      detail: 'no',
      instance: '/x',
      errorType: status === 401 ? 'unauthorized' : 'bad-parameter',
      ...extra,
    },
    'application/problem+json',
  );

/** A fetch that records each request and answers with the next scripted response. */
function scripted(answer: (seen: Seen, index: number) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (input: Parameters<typeof globalThis.fetch>[0]) => {
    const request = input as Request;
    const entry: Seen = {
      method: request.method,
      path: new URL(request.url).pathname,
      headers: new Headers(request.headers),
      body: await request.text(),
      credentials: request.credentials,
    };
    seen.push(entry);
    return answer(entry, seen.length - 1);
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

const tokensFor = (n: number) => ({
  access_token: `at-${n}`,
  refresh_token: `rt-${n}`,
  token_type: 'bearer',
});

describe('createSluiceClient', () => {
  it('signs calls with the access token it got from login and reports the tokens', async () => {
    const { seen, fetch } = scripted((s) =>
      s.path.endsWith('/login') ? json(200, tokensFor(1)) : json(200, { items: {} }),
    );
    const reported: unknown[] = [];
    const sluice = createSluiceClient({
      baseUrl: 'http://api.test',
      fetch,
      onTokens: (t) => reported.push(t),
    });

    const tokens = await sluice.login('admin', 'pw');
    const { data } = await sluice.api.GET('/api/v1/collections');

    expect(tokens).toEqual({ access_token: 'at-1', refresh_token: 'rt-1' });
    expect(reported).toEqual([tokens]);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ username: 'admin', password: 'pw' });
    expect(seen[1]?.headers.get('authorization')).toBe('Bearer at-1');
    expect(data).toEqual({ items: {} });
    expect(sluice.accessToken()).toBe('at-1');
  });

  it('sends service credentials as headers while it holds no access token', async () => {
    const { seen, fetch } = scripted(() => json(200, {}));
    const sluice = createSluiceClient({
      baseUrl: 'http://api.test',
      fetch,
      serviceCredentials: { id: 'cred-1', secret: 's3cret' },
    });

    await sluice.api.GET('/api/v1/auth/me');

    expect(seen[0]?.headers.get('credential-id')).toBe('cred-1');
    expect(seen[0]?.headers.get('credential-secret')).toBe('s3cret');
    expect(seen[0]?.headers.has('authorization')).toBe(false);
  });

  it('refreshes once on a 401, keeps the rotated token and retries the call with its body', async () => {
    const { seen, fetch } = scripted((s) => {
      if (s.path.endsWith('/refresh')) return json(200, tokensFor(2));
      return s.headers.get('authorization') === 'Bearer at-2' ? json(201, { id: 'col-1' }) : problem(401);
    });
    const reported: unknown[] = [];
    const sluice = createSluiceClient({
      baseUrl: 'http://api.test',
      fetch,
      accessToken: 'at-1',
      refreshToken: 'rt-1',
      onTokens: (t) => reported.push(t),
    });

    const { data } = await sluice.api.POST('/api/v1/collections', { body: { name: 'c' } });

    expect(data).toEqual({ id: 'col-1' });
    expect(seen.map((s) => s.path)).toEqual([
      '/api/v1/collections',
      '/api/v1/auth/refresh',
      '/api/v1/collections',
    ]);
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({ refresh_token: 'rt-1' });
    expect(JSON.parse(seen[2]?.body ?? '')).toEqual({ name: 'c' });
    expect(reported).toEqual([{ access_token: 'at-2', refresh_token: 'rt-2' }]);
  });

  it('spends the refresh token once when several calls meet a 401 together', async () => {
    let refreshes = 0;
    const { fetch } = scripted((s) => {
      if (s.path.endsWith('/refresh')) {
        refreshes++;
        return json(200, tokensFor(2));
      }
      return s.headers.get('authorization') === 'Bearer at-2' ? json(200, {}) : problem(401);
    });
    const sluice = createSluiceClient({ baseUrl: 'http://api.test', fetch, refreshToken: 'rt-1' });

    await Promise.all([
      sluice.api.GET('/api/v1/collections'),
      sluice.api.GET('/api/v1/datasets'),
      sluice.api.GET('/api/v1/pipelines'),
    ]);

    expect(refreshes).toBe(1);
  });

  it('throws the 401 without refreshing when it has nothing to refresh with', async () => {
    const { seen, fetch } = scripted(() => problem(401));
    const sluice = createSluiceClient({ baseUrl: 'http://api.test', fetch, accessToken: 'at-1' });

    const error = await sluice.api.GET('/api/v1/collections').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SluiceProblem);
    expect((error as SluiceProblem).status).toBe(401);
    expect(seen).toHaveLength(1);
  });

  it('throws a problem with its field errors for any other non-2xx answer', async () => {
    const errors = [{ field: 'body.name', message: 'Required' }];
    const { fetch } = scripted(() => problem(400, { detail: 'body.name: Required', errors }));
    const sluice = createSluiceClient({ baseUrl: 'http://api.test', fetch, accessToken: 'at-1' });

    const error = (await sluice.api
      .POST('/api/v1/collections', { body: {} as { name: string } })
      .catch((e: unknown) => e)) as SluiceProblem;

    expect(error).toBeInstanceOf(SluiceProblem);
    expect(error).toMatchObject({
      status: 400,
      errorType: 'bad-parameter',
      title: 'Bad Request',
      detail: 'body.name: Required',
      instance: '/x',
      errors,
    });
  });

  it('names a problem after the status when the body is not problem+json', async () => {
    const { fetch } = scripted(
      () => new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    );
    const sluice = createSluiceClient({ baseUrl: 'http://api.test', fetch });

    const error = (await sluice.api.GET('/health').catch((e: unknown) => e)) as SluiceProblem;

    expect(error).toMatchObject({ status: 502, title: 'Bad Gateway', errorType: 'http-502', errors: [] });
    expect(error.detail).toContain('bad gateway');
  });

  it('in cookie mode sends cookies, refreshes with an empty body and never holds the refresh token', async () => {
    const { seen, fetch } = scripted((s) => {
      if (s.path.endsWith('/login')) return json(200, tokensFor(1));
      if (s.path.endsWith('/refresh')) return json(200, tokensFor(2));
      return json(200, {});
    });
    const reported: unknown[] = [];
    const sluice = createSluiceClient({
      baseUrl: 'http://api.test',
      fetch,
      useRefreshCookie: true,
      onTokens: (t) => reported.push(t),
    });

    await sluice.login('admin', 'pw');
    await sluice.refresh();

    expect(seen.every((s) => s.credentials === 'include')).toBe(true);
    expect(JSON.parse(seen[1]?.body ?? '')).toEqual({});
    expect(reported).toEqual([{ access_token: 'at-1' }, { access_token: 'at-2' }]);
  });

  it('logs out with the refresh token and forgets both tokens', async () => {
    const { seen, fetch } = scripted(() => json(200, { message: 'Logged out successfully' }));
    const sluice = createSluiceClient({
      baseUrl: 'http://api.test',
      fetch,
      accessToken: 'at-1',
      refreshToken: 'rt-1',
    });

    await sluice.logout();

    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /api/v1/auth/logout']);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ refresh_token: 'rt-1' });
    expect(sluice.accessToken()).toBeUndefined();
    await expect(sluice.refresh()).rejects.toMatchObject({ status: 401 });
  });

  it('bundles for the browser: nothing it imports needs Node', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../client/index.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });

    expect(result.errors).toEqual([]);
    expect(result.outputFiles[0]?.text).toContain('createSluiceClient');
  });
});

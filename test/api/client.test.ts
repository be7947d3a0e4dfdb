/**
 * The typed client (`client/index.ts`) against the shared local host: login, rotating refresh,
 * service credentials, the 401 → refresh → retry path and problems thrown with field errors.
 */
import { describe, expect, inject, it } from 'vitest';
import { createSluiceClient, SluiceProblem, type Tokens } from '../../client/index.ts';
import { ADMIN, unique } from './harness.ts';

const baseUrl = inject('hostUrl');

async function loggedIn(onTokens?: (tokens: Tokens) => void) {
  const sluice = createSluiceClient({ baseUrl, ...(onTokens ? { onTokens } : {}) });
  const tokens = await sluice.login(ADMIN.username, ADMIN.password);
  return { sluice, tokens };
}

describe('the typed client', () => {
  it('logs in and makes typed calls with the access token', async () => {
    const { sluice, tokens } = await loggedIn();

    const { data, response } = await sluice.api.GET('/api/v1/auth/me');

    expect(tokens.access_token).toMatch(/^eyJ/);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(sluice.accessToken()).toBe(tokens.access_token);
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ username: ADMIN.username, role: 'admin' });
  });

  it('rotates the refresh token, and the server refuses the old one afterwards', async () => {
    const reported: Tokens[] = [];
    const { sluice, tokens } = await loggedIn((t) => reported.push(t));

    const renewed = await sluice.refresh();
    const reuse = await fetch(`${baseUrl}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    });

    expect(renewed.refresh_token).toEqual(expect.any(String));
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    expect(reported).toEqual([tokens, renewed]);
    expect(reuse.status).toBe(401);
  });

  it('authenticates with service credentials as headers', async () => {
    const { sluice } = await loggedIn();
    const { data } = await sluice.api.POST('/api/v1/auth/credentials', {
      body: { name: unique('cli-client'), role: 'editor' },
    });
    const created = data as { credential_id: string; credential_secret: string };
    const service = createSluiceClient({
      baseUrl,
      serviceCredentials: { id: created.credential_id, secret: created.credential_secret },
    });

    const { data: me } = await service.api.GET('/api/v1/auth/me');

    expect(me).toMatchObject({ role: 'editor', credential_id: created.credential_id });
  });

  it('answers a 401 by refreshing once and retrying the call', async () => {
    const { tokens } = await loggedIn();
    const reported: Tokens[] = [];
    const sluice = createSluiceClient({
      baseUrl,
      accessToken: 'not-a-valid-access-token',
      refreshToken: tokens.refresh_token,
      onTokens: (t) => reported.push(t),
    });
    const name = unique('client-retry');

    const { data, response } = await sluice.api.POST('/api/v1/collections', { body: { name } });

    expect(response.status).toBe(201);
    expect(data).toMatchObject({ name, id: expect.stringMatching(/^col-/) });
    expect(reported).toHaveLength(1);
    expect(sluice.accessToken()).toBe(reported[0]?.access_token);
  });

  it('throws the 401 as a problem when the refresh token is refused too', async () => {
    const sluice = createSluiceClient({
      baseUrl,
      accessToken: 'not-a-valid-access-token',
      refreshToken: 'rt-not-a-real-one.secret',
    });

    const error = await sluice.api.GET('/api/v1/collections').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SluiceProblem);
    expect(error).toMatchObject({ status: 401, title: 'Unauthorized' });
  });

  it('throws a problem that names each offending field', async () => {
    const { sluice } = await loggedIn();

    const error = await sluice.api
      .POST('/api/v1/datasets', { body: { name: '', collection_id: '' } })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SluiceProblem);
    const problem = error as SluiceProblem;
    expect(problem).toMatchObject({ status: 400, errorType: 'bad-parameter', title: 'Bad Request' });
    expect(problem.errors.map((e) => e.field).sort()).toEqual(['body.collection_id', 'body.name']);
    expect(problem.detail).toContain('body.name');
  });

  it('throws a not-found problem with the API’s errorType and instance', async () => {
    const { sluice } = await loggedIn();

    const error = await sluice.api
      .GET('/api/v1/datasets/{dataset_id}', { params: { path: { dataset_id: 'ds-doesnotexist' } } })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      status: 404,
      errorType: 'resource-not-found/DATASET',
      instance: '/api/v1/datasets/ds-doesnotexist',
    });
  });

  it('logs out: the refresh token stops working', async () => {
    const { sluice, tokens } = await loggedIn();

    await sluice.logout();
    const after = createSluiceClient({ baseUrl, refreshToken: tokens.refresh_token });

    expect(sluice.accessToken()).toBeUndefined();
    await expect(after.refresh()).rejects.toMatchObject({ status: 401 });
  });
});

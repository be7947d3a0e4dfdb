import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { ROUTES } from '#core/routes';
import { client } from './harness.ts';

const api = client(inject('hostUrl'));
const protectedRoutes = ROUTES.filter((r) => r.access !== 'public');

/** A path the route answers; a trailing-slash catch-all is tried with a collection route's slash form. */
function concretePath(route: (typeof ROUTES)[number]): string {
  if (route.trailingSlash) return '/api/v1/collections/';
  return route.path.replace(/\{[a-z_]+\}/g, 'x-1');
}

async function signed(secret: string, claims: { exp: number; role?: string }): Promise<string> {
  return new SignJWT({ name: 'admin', role: claims.role ?? 'admin', typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('sluice')
    .setAudience('sluice-api')
    .setSubject('usr-0000000000aaaaaaaaaaaa')
    .setIssuedAt(claims.exp - 900)
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret));
}

async function expectUnauthorized(token: string | undefined, headers: Record<string, string> = {}) {
  for (const route of protectedRoutes) {
    const res = await api.call(route.method, concretePath(route), {
      ...(token ? { token } : {}),
      headers,
      ...(route.method === 'POST' || route.method === 'PUT' ? { body: {} } : {}),
    });
    expect.soft(res.status, `${route.method} ${route.path}`).toBe(401);
    expect
      .soft(res.headers.get('content-type'), `${route.method} ${route.path}`)
      .toMatch(/^application\/problem\+json/);
    expect.soft(res.body.errorType).toBe('unauthorized');
  }
}

describe('every protected route', () => {
  it('answers 401 problem+json without credentials', async () => {
    await expectUnauthorized(undefined);
  });

  it('answers 401 to a malformed bearer token', async () => {
    await expectUnauthorized('not-a-token');
  });

  it('answers 401 to an expired access token signed with the real key', async () => {
    const secret = (await readFile(join(inject('dataDir'), 'secrets/jwt.key'), 'utf8')).trim();
    await expectUnauthorized(await signed(secret, { exp: Math.floor(Date.now() / 1000) - 60 }));
  });

  it('answers 401 to a token signed with another key', async () => {
    await expectUnauthorized(
      await signed('some-other-key-some-other-key-some-other-key', {
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    );
  });

  it('answers 401 to a credential id without its secret', async () => {
    await expectUnauthorized(undefined, { 'Credential-ID': 'cred-0000000000aaaaaaaaaaaa' });
  });
});

describe('public routes', () => {
  it('serves health without credentials and reports each component', async () => {
    const res = await api.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.components.dynamodb.status).toBe('ok');
    expect(res.body.components.s3.status).toBe('ok');
  });

  it('serves the OpenAPI document, the Swagger UI page and its files without credentials', async () => {
    for (const path of [
      '/openapi.json',
      '/docs',
      '/docs/initializer.js',
      '/docs/swagger-ui.css',
      '/docs/swagger-ui-bundle.js',
    ]) {
      const res = await api.get(path);
      expect(res.status, path).toBe(200);
    }
  });
});

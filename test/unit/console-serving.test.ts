/**
 * The local host serving the console beside the API (local/server.ts): built files and the
 * single-page app's routes on one origin, while every API path still reaches the route table.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, isApiPath, serverUrl } from '#local/server';

const INDEX = '<!doctype html><div id="root"></div>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

let dir: string;
let server: Server;
let url: string;
let building = false;
const reached: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-console-serving-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(tmpdir(), 'sluice-secret.txt'), 'secret');
  // Every area answers as the fallback does: a JSON 404 naming the path it got.
  const area = async (event: { rawPath: string }) => {
    reached.push(event.rawPath);
    return {
      statusCode: 404,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({ status: 404, instance: event.rawPath }),
    };
  };
  server = createApiServer({
    areas: new Proxy({}, { get: () => area }) as never,
    authorizer: (async () => ({ isAuthorized: true, context: {} })) as never,
    log: () => undefined,
    console: { dir, building: () => building },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = serverUrl(server);
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'sluice-secret.txt'), { force: true });
});

const html = { accept: 'text/html,application/xhtml+xml' };

describe('console serving', () => {
  it('answers / with index.html and the security headers', async () => {
    const res = await fetch(`${url}/`);

    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('serves hashed assets as immutable, compressed when the client accepts gzip', async () => {
    const res = await fetch(`${url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () =>
            resolve({ encoding: r.headers['content-encoding'], body: Buffer.concat(chunks) }),
          );
        }).on('error', reject),
      );
    });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe(SCRIPT);
  });

  it('answers the app routes with index.html when the browser asks for a page', async () => {
    const res = await fetch(`${url}/pipelines/pl-1/batches/batch-2`, { headers: html });

    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX);
  });

  it('leaves API paths and non-page requests to the route table', async () => {
    reached.length = 0;
    const api = await fetch(`${url}/api/v1/nothing-here`, { headers: html });
    const dataQuery = await fetch(`${url}/v1/data-query/nothing`, { headers: html });
    const script = await fetch(`${url}/catalog`, { headers: { accept: '*/*' } });
    const post = await fetch(`${url}/catalog`, { method: 'POST', headers: html });

    for (const res of [api, dataQuery, script, post]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(reached).toEqual(['/api/v1/nothing-here', '/v1/data-query/nothing', '/catalog', '/catalog']);
  });

  it('never serves a file outside the console folder', async () => {
    // An encoded slash survives URL parsing and decodes to `../` inside the path.
    const { get } = await import('node:http');
    const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      get(`${url}/..%2fsluice-secret.txt`, { headers: { accept: '*/*' } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => {
          body += c.toString();
        });
        r.on('end', () => resolve({ status: r.statusCode, body }));
      }).on('error', reject);
    });

    expect(answer.status).toBe(404);
    expect(answer.body).not.toBe('secret');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 404 });
  });

  it('says the console is being built while it is', async () => {
    await rm(join(dir, 'index.html'));
    building = true;
    try {
      const res = await fetch(`${url}/catalog`, { headers: html });

      expect(res.status).toBe(503);
      expect(await res.text()).toContain('being built');
    } finally {
      building = false;
      await writeFile(join(dir, 'index.html'), INDEX);
    }
  });

  it('knows the API paths', () => {
    expect(
      ['/api/v1/collections', '/v1/data-query/query', '/health', '/openapi.json', '/docs', '/docs/x.js'].map(
        (p) => isApiPath('GET', p),
      ),
    ).toEqual([true, true, true, true, true, true]);
    expect(['/', '/catalog', '/assets/index.js', '/apiary'].map((p) => isApiPath('GET', p))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

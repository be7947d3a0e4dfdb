/**
 * The API's description, served without credentials: `/openapi.json` is the committed document,
 * and `/docs` is Swagger UI loading its files from this host (no CDN) under a strict CSP.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { client, ROOT } from './harness.ts';

const api = client(inject('hostUrl'));

/** The `src`/`href` of the page's scripts and style sheets (not the inline empty icon). */
function linkedFiles(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)]
    .map((m) => m[1] as string)
    .filter((url) => !url.startsWith('data:'));
}

describe('GET /openapi.json', () => {
  it('answers the committed openapi.json without credentials', async () => {
    const committed = JSON.parse(await readFile(join(ROOT, 'openapi.json'), 'utf8')) as unknown;
    const res = await api.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(committed);
  });
});

describe('GET /docs', () => {
  it('answers an HTML page that loads Swagger UI and its initializer from this host', async () => {
    const res = await api.get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(linkedFiles(res.text).sort()).toEqual(
      ['/docs/initializer.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css'].sort(),
    );
    // Nothing inline: every script is a file of this origin.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/https?:\/\//);
  });

  it('sends a CSP that allows scripts from this origin only', async () => {
    const csp = (await api.get('/docs')).headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
  });

  it('serves each file the page loads with its content type, from the installed swagger-ui-dist', async () => {
    const page = await api.get('/docs');
    const types: Record<string, RegExp> = { '.css': /^text\/css/, '.js': /^text\/javascript/ };
    const files = linkedFiles(page.text);
    expect(files.length).toBe(3);
    for (const file of files) {
      const res = await api.get(file);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(
        types[file.slice(file.lastIndexOf('.'))] as RegExp,
      );
      expect(res.text.length, file).toBeGreaterThan(0);
    }
    const bundle = await api.get('/docs/swagger-ui-bundle.js');
    const installed = await readFile(join(ROOT, 'node_modules/swagger-ui-dist/swagger-ui-bundle.js'), 'utf8');
    expect(bundle.text === installed).toBe(true);
  });

  it('points Swagger UI at /openapi.json', async () => {
    const init = await api.get('/docs/initializer.js');
    expect(init.text).toContain("url: '/openapi.json'");
    expect(init.text).toContain('SwaggerUIBundle(');
  });

  it('answers 404 problem+json for a file it does not serve', async () => {
    for (const path of ['/docs/index.html', '/docs/../package.json', '/docs/swagger-ui-bundle.js.map']) {
      const res = await api.get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });
});

/**
 * Console: the built sizes (initial JS gzip: the entry script and what index.html preloads;
 * the lazy chunks apart), and the time from navigation to the first rendered rows of a
 * 1,000,000-row dataset's first page in headless Chromium, against the baseline of that page's
 * own API call (GET /tables/{id}?page=1&page_size=100) timed from Node in the same run.
 * ratio = first render / API call (medians).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ADMIN, ROOT } from '../test/api/harness.ts';
import { bigCsv, median, report, session, table, uploadViaUrl } from './common.ts';

const DIST = join(ROOT, 'console/dist');
const SAMPLES = 7;
/** First render (JS load, session refresh, catalog calls, page, grid) within 15× the bare page call. */
const TARGET = 15;
const BUDGET_KB = 300;

async function sizes() {
  if (!existsSync(join(DIST, 'index.html'))) {
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'console/vite.config.ts',
        '--logLevel',
        'warn',
      ],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
  }
  const html = await readFile(join(DIST, 'index.html'), 'utf8');
  const initial = new Set(
    [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string),
  );
  const files = (await readdir(join(DIST, 'assets'))).map((f) => `assets/${f}`);
  const measured = await Promise.all(
    files.map(async (file) => {
      const raw = await readFile(join(DIST, file));
      return { file, raw: raw.length, gzip: gzipSync(raw).length, initial: initial.has(file) };
    }),
  );
  const sum = (xs: typeof measured, key: 'raw' | 'gzip') => xs.reduce((a, x) => a + x[key], 0);
  const js = measured.filter((m) => m.file.endsWith('.js'));
  return {
    files: measured.sort((a, b) => b.gzip - a.gzip),
    initialJsGzip: sum(
      js.filter((m) => m.initial),
      'gzip',
    ),
    initialJsRaw: sum(
      js.filter((m) => m.initial),
      'raw',
    ),
    lazyJsGzip: sum(
      js.filter((m) => !m.initial),
      'gzip',
    ),
  };
}

export async function main(): Promise<void> {
  const built = await sizes();
  const kb = (n: number) => (n / 1024).toFixed(1);
  table([
    ['file', 'raw KB', 'gzip KB', 'loaded'],
    ...built.files.map((f) => [f.file, kb(f.raw), kb(f.gzip), f.initial ? 'initially' : 'lazily']),
  ]);
  console.log(
    `initial JS: ${kb(built.initialJsGzip)} KB gzip (budget ${BUDGET_KB} KB); lazy JS: ${kb(built.lazyJsGzip)} KB gzip`,
  );

  const csv = await bigCsv();
  const s = await session();
  const browser = await chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const name = `bench_console_${Date.now().toString(36)}`;
    const { datasetId } = await uploadViaUrl(s, csv, name);
    const collections = await s.api.get('/api/v1/collections?limit=1000', { token: s.token });
    const collectionId = Object.values(collections.body.items as Record<string, string>)
      .map((j) => JSON.parse(j) as { id: string; name: string })
      .find((c) => c.name === name)?.id;
    if (!collectionId) throw new Error('bench collection not found');

    const apiCall = async () => {
      const started = performance.now();
      const res = await fetch(`${s.host.url}/api/v1/tables/${datasetId}?page=1&page_size=100`, {
        headers: { authorization: `Bearer ${s.token}` },
      });
      const body = (await res.json()) as { data: unknown[] };
      if (res.status !== 200 || body.data.length !== 100) throw new Error(`page call failed: ${res.status}`);
      return performance.now() - started;
    };

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${s.host.url}/catalog`);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();

    const target = `${s.host.url}/catalog/${collectionId}/${datasetId}`;
    const firstRow = 'section[aria-label^="Rows of"] tbody tr:not(.spacer) td';
    const render = async () => {
      const started = performance.now();
      await page.goto(target);
      await page.waitForSelector(firstRow, { timeout: 60_000 });
      return performance.now() - started;
    };
    const coldRender = await render();
    const coldApi = await apiCall();
    const renders: number[] = [];
    const calls: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      renders.push(await render());
      calls.push(await apiCall());
    }
    const renderMs = median(renders);
    const apiMs = median(calls);
    table([
      ['1M-row dataset, page 1 (100 rows)', 'cold ms', `median of ${SAMPLES} ms`],
      ['console: navigation → first rows rendered', coldRender.toFixed(1), renderMs.toFixed(1)],
      ['API: GET /tables/{id}?page=1&page_size=100', coldApi.toFixed(1), apiMs.toFixed(1)],
    ]);
    report({
      bench: 'console',
      ratio: Number((renderMs / apiMs).toFixed(3)),
      target: TARGET,
      first_render_ms: Number(renderMs.toFixed(1)),
      api_page_ms: Number(apiMs.toFixed(1)),
      initial_js_gzip_kb: Number(kb(built.initialJsGzip)),
      initial_js_budget_kb: BUDGET_KB,
      lazy_js_gzip_kb: Number(kb(built.lazyJsGzip)),
    });
  } finally {
    await browser.close();
    await s.host.stop();
  }
}

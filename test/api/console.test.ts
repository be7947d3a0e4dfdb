/**
 * The web console in a real browser (Debian's chromium through playwright-core) against the
 * shared local host: sign in, catalog and CSV upload, a three-node pipeline built in the visual
 * editor (a verify problem shown and fixed), run and watched to success, its target read back,
 * a SQL query, and a viewer who sees no write controls. Each view is photographed into a folder
 * under the OS temp dir, printed at the start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, ROOT } from './harness.ts';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const url = inject('hostUrl');
const api = client(url);
const shots = join(tmpdir(), `sluice-console-screenshots-${Date.now().toString(36)}`);

/**
 * The built console. When console/dist is missing, the shared host (started before this file)
 * is already building it in the background (console/.build.lock): wait for that build, or build
 * it here when no host is at it.
 */
async function ensureBuilt(): Promise<void> {
  const index = join(ROOT, 'console/dist/index.html');
  const deadline = Date.now() + 150_000;
  while (!existsSync(index) && existsSync(join(ROOT, 'console/.build.lock')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
  }
  if (existsSync(index)) return;
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
    { cwd: ROOT, stdio: 'inherit' },
  );
}

let browser: Browser;
let page: Page;
const suffix = Date.now().toString(36);
const collection = `shop_${suffix}`;
const dataset = 'products';
const target = 'expensive';
const viewer = { username: `viewer_${suffix}`, password: 'viewer-password-for-tests' };

const CSV = [
  'id,name,price,created_at',
  '1,Widget,5.5,2024-01-15 09:00:00',
  '2,Gadget,12,2024-01-16 10:30:00',
  '3,Doohickey,30,2024-01-17 11:00:00',
  '4,Sprocket,8,2024-01-18 12:00:00',
  '5,Flange,15.25,2024-01-19 13:00:00',
  '',
].join('\n');

/** Controls in the page's accessibility tree that have no accessible name. */
async function unnamedControls(p: Page): Promise<string[]> {
  const tree = await p.locator('body').ariaSnapshot();
  return tree
    .split('\n')
    .filter((line) =>
      /^\s*- (button|textbox|combobox|checkbox|radio|link|spinbutton|tab|slider)( \[[^\]]*\])*:?$/.test(line),
    );
}

/** Photographs the view, and checks that every control on it has an accessible name. */
async function shot(name: string, p: Page = page): Promise<void> {
  await p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  expect(await unnamedControls(p), `unnamed controls on ${name}`).toEqual([]);
}

async function signIn(p: Page, username: string, password: string): Promise<void> {
  await p.goto(`${url}/catalog`);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('navigation', { name: 'Main' }).waitFor();
}

beforeAll(async () => {
  await ensureBuilt();
  await mkdir(shots, { recursive: true });
  console.log(`console screenshots: ${shots}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(20_000);
}, 180_000);

afterEach(async (context) => {
  // A failed step leaves a picture of where the page stood.
  if (context.task.result?.state === 'fail' && page) {
    await page.screenshot({
      path: join(shots, `failed-${context.task.name.slice(0, 40)}.png`),
      fullPage: true,
    });
  }
});

afterAll(async () => {
  await browser?.close();
});

describe('web console', () => {
  it('serves the console at / and keeps API paths answering JSON', async () => {
    const home = await fetch(`${url}/`);
    const unknownApi = await fetch(`${url}/api/v1/no-such-route`, { headers: { accept: 'text/html' } });
    const deepLink = await fetch(`${url}/pipelines/pl-x`, { headers: { accept: 'text/html' } });

    expect(home.status).toBe(200);
    expect(await home.text()).toContain('<div id="root">');
    expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toContain('json');
    expect(deepLink.status).toBe(200);
  });

  it('signs in with username and password, and signs out', async () => {
    await page.goto(url);
    await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
    await shot('01-sign-in');

    await signIn(page, ADMIN.username, ADMIN.password);
    await expect.poll(() => page.getByText(`${ADMIN.username} (admin)`).count()).toBe(1);
    // A reload signs in again through the HTTP-only refresh cookie.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Sluice' }).waitFor();
    await signIn(page, ADMIN.username, ADMIN.password);
  });

  it('creates a collection and a dataset and uploads a CSV with a schema preview', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Catalog', exact: true })
      .click();
    await page.getByLabel('New collection name').fill(collection);
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('link', { name: collection }).waitFor();
    await page.getByLabel('New dataset name').fill(dataset);
    await page.getByRole('button', { name: 'Create dataset' }).click();
    await page.getByRole('heading', { name: dataset }).waitFor();

    // A file dropped on the drop zone: its third line has one field too many.
    const dropped = await page.evaluateHandle(() => {
      // Runs in the page: the DOM's DataTransfer (the root tsconfig has no DOM types).
      const transfer = new (globalThis as any).DataTransfer();
      transfer.items.add(new File(['a,b\n1,2\n3,4,5\n'], 'bad.csv', { type: 'text/csv' }));
      return transfer;
    });
    await page.getByTestId('dropzone').dispatchEvent('drop', { dataTransfer: dropped });
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Line 3');
    await page
      .getByLabel('Choose a CSV file')
      .setInputFiles({ name: 'products.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    const schema = page.getByRole('table', { name: 'Inferred schema' });
    await schema.waitFor();
    expect(await schema.getByRole('row').count()).toBe(5);
    await shot('02-upload-schema-preview');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toContain('5 rows');
    await shot('03-upload-done');

    await page.getByRole('button', { name: 'Show the table' }).click();
    const grid = page.getByRole('region', { name: `Rows of ${dataset}` });
    await expect.poll(() => grid.getByRole('row').count()).toBe(6);
    expect(await grid.getByRole('columnheader').allTextContents()).toEqual([
      'idinteger',
      'namestring',
      'pricedouble',
      'created_attimestamp',
    ]);
    await shot('04-table-preview');
  });

  it('builds source → filter → target in the editor, fixes a verify problem, saves, runs and reads the target', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Pipelines', exact: true })
      .click();
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await page.getByLabel('Pipeline name').fill(`expensive_${suffix}`);
    await page.getByLabel('Collection').selectOption({ label: collection });

    await page.getByRole('button', { name: 'Add Catalog source' }).click();
    await page.locator('[data-field="database"] input').fill(collection);
    await page.locator('[data-field="table"] input').fill(dataset);
    await page.getByRole('button', { name: 'Add Filter' }).click();
    await page.locator('[data-field="filterConditionList.0.name"] input').fill('no_such_column');
    await page.locator('[data-field="filterConditionList.0.operator"] select').selectOption('GT');
    await page.locator('[data-field="filterConditionList.0.value"] input').fill('10');
    // The target is dragged from the palette onto the canvas, then wired by dragging an edge
    // from the filter's output handle to the target's input handle.
    await page
      .getByRole('button', { name: 'Add Catalog target' })
      .dragTo(page.locator('.canvas .react-flow__pane'), {
        targetPosition: { x: 200, y: 80 },
      });
    const targetNode = page.locator('.react-flow__node:has(.flow-node[data-node-name="Catalog target"])');
    await targetNode.waitFor();
    await page.getByRole('button', { name: 'Fit View' }).click();
    await page
      .locator('.react-flow__node:has(.flow-node[data-node-name="Filter"]) .react-flow__handle-right')
      .dragTo(targetNode.locator('.react-flow__handle-left'));
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(2);
    await targetNode.click();
    await page.locator('[data-field="database"] input').fill(collection);
    await page.locator('[data-field="table"] input').fill(target);

    // The filter names a column its input lacks: the problem shows on the node and on the field.
    const filterNode = page.locator('.react-flow__node .flow-node[data-node-name="Filter"]');
    await expect.poll(() => filterNode.getAttribute('class'), { timeout: 15_000 }).toContain('has-problems');
    await filterNode.click();
    const nameField = page.locator('[data-field="filterConditionList.0.name"]');
    await expect.poll(() => nameField.locator('.field-problems').textContent()).toContain('no_such_column');
    await shot('05-editor-verify-problem');

    await nameField.locator('input').fill('price');
    await expect
      .poll(() => page.getByTestId('verify-state').textContent(), { timeout: 15_000 })
      .toBe('Valid');
    expect(await filterNode.getAttribute('class')).not.toContain('has-problems');
    await page.getByRole('button', { name: 'Save version' }).click();
    await page.waitForURL(/\/pipelines\/pl-[^/]+$/);
    await page.getByRole('button', { name: /^Run/ }).waitFor();
    await expect.poll(() => page.locator('.stage-badge').count()).toBeGreaterThan(0);
    await shot('06-editor-saved-with-plan');

    await page.getByRole('button', { name: /^Run/ }).click();
    await page.waitForURL(/\/batches\/batch-/);
    const states = page.locator('.react-flow__node .flow-node');
    await expect.poll(() => states.count()).toBe(3);
    await expect
      .poll(
        async () =>
          (await states.evaluateAll((els) => els.map((e) => e.getAttribute('data-state')))).join(','),
        {
          timeout: 60_000,
        },
      )
      .toBe('success,success,success');
    await expect
      .poll(() => page.locator('.view.batch h1 + .badge').textContent(), { timeout: 30_000 })
      .toBe('completed');
    await page.getByRole('button', { name: /^Catalog target/ }).click();
    await expect
      .poll(() =>
        page.getByRole('region', { name: 'Sample rows of Catalog target' }).getByRole('row').count(),
      )
      .toBe(4);
    await shot('07-batch-success');

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Catalog', exact: true })
      .click();
    await page.getByRole('link', { name: collection }).click();
    await page.getByRole('link', { name: new RegExp(`^${target}`) }).click();
    const grid = page.getByRole('region', { name: `Rows of ${target}` });
    await expect.poll(() => grid.getByRole('row').count()).toBe(4);
    expect(await grid.getByRole('cell').allTextContents()).toEqual(
      expect.arrayContaining(['Gadget', 'Doohickey', 'Flange']),
    );
    await shot('08-target-preview');
  });

  it('runs a SQL query and shows the result grid', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'SQL', exact: true })
      .click();
    const editor = page.getByRole('textbox', { name: 'SQL query' });
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText(
      `SELECT name, price FROM ${collection}.${dataset} WHERE price > 10 ORDER BY price`,
    );
    await page.getByRole('button', { name: 'Run query' }).click();
    const grid = page.getByRole('region', { name: 'Query result' });
    await expect.poll(() => grid.getByRole('row').count(), { timeout: 30_000 }).toBe(4);
    expect(await grid.getByRole('cell').allTextContents()).toEqual([
      'Gadget',
      '12.0',
      'Flange',
      '15.25',
      'Doohickey',
      '30.0',
    ]);
    const history = page.getByRole('row', { name: /WHERE price > 10 ORDER BY price/ });
    await expect.poll(() => history.textContent()).toContain('finished');
    await shot('09-sql-result');
  });

  it('downloads the whole result of a query over 1,000 rows', async () => {
    const editor = page.getByRole('textbox', { name: 'SQL query' });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText("SELECT range AS n, 'row ' || range AS label FROM range(2500) ORDER BY n");
    await page.getByRole('button', { name: 'Run query' }).click();
    const button = page.getByRole('button', { name: 'Download CSV (2,500 rows)' });
    await button.waitFor({ timeout: 30_000 });

    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const file = join(shots, 'download.csv');
    await download.saveAs(file);

    expect(download.suggestedFilename()).toMatch(/^\d{8}-\d{6}-\w+\.csv$/);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2501);
    expect(lines[0]).toBe('"n","label"');
    expect(lines[2500]).toBe('"2499","row 2499"');
  });

  it('shows the batch list, Data Flow and the dashboard from the API', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Batches', exact: true })
      .click();
    await page.getByLabel('State').selectOption('completed');
    await page.waitForURL(/state=completed/);
    // This file's own pipeline: "any" covers the 25 most recent, which other files' runs on the
    // shared host may fill with batches that did not complete.
    await page.getByRole('combobox', { name: /^Pipeline/ }).selectOption({ label: `expensive_${suffix}` });
    await page.waitForURL(/pipeline=/);
    await expect.poll(() => page.getByRole('link', { name: /^batch-/ }).count()).toBeGreaterThan(0);
    await shot('10-batches');
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Data Flow', exact: true })
      .click();
    const job = page.getByRole('link', { name: `expensive_${suffix}` });
    await job.waitFor();
    await shot('11-dataflow-jobs');

    const token = await api.login(ADMIN.username, ADMIN.password);
    const jobId = (await job.getAttribute('href'))?.split('/').pop() as string;
    const trigger = await api.post(
      '/api/v1/triggers',
      {
        name: `nightly_${suffix}`,
        type: 'SCHEDULED',
        triggerRule: { type: 'RECURRING', interval: 'DAY', time: '03:30' },
        timezone: 'Asia/Seoul',
        target: { type: 'JOB', jobId },
      },
      { token },
    );
    expect(trigger.status, trigger.text).toBe(200);
    const workflow = await api.post(
      '/api/v1/workflows',
      { name: `flow_${suffix}`, nodes: [{ id: 1, name: 'the job', type: 'JOB', parentNodeIds: [], jobId }] },
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);
    await page.getByRole('tab', { name: 'Triggers' }).click();
    const row = page.getByRole('row', { name: new RegExp(`nightly_${suffix}`) });
    await expect.poll(() => row.textContent()).toContain('every day at 03:30 (Asia/Seoul)');
    await shot('12-dataflow-triggers');
    await row.getByRole('button', { name: `Disable trigger nightly_${suffix}` }).click();
    await row.getByRole('button', { name: `Enable trigger nightly_${suffix}` }).waitFor();
    await expect.poll(() => row.getByRole('cell').nth(4).textContent()).toBe('no');
    await page.getByRole('tab', { name: 'Workflows' }).click();
    await page.getByRole('button', { name: `flow_${suffix}` }).click();
    await expect.poll(() => page.locator('.workflow-canvas .react-flow__node').count()).toBe(1);
    await shot('13-dataflow-workflow');
    // The shared host keeps running other files' tests: leave no armed schedule behind.
    expect((await api.del(`/api/v1/workflows/${workflow.body.workflowId}`, { token })).status).toBeLessThan(
      300,
    );
    expect((await api.del(`/api/v1/triggers/${trigger.body.triggerId}`, { token })).status).toBeLessThan(300);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Dashboard', exact: true })
      .click();
    await page.getByRole('img', { name: 'Runs per day' }).waitFor();
    await shot('14-dashboard');
  });

  it('shows a viewer no write controls', async () => {
    const token = await api.login(ADMIN.username, ADMIN.password);
    const created = await api.post('/api/v1/users', { ...viewer, role: 'viewer' }, { token });
    expect(created.status, created.text).toBe(201);
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    const viewerPage = await context.newPage();
    viewerPage.setDefaultTimeout(20_000);

    await signIn(viewerPage, viewer.username, viewer.password);
    await viewerPage.getByRole('link', { name: collection }).click();
    await viewerPage.getByRole('link', { name: new RegExp(`^${dataset}`) }).click();
    await viewerPage.getByRole('region', { name: `Rows of ${dataset}` }).waitFor();
    await shot('15-viewer-catalog', viewerPage);
    const catalogWrites = await viewerPage.getByRole('button', { name: /Create|Delete|Upload/ }).count();
    const uploadTab = await viewerPage.getByRole('tab', { name: 'Upload' }).count();
    await viewerPage
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Pipelines', exact: true })
      .click();
    await viewerPage.getByRole('link', { name: `expensive_${suffix}` }).click();
    await viewerPage.locator('.react-flow__node').first().waitFor();
    await shot('16-viewer-editor', viewerPage);
    const editorWrites = await viewerPage
      .getByRole('button', { name: /Save version|^Run|^Add |Delete node/ })
      .count();
    await context.close();

    expect(catalogWrites).toBe(0);
    expect(uploadTab).toBe(0);
    expect(editorWrites).toBe(0);
  });

  it('uploads a CSV over the direct limit through a presigned URL, with progress, to a published version', async () => {
    // About 7 MB: more than one API request may carry, so the console PUTs it to the local S3.
    const rows = 105_000;
    const lines = ['id,name,price,created_at'];
    for (let i = 1; i <= rows; i++) {
      lines.push(`${i},item number ${i} with a longer name,${(i % 1000) / 4},2024-01-15 09:00:00`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'sluice-large-csv-'));
    const file = join(dir, 'large.csv');
    await writeFile(file, `${lines.join('\n')}\n`);
    const size = Buffer.byteLength(`${lines.join('\n')}\n`);
    expect(size).toBeGreaterThan(6 * 1024 * 1024);

    // A slower link (8 MB/s up) so that the bar is seen between 0 and 100%.
    const cdp = await page.context().newCDPSession(page);
    try {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Catalog', exact: true })
        .click();
      await page.getByRole('link', { name: collection }).click();
      await page.getByLabel('New dataset name').fill('large_rows');
      await page.getByRole('button', { name: 'Create dataset' }).click();
      await page.getByRole('heading', { name: 'large_rows' }).waitFor();
      await page.getByLabel('Choose a CSV file').setInputFiles(file);
      await page.getByRole('table', { name: 'Inferred schema' }).waitFor();
      expect(await page.getByText('sent straight to the storage through a presigned URL').count()).toBe(1);

      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 8 * 1024 * 1024,
      });
      // Every value the bar shows, sampled each frame from here on.
      await page.evaluate(() => {
        const seen: number[] = [];
        (globalThis as any).__progress = seen;
        const sample = () => {
          const bar = (globalThis as any).document.querySelector('progress');
          if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
          (globalThis as any).requestAnimationFrame(sample);
        };
        sample();
      });
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect
        .poll(() => page.getByRole('status').textContent(), { timeout: 120_000 })
        .toContain(`${rows.toLocaleString('en-US')} rows`);
      const seen = (await page.evaluate(() => (globalThis as any).__progress)) as number[];
      await shot('17-large-upload-done');

      expect(
        seen.some((v) => v > 0 && v < 1),
        `progress values ${seen.join(', ')}`,
      ).toBe(true);
      expect(seen[seen.length - 1]).toBe(1);
      expect(await page.getByRole('alert').count()).toBe(0);
      // The published version holds every row.
      await page.getByRole('button', { name: 'Show the table' }).click();
      await page.getByRole('region', { name: 'Rows of large_rows' }).waitFor();
      const datasetId = new URL(page.url()).pathname.split('/').pop() as string;
      const token = await api.login(ADMIN.username, ADMIN.password);
      const versions = await api.get(`/api/v1/tables/${datasetId}/versions`, { token });
      expect(versions.status, versions.text).toBe(200);
      const current = JSON.stringify(versions.body);
      expect(current).toContain(`"rows":${rows}`);
      expect(current).toContain('"current":true');

      // A large file with one bad line far past the schema sample: the ingest's problem and its
      // line number show as on the direct route, and no version is published.
      const bad = lines.slice(0, 70_001);
      bad[60_000] = `${bad[60_000]},one field too many`;
      const badFile = join(dir, 'large-bad.csv');
      await writeFile(badFile, `${bad.join('\n')}\n`);
      await page.getByRole('tab', { name: 'Upload' }).click();
      await page.getByLabel('Choose a CSV file').setInputFiles(badFile);
      await page.getByRole('table', { name: 'Inferred schema' }).waitFor();
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), { timeout: 120_000 })
        .toContain('Line 60001');
      await shot('18-large-upload-problem');
      const after = await api.get(`/api/v1/tables/${datasetId}/versions`, { token });
      expect((after.body as unknown[]).length).toBe(1);
    } finally {
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
      await cdp.detach();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

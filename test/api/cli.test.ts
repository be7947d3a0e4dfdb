/**
 * The `sluice` CLI run as a subprocess (node with the package's bin launcher) against the shared
 * local host, with its own HOME and XDG_CONFIG_HOME: the tutorial's way through from a terminal,
 * progress output in a pseudo-terminal, exit codes and problems on stderr.
 */
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, localS3, ROOT, tempDir, unique } from './harness.ts';

const host = inject('hostUrl');
const s3Url = inject('s3Url');
const LAUNCHER = join(ROOT, 'client/cli/sluice.mjs');
const TRAFFIC = join(ROOT, 'test/fixtures/traffic_data.csv');

let home = '';
let work = '';
const configFile = () => join(home, '.config', 'sluice', 'config.json');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: this file's HOME and config dir, and no SLUICE_* of the caller's. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('SLUICE_')) env[key] = value;
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '', ...extra };
}

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `sluice <args>` with stdout and stderr as pipes (not a terminal). */
const sluice = (args: string[], env: Record<string, string> = {}) =>
  runProcess(process.execPath, [LAUNCHER, ...args], cliEnv(env));

/** `sluice <args>` under a pseudo-terminal (util-linux `script`): stdout is a TTY. */
function sluiceInTerminal(args: string[]): Promise<Ran> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, LAUNCHER, ...args].map(quote).join(' ');
  return runProcess('/usr/bin/script', ['-qec', command, '/dev/null'], cliEnv({ COLUMNS: '160' }));
}

/** Runs with --json and answers the parsed stdout, failing with stderr when the exit code is not 0. */
async function json<T = any>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const ran = await sluice([...args, '--json'], env);
  expect(ran.code, `${args.join(' ')}\n${ran.stderr}`).toBe(0);
  return JSON.parse(ran.stdout) as T;
}

const names = { collection: unique('cli-col'), dataset: unique('cli-ds'), pipeline: unique('cli-pl') };
const ids: Record<string, string> = {};

describe('the sluice CLI', () => {
  beforeAll(async () => {
    home = await tempDir('sluice-cli-home-');
    work = await tempDir('sluice-cli-work-');
  });

  it('logs in and keeps the session in a config file only its owner can read', async () => {
    const ran = await sluice(['login', '--endpoint', host, '--username', ADMIN.username, '--json'], {
      SLUICE_PASSWORD: ADMIN.password,
    });

    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ endpoint: host, username: ADMIN.username, role: 'admin' });
    const file = await stat(configFile());
    expect(file.mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(configFile(), 'utf8'));
    expect(saved).toMatchObject({ endpoint: host, refresh_token: expect.any(String) });
  });

  it('creates a collection and a dataset and lists them as JSON', async () => {
    const collection = await json([
      'collections',
      'create',
      names.collection,
      '--description',
      'from the CLI',
    ]);
    const dataset = await json(['datasets', 'create', names.dataset, '--collection', names.collection]);
    const collections = await json<Array<{ id: string }>>(['collections', 'ls']);
    const datasets = await json<Array<{ id: string; name: string }>>([
      'datasets',
      'ls',
      '--collection',
      collection.id,
    ]);

    expect(collection).toMatchObject({ name: names.collection, description: 'from the CLI' });
    expect(dataset).toMatchObject({ name: names.dataset, collection_id: collection.id });
    expect(collections.map((c) => c.id)).toContain(collection.id);
    expect(datasets).toEqual([expect.objectContaining({ id: dataset.id, name: names.dataset })]);
    ids.collection = collection.id;
    ids.dataset = dataset.id;
  });

  it('uploads a CSV directly and reports the published version as JSON', async () => {
    const result = await json(['upload', names.dataset, TRAFFIC, '--collection', names.collection]);

    expect(result).toMatchObject({
      dataset_id: ids.dataset,
      via: 'direct',
      rows: 1500,
      columns: 5,
      version: 1,
    });
  });

  it('in a terminal, shows the bytes sent with their rate, then the ingest status until published', async () => {
    const ran = await sluiceInTerminal(['upload', ids.dataset ?? '', TRAFFIC, '--via', 'presigned']);

    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/Sending .* 100% \| 66\.8 kB \/ 66\.8 kB \| [\d.]+ [kMG]?B\/s/);
    expect(ran.stdout).toMatch(/Ingest upl-\S+: succeeded/);
    expect(ran.stdout).toContain(`Published version 2 of ${ids.dataset}: 1500 rows, 5 columns`);
    // A pseudo-terminal is a terminal: colours and cursor movement are allowed there.
    expect(ran.stdout).toContain('\x1b[');
  });

  it('sends a file over 4 MB through a presigned URL without being told to', async () => {
    const big = join(work, 'big.csv');
    const rows = Array.from({ length: 200_000 }, (_, i) => `${i},name-${i},${i * 1.5}`);
    await writeFile(big, `id,name,value\n${rows.join('\n')}\n`);
    const dataset = await json([
      'datasets',
      'create',
      unique('cli-big'),
      '--collection',
      ids.collection ?? '',
    ]);

    const result = await json(['upload', dataset.id, big]);

    expect((await stat(big)).size).toBeGreaterThan(4 * 1024 * 1024);
    expect(result).toMatchObject({ via: 'presigned', rows: 200_000, columns: 3, version: 1 });
    expect(result.upload_id).toMatch(/^upl-/);
  });

  it('prints no bars or escape codes when stdout is not a terminal', async () => {
    const ran = await sluice(['upload', ids.dataset ?? '', TRAFFIC, '--mode', 'append']);

    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe(
      `✔ Published version 3 of ${ids.dataset}: 1500 rows, 5 columns (66.8 kB sent directly).\n`,
    );
    expect(ran.stderr).not.toContain('\x1b[');
  });

  it('pages through a table and downloads it as CSV', async () => {
    const page = await json(['table', ids.dataset ?? '', '--page', '2', '--page-size', '5']);
    const csv = await sluice(['table', ids.dataset ?? '', '--csv']);

    expect(page.columns).toEqual(['date', 'road_name', 'direction', 'traffic_count', 'avg_speed']);
    expect(page.data).toHaveLength(5);
    expect(page.total_rows).toBe(3000);
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain('road_name');
    expect(lines).toHaveLength(3001);
  });

  it('creates and runs a pipeline, and watch follows the batch to completion with exit code 0', async () => {
    const nodesFile = join(work, 'nodes.json');
    await writeFile(
      nodesFile,
      JSON.stringify([
        {
          id: 1,
          name: 'traffic',
          type: 'SOURCE_CATALOG',
          parentNodeIds: [],
          database: names.collection,
          table: names.dataset,
        },
        {
          id: 2,
          name: 'per road',
          type: 'TRANSFORM_SQL',
          parentNodeIds: [1],
          sourceNameList: [{ parentId: 1, newName: 't' }],
          sql: 'select road_name, sum(traffic_count) as total from t group by road_name',
        },
        {
          id: 3,
          name: 'totals',
          type: 'TARGET_CATALOG',
          parentNodeIds: [2],
          database: names.collection,
          table: 'totals',
          updateType: 'OVERWRITE',
        },
      ]),
    );
    const pipeline = await json([
      'pipelines',
      'create',
      names.pipeline,
      '--collection',
      names.collection,
      '--nodes',
      nodesFile,
    ]);
    const started = await json(['pipelines', 'run', names.pipeline]);

    const watched = await sluice(['batches', 'watch', started.batch_id, '--interval', '100']);

    expect(pipeline).toMatchObject({ status: 'valid', version: 1 });
    const plan = await json(['pipelines', 'plan', names.pipeline]);
    expect(plan).toMatchObject({ pipeline_id: pipeline.id, version: 1 });
    expect(plan.stages.flatMap((stage: any) => stage.nodes.map((n: any) => n.name))).toEqual([
      'traffic',
      'per road',
      'totals',
    ]);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`${started.batch_id}: completed`);
    expect(watched.stdout).toMatch(/traffic: success 3,000 rows \(p0=1,500 p1=1,500\)/);
    expect(watched.stdout).toMatch(/totals: success 10 rows/);
    const batches = await json<Array<{ id: string; status: string }>>(['batches', 'ls', names.pipeline]);
    expect(batches[0]).toMatchObject({ id: started.batch_id, status: 'completed' });
    ids.pipeline = pipeline.id;
  });

  it('in a terminal, watch draws the batch with each step’s state and rows per partition', async () => {
    const ran = await sluiceInTerminal(['batches', 'watch', names.pipeline]);

    expect(ran.code, ran.stdout).toBe(0);
    expect(ran.stdout).toMatch(new RegExp(`Batch batch-\\S+ of ${names.pipeline} v1: \\S*completed`));
    expect(ran.stdout).toMatch(/✔\S* traffic +\S*success\s*\S* +3,000 rows \(p0=1,500 p1=1,500\)/);
  });

  it('watch exits non-zero when the batch fails', async () => {
    const nodesFile = join(work, 'failing.json');
    await writeFile(
      nodesFile,
      JSON.stringify([
        {
          id: 1,
          name: 'traffic',
          type: 'SOURCE_CATALOG',
          parentNodeIds: [],
          database: names.collection,
          table: names.dataset,
        },
        {
          id: 2,
          name: 'boom',
          type: 'TRANSFORM_SQL',
          parentNodeIds: [1],
          sourceNameList: [{ parentId: 1, newName: 't' }],
          sql: "select error('boom') as x from t",
        },
      ]),
    );
    const name = unique('cli-failing');
    await json(['pipelines', 'create', name, '--collection', names.collection, '--nodes', nodesFile]);

    const ran = await sluice(['pipelines', 'run', name, '--watch', '--interval', '100']);

    expect(ran.code).toBe(3);
    expect(ran.stdout).toMatch(/: failed/);
    expect(ran.stderr).toMatch(/ended failed/);
    const failed = await json(['batches', 'show', name]);
    expect(failed.status).toBe('failed');
    const rerun = await json(['batches', 'rerun', failed.id]);
    expect(rerun).toMatchObject({ rerun_of: failed.id, pipeline_id: failed.pipeline_id });
  });

  it('fails with the problem’s title and detail and exit code 1 for an unknown dataset', async () => {
    const ran = await sluice(['table', 'ds-doesnotexist']);

    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain('Error: Not Found (404 resource-not-found/DATASET)');
    expect(ran.stderr).toContain('ds-doesnotexist');
  });

  it('prints each field error of a refused request', async () => {
    const ran = await sluice(['datasets', 'create', '', '--collection', ids.collection ?? '']);

    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('Error: Bad Request (400 bad-parameter)');
    expect(ran.stderr).toMatch(/ {2}- body\.name: /);
  });

  it('prints the problem as JSON on stderr with --json', async () => {
    const ran = await sluice(['datasets', 'ls', '--collection', 'no such collection', '--json']);

    expect(ran.code).toBe(1);
    expect(JSON.parse(ran.stderr)).toMatchObject({ error: { status: 404, title: 'Not Found' } });
  });

  it('exits with code 2 on a usage error', async () => {
    const missing = await sluice(['upload', ids.dataset ?? '']);
    const unknown = await sluice(['collections', 'rename']);

    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'file'");
    expect(unknown.code).toBe(2);
  });

  it('runs a query and writes its result as CSV with --out', async () => {
    const out = join(work, 'totals.csv');
    const sql = `select road_name, sum(traffic_count) as total from "${names.dataset}" group by road_name order by road_name`;

    const result = await json(['query', sql, '--database', names.collection, '--out', out]);

    // The totals from the fixture itself: the table holds the file twice (overwrite, then append).
    const totals = new Map<string, number>();
    for (const line of (await readFile(TRAFFIC, 'utf8')).trim().split('\n').slice(1)) {
      const [, road = '', , count = '0'] = line.split(',');
      totals.set(road, (totals.get(road) ?? 0) + 2 * Number(count));
    }
    const expected = [...totals.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([road, total]) => `"${road}","${total}"`);
    expect(result).toMatchObject({ state: 'FINISHED', rows: totals.size, file: out });
    expect((await readFile(out, 'utf8')).trimEnd().split('\n')).toEqual(['"road_name","total"', ...expected]);
  });

  it('writes a result over 1,000 rows through the download route, identical to the stored result', async () => {
    const out = join(work, 'all.csv');
    const sql = `select * from "${names.collection}"."${names.dataset}" order by all`;

    // No S3 endpoint or AWS credentials: the API hands out a presigned URL of the stored file.
    const result = await json(['query', sql, '--out', out]);

    const key = (result.result as string).replace(/^s3:\/\/sluice-results\//, '');
    const stored = await localS3(s3Url).send(new GetObjectCommand({ Bucket: 'sluice-results', Key: key }));
    const written = await readFile(out, 'utf8');
    expect(written.trimEnd().split('\n')).toHaveLength(3001);
    expect(written).toBe(await stored.Body?.transformToString());
  });

  it('in a terminal, shows the query’s progress and then the first page', async () => {
    const ran = await sluiceInTerminal(['query', 'select 42 as answer']);

    expect(ran.code, ran.stdout).toBe(0);
    expect(ran.stdout).toMatch(/Query .* 100% \| FINISHED/);
    expect(ran.stdout).toMatch(/│ 42 +│/);
  });

  it('shows the first page of a query result as a table', async () => {
    const ran = await sluice([
      'query',
      `select count(*) as n from "${names.dataset}"`,
      '--database',
      names.collection,
    ]);

    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/│ n {4}│/);
    expect(ran.stdout).toMatch(/│ 3000 │/);
  });

  it('refreshes an expired access token and saves the rotated refresh token', async () => {
    const before = JSON.parse(await readFile(configFile(), 'utf8'));
    await writeFile(configFile(), JSON.stringify({ ...before, access_token: 'expired.or.revoked' }), {
      mode: 0o600,
    });

    const ran = await sluice(['pipelines', 'ls', '--json']);

    expect(ran.code, ran.stderr).toBe(0);
    const after = JSON.parse(await readFile(configFile(), 'utf8'));
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(after.access_token).not.toBe('expired.or.revoked');
    expect((await stat(configFile())).mode & 0o777).toBe(0o600);
    const reuse = await client(host).post('/api/v1/auth/refresh', { refresh_token: before.refresh_token });
    expect(reuse.status).toBe(401);
  });

  it('lists jobs, workflows and triggers', async () => {
    const jobs = await json<Array<{ jobId: string }>>(['jobs', 'ls']);
    const workflows = await json(['workflows', 'ls']);
    const triggers = await json(['triggers', 'ls']);

    expect(jobs.map((j) => j.jobId)).toContain(ids.pipeline);
    expect(Array.isArray(workflows)).toBe(true);
    expect(Array.isArray(triggers)).toBe(true);
  });

  it('works with service credentials from the environment, without a login', async () => {
    const api = client(host);
    const token = await api.login(ADMIN.username, ADMIN.password);
    const created = await api.post(
      '/api/v1/auth/credentials',
      { name: unique('cli'), role: 'viewer' },
      { token },
    );
    expect(created.status, created.text).toBe(201);

    const list = await json<Array<{ id: string }>>(['collections', 'ls', '--endpoint', host], {
      SLUICE_CREDENTIAL_ID: created.body.credential_id,
      SLUICE_CREDENTIAL_SECRET: created.body.credential_secret,
      XDG_CONFIG_HOME: join(work, 'empty-config'),
    });

    expect(list.map((c) => c.id)).toContain(ids.collection);
  });

  it('logs out: the tokens are forgotten and commands ask for a login', async () => {
    const before = JSON.parse(await readFile(configFile(), 'utf8'));

    const ran = await sluice(['logout']);
    const after = await sluice(['collections', 'ls']);

    expect(ran.code, ran.stderr).toBe(0);
    const saved = JSON.parse(await readFile(configFile(), 'utf8'));
    expect(saved).toEqual({ endpoint: host, username: ADMIN.username });
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('Not logged in');
    const reuse = await client(host).post('/api/v1/auth/refresh', { refresh_token: before.refresh_token });
    expect(reuse.status).toBe(401);
  });
});

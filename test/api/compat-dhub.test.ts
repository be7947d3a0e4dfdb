/**
 * The D.Hub reference pages beyond the tutorial, request by request (masked ids replaced by
 * real ones): Authentication (refresh token in an HTTP-only cookie), Traces, Tables (download,
 * schema inference, versions), the client page's dataset upload with `files`, and the
 * trailing-slash collection routes. Each test asserts the fields the reference documents.
 */

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers, sqlOverDataset } from './catalog-helpers.ts';
import { ADMIN, type ApiResponse, client, tempDir, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));

let token: string;
const { newCollection, newDataset } = catalogHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** The Set-Cookie values of a response, by cookie name. */
function setCookies(res: ApiResponse): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) out.set(line.slice(0, line.indexOf('=')), line);
  return out;
}

/** The value a Set-Cookie line gives its cookie. */
function cookieValue(line: string | undefined): string {
  expect(line).toBeDefined();
  const pair = (line as string).split(';')[0] as string;
  return decodeURIComponent(pair.slice(pair.indexOf('=') + 1));
}

function attributes(line: string | undefined): string[] {
  return (line ?? '').split(/;\s*/).slice(1);
}

const withCookie = (value: string, headers: Record<string, string> = {}) => ({
  headers: { cookie: `refresh_token=${encodeURIComponent(value)}`, ...headers },
});

async function createUserWithEmail() {
  const username = unique('dhub');
  const email = `${username}@example.com`;
  const password = `${username}-password`;
  const res = await api.post('/api/v1/users', { username, email, password, role: 'editor' }, { token });
  expect(res.status, res.text).toBe(201);
  return { email, password };
}

function multipart(field: string, files: Array<[string, string | Buffer]>): FormData {
  const form = new FormData();
  for (const [name, content] of files) form.append(field, new Blob([content]), name);
  return form;
}

// ---------------------------------------------------------------------------------------------
// Authentication API

describe('Authentication API: the refresh token as an HTTP-only cookie', () => {
  it('login ({email, password}) answers {access_token, token_type} and sets the refresh cookie', async () => {
    const user = await createUserWithEmail();

    const res = await api.post('/api/v1/auth/login', { email: user.email, password: user.password });

    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('bearer');
    expect(res.body.access_token.split('.')).toHaveLength(3);
    const cookie = setCookies(res).get('refresh_token');
    expect(cookieValue(cookie)).toBe(res.body.refresh_token);
    expect(attributes(cookie).sort()).toEqual(
      ['HttpOnly', 'Max-Age=2592000', 'Path=/api/v1/auth', 'SameSite=Strict'].sort(),
    );
  });

  it('marks the cookie Secure when the request came over HTTPS through a proxy', async () => {
    const res = await api.post(
      '/api/v1/auth/login',
      { username: ADMIN.username, password: ADMIN.password },
      { headers: { 'x-forwarded-proto': 'https' } },
    );
    expect(attributes(setCookies(res).get('refresh_token'))).toContain('Secure');
  });

  it('refresh with no body reads the cookie, answers a new access token and rotates the cookie', async () => {
    const user = await createUserWithEmail();
    const login = await api.post('/api/v1/auth/login', { email: user.email, password: user.password });
    const first = cookieValue(setCookies(login).get('refresh_token'));

    const res = await api.call('POST', '/api/v1/auth/refresh', withCookie(first));

    expect(res.status, res.text).toBe(200);
    expect(res.body.token_type).toBe('bearer');
    const me = await api.get('/api/v1/auth/me', { token: res.body.access_token });
    expect(me.status).toBe(200);
    const rotated = setCookies(res).get('refresh_token');
    expect(cookieValue(rotated)).not.toBe(first);
    expect(cookieValue(rotated)).toBe(res.body.refresh_token);
    expect(attributes(rotated)).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/api/v1/auth']),
    );
    // The rotated cookie works once more; the first one is spent.
    const next = await api.call('POST', '/api/v1/auth/refresh', withCookie(cookieValue(rotated)));
    expect(next.status).toBe(200);
  });

  it('refuses a spent cookie, a missing token and a garbled cookie with 401', async () => {
    const login = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const first = cookieValue(setCookies(login).get('refresh_token'));
    expect((await api.call('POST', '/api/v1/auth/refresh', withCookie(first))).status).toBe(200);

    const replay = await api.call('POST', '/api/v1/auth/refresh', withCookie(first));
    const missing = await api.call('POST', '/api/v1/auth/refresh');
    const garbled = await api.call('POST', '/api/v1/auth/refresh', withCookie('not-a-token'));

    for (const res of [replay, missing, garbled]) {
      expect(res.status).toBe(401);
      expect(res.body.errorType).toBe('unauthorized');
    }
    expect(missing.body.detail).toMatch(/missing/);
  });

  it('keeps the body form, which also sets the cookie, and lets a body token win over a cookie', async () => {
    const login = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });

    const res = await api.post(
      '/api/v1/auth/refresh',
      { refresh_token: login.body.refresh_token },
      withCookie('rt-00000000000000000000000000.garbage'),
    );

    expect(res.status, res.text).toBe(200);
    expect(res.body.refresh_token).not.toBe(login.body.refresh_token);
    expect(cookieValue(setCookies(res).get('refresh_token'))).toBe(res.body.refresh_token);
  });

  it('logout with only the cookie (no access token) ends the session and clears the cookie', async () => {
    const login = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const refreshToken = cookieValue(setCookies(login).get('refresh_token'));

    const res = await api.call('POST', '/api/v1/auth/logout', withCookie(refreshToken));

    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ message: 'Logged out successfully' });
    const cleared = setCookies(res).get('refresh_token');
    expect(cookieValue(cleared)).toBe('');
    expect(attributes(cleared)).toEqual(
      expect.arrayContaining(['Max-Age=0', 'Path=/api/v1/auth', 'HttpOnly']),
    );
    expect((await api.call('POST', '/api/v1/auth/refresh', withCookie(refreshToken))).status).toBe(401);
  });

  it('logout with the body form still works, with or without an access token', async () => {
    const login = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });

    const res = await api.post('/api/v1/auth/logout', { refresh_token: login.body.refresh_token });

    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Logged out successfully');
    const refresh = await api.post('/api/v1/auth/refresh', { refresh_token: login.body.refresh_token });
    expect(refresh.status).toBe(401);
    // Logging out again, or with nothing to log out, is not an error.
    expect((await api.call('POST', '/api/v1/auth/logout')).status).toBe(200);
  });

  it('refuses the cookie on a request a browser marks as cross-site (403), never the body form', async () => {
    const login = await api.post('/api/v1/auth/login', {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    const refreshToken = cookieValue(setCookies(login).get('refresh_token'));
    const crossSite = { 'sec-fetch-site': 'cross-site' };

    const viaCookie = await api.call('POST', '/api/v1/auth/refresh', withCookie(refreshToken, crossSite));
    const logout = await api.call('POST', '/api/v1/auth/logout', withCookie(refreshToken, crossSite));
    const sameOrigin = await api.call(
      'POST',
      '/api/v1/auth/refresh',
      withCookie(refreshToken, { 'sec-fetch-site': 'same-origin' }),
    );

    expect(viaCookie.status).toBe(403);
    expect(logout.status).toBe(403);
    expect(sameOrigin.status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Traces API

const SALES_CSV = 'region,qty\nnorth,3\nsouth,5\nnorth,2\neast,10\n';

async function runPipeline(pipelineId: string) {
  const run = await api.post(`/api/v1/pipelines/${pipelineId}/run`, {}, { token });
  expect(run.status, run.text).toBe(200);
  const batch = await until(
    'the batch to finish',
    async () => (await api.get(`/api/v1/batches/${pipelineId}/${run.body.batch_id}`, { token })).body,
    (b) => ['completed', 'failed', 'stop'].includes(b.status),
  );
  return batch as { id: string; status: string; name: string; deployment: string };
}

async function salesPipeline(sql = 'SELECT region, qty FROM sales WHERE qty > 2') {
  const col = await newCollection('traces');
  const ds = await newDataset(col, 'sales', SALES_CSV);
  const res = await api.post(
    '/api/v1/pipelines',
    {
      name: unique('daily-etl'),
      collection_id: col,
      nodes: sqlOverDataset({ collection: col, dataset: ds, sql, input: 'sales' }),
    },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

function expectTraceObject(trace: any, batch: { id: string; name: string; deployment: string }) {
  expect(Object.keys(trace)).toEqual(
    expect.arrayContaining(['id', 'name', 'deployment', 'state', 'start_time', 'end_time']),
  );
  expect(trace).toMatchObject({ id: batch.id, name: batch.name, deployment: batch.deployment });
  expect(trace.start_time).toBeTypeOf('number');
  expect(trace.end_time).toBeGreaterThanOrEqual(trace.start_time);
  for (const step of Object.values(trace.state.steps) as any[]) {
    expect(Object.keys(step)).toEqual(
      expect.arrayContaining(['state', 'offsets', 'comment', 'stacktrace', 'start_time', 'end_time']),
    );
  }
}

describe('Traces API', () => {
  let pipelineId: string;
  let older: Awaited<ReturnType<typeof runPipeline>>;
  let latest: Awaited<ReturnType<typeof runPipeline>>;

  beforeAll(async () => {
    pipelineId = await salesPipeline();
    older = await runPipeline(pipelineId);
    latest = await runPipeline(pipelineId);
    expect([older.status, latest.status]).toEqual(['completed', 'completed']);
  });

  it('GET /traces/pipelines/{pipeline_id} answers the latest batch as the documented trace object', async () => {
    const res = await api.get(`/api/v1/traces/pipelines/${pipelineId}`, { token });

    expect(res.status, res.text).toBe(200);
    expectTraceObject(res.body, latest);
    expect(res.body.state.state).toBe('completed');
    expect(Object.keys(res.body.state.steps)).toEqual(['extract', 'transform']);
    expect(res.body.state.steps.extract).toMatchObject({
      state: 'completed',
      offsets: { records: 4 },
      comment: null,
      stacktrace: null,
    });
    expect(res.body.state.steps.transform).toMatchObject({ state: 'completed', offsets: { records: 3 } });
    const { extract, transform } = res.body.state.steps;
    expect(extract.start_time).toBeGreaterThanOrEqual(res.body.start_time);
    expect(transform.end_time).toBeLessThanOrEqual(res.body.end_time);
    expect(extract.end_time).toBeGreaterThanOrEqual(extract.start_time);
  });

  it('GET /traces/pipelines/{pipeline_id}/ lists the history newest first, items keyed by batch id', async () => {
    const res = await api.get(`/api/v1/traces/pipelines/${pipelineId}/`, { token });

    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body.items)).toEqual([latest.id, older.id]);
    expectTraceObject(res.body.items[older.id], older);
    expect(res.body.token).toBeNull();
  });

  it('GET /traces/pipelines/{pipeline_id}/?limit=1 pages the history', async () => {
    const first = await api.get(`/api/v1/traces/pipelines/${pipelineId}/?limit=1`, { token });
    const second = await api.get(
      `/api/v1/traces/pipelines/${pipelineId}/?limit=1&token=${first.body.token}`,
      { token },
    );

    expect(Object.keys(first.body.items)).toEqual([latest.id]);
    expect(first.body.token).toBeTypeOf('string');
    expect(Object.keys(second.body.items)).toEqual([older.id]);
  });

  it('GET /traces/pipelines/{pipeline_id}/{batch_id} answers that batch', async () => {
    const res = await api.get(`/api/v1/traces/pipelines/${pipelineId}/${older.id}`, { token });

    expect(res.status, res.text).toBe(200);
    expectTraceObject(res.body, older);
    const history = await api.get(`/api/v1/traces/pipelines/${pipelineId}/`, { token });
    expect(res.body).toEqual(history.body.items[older.id]);
  });

  it('GET /traces/steps/{batch_id} gives every step with its rows, logs and sample', async () => {
    const res = await api.get(`/api/v1/traces/steps/${latest.id}`, { token });

    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: latest.id, pipeline_id: pipelineId, state: 'completed' });
    expect(Object.keys(res.body.steps)).toEqual(['extract', 'transform']);
    expect(res.body.steps.transform).toMatchObject({
      state: 'completed',
      stacktrace: null,
      rows_in: 4,
      rows_out: 3,
      node_type: 'TRANSFORM_SQL',
      sample: {
        columns: ['region', 'qty'],
        rows: [
          ['north', 3],
          ['south', 5],
          ['east', 10],
        ],
      },
    });
    expect(Array.isArray(res.body.steps.transform.logs)).toBe(true);
  });

  it('puts a failed step’s message in stacktrace, never a stack', async () => {
    const failing = await salesPipeline('SELECT no_such_column FROM sales');
    const batch = await runPipeline(failing);
    expect(batch.status).toBe('failed');

    const res = await api.get(`/api/v1/traces/pipelines/${failing}`, { token });

    expect(res.body.state.state).toBe('failed');
    expect(res.body.state.steps.transform.state).toBe('failed');
    expect(res.body.state.steps.transform.stacktrace).toMatch(/no_such_column/);
    expect(res.body.state.steps.transform.stacktrace).not.toMatch(/\n|\s+at /);
  });

  it('answers 404 for a pipeline without batches and for an unknown batch', async () => {
    const col = await newCollection('traces');
    const idle = await api.post('/api/v1/pipelines', { name: unique('idle'), collection_id: col }, { token });

    const latestRes = await api.get(`/api/v1/traces/pipelines/${idle.body.id}`, { token });
    const oneRes = await api.get(`/api/v1/traces/pipelines/${pipelineId}/batch-does-not-exist`, { token });
    const stepsRes = await api.get('/api/v1/traces/steps/batch-does-not-exist', { token });

    expect([latestRes.status, oneRes.status, stepsRes.status]).toEqual([404, 404, 404]);
    const empty = await api.get(`/api/v1/traces/pipelines/${idle.body.id}/`, { token });
    expect(empty.body).toEqual({ items: {}, token: null });
  });
});

// ---------------------------------------------------------------------------------------------
// Tables API

const PRODUCTS_CSV = 'id,name,price\n1,Product A,10000\n2,Product B,20000\n';

describe('Tables API: GET /tables/{table_id}?format=', () => {
  let productsId: string;

  beforeAll(async () => {
    productsId = await newDataset(await newCollection('tables'), 'products', PRODUCTS_CSV);
  });

  it('format=csv downloads the whole table, exactly as the reference shows it', async () => {
    const res = await api.get(`/api/v1/tables/${productsId}?format=csv`, { token });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="products\.csv"/);
    expect(res.headers.get('x-total-rows')).toBe('2');
    expect(res.text).toBe(PRODUCTS_CSV);
  });

  it('format=json answers the rows as objects, exactly as the reference shows them', async () => {
    const res = await api.get(`/api/v1/tables/${productsId}?format=json`, { token });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual([
      { id: 1, name: 'Product A', price: 10000 },
      { id: 2, name: 'Product B', price: 20000 },
    ]);
  });

  it('with page and page_size downloads that page only', async () => {
    const csv = await api.get(`/api/v1/tables/${productsId}?format=csv&page=2&page_size=1`, { token });
    const json = await api.get(`/api/v1/tables/${productsId}?format=json&page=1&page_size=1`, { token });
    const past = await api.get(`/api/v1/tables/${productsId}?format=csv&page=5&page_size=10`, { token });

    expect(csv.text).toBe('id,name,price\n2,Product B,20000\n');
    expect(json.body).toEqual([{ id: 1, name: 'Product A', price: 10000 }]);
    expect(past.text).toBe('id,name,price\n');
  });

  it('keeps the tutorial’s page (no format) exactly as it was', async () => {
    const res = await api.get(`/api/v1/tables/${productsId}?page=1&page_size=10`, { token });

    expect(res.body).toEqual({
      columns: ['id', 'name', 'price'],
      data: [
        [1, 'Product A', 10000],
        [2, 'Product B', 20000],
      ],
      total_rows: 2,
      page: 1,
      page_size: 10,
      version: 1,
    });
  });

  it('writes values a CSV reader gets back unchanged: quotes, separators, line breaks, NULLs, Korean', async () => {
    const col = await newCollection('tables');
    const tricky = 'name,note,qty\n"Kim, Minji","say ""hi""",1\n이서연,"two\nlines",\nplain,,3\n';
    const ds = await newDataset(col, 'tricky', tricky);

    const res = await api.get(`/api/v1/tables/${ds}?format=csv`, { token });

    expect(res.text).toBe(tricky);
    const copy = await newDataset(col, 'copy', res.text);
    const [a, b] = await Promise.all(
      [ds, copy].map(
        async (id) => (await api.get(`/api/v1/tables/${id}?page=1&page_size=10`, { token })).body,
      ),
    );
    expect(b.data).toEqual(a.data);
  });

  it('answers an empty download for a dataset without data', async () => {
    const res = await api.post(
      '/api/v1/datasets',
      { name: unique('empty'), collection_id: await newCollection('tables') },
      { token },
    );
    const csv = await api.get(`/api/v1/tables/${res.body.id}?format=csv`, { token });
    const json = await api.get(`/api/v1/tables/${res.body.id}?format=json`, { token });
    expect([csv.status, csv.text]).toEqual([200, '']);
    expect(json.body).toEqual([]);
  });

  it('refuses formats it does not serve with 400 naming the field', async () => {
    const res = await api.get(`/api/v1/tables/${productsId}?format=parquet`, { token });

    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('query.format');
  });

  it('answers 413 with the way out when the whole table is more than one response can carry', async () => {
    const col = await newCollection('tables');
    const created = await api.post('/api/v1/datasets', { name: 'big', collection_id: col }, { token });
    const ds = created.body.id as string;
    const row = `${'x'.repeat(90)},`;
    const big = `text,n\n${Array.from({ length: 60_000 }, (_, i) => `${row}${i}`).join('\n')}\n`;
    const url = await api.post(`/api/v1/tables/${ds}/upload-url`, {}, { token });
    expect((await fetch(url.body.url, { method: 'PUT', body: big })).status).toBe(200);
    await until(
      'the upload to be ingested',
      async () => (await api.get(`/api/v1/tables/${ds}/uploads/${url.body.upload_id}`, { token })).body,
      (u) => u.status === 'succeeded' || u.status === 'failed',
    );

    const whole = await api.get(`/api/v1/tables/${ds}?format=csv`, { token });
    const page = await api.get(`/api/v1/tables/${ds}?format=csv&page=60&page_size=1000`, { token });
    // Rows 49000-49999 span two of the part's row groups (16,384 rows each).
    const across = await api.get(`/api/v1/tables/${ds}?format=csv&page=50&page_size=1000`, { token });

    expect(whole.status).toBe(413);
    expect(whole.body.errorType).toBe('payload-too-large');
    expect(whole.body.detail).toMatch(/page_size/);
    expect(whole.body.detail).toMatch(/Data Query/);
    expect(page.status).toBe(200);
    expect(page.text.split('\n').at(-2)).toBe(`${'x'.repeat(90)},59999`);
    const lines = across.text.split('\n');
    expect(lines).toHaveLength(1002);
    expect([lines[0], lines[1], lines[1000]]).toEqual(['text,n', `${row}49000`, `${row}49999`]);
  });
});

const SCHEMA_CSV = [
  'id,name,price,created_at',
  '1,Widget,9.5,2024-01-15 09:00:00',
  '2,,12,2024-01-16 10:30:00',
  '3,Gadget,,',
].join('\n');

describe('Tables API: POST /tables/schema', () => {
  it('infers {fields: [{name, type, nullable}]} from a CSV in `files`', async () => {
    const res = await api.call('POST', '/api/v1/tables/schema?format=csv', {
      token,
      raw: multipart('files', [['data.csv', SCHEMA_CSV]]),
    });

    expect(res.status, res.text).toBe(200);
    expect(res.body.fields.map(({ name, type, nullable }: any) => ({ name, type, nullable }))).toEqual([
      { name: 'id', type: 'int64', nullable: false },
      { name: 'name', type: 'string', nullable: true },
      { name: 'price', type: 'double', nullable: true },
      { name: 'created_at', type: 'timestamp', nullable: true },
    ]);
    expect(res.body.fields.map((f: any) => f.sluice_type)).toEqual([
      'integer',
      'string',
      'double',
      'timestamp',
    ]);
    expect(res.body).toMatchObject({
      format: 'csv',
      rows: 3,
      delimiter: ',',
      header: true,
      encoding: 'utf-8',
    });
  });

  it('detects the format when none is given and reads a Parquet footer', async () => {
    const dir = await tempDir('sluice-schema-');
    const file = join(dir, 'data.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT 1::BIGINT AS id, 'a' AS name, 1.5::DOUBLE AS price, TIMESTAMP '2024-01-15 09:00:00' AS created_at, DATE '2024-01-15' AS day, true AS ok) TO '${file}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();
    const bytes = await readFile(file);
    await rm(dir, { recursive: true, force: true });

    const res = await api.call('POST', '/api/v1/tables/schema', {
      token,
      raw: multipart('files', [['data.parquet', bytes]]),
    });

    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ format: 'parquet', rows: 1 });
    expect(res.body.fields.map(({ name, type }: any) => [name, type])).toEqual([
      ['id', 'int64'],
      ['name', 'string'],
      ['price', 'double'],
      ['created_at', 'timestamp'],
      ['day', 'date32'],
      ['ok', 'bool'],
    ]);
  });

  it('explains a bad file with its line, and refuses a body that is not multipart', async () => {
    const bad = await api.call('POST', '/api/v1/tables/schema', {
      token,
      raw: multipart('files', [['bad.csv', 'a,b\n1,2\n3,4,5\n']]),
    });
    const notMultipart = await api.post('/api/v1/tables/schema', { files: 'a,b' }, { token });

    expect(bad.status).toBe(400);
    expect(bad.body.line).toBe(3);
    expect(notMultipart.status).toBe(415);
  });
});

describe('Tables API: GET /tables/{table_id}/versions', () => {
  it('answers the version history as the reference lists it, newest first', async () => {
    const col = await newCollection('versions');
    const ds = await newDataset(col, 'history', PRODUCTS_CSV);
    expect((await api.upload(ds, 'id,name,price\n3,Product C,30000\n', token, '?mode=append')).status).toBe(
      200,
    );

    const res = await api.get(`/api/v1/tables/${ds}/versions`, { token });

    expect(res.status).toBe(200);
    expect(
      res.body.map(({ version, operation, operationParameters, readVersion }: any) => ({
        version,
        operation,
        operationParameters,
        readVersion,
      })),
    ).toEqual([
      { version: 2, operation: 'WRITE', operationParameters: { mode: 'Append' }, readVersion: 1 },
      { version: 1, operation: 'WRITE', operationParameters: { mode: 'Overwrite' }, readVersion: null },
    ]);
    for (const v of res.body) expect(v.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(res.body[0]).toMatchObject({ rows: 3, added_rows: 1, current: true });
    // The appended version has two parts; downloads read across them.
    const whole = await api.get(`/api/v1/tables/${ds}?format=csv`, { token });
    const spanning = await api.get(`/api/v1/tables/${ds}?format=csv&page=1&page_size=3`, { token });
    expect(whole.text).toBe(`${PRODUCTS_CSV}3,Product C,30000\n`);
    expect(spanning.text).toBe(whole.text);
  });
});

// ---------------------------------------------------------------------------------------------
// Datasets: the client page's upload, and the trailing-slash collection routes

describe('POST /datasets/{dataset_id}/upload (multipart `files`)', () => {
  it('uploads a CSV as the tables upload does', async () => {
    const col = await newCollection('upload');
    const created = await api.post('/api/v1/datasets', { name: 'via-files', collection_id: col }, { token });

    const res = await api.call('POST', `/api/v1/datasets/${created.body.id}/upload`, {
      token,
      raw: multipart('files', [['data.csv', PRODUCTS_CSV]]),
    });

    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ message: 'Upload successful', rows: 2, columns: 3 });
    const table = await api.get(`/api/v1/tables/${created.body.id}?format=csv`, { token });
    expect(table.text).toBe(PRODUCTS_CSV);
  });

  it('accepts `files` on the tables upload too, and refuses two files in one request', async () => {
    const col = await newCollection('upload');
    const created = await api.post('/api/v1/datasets', { name: 'two', collection_id: col }, { token });

    const one = await api.call('POST', `/api/v1/tables/${created.body.id}/upload`, {
      token,
      raw: multipart('files', [['a.csv', 'a\n1\n']]),
    });
    const two = await api.call('POST', `/api/v1/datasets/${created.body.id}/upload`, {
      token,
      raw: multipart('files', [
        ['a.csv', 'a\n1\n'],
        ['b.csv', 'a\n2\n'],
      ]),
    });

    expect(one.status, one.text).toBe(200);
    expect(two.status).toBe(400);
    expect(two.body.errors[0].field).toBe('files');
  });
});

describe('trailing-slash collection routes', () => {
  it('POST /datasets/, /collections/ and /pipelines/ create as without the slash', async () => {
    const collection = await api.post('/api/v1/collections/', { name: unique('slash') }, { token });
    expect(collection.status, collection.text).toBe(201);
    expect(collection.body.id).toMatch(/^col-/);

    const dataset = await api.post(
      '/api/v1/datasets/',
      { name: 'customer_transactions', collection_id: collection.body.id },
      { token },
    );
    const pipeline = await api.post(
      '/api/v1/pipelines/',
      { name: unique('daily-etl'), collection_id: collection.body.id },
      { token },
    );

    expect(dataset.status, dataset.text).toBe(201);
    expect(dataset.body).toMatchObject({ name: 'customer_transactions', collection_id: collection.body.id });
    expect(pipeline.status, pipeline.text).toBe(201);
    expect(pipeline.body.id).toMatch(/^pl-/);
    const list = await api.get(`/api/v1/datasets/?collection_id=${collection.body.id}`, { token });
    expect(Object.keys(list.body.items)).toEqual([dataset.body.id]);
    expect((await api.get(`/api/v1/pipelines/${pipeline.body.id}/`, { token })).body.id).toBe(
      pipeline.body.id,
    );
  });

  it('checks the role and the body of the route it stands for', async () => {
    const username = unique('viewer');
    await api.post('/api/v1/users', { username, password: `${username}-pw-123`, role: 'viewer' }, { token });
    const viewer = await api.login(username, `${username}-pw-123`);

    const forbidden = await api.post('/api/v1/collections/', { name: unique('slash') }, { token: viewer });
    const invalid = await api.post('/api/v1/datasets/', { name: 'no collection' }, { token });
    const anonymous = await api.post('/api/v1/collections/', { name: unique('slash') });

    expect(forbidden.status).toBe(403);
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: any) => e.field)).toContain('body.collection_id');
    expect(anonymous.status).toBe(401);
  });

  it('answers 404 and 405 for other paths as before', async () => {
    const unknown = await api.post('/api/v1/nothing-here/', {}, { token });
    const wrongMethod = await api.post('/api/v1/auth/me', {}, { token });

    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });
});

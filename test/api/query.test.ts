/**
 * Data Query end to end against the shared local host: statements run on DuckDB over the
 * datasets' Parquet, results land in the local S3 as `.csv` + `.csv.metadata`, and the API
 * serves state, stats, result pages, history, abort and data sources as seed 003 shows them.
 *
 * The shared host names its built-in data source `test_datasource` and grants `test-bucket`, so
 * the seed's examples run as written. Collections made here have unique names (the host is
 * shared), except `test_database`, the seed's, which this file alone uses.
 */
import { request } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, localS3, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));
const s3 = localS3(inject('s3Url'));

const SOURCE = 'test_datasource';
const DQ = '/v1/data-query';
const FINAL = ['FINISHED', 'FAILED', 'ABORTED'];

let token: string;
const { newDataset } = catalogHelpers(api, () => token);
/** Service credentials of the admin, as the seed's cURL examples authenticate. */
let credentials: Record<string, string>;

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
  const created = await api.post('/api/v1/auth/credentials', { name: unique('dq') }, { token });
  expect(created.status, created.text).toBe(201);
  credentials = {
    'Credential-ID': created.body.credential_id,
    'Credential-Secret': created.body.credential_secret,
  };
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function collection(name: string): Promise<string> {
  const res = await api.post('/api/v1/collections', { name }, { token });
  if (res.status === 409) {
    const list = await api.get('/api/v1/collections?limit=1000', { token });
    const found = Object.values(list.body.items as Record<string, string>)
      .map((t) => JSON.parse(t) as { id: string; name: string })
      .find((c) => c.name === name);
    if (!found) throw new Error(`collection ${name} exists but is not listed`);
    return found.id;
  }
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function submit(query: string, headers: Record<string, string> = {}, auth = { token }) {
  const res = await api.post(
    `${DQ}/query`,
    { query, bucketName: 'test-bucket', path: 'data_query/result' },
    { ...auth, headers },
  );
  expect(res.status, res.text).toBe(200);
  return res.body as { queryId: string; state: string; storageUrl: string };
}

async function result(
  queryId: string,
  page = 0,
  auth: { token?: string; headers?: Record<string, string> } = { token },
) {
  return until(
    `query ${queryId} to end`,
    async () => {
      const res = await api.get(`${DQ}/query/${queryId}?page=${page}`, auth);
      expect(res.status, res.text).toBe(200);
      return res.body;
    },
    (b) => FINAL.includes(b.queryInfo.state),
  );
}

async function run(query: string, headers: Record<string, string> = {}) {
  const { queryId } = await submit(query, headers);
  return result(queryId);
}

async function readObject(bucket: string, key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

const NATION_CSV = [
  'nationkey,name,regionkey',
  '0,ALGERIA,0',
  '1,ARGENTINA,1',
  '2,BRAZIL,1',
  '3,CANADA,1',
  '4,EGYPT,4',
  '',
].join('\n');
const REGION_CSV = ['regionkey,name', '0,AFRICA', '1,AMERICA', '4,MIDDLE EAST', ''].join('\n');

const today = () => {
  const d = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}`;
};

// ---------------------------------------------------------------------------------------------

describe('seed 003 examples', () => {
  let queryId: string;

  beforeAll(async () => {
    const db = await collection('test_database');
    const list = await api.get(`/api/v1/datasets?collection_id=${db}&limit=100`, { token });
    const names = Object.values(list.body.items as Record<string, string>).map((t) => JSON.parse(t).name);
    if (!names.includes('nation')) await newDataset(db, 'nation', NATION_CSV);
    if (!names.includes('region')) await newDataset(db, 'region', REGION_CSV);
  });

  it('runs a query with X-Data-Source / X-Database defaults and a fully qualified name', async () => {
    // Act: the seed's request, with its lower-case headers and its credentials.
    const res = await api.post(
      `${DQ}/query`,
      {
        query: 'select * from nation, test_datasource.test_database.region limit 100',
        bucketName: 'test-bucket',
        path: 'data_query/result',
      },
      { headers: { ...credentials, 'x-data-source': SOURCE, 'x-database': 'test_database' } },
    );

    // Assert
    expect(res.status, res.text).toBe(200);
    expect(res.body.queryId).toMatch(/^\d{8}-\d{6}-[A-Za-z0-9]{10}$/);
    expect(res.body.state).toBe('QUEUED');
    expect(res.body.storageUrl).toBe(`data_query/result/${today()}`);
    queryId = res.body.queryId;

    const body = await result(queryId, 0, { headers: credentials });
    expect(body.queryInfo.state, JSON.stringify(body.queryInfo)).toBe('FINISHED');
    expect(body.totalElements).toBe(15);
    expect(body.columnData).toEqual([
      { name: 'nationkey', index: 1, type: 'bigint' },
      { name: 'name', index: 2, type: 'varchar' },
      { name: 'regionkey', index: 3, type: 'bigint' },
      // Repeated names are made unique, as in the result file's header.
      { name: 'regionkey_1', index: 4, type: 'bigint' },
      { name: 'name_1', index: 5, type: 'varchar' },
    ]);
    expect(body.queryData).toHaveLength(15);
    for (const row of body.queryData) for (const v of row) expect(typeof v).toBe('string');
  });

  it('answers the result with state, stats, the query text and storage, and stores .csv + .metadata', async () => {
    // Act: the seed's GET ?page=0
    const res = await api.get(`${DQ}/query/${queryId}?page=0`, { headers: credentials });

    // Assert
    expect(res.status).toBe(200);
    const info = res.body.queryInfo;
    expect(info).toMatchObject({
      queryId,
      state: 'FINISHED',
      queryTextPreview: 'select * from nation, test_datasource.test_database.region limit 100',
      storageUrl: `data_query/result/${today()}`,
      storeType: 'BASIC',
      isStored: true,
    });
    expect(info.queryStats).toMatchObject({
      progressPercentage: 100,
      inputDataPositions: 8,
      outputPositions: 15,
    });
    for (const key of ['inputDataSize', 'outputDataSize'])
      expect(info.queryStats[key]).toMatch(/^\d+(\.\d+)?(B|KB|MB)$/);
    for (const key of ['queryExecutionTime', 'elapsedTime', 'queuedTime', 'planningTime'])
      expect(info.queryStats[key]).toMatch(/^\d+(\.\d+)?(ms|s|m|h)$/);
    expect(info.queryStats.completedAt).toBeGreaterThanOrEqual(info.queryStats.createdAt);
    expect(res.body).toMatchObject({
      totalPages: 1,
      totalElements: 15,
      number: 0,
      size: 100,
      numberOfElements: 15,
    });

    const folder = `data_query/result/${today()}`;
    const csv = await readObject('test-bucket', `${folder}/${queryId}.csv`);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('"nationkey","name","regionkey","regionkey_1","name_1"');
    expect(lines).toHaveLength(16);
    const metadata = JSON.parse(await readObject('test-bucket', `${folder}/${queryId}.csv.metadata`));
    expect(metadata.columns.map((c: { name: string }) => c.name)).toEqual([
      'nationkey',
      'name',
      'regionkey',
      'regionkey_1',
      'name_1',
    ]);
  });

  it('lists queries filtered by state, sorted by elapsed time, a page of three (Spring page shape)', async () => {
    // Act: the seed's list request
    const res = await api.get(
      `${DQ}/query?page=0&size=3&sort=elapsedTime,desc&states=FAILED&states=FINISHED`,
      { headers: credentials },
    );

    // Assert
    expect(res.status, res.text).toBe(200);
    expect(res.body.content.length).toBeGreaterThanOrEqual(1);
    expect(res.body.content.length).toBeLessThanOrEqual(3);
    for (const q of res.body.content) {
      expect(['FAILED', 'FINISHED']).toContain(q.state);
      expect(Object.keys(q).sort()).toEqual(
        [
          'queryId',
          'queryTextPreview',
          'state',
          'createdAt',
          'elapsedTime',
          'inputDataSize',
          'creatorName',
          'storageUrl',
          'errorMessage',
        ].sort(),
      );
    }
    expect(res.body.pageable).toEqual({
      pageNumber: 0,
      pageSize: 3,
      sort: { sorted: true, unsorted: false, empty: false },
      offset: 0,
      paged: true,
      unpaged: false,
    });
    expect(res.body).toMatchObject({ first: true, size: 3, number: 0, empty: false });
    expect(res.body.totalPages).toBe(Math.ceil(res.body.totalElements / 3));
    const mine = res.body.content.find((q: { queryId: string }) => q.queryId === queryId);
    if (mine) expect(mine.storageUrl).toBe(`test-bucket/data_query/result/${today()}`);
  });

  it('aborts with the seed form (PUT /query/{id}) and answers 409 for an ended query', async () => {
    // Act
    const res = await api.put(`${DQ}/query/${queryId}`, undefined, { headers: credentials });
    const again = await api.put(`${DQ}/query/${queryId}/abort`, undefined, { headers: credentials });

    // Assert: it had finished already.
    expect(res.status).toBe(409);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
  });

  it('lists data sources and registers a MySQL source once (the seed GET-with-body lists)', async () => {
    // Arrange
    const body = {
      dataSourceType: 'MYSQL',
      dataSourceName: 'test_mysql',
      description: 'test mysql',
      instanceId: 'fbc16e9a-6352-11ef-952c-0a27e22384db',
      mysqlUser: 'admin',
      mysqlPassword: 'YWRtaW4K',
    };

    // Act
    const created = await api.post(`${DQ}/data-source`, body, { headers: credentials });
    const duplicate = await api.post(`${DQ}/data-source`, body, { headers: credentials });
    const listed = await api.get(`${DQ}/data-source`, { headers: credentials });
    // The seed's registration example is sent with -X GET: a GET never changes anything.
    const withBody = await getWithBody(`${DQ}/data-source`, credentials, JSON.stringify(body));

    // Assert
    expect(created.status, created.text).toBe(200);
    expect(duplicate.status).toBe(409);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: SOURCE, dataSourceType: 'DATA_CATALOG' }),
        { name: 'test_mysql', description: 'test mysql', dataSourceType: 'MYSQL' },
      ]),
    );
    expect(withBody.status).toBe(200);
    expect(withBody.body).toEqual(listed.body);
    expect(JSON.stringify(listed.body)).not.toContain('YWRtaW4K');
  });

  it('refuses a bad data source: name rules and a password that is not base64', async () => {
    const res = await api.post(
      `${DQ}/data-source`,
      {
        dataSourceType: 'MYSQL',
        dataSourceName: 'No',
        instanceId: 'i',
        mysqlUser: 'u',
        mysqlPassword: '***',
      },
      { token },
    );
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.dataSourceName', 'body.mysqlPassword']));
  });

  it('fails a query on the MySQL source locally with a clear message', async () => {
    const body = await run('select * from test_mysql.shop.orders');
    expect(body.queryInfo.state).toBe('FAILED');
    expect(body.queryInfo.errorMessage).toMatch(/federated sources .* AWS deployment/);
  });
});

describe('queries over uploaded datasets', () => {
  let db: string;
  let dbName: string;

  beforeAll(async () => {
    dbName = unique('sales');
    db = await collection(dbName);
    const rows = ['region,product,qty,price'];
    const regions = ['서울', '부산', '대구'];
    for (let i = 0; i < 250; i++) rows.push(`${regions[i % 3]},p${i % 5},${i},${(i % 7) + 0.5}`);
    await newDataset(db, 'orders', `${rows.join('\n')}\n`);
  });

  it('groups by with exact rows, types and values as strings', async () => {
    // Act
    const body = await run(
      `SELECT region, count(*) AS n, sum(qty) AS total FROM orders GROUP BY region ORDER BY region`,
      { 'X-Data-Source': SOURCE, 'X-Database': dbName },
    );

    // Assert: 250 rows over 3 regions: i % 3 = 0, 1, 2 → 84, 83, 83 rows.
    expect(body.queryInfo.state, body.queryInfo.errorMessage).toBe('FINISHED');
    expect(body.columnData).toEqual([
      { name: 'region', index: 1, type: 'varchar' },
      { name: 'n', index: 2, type: 'bigint' },
      { name: 'total', index: 3, type: 'decimal(38,0)' },
    ]);
    const sum = (r: number) =>
      Array.from({ length: 250 }, (_, i) => i)
        .filter((i) => i % 3 === r)
        .reduce((a, b) => a + b, 0);
    expect(body.queryData).toEqual([
      ['대구', '83', String(sum(2))],
      ['부산', '83', String(sum(1))],
      ['서울', '84', String(sum(0))],
    ]);
  });

  it('serves 100 rows a page over three pages and refuses page 10 with a pointer to the file', async () => {
    // Arrange
    const { queryId } = await submit(`SELECT qty FROM "${dbName}".orders ORDER BY qty`, {
      'X-Data-Source': SOURCE,
    });
    await result(queryId);

    // Act
    const pages = await Promise.all(
      [0, 1, 2, 3].map((p) => api.get(`${DQ}/query/${queryId}?page=${p}`, { token })),
    );
    const tenth = await api.get(`${DQ}/query/${queryId}?page=10`, { token });

    // Assert
    expect(pages.map((p) => p.body.numberOfElements)).toEqual([100, 100, 50, 0]);
    expect(pages.map((p) => p.body.totalPages)).toEqual([3, 3, 3, 3]);
    expect(pages.flatMap((p) => p.body.queryData.map((r: string[]) => Number(r[0])))).toEqual(
      Array.from({ length: 250 }, (_, i) => i),
    );
    expect(tenth.status).toBe(400);
    expect(tenth.body.detail).toMatch(/\.csv/);
  });

  it('fails a syntax error with the engine’s message, and a name that resolves to nothing naming it', async () => {
    const bad = await run(`SELEC region FROM "${dbName}".orders`, { 'X-Data-Source': SOURCE });
    const missing = await run(`SELECT * FROM "${dbName}".nowhere`, { 'X-Data-Source': SOURCE });
    const column = await run(`SELECT colour FROM "${dbName}".orders`, { 'X-Data-Source': SOURCE });

    expect(bad.queryInfo.state).toBe('FAILED');
    expect(bad.queryInfo.errorMessage).toMatch(/syntax error/i);
    expect(missing.queryInfo.state).toBe('FAILED');
    expect(missing.queryInfo.errorMessage).toContain(`${dbName}.nowhere`);
    expect(column.queryInfo.state).toBe('FAILED');
    expect(column.queryInfo.errorMessage).toMatch(/colour/);
    expect(column.queryInfo.errorMessage).not.toMatch(/sluice_t\d|\/tmp\/|at .*\.ts/);
    expect(column.queryInfo.isStored).toBe(false);
  });

  it('aborts a long query: ABORTED, and no .csv is stored or claimed', async () => {
    // Arrange: a cross join that keeps DuckDB busy for minutes.
    const { queryId, storageUrl } = await submit(
      `SELECT sum(hash(a.range * b.range)) FROM orders, range(1000000) a, range(1000000) b`,
      { 'X-Data-Source': SOURCE, 'X-Database': dbName },
    );
    await until(
      'the query to run',
      async () => (await api.get(`${DQ}/query/${queryId}`, { token })).body.queryInfo.state,
      (s) => s === 'RUNNING',
    );

    // Act
    const abort = await api.put(`${DQ}/query/${queryId}/abort`, undefined, { token });
    const body = await result(queryId);

    // Assert
    expect(abort.status, abort.text).toBe(200);
    expect(body.queryInfo.state).toBe('ABORTED');
    expect(body.queryInfo.isStored).toBe(false);
    expect(body.queryData).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await keysUnder('test-bucket', `${storageUrl}/${queryId}`)).toEqual([]);
  });

  it('stores the plan of an EXPLAIN like any other result', async () => {
    const body = await run(`EXPLAIN SELECT region FROM "${dbName}".orders`, { 'X-Data-Source': SOURCE });
    expect(body.queryInfo.state, body.queryInfo.errorMessage).toBe('FINISHED');
    expect(body.queryInfo.isStored).toBe(true);
    expect(body.columnData.map((c: { name: string }) => c.name)).toEqual(['explain_key', 'explain_value']);
    expect(body.queryData.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(body.queryData)).not.toMatch(/sluice_t\d|\/tmp\//);
  });

  it('answers SHOW and DESCRIBE as text, and CREATE / DROP SCHEMA change the catalog', async () => {
    const schema = unique('made_by_sql').replaceAll('-', '_');
    const tables = await run(`SHOW TABLES FROM ${SOURCE}."${dbName}"`);
    const columns = await run(`DESCRIBE "${dbName}".orders`, { 'X-Data-Source': SOURCE });
    const created = await run(`CREATE SCHEMA ${SOURCE}.${schema}`);
    const schemas = await run('SHOW SCHEMAS', { 'X-Data-Source': SOURCE });
    const dropped = await run(`DROP SCHEMA ${schema}`, { 'X-Data-Source': SOURCE });
    const after = await run('SHOW SCHEMAS', { 'X-Data-Source': SOURCE });

    expect(tables.queryInfo).toMatchObject({ state: 'FINISHED', storeType: 'TEXT', isStored: false });
    expect(tables.queryData).toEqual([['orders']]);
    expect(columns.queryData).toEqual([
      ['region', 'varchar'],
      ['product', 'varchar'],
      ['qty', 'bigint'],
      ['price', 'double'],
    ]);
    expect(created.queryInfo).toMatchObject({ state: 'FINISHED', isStored: false });
    expect(schemas.queryData.flat()).toContain(schema);
    expect(dropped.queryInfo.state).toBe('FINISHED');
    expect(after.queryData.flat()).not.toContain(schema);
  });

  it('refuses statements that write files or change settings, and scripts of several statements', async () => {
    for (const query of [
      "COPY (SELECT 1) TO '/tmp/x.csv'",
      'INSTALL httpfs',
      'SELECT 1; SELECT 2',
      "ATTACH '/tmp/x.db'",
    ]) {
      const res = await api.post(`${DQ}/query`, { query, bucketName: 'test-bucket', path: 'r' }, { token });
      expect(res.status, query).toBe(400);
      expect(res.body.errors[0].field).toBe('body.query');
    }
    const files = await run("SELECT * FROM read_csv('/etc/passwd')");
    expect(files.queryInfo.state).toBe('FAILED');
    expect(files.queryInfo.errorMessage).toMatch(/disabled|Permission/i);
  });
});

describe('buckets, history and who sees what', () => {
  it('answers 404 for a bucket that does not exist and 499 for one this deployment may not use', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'not-granted-bucket' })).catch(() => undefined);
    const missing = await api.post(
      `${DQ}/query`,
      { query: 'SELECT 1', bucketName: 'no-such-bucket-here', path: 'r' },
      { token },
    );
    const denied = await api.post(
      `${DQ}/query`,
      { query: 'SELECT 1', bucketName: 'not-granted-bucket', path: 'r' },
      { token },
    );
    const viaConfig = await api.post(
      `${DQ}/query`,
      { query: 'SELECT 1 AS one', resultConfig: { bucketName: 'sluice-results', path: 'mine' } },
      { token },
    );
    expect(missing.status).toBe(404);
    expect(denied.status).toBe(499);
    expect(viaConfig.status, viaConfig.text).toBe(200);
    const body = await result(viaConfig.body.queryId);
    expect(body.queryData).toEqual([['1']]);
  });

  it('shows a user only their own queries; an admin sees all; filters and every sort field work', async () => {
    // Arrange: an editor with one query of their own.
    const username = unique('analyst');
    const user = await api.post(
      '/api/v1/users',
      { username, password: 'analyst-password-1', role: 'editor' },
      { token },
    );
    expect(user.status, user.text).toBe(201);
    const theirs = await api.login(username, 'analyst-password-1');
    const { queryId: mine } = await submit('SELECT 42 AS answer');
    const { queryId: own } = await submit('SELECT 7 AS seven', {}, { token: theirs });
    await result(mine);
    await result(own, 0, { token: theirs });

    // Act
    const notMine = await api.get(`${DQ}/query/${mine}`, { token: theirs });
    const abortOther = await api.put(`${DQ}/query/${mine}/abort`, undefined, { token: theirs });
    const theirList = await api.get(`${DQ}/query?size=100`, { token: theirs });
    const adminList = await api.get(`${DQ}/query?size=1000&creatorName=${username}`, { token });
    const byId = await api.get(`${DQ}/query?queryId=${mine}`, { token });

    // Assert
    expect(notMine.status).toBe(404);
    expect(abortOther.status).toBe(404);
    expect(theirList.body.content.map((q: { queryId: string }) => q.queryId)).toEqual([own]);
    expect(adminList.body.content.map((q: { queryId: string }) => q.queryId)).toEqual([own]);
    expect(adminList.body.content[0].creatorName).toBe(username);
    expect(byId.body.content.map((q: { queryId: string }) => q.queryId)).toEqual([mine]);

    const fields = [
      'queryId',
      'queryTextPreview',
      'state',
      'createdAt',
      'elapsedTime',
      'inputDataSize',
      'creatorName',
      'storageUrl',
    ];
    for (const field of fields) {
      for (const dir of ['asc', 'desc']) {
        const res = await api.get(`${DQ}/query?size=1000&sort=${field},${dir}`, { token });
        expect(res.status, `${field},${dir}`).toBe(200);
        expect(res.body.sort.sorted).toBe(true);
        const values = res.body.content.map((q: Record<string, unknown>) => q[field]);
        const key = (v: unknown) =>
          field === 'elapsedTime' ? toMs(String(v)) : field === 'inputDataSize' ? toBytes(String(v)) : v;
        const sorted = [...values].sort((a, b) => {
          const x = key(a) as string | number;
          const y = key(b) as string | number;
          return x < y ? -1 : x > y ? 1 : 0;
        });
        if (dir === 'desc') sorted.reverse();
        expect(values.map(key), `${field},${dir}`).toEqual(sorted.map(key));
      }
    }
    const badSort = await api.get(`${DQ}/query?sort=password,asc`, { token });
    expect(badSort.status).toBe(400);
    const badState = await api.get(`${DQ}/query?states=DONE`, { token });
    expect(badState.status).toBe(400);
  });

  it('answers 404 for an unknown query and 401 without credentials', async () => {
    expect((await api.get(`${DQ}/query/20240101-000000-AAAAAAAAAA`, { token })).status).toBe(404);
    expect((await api.get(`${DQ}/query`)).status).toBe(401);
    expect(
      (await api.post(`${DQ}/query`, { query: 'SELECT 1', bucketName: 'test-bucket', path: 'r' })).status,
    ).toBe(401);
  });
});

/** A GET that carries a body, as `curl -X GET --data-raw` sends it (fetch refuses to). */
function getWithBody(path: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request(
      new URL(path, inject('hostUrl')),
      {
        method: 'GET',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function toMs(text: string): number {
  const m = /^([\d.]+)(ms|s|m|h)$/.exec(text);
  if (!m) return Number.NaN;
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}

function toBytes(text: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB|TB|PB)$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB', 'TB', 'PB'].indexOf(m[2] as string);
}

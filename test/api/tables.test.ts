import iconv from 'iconv-lite';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique } from './harness.ts';

const api = client(inject('hostUrl'));
let token: string;
let collectionId: string;

async function newDataset(): Promise<string> {
  const res = await api.post(
    '/api/v1/datasets',
    { name: unique('ds'), collection_id: collectionId },
    { token },
  );
  expect(res.status).toBe(201);
  return res.body.id;
}

async function page(datasetId: string, query = 'page=1&page_size=100') {
  const res = await api.get(`/api/v1/tables/${datasetId}?${query}`, { token });
  expect(res.status).toBe(200);
  return res.body as { columns: string[]; data: unknown[][]; total_rows: number };
}

async function waitForUpload(datasetId: string, uploadId: string) {
  for (let i = 0; i < 200; i++) {
    const res = await api.get(`/api/v1/tables/${datasetId}/uploads/${uploadId}`, { token });
    expect(res.status).toBe(200);
    if (res.body.status === 'succeeded' || res.body.status === 'failed') return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('upload did not finish');
}

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
  const res = await api.post('/api/v1/collections', { name: unique('tables') }, { token });
  collectionId = res.body.id;
});

describe('CSV upload', () => {
  it('types each column: integers and doubles as numbers, booleans, dates and timestamps', async () => {
    const ds = await newDataset();
    const csv =
      'id,price,active,day,at,code,name\n1,1.5,true,2026-03-01,2026-03-01 09:30:00,007,"Kim, Minji"\n2,-2,false,2026-03-02,2026-03-02T10:00:00,010,이서연\n';
    const up = await api.upload(ds, csv, token);
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ message: 'Upload successful', rows: 2, columns: 7 });
    const body = await page(ds);
    expect(body.data).toEqual([
      [1, 1.5, true, '2026-03-01', '2026-03-01 09:30:00', '007', 'Kim, Minji'],
      [2, -2, false, '2026-03-02', '2026-03-02 10:00:00', '010', '이서연'],
    ]);
    const schema = await api.get(`/api/v1/tables/${ds}/schema`, { token });
    expect(schema.body.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'price', type: 'double' },
      { name: 'active', type: 'boolean' },
      { name: 'day', type: 'date' },
      { name: 'at', type: 'timestamp' },
      { name: 'code', type: 'string' },
      { name: 'name', type: 'string' },
    ]);
  });

  it('reads semicolon, tab and pipe delimiters, CRLF, a BOM and quoted newlines', async () => {
    for (const [delim, name] of [
      [';', 'semicolon'],
      ['\t', 'tab'],
      ['|', 'pipe'],
    ]) {
      const ds = await newDataset();
      const csv = `\uFEFFa${delim}b\r\n1${delim}"line one\r\nline two"\r\n2${delim}"x${delim}y"\r\n`;
      const up = await api.upload(ds, csv, token);
      expect(up.status, name).toBe(200);
      expect((await page(ds)).data, name).toEqual([
        [1, 'line one\r\nline two'],
        [2, `x${delim}y`],
      ]);
    }
  });

  it('decodes CP949 (EUC-KR) files', async () => {
    const ds = await newDataset();
    const csv = iconv.encode('도로,교통량\n강남대로,12500\n테헤란로,9800\n', 'cp949');
    const up = await api.upload(ds, csv, token);
    expect(up.status).toBe(200);
    const body = await page(ds);
    expect(body.columns).toEqual(['도로', '교통량']);
    expect(body.data).toEqual([
      ['강남대로', 12500],
      ['테헤란로', 9800],
    ]);
  });

  it.each([
    ['a short row', 'a,b,c\n1,2,3\n4,5\n', 3],
    ['a long row', 'a,b,c\n1,2,3\n4,5,6,7\n', 3],
    ['a short row after a quoted newline', 'a,b\n1,"two\nlines"\n3\n', 4],
  ])('rejects %s with 400 naming the physical line', async (_name, csv, line) => {
    const ds = await newDataset();
    const res = await api.upload(ds, csv, token);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.line).toBe(line);
    expect(res.body.detail).toContain(`Line ${line}`);
  });

  it('rejects bytes that are neither UTF-8 nor CP949, naming the line', async () => {
    const ds = await newDataset();
    const csv = Buffer.concat([
      Buffer.from('a,b\n1,ok\n2,'),
      Buffer.from([0xff, 0xff, 0xff]),
      Buffer.from('\n'),
    ]);
    const res = await api.upload(ds, csv, token);
    expect(res.status).toBe(400);
    expect(res.body.line).toBe(3);
  });

  it('rejects an empty file and a header without rows', async () => {
    const ds = await newDataset();
    const empty = await api.upload(ds, '', token);
    expect(empty.status).toBe(400);
    expect(empty.body.line).toBe(1);
    const headerOnly = await api.upload(ds, 'a,b,c\n', token);
    expect(headerOnly.status).toBe(400);
    expect(headerOnly.body.line).toBe(2);
  });

  it('rejects a file over the direct-upload limit with 413 pointing at upload-url', async () => {
    const ds = await newDataset();
    const big = `a,b\n${'1,2\n'.repeat(1_200_000)}`;
    const res = await api.upload(ds, big, token);
    expect(res.status).toBe(413);
    expect(res.body.detail).toContain('upload-url');
  });

  it('rejects a request that is not multipart with 415', async () => {
    const ds = await newDataset();
    const res = await api.post(`/api/v1/tables/${ds}/upload`, { file: 'a,b' }, { token });
    expect(res.status).toBe(415);
  });

  it('keeps the previous version when an upload fails', async () => {
    const ds = await newDataset();
    expect((await api.upload(ds, 'a,b\n1,2\n', token)).status).toBe(200);
    expect((await api.upload(ds, 'a,b\n1,2\n3\n', token)).status).toBe(400);
    expect((await api.upload(ds, 'x,y\n5,6\n', token, '?mode=append')).status).toBe(400);
    const body = await page(ds);
    expect(body).toMatchObject({ columns: ['a', 'b'], data: [[1, 2]], total_rows: 1 });
    const versions = await api.get(`/api/v1/tables/${ds}/versions`, { token });
    expect(versions.body).toHaveLength(1);
  });

  it('appends and overwrites, recording each version', async () => {
    const ds = await newDataset();
    await api.upload(ds, 'a,b\n1,x\n2,y\n', token);
    const appended = await api.upload(ds, 'a,b\n3,z\n', token, '?mode=append');
    expect(appended.body).toMatchObject({ rows: 1, total_rows: 3, version: 2 });
    expect((await page(ds)).data).toEqual([
      [1, 'x'],
      [2, 'y'],
      [3, 'z'],
    ]);
    const bad = await api.upload(ds, 'a,b\nnot-a-number,q\n', token, '?mode=append');
    expect(bad.status).toBe(400);
    expect(bad.body.line).toBe(2);
    await api.upload(ds, 'c\ntrue\n', token, '?mode=overwrite');
    expect(await page(ds)).toMatchObject({ columns: ['c'], data: [[true]], total_rows: 1 });
    const versions = await api.get(`/api/v1/tables/${ds}/versions`, { token });
    expect(versions.body.map((v: { version: number; rows: number }) => [v.version, v.rows])).toEqual([
      [3, 1],
      [2, 3],
      [1, 2],
    ]);
    expect(versions.body.map((v: { current: boolean }) => v.current)).toEqual([true, false, false]);
    expect(
      versions.body.map((v: { operationParameters: { mode: string } }) => v.operationParameters.mode),
    ).toEqual(['Overwrite', 'Append', 'Overwrite']);
  });

  it('pages from the manifest: later pages and a page past the end', async () => {
    const ds = await newDataset();
    const rows = Array.from({ length: 250 }, (_, i) => `${i},r${i}`).join('\n');
    await api.upload(ds, `n,label\n${rows}\n`, token);
    await api.upload(ds, `n,label\n250,r250\n251,r251\n`, token, '?mode=append');
    const third = await page(ds, 'page=3&page_size=100');
    expect(third.total_rows).toBe(252);
    expect(third.data).toHaveLength(52);
    expect(third.data[0]).toEqual([200, 'r200']);
    expect(third.data.at(-1)).toEqual([251, 'r251']);
    expect((await page(ds, 'page=9&page_size=100')).data).toEqual([]);
  });

  it('validates paging parameters', async () => {
    const ds = await newDataset();
    const res = await api.get(`/api/v1/tables/${ds}?page=0&page_size=5000`, { token });
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(['query.page', 'query.page_size']);
  });

  it('answers an empty table for a dataset without data', async () => {
    const ds = await newDataset();
    expect(await page(ds)).toMatchObject({ columns: [], data: [], total_rows: 0 });
  });
});

describe('uploads through a presigned URL', () => {
  it('ingests the object when it lands and reports the result', async () => {
    const ds = await newDataset();
    const created = await api.post(`/api/v1/tables/${ds}/upload-url`, { filename: 'big.csv' }, { token });
    expect(created.status).toBe(201);
    expect(created.body.method).toBe('PUT');
    const put = await fetch(created.body.url, {
      method: 'PUT',
      body: 'city,pop\n서울,9386034\n부산,3293362\n',
    });
    expect(put.status).toBe(200);
    const done = await waitForUpload(ds, created.body.upload_id);
    expect(done).toMatchObject({ status: 'succeeded', result: { rows: 2, columns: 2, version: 1 } });
    expect((await page(ds)).data).toEqual([
      ['서울', 9386034],
      ['부산', 3293362],
    ]);
  });

  it('reports a bad file as a failed upload naming the line', async () => {
    const ds = await newDataset();
    const created = await api.post(`/api/v1/tables/${ds}/upload-url`, {}, { token });
    await fetch(created.body.url, { method: 'PUT', body: 'a,b\n1,2\n3,4,5\n' });
    const done = await waitForUpload(ds, created.body.upload_id);
    expect(done).toMatchObject({ status: 'failed', error: { status: 400, line: 3 } });
  });

  it('refuses a declared size over the limit', async () => {
    const ds = await newDataset();
    const res = await api.post(`/api/v1/tables/${ds}/upload-url`, { size: 10 * 1024 ** 4 }, { token });
    expect(res.status).toBe(413);
  });
});

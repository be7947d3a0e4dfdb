/**
 * `GET /v1/data-query/query/{queryId}/download` (a Sluice extension): a presigned URL of a
 * finished query's whole `.csv`, past the 1,000 rows the result pages serve, signed for the
 * local S3's public endpoint and answered as an attachment.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));

const DQ = '/v1/data-query';
const FINAL = ['FINISHED', 'FAILED', 'ABORTED'];
const ROWS = 2500;

let token: string;

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

async function submit(query: string, auth = { token }) {
  const res = await api.post(
    `${DQ}/query`,
    { query, bucketName: 'test-bucket', path: 'data_query/download' },
    auth,
  );
  expect(res.status, res.text).toBe(200);
  return res.body as { queryId: string; storageUrl: string };
}

async function finished(queryId: string, auth = { token }) {
  const body = await until(
    `query ${queryId} to end`,
    async () => (await api.get(`${DQ}/query/${queryId}`, auth)).body,
    (b) => FINAL.includes(b.queryInfo.state),
  );
  expect(body.queryInfo.state, body.queryInfo.errorMessage).toBe('FINISHED');
  return body;
}

/** The file's lines as arrays of values (the values here hold no commas, quotes or newlines). */
const parse = (csv: string) =>
  csv
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(',').map((v) => v.replace(/^"(.*)"$/, '$1')));

describe('query result download', () => {
  it(`serves the whole result (${ROWS} rows) through a presigned URL, as an attachment`, async () => {
    // Arrange
    const { queryId, storageUrl } = await submit(
      `SELECT range AS n, 'row ' || range AS label FROM range(${ROWS}) ORDER BY n`,
    );
    const page = await finished(queryId);
    expect(page.totalElements).toBe(ROWS);

    // Act
    const res = await api.get(`${DQ}/query/${queryId}/download`, { token });
    const file = await fetch(res.body.url);
    const text = await file.text();

    // Assert
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      queryId,
      method: 'GET',
      fileName: `${queryId}.csv`,
      rows: ROWS,
      location: `s3://test-bucket/${storageUrl}/${queryId}.csv`,
    });
    const url = new URL(res.body.url);
    expect(url.port).toBe(new URL(inject('s3Url')).port);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(res.body.expiresAt).toBeGreaterThan(Date.now());
    expect(res.body.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${queryId}.csv"`);
    expect(Buffer.byteLength(text)).toBe(res.body.size);
    const lines = parse(text);
    expect(lines[0]).toEqual(['n', 'label']);
    expect(lines.slice(1)).toEqual(Array.from({ length: ROWS }, (_, i) => [String(i), `row ${i}`]));
  });

  it('answers 409 for a query that has not finished, and for one that stored no file', async () => {
    // Arrange: a cross join that keeps DuckDB busy until it is aborted.
    const { queryId } = await submit(
      'SELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b',
    );
    const text = await submit('SHOW SCHEMAS');
    await finished(text.queryId);

    try {
      // Act
      const running = await api.get(`${DQ}/query/${queryId}/download`, { token });
      const notStored = await api.get(`${DQ}/query/${text.queryId}/download`, { token });

      // Assert
      expect(running.status, running.text).toBe(409);
      expect(running.body.detail).toMatch(/only a FINISHED query/);
      expect(notStored.status, notStored.text).toBe(409);
      expect(notStored.body.detail).toMatch(/stored no result file/);
    } finally {
      await api.put(`${DQ}/query/${queryId}/abort`, undefined, { token });
    }
    const aborted = await api.get(`${DQ}/query/${queryId}/download`, { token });
    expect(aborted.status, aborted.text).toBe(409);
  });

  it("answers 404 for an unknown query and for another user's, 401 without credentials", async () => {
    // Arrange
    const username = unique('dl').replaceAll('-', '_');
    const user = await api.post(
      '/api/v1/users',
      { username, password: 'download-password-1', role: 'viewer' },
      { token },
    );
    expect(user.status, user.text).toBe(201);
    const theirs = await api.login(username, 'download-password-1');
    const { queryId } = await submit('SELECT 42 AS answer');
    await finished(queryId);

    // Act
    const unknown = await api.get(`${DQ}/query/20240101-000000-AAAAAAAAAA/download`, { token });
    const notTheirs = await api.get(`${DQ}/query/${queryId}/download`, { token: theirs });
    const anonymous = await api.get(`${DQ}/query/${queryId}/download`);
    const own = await api.get(`${DQ}/query/${queryId}/download`, { token });

    // Assert
    expect(unknown.status, unknown.text).toBe(404);
    expect(notTheirs.status, notTheirs.text).toBe(404);
    expect(anonymous.status, anonymous.text).toBe(401);
    expect(own.status, own.text).toBe(200);
    expect(parse(await (await fetch(own.body.url)).text())).toEqual([['answer'], ['42']]);
  });
});

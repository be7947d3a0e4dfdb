/**
 * Data Flow jobs end to end: the seed 004 createJob as written (masked ids given real values),
 * jobs and pipelines as two views of one store, statuses, verify, executions with run
 * condition overrides, and the dashboard stats (on a host of their own, so the counts are
 * exactly the runs made here).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEED_004_FIELDS, seed004Nodes } from '#test/fixtures/seed004';
import { ADMIN, client, type RunningHost, startHost, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));
let token: string;

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

/** The seed's createJob body, under another name when the test needs a unique one. */
function seedJob(name = 'job001') {
  return { name, nodes: seed004Nodes() };
}

const ISO_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;

async function waitExecution(jobId: string, executionId: string) {
  return until(
    `execution ${executionId} to end`,
    async () => (await api.get(`/api/v1/jobs/${jobId}/executions/${executionId}`, { token })).body,
    (e) => ['COMPLETED', 'FAILED', 'CANCELED'].includes(e.status),
  );
}

describe('jobs', () => {
  it('creates the seed 004 job: RUNNABLE, fields echoed with properties: [], runCondition defaults', async () => {
    // Act
    const res = await api.post('/api/v1/jobs', seedJob(unique('job001').replaceAll('-', '_')), { token });

    // Assert
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      jobId: expect.stringMatching(/^pl-/),
      description: '',
      type: 'DATAFLOW',
      status: 'RUNNABLE',
      runCondition: { workerType: 'DEFAULT', numWorker: 2, timeout: 360, nrn: '' },
    });
    expect(res.body.createdDate).toMatch(ISO_OFFSET);
    expect(res.body.updatedDate).toMatch(ISO_OFFSET);
    expect(res.body.nodes).toHaveLength(3);
    expect(res.body.nodes[0].fieldList).toEqual(SEED_004_FIELDS.map((f) => ({ ...f, properties: [] })));
    expect(res.body.nodes[2].fieldList).toEqual(SEED_004_FIELDS.map((f) => ({ ...f, properties: [] })));
    expect(res.body.nodes[1]).toMatchObject({ id: 1697770000002, parentNodeIds: [1697770000001] });

    // The same record through the D.Hub view.
    const pipeline = await api.get(`/api/v1/pipelines/${res.body.jobId}`, { token });
    expect(pipeline.status).toBe(200);
    expect(pipeline.body).toMatchObject({
      id: res.body.jobId,
      name: res.body.name,
      status: 'valid',
      collection_id: null,
    });
  });

  it('applies the Data Flow name rules and lists every node problem on verify', async () => {
    const bad = await api.post('/api/v1/jobs', { name: '9lives', nodes: [] }, { token });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('body.name');

    const verify = await api.post(
      '/api/v1/jobs/verify',
      {
        name: 'check_me',
        nodes: [
          {
            id: 1,
            name: 'src',
            type: 'SOURCE_OBS',
            parentNodeIds: [],
            bucketName: 'not-allowed',
            prefix: 'x',
            dataType: 'CSV',
            fieldList: SEED_004_FIELDS,
          },
          {
            id: 2,
            name: 'f',
            type: 'TRANSFORM_FILTER',
            parentNodeIds: [1],
            filterType: 'AND',
            filterConditionList: [{ name: 'nope', operator: 'EQ', value: 1 }],
          },
          { id: 3, name: 'x', type: 'TRANSFORM_MAGIC', parentNodeIds: [9] },
        ],
      },
      { token },
    );
    expect(verify.status, verify.text).toBe(200);
    expect(verify.body.valid).toBe(false);
    const byNode = new Set(verify.body.problems.map((p: { nodeId: string }) => String(p.nodeId)));
    expect(byNode).toEqual(new Set(['1', '2', '3']));
  });

  it('maps statuses: isTemp → DRAFT, an edit through /pipelines → EDITING, verify → RUNNABLE', async () => {
    const created = await api.post(
      '/api/v1/jobs',
      { name: unique('status_job').replaceAll('-', '_'), nodes: [] },
      { token },
    );
    expect(created.body.status).toBe('RUNNABLE');
    const id = created.body.jobId;

    const temp = await api.put(
      `/api/v1/jobs/${id}`,
      { name: created.body.name, nodes: [], isTemp: true },
      { token },
    );
    expect(temp.status, temp.text).toBe(200);
    expect(temp.body.status).toBe('DRAFT');

    const saved = await api.put(`/api/v1/jobs/${id}`, { name: created.body.name, nodes: [] }, { token });
    expect(saved.body.status).toBe('RUNNABLE');

    await api.put(`/api/v1/pipelines/${id}`, { nodes: [] }, { token });
    expect((await api.get(`/api/v1/jobs/${id}`, { token })).body.status).toBe('EDITING');

    await api.post(`/api/v1/pipelines/${id}/verify`, {}, { token });
    expect((await api.get(`/api/v1/jobs/${id}`, { token })).body.status).toBe('RUNNABLE');

    const invalid = await api.put(
      `/api/v1/jobs/${id}`,
      { name: created.body.name, nodes: [{ id: 1, name: 'x', type: 'TRANSFORM_MAGIC', parentNodeIds: [] }] },
      { token },
    );
    expect(invalid.body.status).toBe('DRAFT');
    const run = await api.post(`/api/v1/jobs/${id}/executions`, {}, { token });
    expect(run.status).toBe(409);
    expect(run.body.errorType).toBe('bad-state');
  });

  it('lists jobs with name and status filters in the Data Flow page shape; a pipeline is a job', async () => {
    const col = await api.post('/api/v1/collections', { name: unique('jobs-view') }, { token });
    const name = unique('파이프라인');
    const pipeline = await api.post(
      '/api/v1/pipelines',
      { name, collection_id: col.body.id, nodes: [] },
      { token },
    );
    expect(pipeline.status).toBe(201);

    const listed = await api.get(`/api/v1/jobs?name=${encodeURIComponent(name)}`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ count: 1, page: 0, limit: 1000 });
    expect(listed.body.list[0]).toMatchObject({
      jobId: pipeline.body.id,
      name,
      status: 'RUNNABLE',
      type: 'DATAFLOW',
    });

    const drafts = await api.get('/api/v1/jobs?status=DRAFT&limit=1000', { token });
    for (const job of drafts.body.list) expect(job.status).toBe('DRAFT');
    const paged = await api.get('/api/v1/jobs?page=0&limit=1', { token });
    expect(paged.body.list).toHaveLength(1);
    expect(paged.body.count).toBeGreaterThan(1);

    const badStatus = await api.get('/api/v1/jobs?status=SLEEPING', { token });
    expect(badStatus.status).toBe(400);
  });

  it('executes with jobCondition overrides for one run, lists and reads executions, and updates the run config', async () => {
    const created = await api.post(
      '/api/v1/jobs',
      { name: unique('exec_job').replaceAll('-', '_'), nodes: [] },
      { token },
    );
    const id = created.body.jobId;

    const run = await api.post(
      `/api/v1/jobs/${id}/executions`,
      { jobCondition: { workerType: 'LARGE', numWorker: 4, timeout: 30 } },
      { token },
    );
    expect(run.status, run.text).toBe(200);
    expect(run.body).toMatchObject({
      jobExecutionId: expect.stringMatching(/^batch-/),
      jobId: id,
      jobName: created.body.name,
      jobCondition: { workerType: 'LARGE', numWorker: 4, timeout: 30 },
      type: 'JOB',
    });
    const done = await waitExecution(id, run.body.jobExecutionId);
    expect(done.status).toBe('COMPLETED');
    expect(done.startDate).toMatch(ISO_OFFSET);
    expect(done.endDate).toMatch(ISO_OFFSET);
    expect(done.runningTime).toBeGreaterThanOrEqual(0);

    // The override was for that run only.
    const job = await api.get(`/api/v1/jobs/${id}`, { token });
    expect(job.body.runCondition).toMatchObject({ workerType: 'DEFAULT', numWorker: 2, timeout: 360 });
    expect(job.body.lastExecutionStatus).toBe('COMPLETED');
    expect(job.body.lastExecutionDate).toMatch(ISO_OFFSET);

    const second = await api.post(`/api/v1/jobs/${id}/executions`, {}, { token });
    await waitExecution(id, second.body.jobExecutionId);
    const list = await api.get(`/api/v1/jobs/${id}/executions?page=0&limit=1`, { token });
    expect(list.body).toMatchObject({ count: 2, page: 0, limit: 1 });
    expect(list.body.list.map((e: { jobExecutionId: string }) => e.jobExecutionId)).toEqual([
      second.body.jobExecutionId,
    ]);

    const config = await api.put(
      `/api/v1/jobs/${id}/executions`,
      { workerType: 'LARGE', numWorker: 8, timeout: 0 },
      { token },
    );
    expect(config.status, config.text).toBe(200);
    expect(config.body.runCondition).toMatchObject({ workerType: 'LARGE', numWorker: 8, timeout: 0 });
    const third = await api.post(`/api/v1/jobs/${id}/executions`, {}, { token });
    expect(third.body.jobCondition).toMatchObject({ workerType: 'LARGE', numWorker: 8, timeout: 0 });
    expect((await waitExecution(id, third.body.jobExecutionId)).status).toBe('COMPLETED');

    const badConfig = await api.put(
      `/api/v1/jobs/${id}/executions`,
      { timeout: 2000, workerType: 'HUGE' },
      { token },
    );
    expect(badConfig.status).toBe(400);
    expect(badConfig.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.timeout',
      'body.workerType',
    ]);
  });

  it('answers the seed 002 error format for unknown jobs and executions, and deletes a job', async () => {
    const missing = await api.get('/api/v1/jobs/pl-00000000000000000000000', { token });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      errorType: 'resource-not-found/JOB',
    });
    expect(missing.body.detail).toContain('jobId=pl-00000000000000000000000');

    const created = await api.post(
      '/api/v1/jobs',
      { name: unique('gone_job').replaceAll('-', '_'), nodes: [] },
      { token },
    );
    const noExec = await api.get(`/api/v1/jobs/${created.body.jobId}/executions/batch-nope`, { token });
    expect(noExec.body.errorType).toBe('resource-not-found/EXECUTION');
    expect((await api.del(`/api/v1/jobs/${created.body.jobId}`, { token })).status).toBe(204);
    expect((await api.get(`/api/v1/jobs/${created.body.jobId}`, { token })).status).toBe(404);
  });
});

describe('dashboard stats', () => {
  let host: RunningHost;

  afterAll(async () => {
    await host?.stop();
  });

  it('counts the runs made, in all, per day and per two hours', async () => {
    // Arrange: a host of its own; two runs complete and one fails.
    host = await startHost();
    const own = client(host.url);
    const t = await own.login(ADMIN.username, ADMIN.password);
    const ok = await own.post('/api/v1/jobs', { name: 'stats_ok', nodes: [] }, { token: t });
    const col = await own.post('/api/v1/collections', { name: 'stats' }, { token: t });
    const ds = await own.post('/api/v1/datasets', { name: 'src', collection_id: col.body.id }, { token: t });
    await own.upload(ds.body.id, 'k\n1\n', t);
    const failing = await own.post(
      '/api/v1/jobs',
      {
        name: 'stats_fail',
        nodes: [
          { id: 1, name: 'src', type: 'SOURCE_CATALOG', parentNodeIds: [], database: 'stats', table: 'src' },
          {
            id: 2,
            name: 'bad',
            type: 'TRANSFORM_SQL',
            parentNodeIds: [1],
            sourceNameList: [{ parentId: 1, newName: 's' }],
            sql: 'SELECT nope FROM s',
          },
        ],
      },
      { token: t },
    );
    expect(failing.body.status).toBe('RUNNABLE');
    const runs = [
      await own.post(`/api/v1/jobs/${ok.body.jobId}/executions`, {}, { token: t }),
      await own.post(`/api/v1/jobs/${ok.body.jobId}/executions`, {}, { token: t }),
      await own.post(`/api/v1/jobs/${failing.body.jobId}/executions`, {}, { token: t }),
    ];
    for (const r of runs) {
      await until(
        'the run to end',
        async () =>
          (await own.get(`/api/v1/jobs/${r.body.jobId}/executions/${r.body.jobExecutionId}`, { token: t }))
            .body,
        (e) => ['COMPLETED', 'FAILED'].includes(e.status),
      );
    }
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

    // Act
    const result = await own.get(`/api/v1/stats/executions?startDate=${yesterday}&endDate=${today}`, {
      token: t,
    });
    const interval = await own.get(
      `/api/v1/stats/executions-interval?startDate=${yesterday}&endDate=${today}`,
      { token: t },
    );
    const times = await own.get(`/api/v1/stats/executions-times?startDate=${yesterday}&endDate=${today}`, {
      token: t,
    });
    const empty = await own.get('/api/v1/stats/executions?startDate=2020-01-01&endDate=2020-01-31', {
      token: t,
    });
    const bad = await own.get(`/api/v1/stats/executions?startDate=${today}&endDate=${yesterday}`, {
      token: t,
    });

    // Assert
    expect(result.body).toEqual({ totalCount: 3, completedCount: 2, failedCount: 1 });
    expect(interval.body.result).toHaveLength(2);
    expect(interval.body.result.map((d: { totalCount: number }) => d.totalCount)).toEqual([0, 3]);
    expect(interval.body.result[1].startDate.slice(0, 10)).toBe(today);
    // Two days (this host runs in UTC): 24 two-hour points from yesterday's midnight, 3 runs in all.
    expect(times.body.result).toHaveLength(24);
    expect(times.body.result[0].time).toBe(Date.parse(`${yesterday}T00:00:00Z`));
    for (const [i, p] of times.body.result.entries())
      expect(p.time - times.body.result[0].time).toBe(i * 7_200_000);
    expect(times.body.result.reduce((sum: number, p: { value: number }) => sum + p.value, 0)).toBe(3);
    expect(empty.body).toEqual({ totalCount: 0, completedCount: 0, failedCount: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.endDate');
  });
});

/**
 * NAVER Cloud Data Flow's reference pages, jobs side: each documented request of getJobs,
 * getJobById, createJob, updateJob, executeJob, getJobExecutions, getJobExecutionById,
 * updateJobExecuteConfig, the dashboard stats and createTrigger's rule forms, sent as written
 * (masked ids, NRNs and paths given real values), with the documented response fields and formats
 * asserted.
 *
 * The shared host runs in UTC. The documented dates are Korean time, so the date formats, the stats
 * buckets and a trigger's default zone are checked on a host of this file's own started with
 * SLUICE_DEFAULT_TIMEZONE=Asia/Seoul, which also runs the seed job on data of its own.
 */
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEED_004_FIELDS, seed004Nodes } from '#test/fixtures/seed004';
import { catalogHelpers } from './catalog-helpers.ts';
import {
  ADMIN,
  type Client,
  client,
  localS3,
  type RunningHost,
  startHost,
  unique,
  until,
} from './harness.ts';
import { catalogSource, catalogTarget } from './pipeline-helpers.ts';

const api = client(inject('hostUrl'));
let token: string;

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

/** A Data Flow name (letters, digits, _ and -) that no other test uses. */
const uniqueName = (prefix: string) => unique(prefix).replaceAll('-', '_');

const ISO_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;
const ISO_SEOUL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00$/;
const EXECUTION_STATUSES = ['READY', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELED'];

/** The documented jobCondition of executeJob and updateJobExecuteConfig (G2), unmasked. */
const DOCUMENTED_JOB_CONDITION = {
  workerType: 'DEFAULT',
  numWorker: 2,
  timeout: 360,
  nrn: 'nrn:PUB:IAM::2706412:Role/5f1c2a9e-0496-11f0-baf6-246e96591a38',
  scriptPath: 'dataflow-2706412-ab12/scripts/',
  logPath: 'dataflow-2706412-ab12/sparkHistoryLogs/',
};

/** The stats examples' range, as the pages send it (`%3A` for the colons). */
const DOCUMENTED_RANGE = 'startDate=2025-03-19T00%3A00%3A00&endDate=2025-03-20T23%3A59%3A59';

async function createEmptyJob(own: Client = api, t = token) {
  const res = await own.post('/api/v1/jobs', { name: uniqueName('compat_job'), nodes: [] }, { token: t });
  expect(res.status, res.text).toBe(200);
  return res.body as { jobId: string; name: string };
}

async function finished(own: Client, t: string, jobId: string, executionId: string) {
  return until(
    `execution ${executionId} to end`,
    async () => (await own.get(`/api/v1/jobs/${jobId}/executions/${executionId}`, { token: t })).body,
    (e) => ['COMPLETED', 'FAILED', 'CANCELED'].includes(e.status),
  );
}

describe('jobs as documented', () => {
  it('createJob takes the seed body and getJobById answers every documented field', async () => {
    // Act
    const created = await api.post(
      '/api/v1/jobs',
      { name: uniqueName('job001'), nodes: seed004Nodes() },
      { token },
    );
    const read = await api.get(`/api/v1/jobs/${created.body.jobId}`, { token });

    // Assert
    expect(created.status, created.text).toBe(200);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      jobId: created.body.jobId,
      name: created.body.name,
      description: '',
      type: 'DATAFLOW',
      status: 'RUNNABLE',
      lastExecutionStatus: null,
      lastExecutionDate: null,
      runCondition: {
        workerType: 'DEFAULT',
        numWorker: 2,
        timeout: 360,
        nrn: '',
        scriptPath: `/api/v1/pipelines/${created.body.jobId}/versions/1`,
        logPath: expect.stringMatching(/^s3:\/\/[a-z0-9.-]+\/runs\/$/),
      },
    });
    expect(read.body.createdDate).toMatch(ISO_UTC);
    expect(read.body.updatedDate).toMatch(ISO_UTC);
    expect(read.body.nodes.map((n: { id: number }) => n.id)).toEqual([
      1697770000001, 1697770000002, 1697770000003,
    ]);
    expect(read.body.nodes[0].fieldList).toEqual(SEED_004_FIELDS.map((f) => ({ ...f, properties: [] })));
  });

  it('getJobs lists items with resourceId (the job id) and disabled', async () => {
    // Arrange
    const job = await createEmptyJob();

    // Act
    const res = await api.get(`/api/v1/jobs?name=${job.name}&status=RUNNABLE&page=0&limit=1000`, { token });

    // Assert
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ count: 1, page: 0, limit: 1000 });
    expect(res.body.list).toEqual([
      expect.objectContaining({
        jobId: job.jobId,
        name: job.name,
        type: 'DATAFLOW',
        status: 'RUNNABLE',
        lastExecutionStatus: null,
        createdDate: expect.stringMatching(ISO_OFFSET),
        updatedDate: expect.stringMatching(ISO_OFFSET),
        lastExecutionDate: null,
        resourceId: job.jobId,
        disabled: false,
      }),
    ]);
  });

  it('updateJob takes the documented body with type, description and isTemp', async () => {
    const job = await createEmptyJob();
    const name = uniqueName('data-flow');

    const res = await api.put(
      `/api/v1/jobs/${job.jobId}`,
      { name, description: '', type: 'DATAFLOW', isTemp: false, nodes: seed004Nodes() },
      { token },
    );

    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      jobId: job.jobId,
      name,
      description: '',
      type: 'DATAFLOW',
      status: 'RUNNABLE',
    });
    expect(res.body.nodes).toHaveLength(3);
    expect(res.body.runCondition.scriptPath).toBe(`/api/v1/pipelines/${job.jobId}/versions/2`);
  });
});

describe('updateJobExecuteConfig', () => {
  it('takes the documented body wrapped in jobCondition; NAVER Cloud paths are taken and not echoed', async () => {
    const job = await createEmptyJob();

    const res = await api.put(
      `/api/v1/jobs/${job.jobId}/executions`,
      { jobCondition: DOCUMENTED_JOB_CONDITION },
      { token },
    );

    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      jobId: job.jobId,
      name: job.name,
      type: 'DATAFLOW',
      status: 'RUNNABLE',
    });
    expect(res.body.runCondition).toEqual({
      workerType: 'DEFAULT',
      numWorker: 2,
      timeout: 360,
      nrn: '',
      scriptPath: `/api/v1/pipelines/${job.jobId}/versions/1`,
      logPath: expect.stringMatching(/^s3:\/\/[a-z0-9.-]+\/runs\/$/),
    });
  });

  it('changes the settings given in jobCondition and keeps the others; the next run gets them', async () => {
    // Arrange
    const job = await createEmptyJob();
    await api.put(`/api/v1/jobs/${job.jobId}/executions`, { workerType: 'LARGE' }, { token });

    // Act
    const res = await api.put(
      `/api/v1/jobs/${job.jobId}/executions`,
      { jobCondition: { numWorker: 10, timeout: 1440 } },
      { token },
    );
    const run = await api.post(`/api/v1/jobs/${job.jobId}/executions`, {}, { token });

    // Assert
    expect(res.status, res.text).toBe(200);
    expect(res.body.runCondition).toMatchObject({ workerType: 'LARGE', numWorker: 10, timeout: 1440 });
    expect((await api.get(`/api/v1/jobs/${job.jobId}`, { token })).body.runCondition).toMatchObject({
      workerType: 'LARGE',
      numWorker: 10,
      timeout: 1440,
    });
    expect(run.body.jobCondition).toMatchObject({ workerType: 'LARGE', numWorker: 10, timeout: 1440 });
    await finished(api, token, job.jobId, run.body.jobExecutionId);
  });

  it('keeps the flat form working', async () => {
    const job = await createEmptyJob();

    const res = await api.put(
      `/api/v1/jobs/${job.jobId}/executions`,
      { workerType: 'DEFAULT', numWorker: 3, timeout: 45 },
      { token },
    );

    expect(res.status, res.text).toBe(200);
    expect(res.body.runCondition).toMatchObject({ workerType: 'DEFAULT', numWorker: 3, timeout: 45 });
  });

  it('refuses bad values inside jobCondition, and both forms at once, naming every field', async () => {
    const job = await createEmptyJob();

    const bad = await api.put(
      `/api/v1/jobs/${job.jobId}/executions`,
      { jobCondition: { workerType: 'HUGE', numWorker: 41, timeout: 1441 } },
      { token },
    );
    const both = await api.put(
      `/api/v1/jobs/${job.jobId}/executions`,
      { numWorker: 4, jobCondition: { numWorker: 5 } },
      { token },
    );

    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.jobCondition.numWorker',
      'body.jobCondition.timeout',
      'body.jobCondition.workerType',
    ]);
    expect(both.status).toBe(400);
    expect(both.body.errors.map((e: { field: string }) => e.field)).toEqual(['body.numWorker']);
    expect((await api.get(`/api/v1/jobs/${job.jobId}`, { token })).body.runCondition.numWorker).toBe(2);
  });
});

describe('executions as documented', () => {
  let job: { jobId: string; name: string };
  let execution: Record<string, any>;

  beforeAll(async () => {
    job = await createEmptyJob();
    const res = await api.post(
      `/api/v1/jobs/${job.jobId}/executions`,
      { jobCondition: DOCUMENTED_JOB_CONDITION },
      { token },
    );
    expect(res.status, res.text).toBe(200);
    execution = res.body;
    await finished(api, token, job.jobId, execution.jobExecutionId);
  });

  it('executeJob takes the documented body and answers jobId, jobExecutionId, status, jobCondition and createdDate', () => {
    expect(execution).toMatchObject({
      jobId: job.jobId,
      jobExecutionId: expect.stringMatching(/^batch-/),
      status: expect.stringMatching(new RegExp(`^(${EXECUTION_STATUSES.join('|')})$`)),
      jobCondition: {
        workerType: 'DEFAULT',
        numWorker: 2,
        timeout: 360,
        nrn: expect.any(String),
        scriptPath: `/api/v1/pipelines/${job.jobId}/versions/1`,
        logPath: expect.stringMatching(new RegExp(`^s3://[a-z0-9.-]+/runs/${execution.jobExecutionId}/$`)),
        consoleLogPath: `/api/v1/batches/${job.jobId}/${execution.jobExecutionId}`,
      },
    });
    expect(execution.createdDate).toMatch(ISO_UTC);
  });

  it('getJobExecutions pages as documented (page=0&limit=4), items with the full jobCondition', async () => {
    const res = await api.get(`/api/v1/jobs/${job.jobId}/executions?page=0&limit=4`, { token });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ count: 1, page: 0, limit: 4 });
    expect(res.body.list[0]).toMatchObject({
      jobExecutionId: execution.jobExecutionId,
      jobId: job.jobId,
      jobCondition: {
        workerType: 'DEFAULT',
        numWorker: 2,
        timeout: 360,
        nrn: expect.stringMatching(/./),
        scriptPath: execution.jobCondition.scriptPath,
        logPath: execution.jobCondition.logPath,
      },
    });
  });

  it('getJobExecutionById adds consoleLogPath, a documented status and offset dates', async () => {
    const res = await api.get(`/api/v1/jobs/${job.jobId}/executions/${execution.jobExecutionId}`, { token });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      jobExecutionId: execution.jobExecutionId,
      jobId: job.jobId,
      jobName: job.name,
      status: 'COMPLETED',
      jobCondition: { ...execution.jobCondition, nrn: expect.stringMatching(/./) },
      startDate: expect.stringMatching(ISO_UTC),
      endDate: expect.stringMatching(ISO_UTC),
      createdDate: execution.createdDate,
      runningTime: expect.any(Number),
    });
    // consoleLogPath and scriptPath are this API's own paths.
    const record = await api.get(res.body.jobCondition.consoleLogPath, { token });
    expect(record.status).toBe(200);
    expect(record.body.id).toBe(execution.jobExecutionId);
    expect((await api.get(res.body.jobCondition.scriptPath, { token })).status).toBe(200);
  });
});

describe('logPath', () => {
  it('holds the outputs the run wrote: here a node marked materialize', async () => {
    const { newCollection, newDataset } = catalogHelpers(api, () => token);
    const col = await newCollection('logpath');
    const ds = await newDataset(col, 'items', 'id,name\n1,A\n2,B\n3,A\n');
    const created = await api.post(
      '/api/v1/jobs',
      {
        name: unique('logpath'),
        nodes: [
          catalogSource(1, 'read', col, ds),
          {
            id: 2,
            name: 'only A',
            type: 'TRANSFORM_FILTER',
            parentNodeIds: [1],
            filterType: 'AND',
            filterConditionList: [{ name: 'name', operator: 'EQ', value: 'A' }],
            materialize: true,
          },
          catalogTarget(3, 'write', 2, col, 'only-a'),
        ],
      },
      { token },
    );
    expect(created.status, created.text).toBe(200);
    const run = await api.post(
      `/api/v1/jobs/${created.body.jobId}/executions`,
      { jobCondition: DOCUMENTED_JOB_CONDITION },
      { token },
    );
    expect(run.status, run.text).toBe(200);
    const execution = await finished(api, token, created.body.jobId, run.body.jobExecutionId);
    expect(execution.status).toBe('COMPLETED');
    const folder = /^s3:\/\/([^/]+)\/(runs\/[^/]+\/)$/.exec(execution.jobCondition.logPath);

    const listed = await localS3(inject('s3Url')).send(
      new ListObjectsV2Command({ Bucket: folder?.[1], Prefix: folder?.[2] }),
    );

    expect(listed.Contents?.map((o) => o.Key)).toContainEqual(
      expect.stringMatching(new RegExp(`^runs/${execution.jobExecutionId}/2/.+\\.parquet$`)),
    );
  });
});

describe('trigger rules as documented', () => {
  const created: string[] = [];

  afterAll(async () => {
    for (const id of created) await api.del(`/api/v1/triggers/${id}`, { token });
  });

  async function createTrigger(triggerRule: Record<string, unknown>, name = uniqueName('trigger001')) {
    const res = await api.post('/api/v1/triggers', { name, type: 'SCHEDULED', triggerRule }, { token });
    expect([200, 201], res.text).toContain(res.status);
    created.push(res.body.triggerId);
    return res.body;
  }

  it('createTrigger takes the documented DAY example', async () => {
    const trigger = await createTrigger({ type: 'RECURRING', interval: 'DAY', time: '10:00' });

    expect(trigger).toMatchObject({
      triggerId: expect.any(String),
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' },
      createdDate: expect.stringMatching(ISO_UTC),
      updatedDate: expect.stringMatching(ISO_UTC),
    });
    expect(trigger.nextRunDate).toMatch(/T10:00:00\+00:00$/);
  });

  it.each([
    [['MONDAY', 'WEDNESDAY'], 'MON,WED'],
    [['MON', 'WED'], 'MON,WED'],
    [['friday'], 'FRI'],
  ])('a WEEK rule with dayOfWeek %j echoes that form (cron %s)', async (dayOfWeek, days) => {
    const trigger = await createTrigger({ type: 'RECURRING', interval: 'WEEK', time: '10:00', dayOfWeek });
    const read = await api.get(`/api/v1/triggers/${trigger.triggerId}`, { token });

    expect(trigger.triggerRule.dayOfWeek).toEqual(dayOfWeek);
    expect(read.body.triggerRule.dayOfWeek).toEqual(dayOfWeek);
    expect(trigger.scheduleExpression).toBe(`cron(0 10 ? * ${days} *)`);
  });

  it.each([
    ['15', '15', 'cron(0 10 15 * ? *)'],
    ['-1', '-1', 'cron(0 10 L * ? *)'],
    [['1', '15'], '1,15', 'cron(0 10 1,15 * ? *)'],
  ])('a MONTH rule with dateOfMonth %j answers the string %s', async (dateOfMonth, echoed, expression) => {
    const trigger = await createTrigger({ type: 'RECURRING', interval: 'MONTH', time: '10:00', dateOfMonth });
    const read = await api.get(`/api/v1/triggers/${trigger.triggerId}`, { token });

    expect(trigger.triggerRule.dateOfMonth).toBe(echoed);
    expect(read.body.triggerRule.dateOfMonth).toBe(echoed);
    expect(trigger.scheduleExpression).toBe(expression);
  });
});

describe('in Korean time (a host with SLUICE_DEFAULT_TIMEZONE=Asia/Seoul)', () => {
  let host: RunningHost;
  let seoul: Client;
  let t: string;
  let job: { jobId: string; name: string };
  let execution: Record<string, any>;
  /** Today in Seoul, `YYYY-MM-DD`. */
  let today: string;

  beforeAll(async () => {
    host = await startHost({ env: { SLUICE_DEFAULT_TIMEZONE: 'Asia/Seoul', SLUICE_BUCKETS: 'aitems' } });
    seoul = client(host.url);
    t = await seoul.login(ADMIN.username, ADMIN.password);
    // The seed job as written, on data of this host's own under its source prefix.
    await localS3(host.s3Url).send(
      new PutObjectCommand({
        Bucket: 'aitems',
        Key: 'dataflow1/input.csv',
        Body: 'id,name,description\n1,A,first\n2,B,second\n3,A,third\n',
      }),
    );
    const created = await seoul.post('/api/v1/jobs', { name: 'job001', nodes: seed004Nodes() }, { token: t });
    expect(created.status, created.text).toBe(200);
    job = created.body;
    const run = await seoul.post(
      `/api/v1/jobs/${job.jobId}/executions`,
      { jobCondition: DOCUMENTED_JOB_CONDITION },
      { token: t },
    );
    expect(run.status, run.text).toBe(200);
    execution = await finished(seoul, t, job.jobId, run.body.jobExecutionId);
    today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
  });

  afterAll(async () => {
    await host?.stop();
  });

  it('writes job and execution dates with +09:00, the same instants', async () => {
    // The job notes its last run's end just after the run itself settles.
    const read = await until(
      'the job to note its last run',
      () => seoul.get(`/api/v1/jobs/${job.jobId}`, { token: t }),
      (res) => res.body.lastExecutionStatus === 'COMPLETED',
      10_000,
    );

    expect(execution.status).toBe('COMPLETED');
    for (const date of [
      execution.createdDate,
      execution.startDate,
      execution.endDate,
      read.body.createdDate,
    ]) {
      expect(date).toMatch(ISO_SEOUL);
      expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(120_000);
    }
    expect(read.body.lastExecutionDate).toMatch(ISO_SEOUL);
    expect(read.body.lastExecutionStatus).toBe('COMPLETED');
  });

  it("logPath is the run's own S3 folder", () => {
    const match = /^s3:\/\/([^/]+)\/(runs\/[^/]+\/)$/.exec(execution.jobCondition.logPath);
    expect(match?.[2]).toBe(`runs/${execution.jobExecutionId}/`);
  });

  it('getExecutionResult answers the documented example and counts the runs of today', async () => {
    const documented = await seoul.get(`/api/v1/stats/executions?${DOCUMENTED_RANGE}`, { token: t });
    const ofToday = await seoul.get(
      `/api/v1/stats/executions?startDate=${today}T00%3A00%3A00&endDate=${today}T23%3A59%3A59`,
      { token: t },
    );

    expect(documented.status).toBe(200);
    expect(documented.body).toEqual({ totalCount: 0, completedCount: 0, failedCount: 0 });
    expect(ofToday.body).toEqual({ totalCount: 1, completedCount: 1, failedCount: 0 });
  });

  it('getExecutionCount answers day buckets from 00:00:01 to 00:00:00, dates without offset', async () => {
    const documented = await seoul.get(`/api/v1/stats/executions-interval?${DOCUMENTED_RANGE}`, { token: t });
    const ofToday = await seoul.get(
      `/api/v1/stats/executions-interval?startDate=${today}T00%3A00%3A00&endDate=${today}T23%3A59%3A59`,
      { token: t },
    );

    expect(documented.status).toBe(200);
    expect(documented.body).toEqual({
      result: [
        { totalCount: 0, startDate: '2025-03-19T00:00:01', endDate: '2025-03-20T00:00:00' },
        { totalCount: 0, startDate: '2025-03-20T00:00:01', endDate: '2025-03-21T00:00:00' },
      ],
    });
    expect(ofToday.body.result).toEqual([
      { totalCount: 1, startDate: `${today}T00:00:01`, endDate: expect.stringMatching(/T00:00:00$/) },
    ]);
  });

  it.each([['executions-times'], ['execution-times']])(
    'getExecutionTimes (/stats/%s) answers two-hour points on Korean even hours, the documented ones among them',
    async (path) => {
      const documented = await seoul.get(`/api/v1/stats/${path}?${DOCUMENTED_RANGE}`, { token: t });
      const ofToday = await seoul.get(
        `/api/v1/stats/${path}?startDate=${today}T00%3A00%3A00&endDate=${today}T23%3A59%3A59`,
        { token: t },
      );

      expect(documented.status).toBe(200);
      const points = documented.body.result as { time: number; value: number }[];
      // 2025-03-19T00:00:00+09:00, then every two hours to the end of the 20th.
      expect(points).toHaveLength(24);
      expect(points.map((p) => p.time)).toEqual(points.map((_, i) => 1742310000000 + i * 7_200_000));
      for (const time of [1742454000000, 1742461200000, 1742468400000, 1742475600000]) {
        expect(points).toContainEqual({ time, value: 0 });
      }
      const todays = ofToday.body.result as { time: number; value: number }[];
      expect(todays).toHaveLength(12);
      expect(todays.reduce((sum, p) => sum + p.value, 0)).toBe(1);
      const bucket = todays.find((p) => p.value === 1) as { time: number };
      const created = Date.parse(execution.createdDate);
      expect(created - bucket.time).toBeGreaterThanOrEqual(0);
      expect(created - bucket.time).toBeLessThan(7_200_000);
    },
  );

  it('runs a trigger that names no time zone in Korean time', async () => {
    const res = await seoul.post(
      '/api/v1/triggers',
      {
        name: 'trigger001',
        type: 'SCHEDULED',
        triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' },
      },
      { token: t },
    );

    expect([200, 201], res.text).toContain(res.status);
    expect(res.body.timezone).toBe('Asia/Seoul');
    expect(res.body.createdDate).toMatch(ISO_SEOUL);
    expect(res.body.nextRunDate).toMatch(/T10:00:00\+09:00$/);
  });
});

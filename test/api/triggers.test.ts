/**
 * Triggers end to end against the shared local host: the Data Flow trigger routes, and triggers
 * firing on the host's croner scheduler and in-process event bus, each firing recorded as a batch.
 * The shared host allows `rate(n seconds)` schedules (SLUICE_ALLOW_SECOND_SCHEDULES, global-setup),
 * so schedules fire within the test. Every test makes its own pipelines and names.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogHelpers } from './catalog-helpers.ts';
import { ADMIN, client, localS3, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));
const s3 = localS3(inject('s3Url'));
const BUCKET = 'sluice-test-external';

let token: string;
let collectionId: string;
const { newCollection } = catalogHelpers(api, () => token);

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
  collectionId = await newCollection('triggers');
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** Data Flow names: letters, digits, _ and - (unique() adds both). */
const triggerName = (stem: string) => unique(stem).replace(/[^A-Za-z0-9_-]/g, '_');

/** A pipeline with no nodes: a run of it completes at once. */
async function newPipeline(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api.post(
    '/api/v1/pipelines',
    { name: unique('triggered'), collection_id: collectionId, nodes: [], ...extra },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function createTrigger(body: Record<string, unknown>) {
  const res = await api.post('/api/v1/triggers', body, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function getTrigger(id: string) {
  const res = await api.get(`/api/v1/triggers/${id}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function deleteTrigger(id: string) {
  const res = await api.del(`/api/v1/triggers/${id}`, { token });
  expect(res.status, res.text).toBe(204);
}

interface Batch {
  id: string;
  status: string;
  created_at: string;
}

/** The pipeline's batches, newest first. */
async function batches(pipelineId: string): Promise<Batch[]> {
  const res = await api.get(`/api/v1/batches/${pipelineId}/?limit=1000`, { token });
  expect(res.status, res.text).toBe(200);
  return Object.values(res.body.items as Record<string, string>).map((json) => JSON.parse(json) as Batch);
}

async function waitForBatches(pipelineId: string, count: number, timeoutMs = 20_000) {
  return until(
    `${count} batch(es) of ${pipelineId}`,
    () => batches(pipelineId),
    (b) => b.length >= count,
    timeoutMs,
  );
}

const settled = (b: Batch[]) => b.every((x) => ['completed', 'failed', 'stop'].includes(x.status));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function putObject(key: string) {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'a,b\n1,2\n' }));
}

// ---------------------------------------------------------------------------------------------

describe('trigger routes', () => {
  it('create, read, list and delete a trigger in the Data Flow shape', async () => {
    const job = await newPipeline();
    const name = triggerName('nightly');

    const created = await createTrigger({
      name,
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'DAY', time: '03:30' },
      timezone: 'Asia/Seoul',
      target: { type: 'JOB', jobId: job },
    });

    expect(created).toMatchObject({
      triggerId: expect.stringMatching(/^trg-[0-9a-z]{22}$/),
      name,
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'DAY', time: '03:30', dayOfWeek: [], dateOfMonth: null },
      cron: null,
      timezone: 'Asia/Seoul',
      scheduleExpression: 'cron(30 3 * * ? *)',
      target: { type: 'JOB', jobId: job },
      onBusy: 'QUEUE',
      enabled: true,
      lastFiredDate: null,
      createdDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/),
    });
    // 03:30 in Seoul is 18:30 UTC.
    expect(created.nextRunDate).toMatch(/T18:30:00\+00:00$/);
    expect(await getTrigger(created.triggerId)).toEqual(created);

    const listed = await api.get(`/api/v1/triggers?name=${name}`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ list: [created], count: 1, page: 0, limit: 1000 });

    await deleteTrigger(created.triggerId);
    const gone = await api.get(`/api/v1/triggers/${created.triggerId}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.errorType).toBe('resource-not-found/TRIGGER');
  });

  it('page the list filtered by name', async () => {
    const stem = triggerName('paged');
    const first = await createTrigger({ name: `${stem}_1`, type: 'NONE' });
    const second = await createTrigger({ name: `${stem}_2`, type: 'NONE' });

    const page = await api.get(`/api/v1/triggers?name=${stem.toUpperCase()}&page=1&limit=1`, { token });

    expect(page.status).toBe(200);
    // Newest first.
    expect(page.body).toMatchObject({ count: 2, page: 1, limit: 1, list: [{ triggerId: first.triggerId }] });
    for (const t of [first, second]) await deleteTrigger(t.triggerId);
  });

  it('name every bad field of a request', async () => {
    const res = await api.post(
      '/api/v1/triggers',
      { name: '9 lives', type: 'WEEKLY', onBusy: 'WAIT' },
      { token },
    );

    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe('bad-parameter');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.name',
      'body.onBusy',
      'body.type',
    ]);
  });

  it('name the field of a schedule, an event or a target that cannot work', async () => {
    const job = await newPipeline();
    const fieldsOf = async (body: Record<string, unknown>) => {
      const res = await api.post('/api/v1/triggers', { name: triggerName('bad'), ...body }, { token });
      expect(res.status, res.text).toBe(400);
      return res.body.errors.map((e: { field: string }) => e.field);
    };

    expect(
      await fieldsOf({
        type: 'SCHEDULED',
        triggerRule: { type: 'RECURRING', interval: 'DAY', time: '25:00' },
      }),
    ).toEqual(['body.triggerRule.time']);
    expect(await fieldsOf({ type: 'SCHEDULED', cron: 'rate(5 minutes)', timezone: 'Mars/Olympus' })).toEqual([
      'body.timezone',
    ]);
    expect(await fieldsOf({ type: 'SCHEDULED' })).toEqual(['body.triggerRule']);
    expect(await fieldsOf({ type: 'EVENT', event: { kind: 'OBJECT_CREATED', bucket: 'not-ours' } })).toEqual([
      'body.event.bucket',
    ]);
    expect(
      await fieldsOf({ type: 'EVENT', event: { kind: 'RUN_FINISHED', jobId: job }, target: { jobId: job } }),
    ).toEqual(['body.event.jobId']);
    expect(await fieldsOf({ type: 'NONE', target: { jobId: 'pl-0000000000000000000000' } })).toEqual([
      'body.target.jobId',
    ]);
  });

  it('refuse a second trigger with the same name', async () => {
    const name = triggerName('twice');
    const first = await createTrigger({ name, type: 'NONE' });

    const again = await api.post('/api/v1/triggers', { name: name.toLowerCase(), type: 'NONE' }, { token });

    expect(again.status).toBe(409);
    await deleteTrigger(first.triggerId);
  });

  it('keep a job with triggers from being deleted unless forced, which deletes its triggers', async () => {
    const job = await newPipeline();
    const trigger = await createTrigger({ name: triggerName('owned'), type: 'NONE', target: { jobId: job } });

    const refused = await api.del(`/api/v1/jobs/${job}`, { token });
    expect(refused.status, refused.text).toBe(409);

    const forced = await api.del(`/api/v1/jobs/${job}?force=true`, { token });
    expect(forced.status, forced.text).toBe(204);
    expect((await api.get(`/api/v1/triggers/${trigger.triggerId}`, { token })).status).toBe(404);
  });
});

describe('scheduled triggers', () => {
  it('fire on the local host, each firing a completed batch of the job, until deleted', async () => {
    const job = await newPipeline();
    const name = triggerName('every_second');
    const trigger = await createTrigger({
      name,
      type: 'SCHEDULED',
      cron: 'rate(1 second)',
      target: { type: 'JOB', jobId: job },
    });
    expect(trigger.scheduleExpression).toBe('rate(1 second)');

    const [first] = await waitForBatches(job, 1);
    const fired = await until(
      'the trigger to record its firing',
      () => getTrigger(trigger.triggerId),
      (t) => t.lastExecutionId !== null,
    );
    expect(fired.lastFiredDate).not.toBeNull();
    const execution = await until(
      'the triggered run to complete',
      async () => (await api.get(`/api/v1/jobs/${job}/executions/${first?.id}`, { token })).body,
      (e) => e.status === 'COMPLETED',
    );
    expect(execution).toMatchObject({ triggerId: trigger.triggerId, triggerName: name, type: 'JOB' });

    await deleteTrigger(trigger.triggerId);
    // A firing already under way may still land; after that, nothing more.
    const after = await until('runs to settle', () => batches(job), settled);
    await sleep(2_500);
    expect(await batches(job)).toHaveLength(after.length);
  });

  it('start a workflow when they target one; the workflow cannot be deleted while they do', async () => {
    const job = await newPipeline();
    const workflow = await api.post(
      '/api/v1/workflows',
      {
        name: triggerName('wf_target'),
        nodes: [{ id: 1, name: 'only job', type: 'JOB', parentNodeIds: [], jobId: job }],
      },
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);
    const workflowId = workflow.body.workflowId as string;
    const trigger = await createTrigger({
      name: triggerName('wf_every_second'),
      type: 'SCHEDULED',
      cron: 'rate(1 second)',
      target: { type: 'WORKFLOW', workflowId },
    });
    expect(trigger.target).toEqual({ type: 'WORKFLOW', workflowId });

    const executions = await until(
      'the workflow to be run by the trigger',
      async () => (await api.get(`/api/v1/workflows/${workflowId}/executions?view=runs`, { token })).body,
      (b) => (b.list ?? []).some((e: { status: string }) => e.status === 'COMPLETED'),
    );
    expect(executions.count).toBeGreaterThanOrEqual(1);
    expect(executions.list[0]).toMatchObject({ triggerId: trigger.triggerId, triggerName: trigger.name });
    expect((await api.del(`/api/v1/workflows/${workflowId}`, { token })).status).toBe(409);
    await deleteTrigger(trigger.triggerId);

    const missing = await api.post(
      '/api/v1/triggers',
      {
        name: triggerName('wf_missing'),
        type: 'SCHEDULED',
        cron: 'rate(1 hour)',
        target: { type: 'WORKFLOW' },
      },
      { token },
    );
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe('body.target.workflowId');
  });

  it('fire a ONE_TIME rule once, then switch themselves off', async () => {
    const job = await newPipeline();
    const at = new Date(Date.now() + 2_000).toISOString().slice(0, 19);
    const trigger = await createTrigger({
      name: triggerName('once'),
      type: 'SCHEDULED',
      triggerRule: { type: 'ONE_TIME', executionDate: `${at}Z` },
      target: { jobId: job },
    });
    expect(trigger.scheduleExpression).toBe(`at(${at})`);
    expect(trigger.nextRunDate).toBe(`${at}+00:00`);

    await waitForBatches(job, 1);
    const spent = await until(
      'the trigger to switch off',
      () => getTrigger(trigger.triggerId),
      (t) => t.enabled === false,
    );

    expect(spent).toMatchObject({ enabled: false, nextRunDate: null, lastFiredDate: expect.any(String) });
    expect(await batches(job)).toHaveLength(1);
    await deleteTrigger(trigger.triggerId);
  });
});

describe('event triggers', () => {
  it('start the job when an object lands under the prefix, and not elsewhere', async () => {
    const job = await newPipeline();
    const prefix = `${unique('trg')}/in/`;
    const trigger = await createTrigger({
      name: triggerName('on_upload'),
      type: 'EVENT',
      event: { kind: 'OBJECT_CREATED', bucket: BUCKET, prefix },
      target: { jobId: job },
    });

    await putObject(`${prefix.replace('/in/', '/out/')}ignored.csv`);
    await putObject(`${prefix}orders.csv`);

    const [batch] = await waitForBatches(job, 1);
    const fired = await until(
      'the trigger to record its firing',
      () => getTrigger(trigger.triggerId),
      (t) => t.lastExecutionId !== null,
    );
    expect(fired.lastExecutionId).toBe(batch?.id);
    await until('the run to complete', () => batches(job), settled);
    expect(await batches(job)).toHaveLength(1);
    await deleteTrigger(trigger.triggerId);
  });

  it('start the job when a dataset named in a collection gets a new version', async () => {
    const job = await newPipeline();
    const collection = await api.get(`/api/v1/collections/${collectionId}`, { token });
    const dataset = await api.post(
      '/api/v1/datasets',
      { name: unique('orders'), collection_id: collectionId },
      { token },
    );
    expect(dataset.status, dataset.text).toBe(201);
    const trigger = await createTrigger({
      name: triggerName('on_dataset'),
      type: 'EVENT',
      event: { kind: 'DATASET_UPDATED', database: collection.body.name, table: dataset.body.name },
      target: { jobId: job },
    });
    expect(trigger.event).toMatchObject({ kind: 'DATASET_UPDATED', datasetId: dataset.body.id });

    expect((await api.upload(dataset.body.id, 'k,v\n1,2\n', token)).status).toBe(200);

    await waitForBatches(job, 1);
    await deleteTrigger(trigger.triggerId);
  });

  it('chain two jobs: B runs after A completes', async () => {
    const a = await newPipeline();
    const b = await newPipeline();
    const trigger = await createTrigger({
      name: triggerName('after_a'),
      type: 'EVENT',
      event: { kind: 'RUN_FINISHED', jobId: a, statuses: ['COMPLETED'] },
      target: { type: 'JOB', jobId: b },
    });
    expect(trigger.event).toEqual({ kind: 'RUN_FINISHED', jobId: a, statuses: ['COMPLETED'] });
    expect(await batches(b)).toEqual([]);

    const run = await api.post(`/api/v1/pipelines/${a}/run`, {}, { token });
    expect(run.status, run.text).toBe(200);

    const [chained] = await until(
      'B to run and complete',
      () => batches(b),
      (list) => list.length === 1 && settled(list),
    );
    const [upstream] = await batches(a);
    expect(upstream?.status).toBe('completed');
    expect(chained?.status).toBe('completed');
    expect(Date.parse(chained?.created_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(upstream?.created_at ?? ''),
    );
    await deleteTrigger(trigger.triggerId);
  });

  it('queue a run behind a busy job with onBusy QUEUE, and start nothing with SKIP', async () => {
    // The job's only run slot (max_concurrent_runs 1) is held by a run of a slow step.
    const busy = await slowJob();
    const prefix = `${unique('busy')}/`;
    const queue = await createTrigger({
      name: triggerName('queue'),
      type: 'EVENT',
      event: { kind: 'OBJECT_CREATED', bucket: BUCKET, prefix },
      target: { jobId: busy.id },
    });
    const skip = await createTrigger({
      name: triggerName('skip'),
      type: 'EVENT',
      event: { kind: 'OBJECT_CREATED', bucket: BUCKET, prefix },
      target: { jobId: busy.id },
      onBusy: 'SKIP',
    });

    await putObject(`${prefix}file.csv`);

    const queued = await until(
      'the QUEUE trigger to fire',
      () => getTrigger(queue.triggerId),
      (t) => t.lastExecutionId !== null,
    );
    // Both triggers heard the same event; give the skipping one time to decide.
    await sleep(1_000);
    const list = await batches(busy.id);
    expect(list.map((b) => b.status).sort()).toEqual(['pending', 'running']);
    expect(list.find((b) => b.status === 'pending')?.id).toBe(queued.lastExecutionId);
    expect((await getTrigger(skip.triggerId)).lastFiredDate).toBeNull();

    for (const t of [queue, skip]) await deleteTrigger(t.triggerId);
    const removed = await api.del(`/api/v1/pipelines/${busy.id}?force=true`, { token });
    expect(removed.status, removed.text).toBe(200);
  });
});

/** A job whose run stays `running` until stopped (a SQL step over 10^10 rows). */
async function slowJob() {
  const dataset = await api.post(
    '/api/v1/datasets',
    { name: unique('src'), collection_id: collectionId },
    { token },
  );
  expect(dataset.status, dataset.text).toBe(201);
  expect((await api.upload(dataset.body.id, 'a\n1\n', token)).status).toBe(200);
  const res = await api.post(
    '/api/v1/pipelines',
    {
      name: unique('slow'),
      collection_id: collectionId,
      nodes: [
        {
          id: 1,
          name: 'extract',
          type: 'SOURCE_CATALOG',
          parentNodeIds: [],
          database: collectionId,
          table: dataset.body.id,
        },
        {
          id: 2,
          name: 'slow sql',
          type: 'TRANSFORM_SQL',
          parentNodeIds: [1],
          sourceNameList: [{ parentId: 1, newName: 'src' }],
          sql: 'SELECT sum(hash(a.range * b.range)) AS n FROM src, range(100000) a, range(100000) b',
        },
        {
          id: 3,
          name: 'load',
          type: 'TARGET_CATALOG',
          parentNodeIds: [2],
          database: collectionId,
          table: unique('never'),
          updateType: 'OVERWRITE',
        },
      ],
    },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  const run = await api.post(`/api/v1/pipelines/${res.body.id}/run`, {}, { token });
  expect(run.status, run.text).toBe(200);
  await until(
    'the slow run to start',
    () => batches(res.body.id),
    (b) => b[0]?.status === 'running',
  );
  return { id: res.body.id as string };
}

describe('switching a trigger on and off', () => {
  const patch = (id: string, body: unknown, as = token) =>
    api.call('PATCH', `/api/v1/triggers/${id}`, { token: as, body });

  it('stop a rate schedule from firing when disabled, and fire again when enabled', async () => {
    const job = await newPipeline();
    const trigger = await createTrigger({
      name: triggerName('switched'),
      type: 'SCHEDULED',
      cron: 'rate(1 second)',
      target: { type: 'JOB', jobId: job },
    });
    await waitForBatches(job, 1);

    const off = await patch(trigger.triggerId, { enabled: false });
    expect(off.status, off.text).toBe(200);
    expect(off.body).toMatchObject({ triggerId: trigger.triggerId, enabled: false, nextRunDate: null });
    expect(off.body).toEqual({ ...(await getTrigger(trigger.triggerId)) });
    // Again: nothing changes.
    const again = await patch(trigger.triggerId, { enabled: false });
    expect(again.status, again.text).toBe(200);
    expect(again.body.updatedDate).toBe(off.body.updatedDate);

    // A firing already under way when it was switched off may still land (its batch, then its
    // lastFiredDate); give it more than one period, then nothing over a few periods.
    await sleep(1_500);
    const settledOff = await until('runs to settle', () => batches(job), settled);
    const firedOff = (await getTrigger(trigger.triggerId)).lastFiredDate;
    expect(firedOff).not.toBeNull();
    await sleep(3_000);
    expect(await batches(job)).toHaveLength(settledOff.length);
    expect((await getTrigger(trigger.triggerId)).lastFiredDate).toBe(firedOff);

    const on = await patch(trigger.triggerId, { enabled: true });
    expect(on.status, on.text).toBe(200);
    expect(on.body.enabled).toBe(true);
    expect(on.body.nextRunDate).not.toBeNull();
    await waitForBatches(job, settledOff.length + 1);

    await deleteTrigger(trigger.triggerId);
    await until('runs to settle', () => batches(job), settled);
  });

  it('answer 404 for an unknown trigger and 400 naming the field of a bad body', async () => {
    const missing = await patch('trigger-nope', { enabled: false });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');

    const trigger = await createTrigger({ name: triggerName('patched'), type: 'NONE' });
    const fieldsOf = async (body: unknown) => {
      const res = await patch(trigger.triggerId, body);
      expect(res.status, res.text).toBe(400);
      return res.body.errors as { field: string; message: string }[];
    };
    expect((await fieldsOf({ enabled: 'yes' })).map((e) => e.field)).toEqual(['body.enabled']);
    expect((await fieldsOf({})).map((e) => e.field)).toEqual(['body.enabled']);
    const extra = await fieldsOf({ enabled: true, name: 'renamed' });
    expect(extra).toHaveLength(1);
    expect(extra[0]?.message).toMatch(/only "enabled" can be changed; not "name"/);
    expect((await getTrigger(trigger.triggerId)).name).toBe(trigger.name);
    await deleteTrigger(trigger.triggerId);
  });

  it('are not for viewers', async () => {
    const trigger = await createTrigger({ name: triggerName('guarded'), type: 'NONE' });
    const username = unique('viewer');
    const password = `${username}-secret-pw`;
    const made = await api.post('/api/v1/users', { username, password, role: 'viewer' }, { token });
    expect(made.status, made.text).toBe(201);
    const viewer = await api.login(username, password);

    const res = await patch(trigger.triggerId, { enabled: false }, viewer);
    expect(res.status).toBe(403);
    expect((await getTrigger(trigger.triggerId)).enabled).toBe(true);
    await deleteTrigger(trigger.triggerId);
  });
});

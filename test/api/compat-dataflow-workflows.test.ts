/**
 * NAVER Cloud Data Flow's workflow and trigger operations, sent as their public reference pages
 * show them (createWorkflow, updateWorkflow, getWorkflows, getWorkflowById, deleteWorkflow,
 * getWorkflowExecutions, createTrigger, getTriggers, getTriggerById, deleteTrigger), with the
 * masked ids replaced by real ones and names made unique, against the shared local host. The
 * documented response fields are asserted. Differences Sluice keeps on purpose: creates answer
 * 200 and deletes 204 with no body (as every Sluice create and delete does; the pages show 201
 * and a bare `true`).
 *
 * Then what the public model means: a trigger with no target fires the workflows whose TRIGGER
 * node names it, and the JOB node's jobCondition is what the job's run gets; a node whose job
 * or trigger was deleted is `isValid: false`; `isTemp: true` saves a draft.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique, until } from './harness.ts';

const api = client(inject('hostUrl'));
let token: string;

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
});

/** ISO 8601 with an offset, as Data Flow writes dates. */
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/;
/** Data Flow names: 3-100 of letters, digits, _ and -, from a letter or _. */
const nameOf = (stem: string) => unique(stem).replace(/[^A-Za-z0-9_-]/g, '_');

/** A job with no nodes: a run of it completes at once. */
async function newJob(stem: string): Promise<{ jobId: string; name: string }> {
  const name = nameOf(stem);
  const res = await api.post('/api/v1/jobs', { name, nodes: [] }, { token });
  expect(res.status, res.text).toBe(200);
  return { jobId: res.body.jobId, name };
}

async function newTrigger(body: Record<string, unknown>) {
  const res = await api.post('/api/v1/triggers', body, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** The reference page's jobCondition (the NAVER Cloud fields are kept and echoed). */
const referenceCondition = {
  workerType: 'DEFAULT',
  numWorker: 3,
  timeout: 360,
  nrn: 'nrn:PUB:IAM::2500004:Role/0000-a9d6-0000-a85d-0000',
  scriptPath: 'dataflow-33-0000/scripts/',
  logPath: 'dataflow-33-0000/sparkHistoryLogs/',
};

/** createWorkflow's body in the reference form: a JOB node under a TRIGGER node, by their ids. */
function referenceWorkflow(
  name: string,
  job: { jobId: string; name: string },
  trigger: { triggerId: string; name: string },
  jobCondition: Record<string, unknown> = referenceCondition,
) {
  return {
    isTemp: false,
    name,
    nodes: [
      {
        id: job.jobId,
        name: job.name,
        type: 'JOB',
        parentNodeIds: [trigger.triggerId],
        jobCondition,
      },
      {
        id: trigger.triggerId,
        name: trigger.name,
        type: 'TRIGGER',
        parentNodeIds: [],
        triggerRule: 'RECURRING',
      },
    ],
  };
}

describe('triggers as documented', () => {
  it('createTrigger, getTriggers, getTriggerById and deleteTrigger', async () => {
    // createTrigger: the reference example (a trigger has no target in the public model).
    const name = nameOf('trigger001');
    const created = await api.post(
      '/api/v1/triggers',
      { name, type: 'SCHEDULED', triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' } },
      { token },
    );
    expect(created.status, created.text).toBe(200);
    expect(created.body).toMatchObject({
      triggerId: expect.any(String),
      name,
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' },
      createdDate: expect.stringMatching(DATE),
      updatedDate: expect.stringMatching(DATE),
    });
    const id = created.body.triggerId as string;

    // getTriggers: `name`, `page`, `limit`.
    const listed = await api.get(`/api/v1/triggers?name=${name}&page=0&limit=1000`, { token });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body).toMatchObject({ count: 1, page: 0, limit: 1000 });
    expect(listed.body.list).toEqual([created.body]);

    // getTriggerById.
    const read = await api.get(`/api/v1/triggers/${id}`, { token });
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual(created.body);

    // deleteTrigger.
    const deleted = await api.del(`/api/v1/triggers/${id}`, { token });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await api.get(`/api/v1/triggers/${id}`, { token })).status).toBe(404);
  });
});

describe('workflows as documented', () => {
  it('createWorkflow, getWorkflows, getWorkflowById, updateWorkflow, getWorkflowExecutions, deleteWorkflow', async () => {
    const job = await newJob('job001');
    const trigger = await newTrigger({
      name: nameOf('trigger1'),
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' },
    });
    const name = nameOf('workflow001');

    // createWorkflow: a node's id is the job's or the trigger's id.
    const created = await api.post('/api/v1/workflows', referenceWorkflow(name, job, trigger), { token });
    expect(created.status, created.text).toBe(200);
    const workflowId = created.body.workflowId as string;
    expect(created.body).toMatchObject({
      workflowId: expect.any(String),
      name,
      isTemp: false,
      createdDate: expect.stringMatching(DATE),
      updatedDate: expect.stringMatching(DATE),
      nodes: [
        {
          id: job.jobId,
          name: job.name,
          type: 'JOB',
          parentNodeIds: [trigger.triggerId],
          jobCondition: referenceCondition,
          isValid: true,
        },
        {
          id: trigger.triggerId,
          name: trigger.name,
          type: 'TRIGGER',
          parentNodeIds: [],
          triggerRule: 'RECURRING',
          isValid: true,
        },
      ],
    });

    // getWorkflows: the reference example's paging, then this workflow among them.
    const page = await api.get('/api/v1/workflows?page=0&limit=20', { token });
    expect(page.status, page.text).toBe(200);
    expect(page.body).toMatchObject({ count: expect.any(Number), page: 0, limit: 20 });
    expect(page.body.list.length).toBeLessThanOrEqual(20);
    const named = await api.get(`/api/v1/workflows?name=${name}&page=0&limit=20`, { token });
    expect(named.body.list).toHaveLength(1);
    expect(named.body.list[0]).toMatchObject({
      workflowId,
      name,
      createdDate: expect.stringMatching(DATE),
      updatedDate: expect.stringMatching(DATE),
      lastExecutionDate: null,
      isTemp: false,
      triggerRuleType: 'RECURRING',
      nodes: created.body.nodes,
      resourceId: workflowId,
      disabled: false,
    });

    // getWorkflowById: the reference example's shape.
    const read = await api.get(`/api/v1/workflows/${workflowId}`, { token });
    expect(read.status, read.text).toBe(200);
    expect(read.body).toEqual(created.body);

    // updateWorkflow: the reference example sends isTemp, name and nodes again.
    const changed = { ...referenceCondition, numWorker: 4, timeout: 60 };
    const updated = await api.put(
      `/api/v1/workflows/${workflowId}`,
      referenceWorkflow(name, job, trigger, changed),
      { token },
    );
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({
      workflowId,
      isTemp: false,
      nodes: [{ jobCondition: changed }, { type: 'TRIGGER' }],
    });

    // getWorkflowExecutions: empty, then the job executions of a run.
    const none = await api.get(`/api/v1/workflows/${workflowId}/executions?page=0&limit=1000`, { token });
    expect(none.status, none.text).toBe(200);
    expect(none.body).toEqual({ list: [], count: 0, page: 0, limit: 1000 });
    const run = await api.post(`/api/v1/workflows/${workflowId}/executions`, {}, { token });
    expect(run.status, run.text).toBe(200);
    const executions = await until(
      'the job execution to complete',
      async () =>
        (await api.get(`/api/v1/workflows/${workflowId}/executions?page=0&limit=1000`, { token })).body,
      (b) => b.list?.[0]?.status === 'COMPLETED',
    );
    expect(executions).toMatchObject({ count: 1, page: 0, limit: 1000 });
    expect(executions.list[0]).toMatchObject({
      jobExecutionId: expect.stringMatching(/^batch-/),
      jobId: job.jobId,
      jobName: job.name,
      jobCondition: { workerType: 'DEFAULT', numWorker: 4, timeout: 60 },
      status: 'COMPLETED',
      startDate: expect.stringMatching(DATE),
      endDate: expect.stringMatching(DATE),
      createdDate: expect.stringMatching(DATE),
      workflowExecutionId: run.body.workflowExecutionId,
    });
    // The grouped view: one item per workflow execution, which settles just after its last job.
    const runs = await until(
      'the workflow execution to complete',
      async () => (await api.get(`/api/v1/workflows/${workflowId}/executions?view=runs`, { token })).body,
      (b) => b.list?.[0]?.status === 'COMPLETED',
    );
    expect(runs.list).toEqual([
      expect.objectContaining({
        workflowExecutionId: run.body.workflowExecutionId,
        status: 'COMPLETED',
        jobExecutions: [expect.objectContaining({ jobExecutionId: executions.list[0].jobExecutionId })],
      }),
    ]);

    // deleteWorkflow.
    const deleted = await api.del(`/api/v1/workflows/${workflowId}`, { token });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await api.get(`/api/v1/workflows/${workflowId}`, { token })).status).toBe(404);
    await api.del(`/api/v1/triggers/${trigger.triggerId}`, { token });
  });
});

describe('a trigger attached through a TRIGGER node', () => {
  it("starts the workflow on its schedule, the job running with the JOB node's jobCondition", async () => {
    const job = await newJob('job_fired');
    // A recurring schedule that fires within the test (the shared host allows second rates).
    const trigger = await newTrigger({
      name: nameOf('every_2s'),
      type: 'SCHEDULED',
      cron: 'rate(2 seconds)',
    });
    expect(trigger.target).toBeNull();
    const condition = { workerType: 'DEFAULT', numWorker: 3, timeout: 7 };
    const workflow = await api.post(
      '/api/v1/workflows',
      referenceWorkflow(nameOf('wf_fired'), job, trigger, condition),
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);
    const workflowId = workflow.body.workflowId as string;

    const executions = await until(
      'the trigger to start the workflow and its job to complete',
      async () => (await api.get(`/api/v1/workflows/${workflowId}/executions`, { token })).body,
      (b) => (b.list ?? []).some((e: { status: string }) => e.status === 'COMPLETED'),
      20_000,
    );
    const fired = await api.get(`/api/v1/triggers/${trigger.triggerId}`, { token });
    expect(fired.body.lastFiredDate).toMatch(DATE);
    await api.del(`/api/v1/triggers/${trigger.triggerId}`, { token });

    const ran = executions.list.find((e: { status: string }) => e.status === 'COMPLETED');
    expect(ran).toMatchObject({
      jobId: job.jobId,
      jobCondition: condition,
      triggerId: trigger.triggerId,
      triggerName: trigger.name,
      type: 'WORKFLOW',
      workflowExecutionId: expect.stringMatching(/^wfx-/),
    });
    // The same run seen from the job: its own settings did not change.
    const execution = await api.get(`/api/v1/jobs/${job.jobId}/executions/${ran.jobExecutionId}`, { token });
    expect(execution.body).toMatchObject({ jobCondition: condition, status: 'COMPLETED' });
    const saved = await api.get(`/api/v1/jobs/${job.jobId}`, { token });
    expect(saved.body.runCondition).toMatchObject({ numWorker: 2, timeout: 360 });
    const runs = await api.get(`/api/v1/workflows/${workflowId}/executions?view=runs`, { token });
    expect(runs.body.list.at(-1)).toMatchObject({ triggerId: trigger.triggerId, triggerName: trigger.name });
  });

  it('is armed when it is a RECURRING HOUR rule: its next run is the next minute 15 of an hour', async () => {
    const job = await newJob('job_hourly');
    const before = Date.now();
    const trigger = await newTrigger({
      name: nameOf('hourly'),
      type: 'SCHEDULED',
      triggerRule: { type: 'RECURRING', interval: 'HOUR', time: '15' },
    });
    const workflow = await api.post(
      '/api/v1/workflows',
      referenceWorkflow(nameOf('wf_hourly'), job, trigger, { numWorker: 2 }),
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);

    const next = Date.parse(trigger.nextRunDate);
    expect(trigger.triggerRule).toMatchObject({ type: 'RECURRING', interval: 'HOUR', time: '15' });
    expect(trigger.scheduleExpression).toBe('cron(15 * * * ? *)');
    expect(new Date(next).getUTCMinutes()).toBe(15);
    expect(new Date(next).getUTCSeconds()).toBe(0);
    expect(next).toBeGreaterThan(before);
    expect(next - before).toBeLessThanOrEqual(3_600_000);
    expect(workflow.body).toMatchObject({
      triggerRuleType: 'RECURRING',
      nodes: [
        { type: 'JOB', isValid: true },
        { type: 'TRIGGER', triggerRule: 'RECURRING', isValid: true },
      ],
    });
    await api.del(`/api/v1/workflows/${workflow.body.workflowId}`, { token });
    await api.del(`/api/v1/triggers/${trigger.triggerId}`, { token });
  });
});

describe('nodes whose job or trigger is deleted', () => {
  it('answer isValid false, and the workflow refuses to run until mended', async () => {
    const job = await newJob('job_doomed');
    const spare = await newJob('job_spare');
    const trigger = await newTrigger({ name: nameOf('manual'), type: 'NONE' });
    const workflow = await api.post(
      '/api/v1/workflows',
      referenceWorkflow(nameOf('wf_dangling'), job, trigger),
      { token },
    );
    expect(workflow.status, workflow.text).toBe(200);
    const workflowId = workflow.body.workflowId as string;
    expect(workflow.body.nodes.map((n: { isValid: boolean }) => n.isValid)).toEqual([true, true]);

    expect((await api.del(`/api/v1/jobs/${job.jobId}`, { token })).status).toBe(204);
    expect((await api.del(`/api/v1/triggers/${trigger.triggerId}`, { token })).status).toBe(204);

    const read = await api.get(`/api/v1/workflows/${workflowId}`, { token });
    expect(read.body.nodes).toMatchObject([
      { id: job.jobId, type: 'JOB', isValid: false, jobCondition: referenceCondition },
      { id: trigger.triggerId, type: 'TRIGGER', isValid: false, triggerRule: 'NONE' },
    ]);
    const refused = await api.post(`/api/v1/workflows/${workflowId}/executions`, {}, { token });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/no longer exists/);

    // Replacing the node mends it.
    const mended = await api.put(
      `/api/v1/workflows/${workflowId}`,
      {
        name: read.body.name,
        nodes: [{ id: spare.jobId, name: spare.name, type: 'JOB', parentNodeIds: [] }],
      },
      { token },
    );
    expect(mended.status, mended.text).toBe(200);
    expect(mended.body.nodes).toMatchObject([{ id: spare.jobId, isValid: true }]);
  });
});

describe('isTemp', () => {
  it('saves a draft with its problems, which cannot run until saved with isTemp false', async () => {
    const job = await newJob('job_draft');
    const name = nameOf('wf_draft');
    const missing = 'pl-0000000000000000000000';

    const draft = await api.post(
      '/api/v1/workflows',
      { isTemp: true, name, nodes: [{ id: missing, name: 'not yet', type: 'JOB', parentNodeIds: [] }] },
      { token },
    );
    expect(draft.status, draft.text).toBe(200);
    expect(draft.body).toMatchObject({
      isTemp: true,
      status: 'DRAFT',
      nodes: [{ id: missing, isValid: false }],
      problems: [{ nodeId: missing, field: 'id', message: expect.stringMatching(/does not exist/) }],
    });
    const workflowId = draft.body.workflowId as string;
    const refused = await api.post(`/api/v1/workflows/${workflowId}/executions`, {}, { token });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/draft/);

    const notTemp = await api.put(
      `/api/v1/workflows/${workflowId}`,
      { isTemp: false, name, nodes: [{ id: missing, name: 'not yet', type: 'JOB', parentNodeIds: [] }] },
      { token },
    );
    expect(notTemp.status).toBe(400);

    const saved = await api.put(
      `/api/v1/workflows/${workflowId}`,
      { isTemp: false, name, nodes: [{ id: job.jobId, name: job.name, type: 'JOB', parentNodeIds: [] }] },
      { token },
    );
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({ isTemp: false, status: 'RUNNABLE' });
    expect(saved.body.problems).toBeUndefined();
  });
});

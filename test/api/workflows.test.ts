/**
 * Data Flow workflows end to end on the shared local host: CRUD with validation, and
 * executions whose jobs (pipelines created through /api/v1/pipelines) run on the local engine
 * through the same compiled definition Step Functions runs (`startExecution.sync:2` Tasks
 * answered by the local engine).
 *
 * Failure semantics under test: a failed job fails the workflow at once. Jobs that depend on
 * it never start; jobs running in parallel with it are cancelled (their runs end `stop`, shown
 * as CANCELED); jobs that had already finished keep their result.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ADMIN, client, unique, until } from './harness.ts';
import { SLOW_SQL } from './pipeline-helpers.ts';

const api = client(inject('hostUrl'));
let token: string;
let collection: string;
let dataset: string;

const SALES_CSV = 'region,qty\nnorth,3\nsouth,5\nnorth,1\neast,7\n';
/** Keeps DuckDB busy for minutes: only a stop ends it. */
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELED'];

beforeAll(async () => {
  token = await api.login(ADMIN.username, ADMIN.password);
  const col = await api.post('/api/v1/collections', { name: unique('workflows') }, { token });
  expect(col.status, col.text).toBe(201);
  collection = col.body.id;
  const ds = await api.post('/api/v1/datasets', { name: 'sales', collection_id: collection }, { token });
  expect(ds.status, ds.text).toBe(201);
  dataset = ds.body.id;
  const up = await api.upload(dataset, SALES_CSV, token);
  expect(up.status, up.text).toBe(200);
});

/** A job (pipeline): the sales dataset through one SQL step into a dataset named after the job. */
async function newJob(label: string, sql: string): Promise<{ id: string; name: string }> {
  const name = unique(label);
  const res = await api.post(
    '/api/v1/pipelines',
    {
      name,
      collection_id: collection,
      nodes: [
        {
          id: 1,
          name: 'extract',
          type: 'SOURCE_CATALOG',
          parentNodeIds: [],
          database: collection,
          table: dataset,
        },
        {
          id: 2,
          name: 'transform',
          type: 'TRANSFORM_SQL',
          parentNodeIds: [1],
          sourceNameList: [{ parentId: 1, newName: 'src' }],
          sql,
        },
        {
          id: 3,
          name: 'load',
          type: 'TARGET_CATALOG',
          parentNodeIds: [2],
          database: collection,
          table: name,
          updateType: 'OVERWRITE',
        },
      ],
    },
    { token },
  );
  expect(res.status, res.text).toBe(201);
  expect(res.body.problems, JSON.stringify(res.body.problems)).toEqual([]);
  return { id: res.body.id, name };
}

const goodJob = (label: string) => newJob(label, 'SELECT region, sum(qty) AS qty FROM src GROUP BY region');
const badJob = (label: string) => newJob(label, 'SELECT no_such_column FROM src');
const slowJob = (label: string) => newJob(label, SLOW_SQL);

const jobNode = (id: number, jobId: string, parents: number[] = [], name = `job ${id}`) => ({
  id,
  name,
  type: 'JOB',
  parentNodeIds: parents,
  jobId,
});

async function createWorkflow(nodes: unknown[], name = unique('wf').replaceAll('-', '_')) {
  const res = await api.post('/api/v1/workflows', { name, description: 'a test workflow', nodes }, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function execute(workflowId: string) {
  const res = await api.post(`/api/v1/workflows/${workflowId}/executions`, {}, { token });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

async function waitForExecution(workflowId: string, executionId: string) {
  return until(
    `workflow execution ${executionId} to end`,
    async () => {
      const res = await api.get(`/api/v1/workflows/${workflowId}/executions/${executionId}`, { token });
      expect(res.status, res.text).toBe(200);
      return res.body;
    },
    (x) => TERMINAL.includes(x.status) && x.jobExecutions.every((j: any) => TERMINAL.includes(j.status)),
    90_000,
  );
}

const byNode = (execution: any) =>
  Object.fromEntries(execution.jobExecutions.map((j: any) => [String(j.nodeId), j]));

describe('workflows', () => {
  it('are created, read, listed, replaced and deleted', async () => {
    // Arrange
    const a = await goodJob('wf-crud-a');
    const b = await goodJob('wf-crud-b');
    const trigger = await api.post(
      '/api/v1/triggers',
      { name: unique('wf_crud_manual').replaceAll('-', '_'), type: 'NONE' },
      { token },
    );
    expect(trigger.status, trigger.text).toBe(200);
    const nodes = [
      { id: 1, name: 'hourly', type: 'TRIGGER', parentNodeIds: [], triggerId: trigger.body.triggerId },
      jobNode(2, a.id, [1]),
    ];

    // Act
    const created = await createWorkflow(nodes);
    const read = await api.get(`/api/v1/workflows/${created.workflowId}`, { token });
    const updated = await api.put(
      `/api/v1/workflows/${created.workflowId}`,
      { name: 'renamed_workflow', nodes: [...nodes, jobNode(3, b.id, [2])] },
      { token },
    );
    const listed = await api.get('/api/v1/workflows?name=renamed_workflow&page=0&limit=1000', { token });

    // Assert
    expect(created).toMatchObject({
      workflowId: expect.stringMatching(/^wf-/),
      description: 'a test workflow',
      status: 'RUNNABLE',
      nodes,
      createdDate: expect.stringMatching(/\+00:00$/),
      lastExecutionStatus: null,
    });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({
      name: 'renamed_workflow',
      description: '',
      nodes: [...nodes, jobNode(3, b.id, [2])],
    });
    expect(listed.body).toMatchObject({ page: 0, limit: 1000 });
    expect(listed.body.list.map((w: any) => w.workflowId)).toContain(created.workflowId);

    const deleted = await api.del(`/api/v1/workflows/${created.workflowId}`, { token });
    expect(deleted.status).toBe(204);
    const gone = await api.get(`/api/v1/workflows/${created.workflowId}`, { token });
    expect(gone.status).toBe(404);
    expect(gone.body.errorType).toBe('resource-not-found/WORKFLOW');
  });

  it('are refused with every problem of every node listed', async () => {
    // Arrange
    const a = await goodJob('wf-invalid');

    // Act
    const res = await api.post(
      '/api/v1/workflows',
      {
        name: 'invalid_workflow',
        nodes: [
          jobNode(1, a.id, [3]),
          { id: 2, name: 'mystery', type: 'SCRIPT', parentNodeIds: [] },
          jobNode(3, 'pl-0000000000000000000000', [1, 9]),
          { id: 4, name: 'trigger', type: 'TRIGGER', parentNodeIds: [] },
        ],
      },
      { token },
    );

    // Assert
    expect(res.status).toBe(400);
    expect(res.body.errorType).toBe('bad-parameter');
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: '2', field: 'type' }),
        expect.objectContaining({
          nodeId: '3',
          field: 'jobId',
          message: 'job pl-0000000000000000000000 does not exist',
        }),
        expect.objectContaining({ nodeId: '3', field: 'parentNodeIds', message: 'parent 9 does not exist' }),
        expect.objectContaining({ nodeId: '4', field: 'triggerId' }),
        expect.objectContaining({
          nodeId: '1',
          field: 'parentNodeIds',
          message: expect.stringMatching(/cycle/),
        }),
        expect.objectContaining({
          nodeId: '3',
          field: 'parentNodeIds',
          message: expect.stringMatching(/cycle/),
        }),
      ]),
    );
    expect(res.body.errors).toContainEqual({
      field: 'body.nodes.2.jobId',
      message: 'node 3: job pl-0000000000000000000000 does not exist',
    });
  });

  it('answer resource-not-found for unknown workflows and executions', async () => {
    const missing = await api.get('/api/v1/workflows/wf-0000000000000000000000', { token });
    expect(missing.status).toBe(404);
    expect(missing.body.errorType).toBe('resource-not-found/WORKFLOW');

    const a = await goodJob('wf-404');
    const workflow = await createWorkflow([jobNode(1, a.id)]);
    const execution = await api.get(
      `/api/v1/workflows/${workflow.workflowId}/executions/wfx-0000000000000000000000`,
      { token },
    );
    expect(execution.status).toBe(404);
    expect(execution.body.errorType).toBe('resource-not-found/EXECUTION');
  });
});

describe('workflow executions', () => {
  it('run a chain of jobs in order and show each job execution', async () => {
    // Arrange
    const a = await goodJob('wf-chain-a');
    const b = await goodJob('wf-chain-b');
    const workflow = await createWorkflow([jobNode(1, a.id, [], 'first'), jobNode(2, b.id, [1], 'second')]);

    // Act
    const started = await execute(workflow.workflowId);
    const done = await waitForExecution(workflow.workflowId, started.workflowExecutionId);

    // Assert
    expect(started).toMatchObject({
      workflowExecutionId: expect.stringMatching(/^wfx-/),
      workflowId: workflow.workflowId,
      workflowName: workflow.name,
    });
    expect(['READY', 'RUNNING']).toContain(started.status);
    expect(done.status).toBe('COMPLETED');
    expect(done.jobExecutions.map((j: any) => [j.nodeId, j.nodeName, j.jobId, j.status])).toEqual([
      [1, 'first', a.id, 'COMPLETED'],
      [2, 'second', b.id, 'COMPLETED'],
    ]);
    for (const job of done.jobExecutions) {
      expect(job).toMatchObject({ type: 'WORKFLOW', workflowExecutionId: done.workflowExecutionId });
    }
    const [first, second] = done.jobExecutions;
    expect(Date.parse(second.startDate)).toBeGreaterThanOrEqual(Date.parse(first.endDate));
    expect(done.runningTime).toBeGreaterThan(0);
    expect(done.endDate).toMatch(/\+00:00$/);

    // A job run of a workflow is a batch of its pipeline, like any other.
    const batch = await api.get(`/api/v1/batches/${a.id}/${first.jobExecutionId}`, { token });
    expect(batch.body.status).toBe('completed');

    const runs = await api.get(`/api/v1/workflows/${workflow.workflowId}/executions?view=runs`, { token });
    expect(runs.body).toMatchObject({ count: 1, page: 0, limit: 1000 });
    expect(runs.body.list[0]).toEqual(done);
    // Without view=runs: the job executions, newest first, each naming its workflow execution.
    const jobs = await api.get(`/api/v1/workflows/${workflow.workflowId}/executions?page=0&limit=1`, {
      token,
    });
    expect(jobs.body).toMatchObject({ count: 2, page: 0, limit: 1 });
    expect(jobs.body.list).toEqual([
      { ...second, workflowId: workflow.workflowId, workflowName: workflow.name },
    ]);
    const after = await api.get(`/api/v1/workflows/${workflow.workflowId}`, { token });
    expect(after.body).toMatchObject({ status: 'RUNNABLE', lastExecutionStatus: 'COMPLETED' });
  });

  it('never start a job whose parent failed', async () => {
    // Arrange
    const a = await badJob('wf-fail-a');
    const b = await goodJob('wf-fail-b');
    const workflow = await createWorkflow([jobNode(1, a.id), jobNode(2, b.id, [1])]);

    // Act
    const started = await execute(workflow.workflowId);
    const done = await waitForExecution(workflow.workflowId, started.workflowExecutionId);

    // Assert
    expect(done.status).toBe('FAILED');
    expect(done.jobExecutions).toHaveLength(1);
    expect(done.jobExecutions[0]).toMatchObject({ nodeId: 1, jobId: a.id, status: 'FAILED' });
    expect(done.errorMessage).toMatch(new RegExp(`^Job ${a.name} \\(node 1\\) failed: `));
    const runsOfB = await api.get(`/api/v1/batches/${b.id}/`, { token });
    expect(runsOfB.status, runsOfB.text).toBe(200);
    expect(Object.keys(runsOfB.body.items ?? {})).toHaveLength(0);
  });

  it('fail as soon as one of two parallel jobs fails, cancelling the other', async () => {
    // Arrange: A, then B (fails quickly) and C (runs until stopped) in parallel.
    const a = await goodJob('wf-par-a');
    const b = await badJob('wf-par-b');
    const c = await slowJob('wf-par-c');
    const workflow = await createWorkflow([jobNode(1, a.id), jobNode(2, b.id, [1]), jobNode(3, c.id, [1])]);

    // Act
    const started = await execute(workflow.workflowId);
    const done = await waitForExecution(workflow.workflowId, started.workflowExecutionId);

    // Assert
    expect(done.status).toBe('FAILED');
    const jobs = byNode(done);
    expect(Object.keys(jobs).sort()).toEqual(['1', '2', '3']);
    expect(jobs['1']).toMatchObject({ jobId: a.id, status: 'COMPLETED' });
    expect(jobs['2']).toMatchObject({ jobId: b.id, status: 'FAILED' });
    expect(jobs['3']).toMatchObject({
      jobId: c.id,
      status: 'CANCELED',
      errorMessage: `Stopped because workflow execution ${done.workflowExecutionId} ended (FAILED).`,
    });
    expect(done.errorMessage).toMatch(new RegExp(`^Job ${b.name} \\(node 2\\) failed: `));
    // The cancelled run gave its slot back: the job runs again at once.
    const again = await api.post(`/api/v1/pipelines/${c.id}/run`, {}, { token });
    expect(again.body.status).toBe('running');
    await api.put(`/api/v1/batches/${c.id}/${again.body.batch_id}/stop`, undefined, { token });
  });

  it('refuse to run when a job has been deleted since', async () => {
    const a = await goodJob('wf-gone');
    const workflow = await createWorkflow([jobNode(1, a.id)]);
    const removed = await api.del(`/api/v1/pipelines/${a.id}`, { token });
    expect(removed.status, removed.text).toBe(200);

    const res = await api.post(`/api/v1/workflows/${workflow.workflowId}/executions`, {}, { token });

    expect(res.status).toBe(409);
    expect(res.body.errorType).toBe('bad-state');
    expect(res.body.detail).toMatch(/no longer exists/);
  });
});

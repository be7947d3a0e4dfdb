/**
 * Malformed input never gets a 5xx. Property-based: fast-check (fixed seed) mutates a valid body
 * of every writing route (wrong types, huge/negative/fractional/1e300 numbers, long strings,
 * deep nesting, big arrays, missing and extra fields, lists for objects, unicode, null), and
 * sends random JSON and random bytes as `application/json`. Every answer must be below 500, every
 * 4xx problem+json with the documented fields, and no body may carry a stack trace, a source
 * path or an AWS SDK message. Then focused regressions for the cases the first fuzzing found.
 * On a host of its own: fuzzed bodies create users, triggers, runs and queries.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceProblems } from '../../bin/openapi/conformance.ts';
import {
  ADMIN,
  type ApiResponse,
  type Client,
  client,
  type RunningHost,
  startHost,
  unique,
} from './harness.ts';

const SEED = 20_240_611;
/** Requests in flight at once: enough to keep the host busy, modest enough for 2 cores. */
const CONCURRENCY = 6;

let host: RunningHost;
let api: Client;
let token: string;

interface Fixtures {
  collectionId: string;
  collectionName: string;
  datasetId: string;
  /** A pipeline with nodes, the target of edits. */
  editPipelineId: string;
  /** A job with nodes, the target of Data Flow edits. */
  editJobId: string;
  /** A pipeline without nodes: its runs complete at once. */
  runPipelineId: string;
  workflowId: string;
  triggerId: string;
}
let fx: Fixtures;

const SALES_CSV = 'region,product,qty,price\nnorth,apple,3,1.5\nsouth,pear,1,2.0\n';

function pipelineNodes(f: Pick<Fixtures, 'collectionName' | 'datasetId'>) {
  return [
    {
      id: 1,
      name: 'extract',
      type: 'SOURCE_CATALOG',
      parentNodeIds: [],
      database: f.collectionName,
      table: f.datasetId,
    },
    {
      id: 2,
      name: 'only north',
      type: 'TRANSFORM_FILTER',
      parentNodeIds: [1],
      filterType: 'AND',
      filterConditionList: [{ name: 'region', operator: 'EQ', value: 'north' }],
    },
    {
      id: 3,
      name: 'cast',
      type: 'TRANSFORM_DEFINE',
      parentNodeIds: [2],
      defineFieldList: [{ name: 'qty', newType: 'double', newName: 'quantity' }],
    },
    {
      id: 4,
      name: 'keep',
      type: 'TRANSFORM_SELECT',
      parentNodeIds: [3],
      fieldList: [{ name: 'region' }, { name: 'quantity' }],
    },
    {
      id: 5,
      name: 'load',
      type: 'TARGET_CATALOG',
      parentNodeIds: [4],
      database: f.collectionName,
      table: 'fuzz_out',
      updateType: 'OVERWRITE',
    },
  ];
}

async function created(res: Promise<ApiResponse>, status = [200, 201]): Promise<any> {
  const r = await res;
  expect(status, r.text).toContain(r.status);
  return r.body;
}

beforeAll(async () => {
  host = await startHost({ env: { SLUICE_BUCKETS: 'test-bucket' } });
  api = client(host.url);
  token = await api.login(ADMIN.username, ADMIN.password);
  const o = { token };
  const collectionName = unique('fuzz');
  const collection = await created(api.post('/api/v1/collections', { name: collectionName }, o));
  const dataset = await created(
    api.post('/api/v1/datasets', { name: 'sales', collection_id: collection.id }, o),
  );
  await created(api.upload(dataset.id, SALES_CSV, token));
  const base = { collectionName, datasetId: dataset.id as string };
  const editPipeline = await created(
    api.post(
      '/api/v1/pipelines',
      { name: unique('edit'), collection_id: collection.id, nodes: pipelineNodes(base) },
      o,
    ),
  );
  const editJob = await created(
    api.post('/api/v1/jobs', { name: 'fuzz_edit_job', nodes: pipelineNodes(base) }, o),
  );
  const runPipeline = await created(
    api.post(
      '/api/v1/pipelines',
      // Room for every run the fuzzing starts, so none waits in the queue.
      { name: unique('run'), collection_id: collection.id, nodes: [], max_concurrent_runs: 100 },
      o,
    ),
  );
  const workflow = await created(
    api.post(
      '/api/v1/workflows',
      {
        name: 'fuzz_workflow',
        isTemp: false,
        nodes: [{ id: 1, name: 'run', type: 'JOB', jobId: runPipeline.id, parentNodeIds: [] }],
      },
      o,
    ),
  );
  const trigger = await created(
    api.post(
      '/api/v1/triggers',
      {
        name: 'fuzz_trigger',
        type: 'SCHEDULED',
        triggerRule: { type: 'RECURRING', interval: 'DAY', time: '03:00' },
        target: { type: 'JOB', jobId: runPipeline.id },
      },
      o,
    ),
  );
  fx = {
    collectionId: collection.id,
    collectionName,
    datasetId: dataset.id,
    editPipelineId: editPipeline.id,
    editJobId: editJob.jobId,
    runPipelineId: runPipeline.id,
    workflowId: workflow.workflowId,
    triggerId: trigger.triggerId,
  };
}, 150_000);

afterAll(async () => {
  await host?.stop();
});

// ---------------------------------------------------------------------------------------------
// Routes and their valid bodies

interface Target {
  method: string;
  path: string;
  body: unknown;
  /** Mutated bodies generated for this route. */
  count: number;
  /** The route reads no body and starts work with any: kept out of the random bodies. */
  starts?: boolean;
}

function targets(f: Fixtures): Target[] {
  const nodes = pipelineNodes(f);
  const wfNodes = [{ id: 1, name: 'run', type: 'JOB', jobId: f.runPipelineId, parentNodeIds: [] }];
  const condition = { workerType: 'DEFAULT', numWorker: 2, timeout: 30 };
  return [
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      body: { username: 'nobody', password: 'not-it' },
      count: 60,
    },
    { method: 'POST', path: '/api/v1/auth/refresh', body: { refresh_token: 'x.y' }, count: 50 },
    { method: 'POST', path: '/api/v1/auth/logout', body: { refresh_token: 'x.y' }, count: 50 },
    {
      method: 'POST',
      path: '/api/v1/auth/credentials',
      body: { name: 'fuzz', role: 'viewer', expires_in_days: 30 },
      count: 60,
    },
    {
      method: 'POST',
      path: '/api/v1/users',
      body: { username: 'fuzz.user', password: 'password-1234', role: 'viewer', email: 'f@example.com' },
      count: 60,
    },
    { method: 'POST', path: '/api/v1/collections', body: { name: 'fuzz col', description: 'd' }, count: 70 },
    {
      method: 'PUT',
      path: `/api/v1/collections/${f.collectionId}`,
      body: { description: 'changed' },
      count: 60,
    },
    {
      method: 'POST',
      path: '/api/v1/datasets',
      body: { name: 'fuzz ds', description: 'd', collection_id: f.collectionId },
      count: 70,
    },
    { method: 'PUT', path: `/api/v1/datasets/${f.datasetId}`, body: { description: 'changed' }, count: 60 },
    {
      method: 'POST',
      path: `/api/v1/tables/${f.datasetId}/upload-url`,
      body: { mode: 'append', delimiter: ',', header: true, encoding: 'utf-8', size: 100, filename: 'a.csv' },
      count: 60,
    },
    {
      method: 'POST',
      path: '/api/v1/pipelines',
      body: { name: 'fuzz pipeline', description: 'd', collection_id: f.collectionId, nodes, num_workers: 2 },
      count: 220,
    },
    {
      method: 'PUT',
      path: `/api/v1/pipelines/${f.editPipelineId}`,
      body: { name: 'fuzz pipeline', nodes, timeout_minutes: 60, max_concurrent_runs: 1 },
      count: 200,
    },
    { method: 'POST', path: `/api/v1/pipelines/${f.editPipelineId}/verify`, body: {}, count: 20 },
    {
      method: 'POST',
      path: `/api/v1/pipelines/${f.runPipelineId}/run`,
      body: { parameters: { day: '2024-01-01', n: 1 }, pipeline_version: 1 },
      count: 40,
    },
    { method: 'POST', path: `/api/v1/batches/${f.runPipelineId}`, body: {}, count: 10, starts: true },
    {
      method: 'POST',
      path: '/api/v1/jobs',
      body: { name: 'fuzz_job', description: 'd', nodes, runCondition: condition, isTemp: false },
      count: 260,
    },
    { method: 'POST', path: '/api/v1/jobs/verify', body: { name: 'fuzz_job', nodes }, count: 200 },
    {
      method: 'PUT',
      path: `/api/v1/jobs/${f.editJobId}`,
      body: { name: 'fuzz_edit_job', description: 'd', nodes, isTemp: false },
      count: 220,
    },
    {
      method: 'POST',
      path: `/api/v1/jobs/${f.runPipelineId}/executions`,
      body: { jobCondition: condition, parameters: { a: 1, b: 'x', c: [1, 2] } },
      count: 40,
    },
    { method: 'PUT', path: `/api/v1/jobs/${f.runPipelineId}/executions`, body: condition, count: 60 },
    { method: 'PATCH', path: `/api/v1/jobs/${f.editJobId}`, body: { name: 'fuzz_job' }, count: 10 },
    {
      method: 'POST',
      path: '/api/v1/workflows',
      body: { name: 'fuzz_wf', description: 'd', isTemp: false, nodes: wfNodes },
      count: 100,
    },
    {
      method: 'PUT',
      path: `/api/v1/workflows/${f.workflowId}`,
      body: { name: 'fuzz_workflow', description: 'd', isTemp: false, nodes: wfNodes },
      count: 100,
    },
    {
      method: 'POST',
      path: `/api/v1/workflows/${f.workflowId}/executions`,
      body: {},
      count: 5,
      starts: true,
    },
    {
      method: 'POST',
      path: '/api/v1/triggers',
      body: {
        name: 'fuzz_trigger_new',
        description: 'd',
        type: 'SCHEDULED',
        triggerRule: { type: 'RECURRING', interval: 'WEEK', time: '03:00', dayOfWeek: ['MON'] },
        timezone: 'UTC',
        target: { type: 'JOB', jobId: f.runPipelineId },
        enabled: true,
      },
      count: 80,
    },
    {
      method: 'POST',
      path: '/api/v1/triggers',
      body: {
        name: 'fuzz_trigger_cron',
        type: 'SCHEDULED',
        cron: 'cron(0 3 * * ? *)',
        timezone: 'Asia/Seoul',
        target: { type: 'WORKFLOW', workflowId: f.workflowId },
        onBusy: 'SKIP',
      },
      count: 60,
    },
    {
      method: 'POST',
      path: '/api/v1/triggers',
      body: {
        name: 'fuzz_trigger_event',
        type: 'EVENT',
        // Runs of the edited job never happen here: no firing loops back into the fuzzing.
        event: { kind: 'RUN_FINISHED', jobId: f.editJobId, statuses: ['FAILED'] },
        target: { type: 'JOB', jobId: f.runPipelineId },
      },
      count: 60,
    },
    {
      method: 'POST',
      path: '/v1/data-query/query',
      body: { query: 'SHOW SCHEMAS', resultConfig: { bucketName: 'test-bucket', path: 'fuzz' } },
      count: 60,
    },
    {
      method: 'POST',
      path: '/v1/data-query/query',
      body: {
        query: `SELECT region, count(*) AS n FROM "${f.collectionName}".sales WHERE qty > 1 GROUP BY region`,
        bucketName: 'test-bucket',
        path: 'fuzz/select',
      },
      count: 40,
    },
    {
      method: 'POST',
      path: '/v1/data-query/data-source',
      body: {
        dataSourceType: 'MYSQL',
        dataSourceName: 'fuzz_source',
        description: 'd',
        instanceId: 'i-1',
        mysqlUser: 'u',
        mysqlPassword: 'cGFzc3dvcmQ=',
      },
      count: 60,
    },
    { method: 'PUT', path: '/v1/data-query/query/q-does-not-exist/abort', body: {}, count: 10 },
    { method: 'DELETE', path: '/api/v1/triggers/trg-does-not-exist', body: { force: true }, count: 10 },
    { method: 'DELETE', path: '/api/v1/jobs/pl-does-not-exist', body: { force: true }, count: 10 },
  ];
}

// ---------------------------------------------------------------------------------------------
// Mutations

/** `depth` levels of nesting, alternating arrays and objects. */
function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const nastyNumber = fc.oneof(
  fc.constantFrom(
    1.5e300,
    -1.5e300,
    1e20,
    2 ** 53,
    -(2 ** 53) - 2,
    Number.MAX_SAFE_INTEGER,
    1e-200,
    5e-324,
    -1,
    0.5,
    1440.5,
    0,
    1e308,
  ),
  fc.double(),
  fc.integer(),
);

const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    'x\udc00y',
    "'; DROP TABLE t; --",
    '../../etc/passwd',
    '1.5e300',
    '__proto__',
    'constructor',
    'toString',
    '서울시 교통 분석',
    '💥'.repeat(20),
    'cron(0 3 * * ? *)',
  ),
  fc.constantFrom(256, 1_001, 100_001, 262_145).map((n) => 'x'.repeat(n)),
);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  // Plausible values too, so that some mutated bodies get past validation into the stores.
  { arbitrary: fc.oneof(fc.integer({ min: -3, max: 1_500 }), fc.string({ maxLength: 12 })), weight: 3 },
  nastyNumber,
  nastyString,
  fc.constantFrom(null, true, false, [], {}),
  fc.integer({ min: 20, max: 45 }).map(nested),
  fc.constantFrom(21, 201, 1_001).map((n) => Array.from({ length: n }, (_, i) => i)),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }),
);

const nastyKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'toString', 'x'.repeat(300), 'id', 'nodes'),
);

type Path = Array<string | number>;

function pathsOf(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      pathsOf(item, [...at, i], out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, item] of Object.entries(v)) pathsOf(item, [...at, k], out);
  }
  return out;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<any>((v, k) => v?.[k], root);
}

/** Sets a property as an own, enumerable one, so `__proto__` too ends up in the JSON. */
function define(target: object, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  define(parent, path[path.length - 1] as string | number, value);
  return root;
}

type Kind = 'replace' | 'delete' | 'extra' | 'wrap' | 'listify' | 'grow';

interface Edit {
  pick: number;
  kind: Kind;
  value: unknown;
  key: string;
  size: number;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom<Kind>('replace', 'replace', 'replace', 'delete', 'extra', 'wrap', 'listify', 'grow'),
  value: nastyValue,
  key: nastyKey,
  size: fc.constantFrom(21, 201, 1_001),
});

function applyEdit(body: unknown, edit: Edit): unknown {
  const paths = pathsOf(body);
  const path = paths[edit.pick % paths.length] as Path;
  const current = getAt(body, path);
  switch (edit.kind) {
    case 'replace':
      return setAt(body, path, edit.value);
    case 'delete': {
      if (path.length === 0) return undefined;
      const parent = getAt(body, path.slice(0, -1));
      const key = path[path.length - 1] as string | number;
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, unknown>)[key];
      return body;
    }
    case 'extra':
      if (Array.isArray(current)) current.push(edit.value);
      else if (current !== null && typeof current === 'object') define(current, edit.key, edit.value);
      else return setAt(body, path, edit.value);
      return body;
    case 'wrap':
      return setAt(body, path, [current]);
    case 'listify':
      return setAt(
        body,
        path,
        current !== null && typeof current === 'object' ? Object.values(current) : { value: current },
      );
    case 'grow': {
      if (typeof current === 'string') {
        return setAt(body, path, current.repeat(Math.ceil(100_001 / (current.length || 1))));
      }
      // Copies of something small (a node, a field): bodies stay within what the host reads.
      const item = Array.isArray(current) ? current[0] : current;
      const small = (JSON.stringify(item) ?? '').length < 4_000 ? item : 0;
      return setAt(
        body,
        path,
        Array.from({ length: edit.size }, () => structuredClone(small)),
      );
    }
  }
}

function mutationsOf(seed: unknown): fc.Arbitrary<unknown> {
  return fc
    .array(editArb, { minLength: 1, maxLength: 2 })
    .map((edits) => edits.reduce<unknown>((body, edit) => applyEdit(body, edit), structuredClone(seed)));
}

// ---------------------------------------------------------------------------------------------
// Sending and checking

interface Case {
  method: string;
  path: string;
  /** JSON text, or raw bytes sent as application/json. */
  payload: string | Uint8Array;
}

const LEAKS: Array<[string, RegExp]> = [
  ['stack trace', / {4}at /],
  ['source path', /\/functions\/|\.ts:|node_modules/],
  [
    'AWS SDK message',
    /ValidationException|SerializationException|marshall|MAX_SAFE_INTEGER|precision|NumberValue|Special numeric value|AttributeValue|Item size/i,
  ],
];

const PROBLEM_FIELDS = ['type', 'title', 'status', 'detail', 'instance', 'errorType'];

/** What is wrong with an answer, or undefined. Leak patterns the request itself carries are not counted. */
function verdict(c: Case, res: { status: number; type: string; text: string }): string | undefined {
  if (res.status >= 500) return `status ${res.status}`;
  const sent = typeof c.payload === 'string' ? c.payload : Buffer.from(c.payload).toString('latin1');
  for (const [what, pattern] of LEAKS) {
    if (pattern.test(res.text) && !pattern.test(sent)) return `${what} in the answer`;
  }
  if (res.status >= 400) {
    if (!/^application\/problem\+json/.test(res.type)) return `${res.status} as ${res.type}`;
    let problem: Record<string, unknown>;
    try {
      problem = JSON.parse(res.text);
    } catch {
      return `${res.status} body is not JSON`;
    }
    const missing = PROBLEM_FIELDS.filter((k) => problem[k] === undefined);
    if (missing.length > 0) return `problem without ${missing.join(', ')}`;
    if (problem.status !== res.status) return `problem status ${problem.status} on a ${res.status}`;
  }
  // Whatever the status, the answer is one the OpenAPI document describes for the route.
  const path = new URL(c.path, 'http://fuzz').pathname;
  const undocumented = conformanceProblems({
    method: c.method,
    path,
    status: res.status,
    contentType: res.type,
    text: res.text,
  });
  if (undocumented.length > 0) return undocumented.join('; ');
  return undefined;
}

/** The answer; a dropped connection is counted as a 5xx (599). */
async function send(c: Case) {
  try {
    const res = await fetch(`${host.url}${c.path}`, {
      method: c.method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: c.payload,
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    return { status: 599, type: '', text: `no answer: ${cause?.message ?? String(error)}` };
  }
}

/** Sends every case, CONCURRENCY at a time; answers the failures and the count of 5xx. */
async function sendAll(cases: Case[]) {
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  let serverErrors = 0;
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++] as Case;
      const res = await send(c);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) serverErrors++;
      const wrong = verdict(c, res);
      if (wrong) {
        const sent = typeof c.payload === 'string' ? c.payload : `<${c.payload.length} bytes>`;
        failures.push(
          `${c.method} ${c.path}: ${wrong}\n  sent (${sent.length} chars): ${sent.slice(0, 300)}\n  got: ${res.text.slice(0, 300)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { failures, serverErrors, statuses };
}

function generate(f: Fixtures): Case[] {
  const cases: Case[] = [];
  const routes = targets(f);
  routes.forEach((t, i) => {
    const bodies = fc.sample(mutationsOf(t.body), { seed: SEED + i, numRuns: t.count });
    for (const body of bodies) {
      cases.push({ method: t.method, path: t.path, payload: JSON.stringify(body) ?? '' });
    }
  });
  const writing = routes.filter((t) => t.method !== 'DELETE' && !t.starts);
  const pick = (n: number) => writing[n % writing.length] as Target;
  // Whole bodies of random JSON, JSON-ish text (numbers JSON.stringify cannot write: 1e400, -0)
  // and random bytes, all sent as application/json.
  const json = fc.sample(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 4 })), {
    seed: SEED + 100,
    numRuns: 250,
  });
  for (const [n, body] of json) cases.push({ ...pick(n), payload: JSON.stringify(body) });
  const texts = fc.sample(
    fc.tuple(
      fc.nat(),
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constantFrom(
          '1e400',
          '{"nodes":[{"id":1e400}]}',
          '{"name":"x","nodes":[{"id":-0,"parentNodeIds":[1e-400]}]}',
          '{"parameters":{"n":123456789012345678901234567890}}',
          '{"a":',
          '[',
          '"\\ud800"',
          `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
          '\ufeff{}',
          'null',
        ),
      ),
    ),
    { seed: SEED + 101, numRuns: 150 },
  );
  for (const [n, text] of texts) cases.push({ ...pick(n), payload: text });
  const bytes = fc.sample(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 2_000 })), {
    seed: SEED + 102,
    numRuns: 250,
  });
  for (const [n, raw] of bytes) cases.push({ ...pick(n), payload: raw });
  return cases;
}

describe('malformed input', () => {
  it('never gets a 5xx, a non-problem 4xx or a leaked internal detail', { timeout: 120_000 }, async () => {
    // Arrange
    const cases = generate(fx);

    // Act
    const { failures, serverErrors, statuses } = await sendAll(cases);

    // Assert
    console.log(
      `fuzz: ${cases.length} bodies sent, ${serverErrors} answered 5xx; by status: ${JSON.stringify(statuses)}`,
    );
    expect(cases.length).toBeGreaterThanOrEqual(2_000);
    // Some mutated bodies were valid and reached the stores (the fixtures' ids resolved).
    expect((statuses[200] ?? 0) + (statuses[201] ?? 0)).toBeGreaterThan(100);
    expect(failures.slice(0, 10).join('\n\n'), `${failures.length} failures`).toBe('');
    expect(serverErrors).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions

describe('POST /api/v1/jobs refuses structural garbage with a 400 naming the field', () => {
  const job = (nodes: unknown[], extra: Record<string, unknown> = {}) => ({
    name: 'regression_job',
    nodes,
    ...extra,
  });

  async function expectBadField(body: unknown, field: string, message?: RegExp) {
    const res = await api.post('/api/v1/jobs', body, { token });
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, errorType: 'bad-parameter' });
    expect(res.body.errors).toContainEqual({
      field,
      message: message ? expect.stringMatching(message) : expect.any(String),
    });
  }

  it('refuses 1.5e300 as a node id', async () => {
    const nodes = pipelineNodes(fx);
    nodes[0] = { ...nodes[0], id: 1.5e300 } as (typeof nodes)[0];
    await expectBadField(job(nodes), 'body.nodes.0.id', /between/);
  });

  it('refuses 1.5e300 in a numeric field of the job and of a node', async () => {
    await expectBadField(
      job(pipelineNodes(fx), { runCondition: { timeout: 1.5e300 } }),
      'body.runCondition.timeout',
    );
    const nodes = pipelineNodes(fx);
    (nodes[1] as any).filterConditionList[0].value = 1.5e300;
    await expectBadField(job(nodes), 'body.nodes.1.filterConditionList.0.value', /between/);
  });

  it('refuses 1.5e300 in free-form run parameters', async () => {
    const res = await api.post(
      `/api/v1/jobs/${fx.runPipelineId}/executions`,
      { parameters: { n: 1.5e300 } },
      { token },
    );
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toContainEqual({
      field: 'body.parameters.n',
      message: expect.stringMatching(/between/),
    });
  });

  it('refuses a node id that is a list', async () => {
    const nodes = pipelineNodes(fx);
    (nodes[0] as any).id = [1];
    await expectBadField(job(nodes), 'body.nodes.0.id', /node id/);
  });

  it('refuses parentNodeIds that is an object', async () => {
    const nodes = pipelineNodes(fx);
    (nodes[1] as any).parentNodeIds = { 0: 1 };
    await expectBadField(job(nodes), 'body.nodes.1.parentNodeIds', /list/);
  });

  it('refuses a node that is not an object', async () => {
    await expectBadField(job([...pipelineNodes(fx), 'filter']), 'body.nodes.5', /object/);
  });

  it('refuses 201 nodes', async () => {
    const nodes = Array.from({ length: 201 }, (_, i) => ({
      id: i + 1,
      name: `n${i}`,
      type: 'TRANSFORM_SELECT',
      parentNodeIds: [],
      fieldList: ['a'],
    }));
    await expectBadField(job(nodes), 'body.nodes', /at most 200 nodes/);
  });

  it('refuses 21 parents', async () => {
    const nodes = pipelineNodes(fx);
    (nodes[1] as any).parentNodeIds = Array.from({ length: 21 }, (_, i) => i + 100);
    await expectBadField(job(nodes), 'body.nodes.1.parentNodeIds', /at most 20 parents/);
  });

  it('refuses JSON nested 40 levels deep', async () => {
    const nodes = pipelineNodes(fx);
    (nodes[0] as any).extra = nested(40);
    const res = await api.post('/api/v1/jobs', job(nodes), { token });
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toContainEqual({
      field: expect.stringMatching(/^body\.nodes\.0\.extra(\.a|\.0)+$/),
      message: expect.stringMatching(/nests too deeply/),
    });
  });

  it('answers 413 naming the body when a definition is over 300 KB', async () => {
    const nodes = pipelineNodes(fx);
    (nodes[0] as any).note = 'x'.repeat(90_000);
    (nodes[1] as any).note = 'x'.repeat(90_000);
    (nodes[2] as any).note = 'x'.repeat(90_000);
    (nodes[3] as any).note = 'x'.repeat(90_000);
    const res = await api.post('/api/v1/jobs', job(nodes), { token });
    expect(res.status, res.text).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ errorType: 'payload-too-large', errors: [{ field: 'body' }] });
  });

  it('still saves semantic problems as a DRAFT: unknown type, dangling parent, wrong arity', async () => {
    const nodes = [
      ...pipelineNodes(fx),
      { id: 6, name: 'mystery', type: 'TRANSFORM_MAGIC', parentNodeIds: [5] },
      { id: 7, name: 'orphan', type: 'TRANSFORM_SELECT', parentNodeIds: [99], fieldList: ['a'] },
      { id: 8, name: 'two inputs', type: 'TRANSFORM_SELECT', parentNodeIds: [1, 2], fieldList: ['a'] },
    ];
    const res = await api.post('/api/v1/jobs', job(nodes, { name: 'regression_draft' }), { token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('DRAFT');
    expect(res.body.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ nodeId: '6', field: 'type' }),
        expect.objectContaining({ nodeId: '7', field: 'parentNodeIds' }),
        expect.objectContaining({ nodeId: '8', field: 'parentNodeIds' }),
      ]),
    );
  });
});

describe('what reaches the store can be stored', () => {
  it('answers 413 naming body.nodes when a definition under 300 KB would not fit a record once validated', async () => {
    // Arrange: a valid definition is stored twice (as sent and as planned).
    const nodes = pipelineNodes(fx).map((n) => ({ ...n, note: 'x'.repeat(60_000) }));

    // Act
    const res = await api.post('/api/v1/jobs', { name: 'regression_big', nodes }, { token });

    // Assert
    expect(res.status, res.text).toBe(413);
    expect(res.body).toMatchObject({ errorType: 'payload-too-large', errors: [{ field: 'body.nodes' }] });
  });

  it('looks up a catalog reference longer than a DynamoDB key as missing: a DRAFT, not a 500', async () => {
    const nodes = pipelineNodes(fx).map((n) => (n.id === 1 ? { ...n, database: 'd'.repeat(3_000) } : n));
    const res = await api.post('/api/v1/jobs', { name: 'regression_long_ref', nodes }, { token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe('DRAFT');
    expect(res.body.problems).toContainEqual(expect.objectContaining({ nodeId: '1', field: 'database' }));
  });

  it('refuses a property named constructor, which the DynamoDB marshaller cannot write', async () => {
    const res = await api.post(
      `/api/v1/pipelines/${fx.runPipelineId}/run`,
      JSON.parse('{"parameters": {"constructor": {"name": "Set"}}}'),
      { token },
    );
    expect(res.status, res.text).toBe(400);
    expect(res.body.errors).toContainEqual({
      field: 'body.parameters.constructor',
      message: expect.stringMatching(/reserved/),
    });
  });

  it('runs a pipeline whose node is named constructor (the step is numbered like a repeated name)', async () => {
    // Arrange
    const nodes = pipelineNodes(fx).map((n) => (n.id === 2 ? { ...n, name: 'constructor' } : n));
    const job = await api.post('/api/v1/jobs', { name: 'regression_constructor', nodes }, { token });
    expect(job.status, job.text).toBe(200);
    expect(job.body.status).toBe('RUNNABLE');

    // Act
    const run = await api.post(`/api/v1/pipelines/${job.body.jobId}/run`, {}, { token });

    // Assert
    expect(run.status, run.text).toBe(200);
    const batch = await api.get(`/api/v1/batches/${run.body.batch_id}`, { token });
    expect(batch.status, batch.text).toBe(200);
    expect(Object.keys(batch.body.state.steps)).toContain('constructor (2)');
  });
});

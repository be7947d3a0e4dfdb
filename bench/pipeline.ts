/**
 * Pipeline: a batch run of SOURCE_CATALOG → TRANSFORM_FILTER → TRANSFORM_SQL (key) →
 * TRANSFORM_AGGREGATE (1,000 groups) → TARGET_CATALOG over a generated dataset (1,000,000 rows,
 * or `--rows N`) on the local host, against the same SQL run by DuckDB in this process over the
 * same Parquet.
 *
 * The pipeline time is what a client sees: POST /pipelines/{id}/run → GET /batches/{id}
 * (polled every 20 ms) answers `completed`. The poll interval is slack the empty batch does not
 * cancel: it is done by the time its POST answers, so its first GET sees it completed, while
 * the real batch ends anywhere between two polls (up to an interval late, half on average; at
 * 50 ms that was ~25 ms, most of DuckDB's own time at 1M rows). Each poll also costs the host
 * (it serves the GET in the process that runs the batch), so it is not polled any faster.
 * The empty batch is a pipeline without nodes run the same way, so `ratio` = (batch − empty batch) / DuckDB is what running the nodes costs against
 * DuckDB's query + Parquet write over a local copy of the dataset's parts. Runs alternate;
 * medians are reported, with the per-node durations from the traces, the Step Functions state
 * transitions a batch costs on AWS, and the local host's peak memory while batches ran.
 *
 * The filter is `traffic_count > 1000`, not one on avg_speed: in the generated data avg_speed
 * is a function of `id % 1000`, so filtering on it would drop whole groups (899 instead of
 * 1,000 would remain).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Session } from './common.ts';
import { bigCsv, downloadParts, median, ROWS, report, session, table, uploadViaUrl } from './common.ts';

const RUNS = 5;
/** Issue 13's targets for (batch - empty batch) / DuckDB: 1.5 at 1M rows, 1.3 from 10M rows. */
const targetFor = (rows: number) => (rows >= 10_000_000 ? 1.3 : 1.5);
/** The step worker's memory on AWS (lib/engine.ts's default): the local host must stay under it. */
const WORKER_MEMORY_MB = 3008;
/** Rows of the generated data set: `npm run bench -- pipeline --rows 10000000`. */
function rowsArgument(): number {
  const at = process.argv.indexOf('--rows');
  if (at < 0) return ROWS;
  const rows = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(rows) || rows < 1000)
    throw new Error('--rows takes a whole number of at least 1000');
  return rows;
}

/** Peak resident memory of a process while `work` runs, sampled from /proc every 20 ms (Linux). */
async function peakRss<T>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<{ value: T; peakMb: number }> {
  let peak = 0;
  const sample = async () => {
    if (pid === undefined) return;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kb / 1024);
  };
  const timer = setInterval(() => void sample(), 20);
  try {
    const value = await work();
    await sample();
    return { value, peakMb: Math.round(peak) };
  } finally {
    clearInterval(timer);
  }
}
const POLL_MS = 20;
const GROUPS = 1000;

const FILTER = { column: 'traffic_count', operator: 'GT', value: 1000, sql: '>' } as const;
const KEY_SQL = `SELECT *, id % ${GROUPS} AS k FROM src`;

/** The nodes of the pipeline; `label` names each in the tables and in `node_ms`. */
function pipelineNodes(collectionId: string, datasetId: string, target: string) {
  return [
    {
      id: 1,
      label: 'source',
      name: 'source traffic',
      type: 'SOURCE_CATALOG',
      parentNodeIds: [],
      database: collectionId,
      table: datasetId,
    },
    {
      id: 2,
      label: 'filter',
      name: `filter ${FILTER.column} ${FILTER.operator} ${FILTER.value}`,
      type: 'TRANSFORM_FILTER',
      parentNodeIds: [1],
      filterType: 'AND',
      filterConditionList: [{ name: FILTER.column, operator: FILTER.operator, value: FILTER.value }],
    },
    {
      id: 3,
      label: 'key',
      name: `key id mod ${GROUPS}`,
      type: 'TRANSFORM_SQL',
      parentNodeIds: [2],
      sourceNameList: [{ parentId: 2, newName: 'src' }],
      sql: KEY_SQL,
    },
    {
      id: 4,
      label: 'aggregate',
      name: 'aggregate by k',
      type: 'TRANSFORM_AGGREGATE',
      parentNodeIds: [3],
      groupByList: ['k'],
      aggregateFieldList: [
        { name: 'traffic_count', function: 'SUM', ResultName: 'sum_traffic_count' },
        { name: 'avg_speed', function: 'AVG', ResultName: 'avg_avg_speed' },
        { name: '*', function: 'COUNT', ResultName: 'count' },
      ],
    },
    {
      id: 5,
      label: 'target',
      name: 'target summary',
      type: 'TARGET_CATALOG',
      parentNodeIds: [4],
      database: collectionId,
      table: target,
      updateType: 'OVERWRITE',
    },
  ];
}

/**
 * What the pipeline computes, as one query: the filter, the key and the aggregate as the nodes
 * generate them (a TRANSFORM_SQL input has no known columns, so SUM is not cast; AVG is).
 */
function baselineSql(files: string[]): string {
  const parts = files.map((f) => `'${f}'`).join(', ');
  return [
    `WITH src AS (SELECT * FROM read_parquet([${parts}]) WHERE ${FILTER.column} ${FILTER.sql} ${FILTER.value})`,
    'SELECT "k", sum("traffic_count") AS "sum_traffic_count", CAST(avg("avg_speed") AS DOUBLE) AS "avg_avg_speed",',
    '  count(*) AS "count"',
    `FROM (${KEY_SQL})`,
    'GROUP BY "k" ORDER BY "k"',
  ].join('\n');
}

async function duckdbDirect(files: string[], dir: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const out = join(dir, 'out.parquet');
    const started = performance.now();
    await connection.run(`COPY (${baselineSql(files)}) TO '${out}' (FORMAT parquet)`);
    const ms = performance.now() - started;
    const check = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet('${out}')`);
    const groups = Number(check.getRows()[0]?.[0]);
    if (groups !== GROUPS) throw new Error(`DuckDB produced ${groups} groups, expected ${GROUPS}`);
    return ms;
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/**
 * The least DuckDB itself must do for what a batch records, in this process: the same query,
 * but as the worker runs it, with each node's exact rows and first rows. The nodes are views;
 * the aggregate counts its input in its own pass, which is also the key node's rows and the
 * filter's (the key is a plain projection, which keeps every row); the source's rows are the
 * manifest's; the first 20 rows of each view are read on a second connection beside the rest
 * (as the worker does); the result is written as Parquet. No stores, no state machine: what a
 * batch costs beyond this is the platform's, and this over the baseline is what exact per-node
 * traces cost on DuckDB.
 */
async function duckdbExact(files: string[], dir: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  const side = await db.connect();
  try {
    await connection.run('SET GLOBAL parquet_metadata_cache = true');
    const parts = files.map((f) => `'${f}'`).join(', ');
    const out = join(dir, 'exact.parquet');
    const started = performance.now();
    const samples: Array<Promise<unknown>> = [];
    const sample = (view: string) => samples.push(side.runAndReadAll(`SELECT * FROM ${view} LIMIT 20`));
    await connection.run(
      `CREATE OR REPLACE VIEW n1 AS SELECT * FROM read_parquet([${parts}], union_by_name = true)`,
    );
    sample('n1');
    await connection.run(
      `CREATE OR REPLACE VIEW n2 AS SELECT * FROM n1 WHERE ${FILTER.column} ${FILTER.sql} ${FILTER.value}`,
    );
    sample('n2');
    await connection.run(`CREATE OR REPLACE VIEW n3 AS WITH src AS (SELECT * FROM n2) ${KEY_SQL}`);
    sample('n3');
    await connection.run(
      [
        'CREATE OR REPLACE TEMP TABLE n4 AS SELECT "k", sum("traffic_count") AS "sum_traffic_count",',
        '  CAST(avg("avg_speed") AS DOUBLE) AS "avg_avg_speed", count(*) AS "count", count(*) AS "input_rows"',
        'FROM n3 GROUP BY "k" ORDER BY "k"',
      ].join('\n'),
    );
    const counted = await connection.runAndReadAll('SELECT sum(input_rows), count(*) FROM n4');
    await connection.runAndReadAll('SELECT * EXCLUDE (input_rows) FROM n4 LIMIT 20');
    await connection.run(`COPY (SELECT * EXCLUDE (input_rows) FROM n4) TO '${out}' (FORMAT parquet)`);
    await Promise.all(samples);
    const ms = performance.now() - started;
    const [input, groups] = (counted.getRows()[0] ?? []).map(Number);
    const filtered = await connection.runAndReadAll('SELECT count(*) FROM n2');
    if (groups !== GROUPS || input !== Number(filtered.getRows()[0]?.[0]))
      throw new Error(`exact run counted ${groups} groups over ${input} rows`);
    return ms;
  } finally {
    side.closeSync();
    connection.closeSync();
    db.closeSync();
  }
}

interface Trace {
  node_id: string;
  node_name: string;
  state: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  rows_in: number;
  rows_out: number;
  bytes_in: number;
  bytes_out: number;
  partitions?: number;
  logs: string[];
}

interface RunResult {
  /** POST /run → GET /batches answered `completed`, client side. */
  wallMs: number;
  /** POST /run → its answer. */
  postMs: number;
  /** Client epoch ms of the POST, to place the server's timestamps. */
  postAt: number;
  batch: { started_at: string; finished_at: string };
  traces: Trace[];
}

async function runBatch(s: Session, pipelineId: string): Promise<RunResult> {
  const postAt = Date.now();
  const started = performance.now();
  const run = await s.api.post(`/api/v1/pipelines/${pipelineId}/run`, {}, { token: s.token });
  const postMs = performance.now() - started;
  if (run.status !== 200 && run.status !== 201 && run.status !== 202)
    throw new Error(`run failed: ${run.status} ${run.text}`);
  const batchId = run.body.batch_id as string;
  for (;;) {
    const res = await s.api.get(`/api/v1/batches/${batchId}`, { token: s.token });
    if (res.body?.status === 'completed') {
      const wallMs = performance.now() - started;
      const traces = await s.api.get(`/api/v1/traces?batch_id=${batchId}`, { token: s.token });
      if (traces.status !== 200) throw new Error(`traces failed: ${traces.status} ${traces.text}`);
      return { wallMs, postMs, postAt, batch: res.body, traces: traces.body.traces };
    }
    if (res.status !== 200 || ['failed', 'stop'].includes(res.body?.status)) {
      const traces = await s.api.get(`/api/v1/traces?batch_id=${batchId}`, { token: s.token });
      throw new Error(`batch ${batchId} ended ${res.body?.status}: ${res.text}\n${traces.text}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  Branches?: AslMachine[];
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
}
interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
}

/**
 * State transitions of one successful execution, as Step Functions bills them (one per state
 * entered): walk the success path from StartAt along Next (Catch/Retry never fire). A Map
 * counts itself plus, per item, the states of its processor; the items are the source's
 * partitions, taken from its trace (`partitions`), matched by the processor Task's node_id.
 * A Parallel counts itself plus each branch. Succeed/Fail end the walk (counted; the compiled
 * success path ends on `End: true` Tasks instead). For this pipeline that is
 * Plan + Map + P × Partition + Seal + 4 × Run = 7 + P.
 */
function stateTransitions(machine: AslMachine, partitionsOf: (stageId: string) => number): number {
  let count = 0;
  let name: string | undefined = machine.StartAt;
  while (name !== undefined) {
    const state: AslState | undefined = machine.States[name];
    if (!state) throw new Error(`state "${name}" is not in the definition`);
    count += 1;
    if (state.Type === 'Map') {
      const processor = state.ItemProcessor ?? state.Iterator;
      if (!processor) throw new Error(`Map "${name}" has no processor`);
      const task = Object.values(processor.States).find((st) => st.Type === 'Task');
      const stageId = String(task?.Parameters?.stage_id);
      count += partitionsOf(stageId) * stateTransitions(processor, partitionsOf);
    }
    if (state.Type === 'Parallel') {
      for (const branch of state.Branches ?? []) count += stateTransitions(branch, partitionsOf);
    }
    if (state.Type === 'Succeed' || state.Type === 'Fail' || state.End) break;
    name = state.Next;
  }
  return count;
}

const at = (iso: string) => Date.parse(iso);
const fmt = (ms: number) => ms.toFixed(0);

/**
 * Where the time of one run went, in order (client POST = 0; the server's timestamps are on
 * the same clock). Gaps between nodes are the engine's: the Task's return, the next state, the
 * worker's context lookup before the node's trace starts.
 */
function phases(run: RunResult, labels: Map<string, string>): Array<[string, number]> {
  const rel = (iso: string) => at(iso) - run.postAt;
  const out: Array<[string, number]> = [
    ['POST /run answered', run.postMs],
    ['POST -> batch started_at (record promoted)', rel(run.batch.started_at)],
  ];
  let previous = rel(run.batch.started_at);
  for (const t of run.traces) {
    const start = rel(t.started_at);
    const end = t.finished_at ? rel(t.finished_at) : start;
    const label = labels.get(t.node_id) ?? t.node_name;
    // A source's trace starts once its plan is written, so the first gap includes the plan.
    const what = t === run.traces[0] ? 'execution start + plan' : 'engine';
    out.push([`  gap before ${label} (${what})`, start - previous]);
    out.push([`  node ${label} (trace)`, end - start]);
    previous = end;
  }
  const finished = rel(run.batch.finished_at);
  out.push(['last node -> batch finished_at (finalizer)', finished - previous]);
  out.push(['finished_at -> client sees completed (poll)', run.wallMs - finished]);
  return out;
}

export async function main(): Promise<void> {
  const totalRows = rowsArgument();
  const csv = await bigCsv(totalRows);
  const s = await session();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-pipeline-'));
  try {
    const { datasetId } = await uploadViaUrl(s, csv, `bench-pipeline-${Date.now()}`);
    const dataset = await s.api.get(`/api/v1/datasets/${datasetId}`, { token: s.token });
    const collectionId = dataset.body.collection_id as string;
    const { files, rows } = await downloadParts(s, datasetId, dir);
    if (rows !== totalRows) throw new Error(`manifest has ${rows} rows, expected ${totalRows}`);

    const targetName = `bench-pipeline-out-${Date.now()}`;
    const nodes = pipelineNodes(collectionId, datasetId, targetName);
    const labels = new Map(nodes.map((n) => [String(n.id), n.label]));
    const created = await s.api.post(
      '/api/v1/pipelines',
      {
        name: `bench-pipeline-${Date.now()}`,
        collection_id: collectionId,
        nodes: nodes.map(({ label: _label, ...node }) => node),
      },
      { token: s.token },
    );
    if (created.status !== 201) throw new Error(`pipeline create failed: ${created.status} ${created.text}`);
    const pipelineId = created.body.id as string;
    if (created.body.status !== 'valid') {
      const version = await s.api.get(`/api/v1/pipelines/${pipelineId}/versions/1`, { token: s.token });
      throw new Error(`pipeline is not valid: ${JSON.stringify(version.body.problems)}`);
    }

    // The empty batch: a pipeline without nodes, run the same way (record, execution, finalizer,
    // polling). What the real batch costs beyond it is what running the nodes costs.
    const empty = await s.api.post(
      '/api/v1/pipelines',
      { name: `bench-pipeline-empty-${Date.now()}`, collection_id: collectionId, nodes: [] },
      { token: s.token },
    );
    if (empty.status !== 201) throw new Error(`empty pipeline create failed: ${empty.status} ${empty.text}`);
    await runBatch(s, empty.body.id as string); // deploys it

    const baseline: number[] = [];
    const exactRuns: number[] = [];
    const emptyRuns: number[] = [];
    const runs: RunResult[] = [];
    let peakMb = 0;
    let targetId: string | undefined;
    for (let i = 0; i < RUNS; i++) {
      baseline.push(await duckdbDirect(files, dir));
      exactRuns.push(await duckdbExact(files, dir));
      emptyRuns.push((await runBatch(s, empty.body.id as string)).wallMs);
      const measured = await peakRss(s.host.child.pid, () => runBatch(s, pipelineId));
      const run = measured.value;
      peakMb = Math.max(peakMb, measured.peakMb);
      runs.push(run);
      // The target dataset is created by the first run; every run overwrites it.
      const list = await s.api.get(`/api/v1/datasets?collection_id=${collectionId}&limit=100`, {
        token: s.token,
      });
      // dhub list form: `items` maps each id to the item as JSON text.
      const items = Object.values((list.body.items ?? {}) as Record<string, string>).map(
        (text) => JSON.parse(text) as { id: string; name: string },
      );
      targetId ??= items.find((d) => d.name === targetName)?.id;
      if (!targetId) throw new Error(`target dataset "${targetName}" not found: ${list.text.slice(0, 500)}`);
      const target = await s.api.get(`/api/v1/datasets/${targetId}`, { token: s.token });
      if (target.body.total_rows !== GROUPS)
        throw new Error(`target has ${target.body.total_rows} rows, expected ${GROUPS}`);
      console.log(
        `  run ${i + 1}: DuckDB ${fmt(baseline[i] as number)} ms, empty batch ${fmt(emptyRuns[i] as number)} ms, pipeline ${fmt(run.wallMs)} ms, target v${target.body.current_version} ${target.body.total_rows} rows`,
      );
    }

    const base = median(baseline);
    const exact = median(exactRuns);
    const wall = median(runs.map((r) => r.wallMs));
    const emptyMs = median(emptyRuns);
    const ratio = (wall - emptyMs) / base;
    const target = targetFor(totalRows);
    const nodeMs: Record<string, number> = {};
    for (const node of nodes) {
      const durations = runs.map(
        (r) => r.traces.find((t) => t.node_id === String(node.id))?.duration_ms ?? Number.NaN,
      );
      nodeMs[node.label] = Math.round(median(durations));
    }

    const last = runs.at(-1) as RunResult;
    // The stages and the definition the batch ran, as the plan endpoint shows them (timeout,
    // fan-out and the worker ARN do not change the states entered).
    const planned = await s.api.get(`/api/v1/pipelines/${pipelineId}/versions/1/plan`, { token: s.token });
    if (planned.status !== 200) throw new Error(`plan failed: ${planned.status} ${planned.text}`);
    const plan = planned.body as { stages: Array<{ id: string; source?: string }>; definition: AslMachine };
    // A source's partitions (an upper bound: a fused single partition runs no Map iteration).
    const partitions = (stageId: string) => {
      const source = plan.stages.find((st) => st.id === stageId)?.source;
      return last.traces.find((t) => t.node_id === source)?.partitions ?? 1;
    };
    const transitions = stateTransitions(plan.definition, partitions);

    console.log('');
    table([
      [`measure (median of ${RUNS})`, 'ms', 'rows/s', 'ratio to DuckDB'],
      [
        'DuckDB filter+key+aggregate -> Parquet (baseline)',
        fmt(base),
        fmt(totalRows / (base / 1000)),
        '1.00',
      ],
      [
        'DuckDB as the worker runs it: exact rows and first rows per node (floor)',
        fmt(exact),
        fmt(totalRows / (exact / 1000)),
        (exact / base).toFixed(2),
      ],
      ['empty batch (a pipeline without nodes, same path)', fmt(emptyMs), '-', '-'],
      [
        'pipeline batch (POST /run -> completed)',
        fmt(wall),
        fmt(totalRows / (wall / 1000)),
        (wall / base).toFixed(2),
      ],
      [
        'pipeline batch - empty batch',
        fmt(wall - emptyMs),
        fmt(totalRows / ((wall - emptyMs) / 1000)),
        ratio.toFixed(2),
      ],
    ]);
    console.log('');
    table([
      [
        'node (trace)',
        'median ms',
        ...runs.map((_, i) => `run ${i + 1} ms`),
        'rows in',
        'rows out',
        'MB out',
      ],
      ...nodes.map((node) => {
        const t = last.traces.find((x) => x.node_id === String(node.id));
        return [
          `${node.label} (${node.type}${t?.partitions !== undefined ? `, ${t.partitions} partition(s)` : ''})`,
          nodeMs[node.label] ?? '-',
          ...runs.map((r) => r.traces.find((x) => x.node_id === String(node.id))?.duration_ms ?? '-'),
          t?.rows_in ?? '-',
          t?.rows_out ?? '-',
          t ? (t.bytes_out / 1024 / 1024).toFixed(1) : '-',
        ];
      }),
    ]);
    const timelines = runs.map((r) => phases(r, labels));
    console.log('\nwhere the time went (ms; the first run also deploys the definition):');
    table([
      ['phase', 'median', ...runs.map((_, i) => `run ${i + 1}`)],
      ...(timelines[0] ?? []).map(([phase], row) => {
        const values = timelines.map((t) => t[row]?.[1] ?? Number.NaN);
        return [phase, fmt(median(values)), ...values.map(fmt)];
      }),
      ['total (POST -> completed)', fmt(wall), ...runs.map((r) => fmt(r.wallMs))],
    ]);
    console.log(`\nstate transitions per batch (Step Functions cost on AWS), at most: ${transitions}`);
    console.log(`stages: ${plan.stages.length}; at most 2 x stages + 4 = ${2 * plan.stages.length + 4}`);
    console.log(
      `peak memory of the local host while batches ran: ${peakMb} MB (the step worker Lambda has ${WORKER_MEMORY_MB} MB)`,
    );
    for (const t of last.traces) {
      for (const line of t.logs) console.log(`  log ${labels.get(t.node_id) ?? t.node_id}: ${line}`);
    }

    report({
      bench: 'pipeline',
      ratio: Number(ratio.toFixed(3)),
      target,
      rows: totalRows,
      duckdb_ms: Math.round(base),
      exact_duckdb_ms: Math.round(exact),
      floor_ratio: Number((exact / base).toFixed(3)),
      empty_batch_ms: Math.round(emptyMs),
      pipeline_ms: Math.round(wall),
      rows_per_s: Math.round(totalRows / (wall / 1000)),
      state_transitions: transitions,
      stages: plan.stages.length,
      peak_rss_mb: peakMb,
      worker_memory_mb: WORKER_MEMORY_MB,
      node_ms: nodeMs,
    });
  } finally {
    await s.host.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Athena on the local host: the Athena Task states of a compiled pipeline (statemachines/
 * compile.ts `athenaFlow`) answered with DuckDB, so that a stage on Athena runs the same
 * orchestration locally as on AWS (Prepare -> queries -> Counts -> Finish, the failure path).
 *
 * A query is known by its `ClientRequestToken` (`<batch>.<stage>.<n>`, the n-th query of the
 * stage's program, athena-program.ts). It is not parsed: the local host runs the same stage in
 * DuckDB's dialect instead (each node a view from the registry's `sql()`, in a sandboxed
 * instance confined to a work folder, as the step worker runs a stage) and writes what the
 * query writes on AWS, where it writes it:
 * - database and table DDL: nothing to create (DuckDB reads the staged files themselves);
 * - CTAS: the node's rows as Parquet under `runs/<batch>/<node>/`;
 * - UNLOAD: the target's rows in its format under `runs/<batch>/<node>/` (CSV without a header
 *   line, as Athena's TEXTFILE writes it);
 * - the COUNT query: each node's rows, kept until `getQueryResults` asks for them.
 */
import { join } from 'node:path';
import { withSandbox } from '../duckdb.ts';
import { athenaInputPrefix, athenaNodeName, athenaProgram } from '../pipelines/athena-program.ts';
import { definitionOf, type NodeInput, type PlanNode, parquetRelation } from '../pipelines/nodes/index.ts';
import { targetCopyOptions } from '../pipelines/nodes/TARGET_OBS.ts';
import { getBatch } from '../pipelines/run-store.ts';
import { listObjects, uploadFile } from '../storage.ts';
import { withWorkDir } from '../tables/ingest.ts';
import { STATES_ERRORS, WORKER_ACTIONS } from './contract.ts';
import {
  asNode,
  context,
  copyTo,
  downloadSource,
  failedStep,
  fetchParentParts,
  runPrefix,
  type StageContext,
  StepFailedError,
  sourceHooks,
  viewOf,
} from './worker.ts';

/** What a `startQueryExecution.sync` Task sends. */
export interface StartQueryTask {
  QueryString: string;
  WorkGroup?: string;
  /** `<batch>.<stage>.<n>`; absent on the run database's DDL. */
  ClientRequestToken?: string;
}

/** What a `getQueryResults` Task sends. */
export interface QueryResultsTask {
  QueryExecutionId: string;
  MaxResults?: number;
}

export interface LocalAthena {
  startQuery(task: StartQueryTask, signal?: AbortSignal): Promise<unknown>;
  queryResults(task: QueryResultsTask): Promise<unknown>;
}

/** Counts kept for getQueryResults; a batch asks for its own right after the query. */
const KEPT_RESULTS = 1000;

/** UNLOAD formats as DuckDB COPY options: Athena's TEXTFILE has no header line. */
const UNLOAD_OPTIONS = {
  CSV: '(FORMAT csv, HEADER false)',
  JSON: '(FORMAT json)',
} as const;

export function createLocalAthena(): LocalAthena {
  const results = new Map<string, { columns: string[]; values: string[] }>();

  return {
    async startQuery(task, signal) {
      const started = new Date();
      // Only the run database's DDL has no token: there is nothing to create here.
      if (!task.ClientRequestToken) return succeeded(`ddl-${started.getTime()}`, task, started);
      const [batchId, stageId, number] = parseToken(task.ClientRequestToken);
      let ctx: StageContext | undefined;
      try {
        ctx = await stageOf(batchId, stageId);
        const query = athenaProgram(ctx.plan, ctx.stage)[number - 1];
        if (!query) throw new StepFailedError(`Stage ${stageId} has no query ${number}.`);
        if (query.kind === 'ctas' || query.kind === 'unload' || query.kind === 'counts') {
          const counted = await runLocally(ctx, query.kind, query.node, signal);
          if (counted) {
            results.set(task.ClientRequestToken, counted);
            if (results.size > KEPT_RESULTS) results.delete(results.keys().next().value as string);
          }
        }
      } catch (error) {
        const failure = await failedStep(error, ctx);
        // As a failed `.sync` query fails its Task on AWS.
        const taskError = new Error(failure.message);
        taskError.name = failure instanceof StepFailedError ? STATES_ERRORS.taskFailed : failure.name;
        throw taskError;
      }
      return succeeded(task.ClientRequestToken, task, started);
    },

    async queryResults(task) {
      const kept = results.get(task.QueryExecutionId);
      if (!kept) {
        const error = new Error(`Query ${task.QueryExecutionId} has no results here.`);
        error.name = 'Athena.InvalidRequestException';
        throw error;
      }
      const row = (values: string[]) => ({ Data: values.map((v) => ({ VarCharValue: v })) });
      return { ResultSet: { Rows: [row(kept.columns), row(kept.values)] } };
    },
  };
}

/** What a `startQueryExecution.sync` Task answers for a query that succeeded. */
function succeeded(id: string, task: StartQueryTask, started: Date) {
  return {
    QueryExecution: {
      QueryExecutionId: id,
      Query: task.QueryString,
      WorkGroup: task.WorkGroup,
      Status: {
        State: 'SUCCEEDED',
        SubmissionDateTime: started.toISOString(),
        CompletionDateTime: new Date().toISOString(),
      },
    },
  };
}

function parseToken(token: string): [string, string, number] {
  const m = /^(.+)\.([^.]+)\.(\d+)$/.exec(token);
  if (!m) throw new Error(`Not a Sluice query token: ${token}`);
  return [m[1] as string, m[2] as string, Number(m[3])];
}

async function stageOf(batchId: string, stageId: string): Promise<StageContext> {
  const batch = batchId;
  const found = await getBatch(batch);
  if (!found) throw new StepFailedError(`Batch ${batch} no longer exists.`);
  const ctx = await context(
    {
      batch_id: found.id,
      pipeline_id: found.pipeline_id,
      pipeline_version: found.pipeline_version,
      action: WORKER_ACTIONS.run,
      stage_id: stageId,
    },
    true,
  );
  if (!ctx) throw new StepFailedError(`Batch ${batch} is not running.`);
  return ctx;
}

/**
 * The stage as one DuckDB program, then what the query writes: a node's rows (CTAS), a target's
 * file (UNLOAD), or every node's count.
 */
async function runLocally(
  ctx: StageContext,
  kind: 'ctas' | 'unload' | 'counts',
  key: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{ columns: string[]; values: string[] } | undefined> {
  return withWorkDir(async (dir) => {
    const inStage = new Set(ctx.stage.nodes);
    const external = [...new Set(ctx.nodes.flatMap((n) => n.parents.filter((p) => !inStage.has(p))))];
    const views: Array<{ key: string; select: string }> = [];
    for (const parent of external) {
      const fetched = await fetchParentParts(ctx.batch.id, parent, join(dir, `in-${parent}`));
      views.push({ key: parent, select: `SELECT * FROM ${parquetRelation(fetched.files)}` });
    }
    for (const node of ctx.nodes) {
      if (node.kind !== 'source') continue;
      views.push({ key: node.key, select: await sourceSelect(ctx, node, join(dir, `src-${node.key}`)) });
    }
    return withSandbox(dir, async (connection) => {
      const interrupt = () => connection.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        for (const view of views) {
          await connection.run(`CREATE VIEW ${viewOf(view.key)} AS ${view.select}`);
        }
        for (const node of ctx.nodes) {
          if (node.kind === 'source') continue;
          const def = definitionOf(node.node);
          if (!def.sql) throw new StepFailedError(`Node type ${node.type} cannot run here.`);
          const inputs: NodeInput[] = node.parents.map((parent) => ({
            nodeId: parent,
            relation: viewOf(parent),
            fields: ctx.plan.find((n) => n.key === parent)?.fields ?? null,
          }));
          const select = def.sql(node.node, inputs);
          await asNode(node, () => connection.run(`CREATE VIEW ${viewOf(node.key)} AS ${select}`));
        }
        if (kind === 'counts') {
          const list = ctx.stage.nodes.map((k) => `(SELECT count(*) FROM ${viewOf(k)})`).join(', ');
          const reader = await connection.runAndReadAll(`SELECT ${list}`);
          const values = (reader.getRows()[0] ?? []).map((v) => String(v));
          return { columns: ctx.stage.nodes.map(athenaNodeName), values };
        }
        const node = ctx.nodes.find((n) => n.key === key) as PlanNode;
        const options =
          kind === 'unload' && node.type === 'TARGET_OBS'
            ? node.node.dataType === 'PARQUET'
              ? targetCopyOptions(node.node)
              : UNLOAD_OPTIONS[node.node.dataType]
            : undefined;
        const file = join(dir, 'out-0');
        await asNode(node, () => copyTo(connection, `SELECT * FROM ${viewOf(node.key)}`, file, options));
        // Athena names its files without an extension; so does this.
        await uploadFile(
          `${runPrefix(ctx.batch.id, node.key)}${kind}-00000`,
          file,
          'application/octet-stream',
        );
        return undefined;
      } finally {
        signal?.removeEventListener('abort', interrupt);
      }
    });
  });
}

/** A source's rows in DuckDB: the objects athena-prepare staged for the run. */
async function sourceSelect(ctx: StageContext, node: PlanNode, dir: string): Promise<string> {
  const prefix = athenaInputPrefix(ctx.batch.id, node.key);
  const keys = (await listObjects(prefix))
    .map((o) => o.key)
    .filter((key) => !key.slice(prefix.length).startsWith('_'));
  const { files } = await downloadSource({ groups: [keys] }, 0, dir);
  return sourceHooks(node).sql(node.node, files, node.fields ?? undefined);
}

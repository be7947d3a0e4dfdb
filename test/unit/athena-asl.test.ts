/**
 * The ASL of a stage on Athena: Prepare (the step worker) -> one
 * `athena:startQueryExecution.sync` Task per query, run by the state machine itself -> Counts
 * (`athena:getQueryResults`) -> Finish (the step worker). Validated by asl-validator; the
 * QueryString expressions are snapshot-tested; aws-local-stepfunctions evaluates them to the
 * program's SQL with the run's database and location filled in; the statements parse as Trino.
 */
import { createRequire } from 'node:module';
import { StateMachine } from 'aws-local-stepfunctions';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import {
  ATHENA_MARKS,
  ATHENA_RESOURCES,
  ATHENA_WORKER_ACTIONS,
  athenaSourceColumnsMark,
} from '#core/engine/contract';
import { athenaReason } from '#core/engine/worker';
import { athenaProgram } from '#core/pipelines/athena-program';
import type { Field } from '#core/pipelines/model';
import type { PlanNode } from '#core/pipelines/nodes/index';
import { planOf } from '#core/pipelines/pipelines';
import { compileStagesOf, stagesOf } from '#core/pipelines/stages';
import { type ValidationEnv, validatePipeline } from '#core/pipelines/validate';
import { compilePipeline, taskStateNames } from '../../statemachines/compile.ts';

type AslValidator = (
  definition: object,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const WORKER = 'arn:aws:lambda:us-east-1:123456789012:function:sluice-step-worker';
const SALES: Field[] = [
  { name: 'region', type: 'string' },
  { name: 'qty', type: 'bigint' },
  { name: 'price', type: 'double' },
];

const env: ValidationEnv = {
  allowedBuckets: ['ext-bucket'],
  resolveCollection: async () => ({ collectionId: 'col-1' }),
  resolveDataset: async () => ({ datasetId: 'ds-sales', fields: SALES }),
};

/** A dataset and a CSV prefix, filtered, unioned, aggregated; a dataset target and an S3 target. */
const NODES = [
  { id: 1, name: 'sales', type: 'SOURCE_CATALOG', parentNodeIds: [], database: 'shop', table: 'sales' },
  {
    id: 2,
    name: "it's big",
    type: 'TRANSFORM_FILTER',
    parentNodeIds: [1],
    filterType: 'AND',
    filterConditionList: [{ name: 'region', operator: 'NE', value: "o'hare {x} \\d" }],
  },
  {
    id: 3,
    name: 'landing',
    type: 'SOURCE_OBS',
    parentNodeIds: [],
    regionNo: '1',
    bucketName: 'ext-bucket',
    prefix: 'in/sales',
    dataType: 'CSV',
    fieldList: SALES,
  },
  { id: 4, name: 'both', type: 'TRANSFORM_UNION', parentNodeIds: [2, 3], unionType: 'ALL' },
  {
    id: 5,
    name: 'per region',
    type: 'TRANSFORM_AGGREGATE',
    parentNodeIds: [4],
    groupByList: ['region'],
    aggregateFieldList: [{ name: 'qty', ResultName: 'total', function: 'SUM' }],
  },
  { id: 6, name: 'load', type: 'TARGET_CATALOG', parentNodeIds: [5], database: 'shop', table: 'summary' },
  {
    id: 7,
    name: 'export',
    type: 'TARGET_OBS',
    parentNodeIds: [4],
    regionNo: '1',
    bucketName: 'ext-bucket',
    prefix: 'out/all',
    dataType: 'CSV',
    updateType: 'APPEND',
  },
];

async function plan(): Promise<PlanNode[]> {
  const result = await validatePipeline(NODES, env);
  expect(result.problems).toEqual([]);
  return planOf(result);
}

const everyNode = (nodes: PlanNode[], engine: 'ATHENA' | 'DUCKDB') =>
  Object.fromEntries(nodes.map((n) => [n.key, engine]));

async function definition(engines?: (nodes: PlanNode[]) => Record<string, 'ATHENA' | 'DUCKDB'>) {
  const nodes = await plan();
  return {
    nodes,
    text: compilePipeline({
      pipelineId: 'pl-0001',
      version: 2,
      stages: compileStagesOf(nodes, engines ? engines(nodes) : everyNode(nodes, 'ATHENA')),
      timeoutSeconds: 3600,
      maxConcurrency: 4,
      workerArn: WORKER,
      athenaWorkgroup: 'sluice-queries',
    }),
  };
}

interface StateLike {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Next?: string;
  End?: boolean;
}
const statesOf = (text: string) => JSON.parse(text).States as Record<string, StateLike>;

describe('a stage on Athena', () => {
  it('is valid ASL', async () => {
    const { text } = await definition();

    const result = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true });

    expect(result.isValid, result.errorsText('\n')).toBe(true);
  });

  it('runs prepare, its queries in order, the counts and finish as one chain', async () => {
    const { text } = await definition();
    const states = statesOf(text);
    const chain: string[] = [];
    let at: string | undefined = JSON.parse(text).StartAt;
    while (at) {
      chain.push(at);
      at = states[at]?.Next;
    }

    const steps = 'sales it s big landing both per region load export';
    expect(chain).toEqual([
      `Prepare s1 ${steps}`,
      'Query s1.1 database',
      'Query s1.2 source 1',
      'Query s1.3 source 3',
      'Query s1.4 target 6',
      'Query s1.5 target 7',
      'Query s1.6 count rows',
      `Counts s1 ${steps}`,
      `Finish s1 ${steps}`,
    ]);
    expect(chain.map((name) => states[name]?.Resource)).toEqual([
      WORKER,
      ...Array(6).fill(ATHENA_RESOURCES.startQuery),
      ATHENA_RESOURCES.queryResults,
      WORKER,
    ]);
    expect(states[chain[0] as string]?.Parameters?.action).toBe(ATHENA_WORKER_ACTIONS.athenaPrepare);
    expect(states[chain[8] as string]?.Parameters?.action).toBe(ATHENA_WORKER_ACTIONS.athenaFinish);
    expect(states[chain[8] as string]?.End).toBe(true);
  });

  it('runs every query in the workgroup with a token per batch, stage and query', async () => {
    const { text } = await definition();
    const queries = Object.values(statesOf(text)).filter((s) => s.Resource === ATHENA_RESOURCES.startQuery);

    expect(queries.map((q) => q.Parameters?.WorkGroup)).toEqual(Array(6).fill('sluice-queries'));
    // The run database's DDL has none: it is retried when two stages create it at once.
    expect(queries.map((q) => q.Parameters?.['ClientRequestToken.$'])).toEqual([
      undefined,
      ...[2, 3, 4, 5, 6].map((n) => `States.Format('{}.s1.${n}', $.batch_id)`),
    ]);
    expect((queries[0] as { Retry?: Array<{ ErrorEquals: string[] }> }).Retry?.at(-1)?.ErrorEquals).toEqual([
      'States.TaskFailed',
    ]);
  });

  it('writes its queries as these QueryString expressions', async () => {
    const { text } = await definition();
    const queries = Object.entries(statesOf(text))
      .filter(([, s]) => s.Resource === ATHENA_RESOURCES.startQuery)
      .map(([name, s]) => `${name}\n${String(s.Parameters?.['QueryString.$'])}`);

    expect(queries.join('\n\n')).toMatchSnapshot();
  });

  it('evaluates each expression to the query with the run database and location filled in', async () => {
    // aws-local-stepfunctions 3 calls Promise.withResolvers, which Node 20 lacks.
    const P = Promise as unknown as { withResolvers?: unknown };
    P.withResolvers ??= <T>() => {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };
    const { text, nodes } = await definition();
    const program = athenaProgram(
      nodes,
      stagesOf(nodes, 'DUCKDB', everyNode(nodes, 'ATHENA')).stages[0] as never,
    );
    const seen: string[] = [];
    const handlers: Record<string, (input: any) => Promise<unknown>> = {};
    for (const name of taskStateNames(text)) {
      const resource = statesOf(text)[name]?.Resource;
      handlers[name] =
        resource === ATHENA_RESOURCES.startQuery
          ? async (input) => {
              seen.push(input.QueryString);
              return { QueryExecution: { QueryExecutionId: input.ClientRequestToken ?? 'ddl' } };
            }
          : resource === ATHENA_RESOURCES.queryResults
            ? async () => ({
                ResultSet: { Rows: [{ Data: [] }, { Data: Array(7).fill({ VarCharValue: '1' }) }] },
              })
            : async (input) => {
                if (input.action === 'fail') throw new Error(JSON.stringify(input.error));
                return input.action === ATHENA_WORKER_ACTIONS.athenaPrepare
                  ? // The backslash is a marker here: aws-local-stepfunctions drops a lone backslash
                    // substituted by States.Format (Step Functions inserts arguments as they are).
                    {
                      database: 'sluice_run_batch_1',
                      location: 's3://data/runs/batch-1/',
                      backslash: '<BS>',
                      sources: { n1: '`region` string, `qty` bigint, `price` double' },
                    }
                  : {};
              };
    }
    const machine = new StateMachine(JSON.parse(text), { validationOptions: { checkArn: false } });
    const input = { batch_id: 'batch-1', pipeline_id: 'pl-0001', pipeline_version: 2 };

    const run = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers as never },
      context: { Execution: { Input: input } } as never,
    });
    await run.result.catch((error: { cause?: unknown }) => {
      throw new Error(`${String(error)}: ${String((error.cause as Error)?.message ?? '')}`);
    });

    const filled = program.map((q) =>
      q.sql
        .replaceAll(ATHENA_MARKS.database, 'sluice_run_batch_1')
        .replaceAll(ATHENA_MARKS.location, 's3://data/runs/batch-1/')
        .replaceAll(athenaSourceColumnsMark('1'), '`region` string, `qty` bigint, `price` double')
        .replaceAll('\\', '<BS>'),
    );
    expect(seen).toEqual(filled);
    expect(seen[3]).toContain("external_location = 's3://data/runs/batch-1/6/'");
    expect(seen[1]).toBe(
      'CREATE EXTERNAL TABLE IF NOT EXISTS `sluice_run_batch_1`.`src_1` (`region` string, `qty` bigint, `price` double) ' +
        "STORED AS PARQUET LOCATION 's3://data/runs/batch-1/_in/1/'",
    );
    expect(seen[3]).toContain(`<> 'o''hare {x} <BS>d'`);
  });

  it('writes CTAS, UNLOAD and COUNT statements that parse as Trino', async () => {
    const nodes = await plan();
    const program = athenaProgram(
      nodes,
      stagesOf(nodes, 'DUCKDB', everyNode(nodes, 'ATHENA')).stages[0] as never,
    );
    const trino = new TrinoSQL();
    const dml = program.filter((q) => q.kind === 'ctas' || q.kind === 'counts');

    expect(dml).toHaveLength(2);
    for (const q of dml) {
      const sql = q.sql
        .replaceAll(ATHENA_MARKS.database, 'run_db')
        .replaceAll(ATHENA_MARKS.location, 's3://b/r/');
      expect(
        trino.validate(sql).map((e) => e.message),
        sql,
      ).toEqual([]);
    }
    // UNLOAD is Athena's own statement: its query must parse as Trino.
    const unload = program.find((q) => q.kind === 'unload')?.sql ?? '';
    const inner = unload.slice(unload.indexOf('(\n') + 2, unload.lastIndexOf('\n) TO '));
    expect(trino.validate(inner.replaceAll(ATHENA_MARKS.database, 'run_db')).map((e) => e.message)).toEqual(
      [],
    );
  });

  it('compiles a stage left on DuckDB as before, beside an Athena stage', async () => {
    const { text } = await definition((nodes) => ({
      ...everyNode(nodes, 'DUCKDB'),
      '5': 'ATHENA',
      '6': 'ATHENA',
    }));
    const states = statesOf(text);

    expect(aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true }).isValid).toBe(true);
    expect(Object.keys(states).filter((n) => n.startsWith('Prepare '))).toEqual([
      'Prepare s4 per region load',
    ]);
    expect(taskStateNames(text).filter((n) => n.startsWith('Plan '))).toHaveLength(2);
    // The Athena stage reads the union, written by a DuckDB stage, through an external table.
    const input = Object.entries(states).find(([n]) => n.startsWith('Query s4.2'));
    expect(input?.[0]).toBe('Query s4.2 input 4');
  });

  it('needs a workgroup', async () => {
    const nodes = await plan();

    expect(() =>
      compilePipeline({
        pipelineId: 'pl-0001',
        version: 2,
        stages: compileStagesOf(nodes, everyNode(nodes, 'ATHENA')),
        timeoutSeconds: 3600,
        maxConcurrency: 4,
        workerArn: WORKER,
      }),
    ).toThrow(/without a workgroup/);
  });
});

describe('a failed query', () => {
  it('is recorded with the reason Athena gives in the Task’s cause', () => {
    const cause = JSON.stringify({
      QueryExecution: {
        QueryExecutionId: 'q-1',
        Status: {
          State: 'FAILED',
          StateChangeReason: "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
        },
      },
    });

    expect(athenaReason(cause)).toBe("Athena: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved");
  });

  it('has no Athena reason when the cause is not a query execution', () => {
    expect(athenaReason('Lambda.ServiceException')).toBeUndefined();
    expect(athenaReason(JSON.stringify({ QueryExecution: { Status: { State: 'FAILED' } } }))).toBeUndefined();
  });
});

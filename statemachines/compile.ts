/**
 * Pipeline stages (plan.ts) -> Amazon States Language (JSONPath only). The same document runs on
 * Step Functions and on aws-local-stepfunctions; see README.md in this folder for the shape.
 *
 * Stages run in dependency levels (level = longest path from a first stage). A level with one
 * stage is a plain sequence of states; a level with several is a Parallel state, one branch per
 * stage. Every Task invokes the step worker Lambda with a WorkerEvent built from the execution
 * input, so state data stays the execution input plus a few small fields.
 *
 * The actions, payload fields and error names come from the engine contract, the only module
 * (with the node registry's types) this folder imports.
 */
import {
  ATHENA_MARKS,
  ATHENA_RESOURCES,
  ATHENA_TRANSIENT_ERRORS,
  ATHENA_WORKER_ACTIONS,
  athenaSourceColumnsMark,
  type ExecutionInput,
  SLUICE_ERRORS,
  STATES_ERRORS,
  TRANSIENT_ERRORS,
  WORKER_ACTIONS,
  type WorkerAction,
} from '#core/engine/contract';

/** A stage of a validated pipeline's plan (acyclic, the stages it reads exist). */
export interface CompileStage {
  /** The stage id (`s1`, ...). */
  key: string;
  /** Its nodes' step names, for state names and the failure message of last resort. */
  stepName: string;
  /** The stages it reads. */
  parents: string[];
  /** Runs once per partition of its source: plan -> Map over partitions -> seal. */
  partitioned: boolean;
  /**
   * A stage on Athena: its queries, in order (functions/core/pipelines/athena-program.ts), with
   * ATHENA_MARKS where the run's database and location go. The last is the COUNT query.
   */
  athena?: ReadonlyArray<{ label: string; kind: string; sql: string }>;
}

export interface CompileRequest {
  pipelineId: string;
  version: number;
  /** Any order; the output does not depend on it. */
  stages: CompileStage[];
  /** Whole-execution timeout. */
  timeoutSeconds: number;
  /** MaxConcurrency of the partition Map states. */
  maxConcurrency: number;
  /** The step worker Lambda every Task invokes. */
  workerArn: string;
  /** The Athena workgroup the queries of Athena stages run in (required when there are any). */
  athenaWorkgroup?: string;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type States = Record<string, JsonObject>;

export const TASK_TIMEOUT_SECONDS = 900;

const MAX_STATE_NAME = 80;
/** Top-level Fail state that Parallel states catch into (the branch already recorded the step). */
const PIPELINE_FAILED = 'Pipeline failed';
const NO_STEPS = 'No steps';

/** Fields of the execution input every WorkerEvent carries. */
const EXECUTION_FIELDS = ['batch_id', 'pipeline_id', 'pipeline_version'] as const satisfies ReadonlyArray<
  keyof ExecutionInput
>;

export function compilePipeline(request: CompileRequest): string {
  const levels = scheduleLevels(request.stages);
  const names = new StateNames();
  const comment = `Sluice pipeline ${request.pipelineId} version ${request.version}`;

  if (levels.length === 0) {
    const machine: JsonObject = {
      Comment: comment,
      StartAt: NO_STEPS,
      TimeoutSeconds: request.timeoutSeconds,
      States: { [NO_STEPS]: { Type: 'Succeed' } },
    };
    return JSON.stringify(machine, null, 2);
  }

  const ctx: Context = { request, names };
  const { flow, failure } = layoutLevels({
    levels,
    names,
    failedState: PIPELINE_FAILED,
    entryName: (index) => entryName(ctx, levels, index),
    block: (node, next) => nodeBlock(ctx, node, next),
  });

  const [first] = flow;
  if (!first) throw new Error('compilePipeline: no states');
  const machine: JsonObject = {
    Comment: comment,
    StartAt: first[0],
    TimeoutSeconds: request.timeoutSeconds,
    States: { ...Object.fromEntries(flow), ...failure },
  };
  return JSON.stringify(machine, null, 2);
}

/** Names of every Task state, including those inside Parallel branches and Map processors, sorted. */
export function taskStateNames(definition: string | object): string[] {
  const root = (typeof definition === 'string' ? JSON.parse(definition) : definition) as MachineLike;
  const found: string[] = [];
  const walk = (machine: MachineLike | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      if (state.Type === 'Task') found.push(name);
      for (const branch of state.Branches ?? []) walk(branch);
      walk(state.ItemProcessor ?? state.Iterator);
    }
  };
  walk(root);
  return found.sort();
}

interface MachineLike {
  States?: Record<
    string,
    { Type?: string; Branches?: MachineLike[]; ItemProcessor?: MachineLike; Iterator?: MachineLike }
  >;
}

interface Context {
  request: CompileRequest;
  names: StateNames;
}

/** The states of one node (or job) in one scope, its failure states beside them. */
export interface Block {
  start: string;
  flow: Array<[string, JsonObject]>;
  failure: States;
}

/**
 * Lays dependency levels out as a state sequence, main flow first and failure states after it,
 * so the document reads top to bottom: a level of one node is that node's block inline, a level
 * of several a Parallel of their blocks whose failure ends the machine through `failedState`
 * (passing a branch's Error and Cause on unchanged). Shared by the pipeline and workflow compilers.
 */
export function layoutLevels<N>(layout: {
  levels: N[][];
  names: StateNames;
  failedState: string;
  entryName: (index: number) => string;
  block: (node: N, next: string | undefined) => Block;
}): { flow: Array<[string, JsonObject]>; failure: States } {
  const { levels, names, failedState } = layout;
  const flow: Array<[string, JsonObject]> = [];
  const failure: States = {};
  let usesFailed = false;
  levels.forEach((level, index) => {
    const next = index + 1 < levels.length ? layout.entryName(index + 1) : undefined;
    const [only] = level;
    if (level.length === 1 && only !== undefined) {
      const block = layout.block(only, next);
      flow.push(...block.flow);
      Object.assign(failure, block.failure);
      return;
    }
    const branches = level.map((node) => {
      const block = layout.block(node, undefined);
      return { StartAt: block.start, States: { ...Object.fromEntries(block.flow), ...block.failure } };
    });
    usesFailed = true;
    flow.push([
      names.parallel(index),
      withTransition(
        {
          Type: 'Parallel',
          Branches: branches,
          ResultPath: null,
          Catch: [{ ErrorEquals: [STATES_ERRORS.all], ResultPath: '$.error', Next: failedState }],
        },
        next,
      ),
    ]);
  });
  if (usesFailed) {
    failure[failedState] = { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };
    names.claim(failedState);
  }
  return { flow, failure };
}

/** The name of the first state of a level (what the previous level transitions to). */
function entryName(ctx: Context, levels: CompileStage[][], index: number): string {
  const level = levels[index] ?? [];
  const [only] = level;
  if (level.length === 1 && only)
    return ctx.names.node(only, only.athena ? 'Prepare' : only.partitioned ? 'Plan' : 'Run');
  return ctx.names.parallel(index);
}

/**
 * The states of one node in one scope (the top level or a Parallel branch): its work, then
 * `next` (or End). Its failure recorder and Fail state live in the same scope, as ASL requires.
 */
function nodeBlock(ctx: Context, node: CompileStage, next: string | undefined): Block {
  const { names } = ctx;
  const recorder = names.node(node, 'Record failure');
  const failed = names.node(node, 'Failed');
  const catchToRecorder: Json = [{ ErrorEquals: [STATES_ERRORS.all], ResultPath: '$.error', Next: recorder }];
  const flow: Array<[string, JsonObject]> = [];

  if (node.athena) {
    flow.push(...athenaFlow(ctx, node, node.athena, next, catchToRecorder));
  } else if (!node.partitioned) {
    const run = names.node(node, 'Run');
    flow.push([
      run,
      withTransition(
        {
          ...task(ctx, workerParameters(WORKER_ACTIONS.run, node.key)),
          ResultPath: null,
          TimeoutSeconds: TASK_TIMEOUT_SECONDS,
          Retry: retry(),
          Catch: catchToRecorder,
        },
        next,
      ),
    ]);
  } else {
    const plan = names.node(node, 'Plan');
    const map = names.node(node, 'Partitions');
    const partition = names.node(node, 'Partition');
    const seal = names.node(node, 'Seal');
    flow.push([
      plan,
      {
        ...task(ctx, workerParameters(WORKER_ACTIONS.plan, node.key)),
        ResultSelector: { 'partitions.$': '$.partitions' },
        ResultPath: '$.plan',
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: retry(),
        Catch: catchToRecorder,
        Next: map,
      },
    ]);
    flow.push([
      map,
      {
        Type: 'Map',
        ItemsPath: '$.plan.partitions',
        // The execution fields ride along with the partition: aws-local-stepfunctions gives a
        // Map iteration its own `$$.Execution.Input` (the item), while AWS keeps the real one.
        ItemSelector: { ...executionSelectors(), 'partition.$': '$$.Map.Item.Value.partition' },
        MaxConcurrency: ctx.request.maxConcurrency,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: partition,
          States: {
            // No Catch: a failed partition fails the Map, whose Catch records the step once.
            [partition]: {
              ...task(ctx, {
                ...workerParameters(WORKER_ACTIONS.run, node.key),
                'partition.$': '$.partition',
              }),
              ResultPath: null,
              OutputPath: '$.partition',
              TimeoutSeconds: TASK_TIMEOUT_SECONDS,
              Retry: retry(),
              End: true,
            },
          },
        },
        // Replace the partition list with its length so state data stays small.
        ResultSelector: { 'partitions.$': 'States.ArrayLength($)' },
        ResultPath: '$.plan',
        Catch: catchToRecorder,
        Next: seal,
      },
    ]);
    flow.push([
      seal,
      withTransition(
        {
          ...task(ctx, workerParameters(WORKER_ACTIONS.seal, node.key)),
          ResultPath: null,
          TimeoutSeconds: TASK_TIMEOUT_SECONDS,
          Retry: retry(),
          Catch: catchToRecorder,
        },
        next,
      ),
    ]);
  }

  const unrecorded = names.node(node, 'Unrecorded');
  const failure: States = {
    [recorder]: {
      ...task(ctx, { ...workerParameters(WORKER_ACTIONS.fail, node.key), 'error.$': '$.error' }),
      // The recorder answers the failed node, named for the user; the run ends with it.
      ResultSelector: { 'cause.$': '$.cause' },
      ResultPath: '$.failure',
      TimeoutSeconds: TASK_TIMEOUT_SECONDS,
      Retry: retry(),
      // A recorder that fails still ends the run, keeping the step's error in `$.error`.
      Catch: [{ ErrorEquals: [STATES_ERRORS.all], ResultPath: '$.recorder_error', Next: unrecorded }],
      Next: failed,
    },
    [failed]: {
      Type: 'Fail',
      // The error every failed pipeline execution ends with.
      Error: SLUICE_ERRORS.stepFailed,
      CausePath: '$.failure.cause',
    },
    [unrecorded]: {
      Type: 'Fail',
      Error: SLUICE_ERRORS.stepFailed,
      Cause: `Stage ${node.key} (${node.stepName}) failed`,
    },
  };
  const [first] = flow;
  if (!first) throw new Error('compilePipeline: empty node block');
  return { start: first[0], flow, failure };
}

/**
 * A stage on Athena: `Prepare` (the worker: traces, staged inputs, the run's database and
 * location into `$.athena`) -> one `startQueryExecution.sync` Task per query, run by the state
 * machine itself -> `Counts` (`getQueryResults` of the last, COUNT, query) -> `Finish` (the
 * worker: traces, dataset versions, target files). Every query's token is the batch, stage and
 * query number, so a Task retried after throttling starts its query once.
 */
function athenaFlow(
  ctx: Context,
  node: CompileStage,
  queries: NonNullable<CompileStage['athena']>,
  next: string | undefined,
  catchToRecorder: Json,
): Array<[string, JsonObject]> {
  const { names, request } = ctx;
  const workgroup = request.athenaWorkgroup;
  if (!workgroup) throw new Error(`compilePipeline: stage ${node.key} runs on Athena without a workgroup`);
  const prepare = names.node(node, 'Prepare');
  const counts = names.node(node, 'Counts');
  const finish = names.node(node, 'Finish');
  const queryName = (i: number) =>
    names.node({ key: `${node.key}.${i + 1}`, stepName: queries[i]?.label ?? '' }, 'Query');
  const flow: Array<[string, JsonObject]> = [];
  flow.push([
    prepare,
    {
      ...task(ctx, workerParameters(ATHENA_WORKER_ACTIONS.athenaPrepare, node.key)),
      ResultSelector: {
        'database.$': '$.database',
        'location.$': '$.location',
        'backslash.$': '$.backslash',
        'sources.$': '$.sources',
      },
      ResultPath: '$.athena',
      TimeoutSeconds: TASK_TIMEOUT_SECONDS,
      Retry: retry(),
      Catch: catchToRecorder,
      Next: queries.length > 0 ? queryName(0) : finish,
    },
  ]);
  queries.forEach((query, i) => {
    const last = i === queries.length - 1;
    flow.push([
      queryName(i),
      {
        Type: 'Task',
        Resource: ATHENA_RESOURCES.startQuery,
        Parameters: {
          'QueryString.$': athenaQueryString(query.sql),
          WorkGroup: workgroup,
          // The run database may be created by two stages at once (Parallel branches): that
          // DDL is retried when it fails, so it has no token (a token answers a retry with the
          // same failed execution).
          ...(query.kind === 'database'
            ? {}
            : { 'ClientRequestToken.$': `States.Format('{}.${node.key}.${i + 1}', $.batch_id)` }),
        },
        ...(query.kind === 'counts'
          ? {
              ResultSelector: { 'id.$': '$.QueryExecution.QueryExecutionId' },
              ResultPath: '$.athena.counts_query',
            }
          : { ResultPath: null }),
        Retry:
          query.kind === 'database'
            ? [...(athenaRetry() as JsonObject[]), DATABASE_RACE_RETRY]
            : athenaRetry(),
        Catch: catchToRecorder,
        Next: last ? counts : queryName(i + 1),
      },
    ]);
  });
  flow.push([
    counts,
    {
      Type: 'Task',
      Resource: ATHENA_RESOURCES.queryResults,
      Parameters: { 'QueryExecutionId.$': '$.athena.counts_query.id', MaxResults: 2 },
      // Row 0 is the header; row 1 holds one count per node of the stage.
      ResultSelector: { 'rows.$': '$.ResultSet.Rows[1].Data[*].VarCharValue' },
      ResultPath: '$.athena.counts',
      Retry: athenaRetry(),
      Catch: catchToRecorder,
      Next: finish,
    },
  ]);
  flow.push([
    finish,
    withTransition(
      {
        ...task(ctx, {
          ...workerParameters(ATHENA_WORKER_ACTIONS.athenaFinish, node.key),
          'counts.$': '$.athena.counts.rows',
        }),
        ResultPath: null,
        TimeoutSeconds: TASK_TIMEOUT_SECONDS,
        Retry: retry(),
        Catch: catchToRecorder,
      },
      next,
    ),
  ]);
  return flow;
}

/**
 * `States.Format('<sql>', $.athena.database, $.athena.location, ...)`: the query with its marks
 * filled from the Prepare Task's answer. Quotes and braces of the SQL are escaped as intrinsic
 * function string literals require; backslashes are arguments.
 */
export function athenaQueryString(sql: string): string {
  // A backslash goes in as an argument too: asl-validator refuses the `\\` escape that the
  // States Language allows, so the SQL's backslashes come from `$.athena.backslash`.
  const marks: Record<string, string> = {
    [ATHENA_MARKS.database]: '$.athena.database',
    [ATHENA_MARKS.location]: '$.athena.location',
    '\\': '$.athena.backslash',
  };
  // A dataset source's columns, answered by the Prepare Task per source.
  const [open = '', close = ''] = athenaSourceColumnsMark('\u0000').split('\u0000');
  const sourceColumns = `${escapeRegExp(open)}[0-9A-Za-z_]+${escapeRegExp(close)}`;
  const pattern = new RegExp(`(${[...Object.keys(marks).map(escapeRegExp), sourceColumns].join('|')})`);
  const args: string[] = [];
  const text = sql
    .split(pattern)
    .map((piece) => {
      const source =
        piece.startsWith(open) && piece.endsWith(close) ? piece.slice(open.length, -close.length) : '';
      const path = source ? `$.athena.sources.n${source}` : marks[piece];
      if (path) {
        args.push(path);
        return '{}';
      }
      return piece.replace(/['{}]/g, (c) => `\\${c}`);
    })
    .join('');
  return `States.Format('${text}'${args.map((a) => `, ${a}`).join('')})`;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A concurrent CREATE DATABASE IF NOT EXISTS may fail once; the next attempt finds it. */
const DATABASE_RACE_RETRY: JsonObject = {
  ErrorEquals: [STATES_ERRORS.taskFailed],
  IntervalSeconds: 2,
  MaxAttempts: 2,
  BackoffRate: 2,
  JitterStrategy: 'FULL',
};

function athenaRetry(): Json {
  return [
    {
      ErrorEquals: [...ATHENA_TRANSIENT_ERRORS],
      IntervalSeconds: 5,
      MaxAttempts: 5,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    },
  ];
}

function task(ctx: Context, parameters: JsonObject): JsonObject {
  return { Type: 'Task', Resource: ctx.request.workerArn, Parameters: parameters };
}

function executionSelectors(): JsonObject {
  const fields: JsonObject = {};
  for (const field of EXECUTION_FIELDS) fields[`${field}.$`] = `$$.Execution.Input.${field}`;
  return fields;
}

function workerParameters(action: WorkerAction, key: string): JsonObject {
  return { ...executionSelectors(), action, stage_id: key };
}

function retry(): Json {
  return [
    {
      ErrorEquals: [...TRANSIENT_ERRORS],
      IntervalSeconds: 2,
      MaxAttempts: 3,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    },
  ];
}

function withTransition(state: JsonObject, next: string | undefined): JsonObject {
  return next === undefined ? { ...state, End: true } : { ...state, Next: next };
}

/** Groups nodes by longest path from a root; each level sorted by key (the workflow compiler too). */
export function scheduleLevels<T extends { key: string; parents: string[] }>(nodes: T[]): T[][] {
  const byKey = new Map(nodes.map((node) => [node.key, node]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const levelOf = (node: T): number => {
    const known = depth.get(node.key);
    if (known !== undefined) return known;
    if (visiting.has(node.key)) throw new Error(`compile: cycle through node ${node.key}`);
    visiting.add(node.key);
    let level = 0;
    for (const parentKey of node.parents) {
      const parent = byKey.get(parentKey);
      if (!parent) throw new Error(`compile: node ${node.key} has unknown parent ${parentKey}`);
      level = Math.max(level, levelOf(parent) + 1);
    }
    visiting.delete(node.key);
    depth.set(node.key, level);
    return level;
  };
  const levels: T[][] = [];
  for (const node of nodes) {
    const level = levelOf(node);
    while (levels.length <= level) levels.push([]);
    levels[level]?.push(node);
  }
  for (const level of levels) level.sort((a, b) => compareKeys(a.key, b.key));
  return levels;
}

/** Numeric order for digit strings (ids are Longs), else code-unit order. */
export function compareKeys(a: string, b: string): number {
  const digits = /^\d+$/;
  if (digits.test(a) && digits.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * State names: `<Role> <key> <step name>`, at most 80 UTF-16 units. The role is one fixed word
 * (or "Record failure") and the key has no spaces, so names of different nodes or roles differ
 * in the prefix, which truncation never touches; only the step name is shortened.
 */
export class StateNames {
  private readonly owners = new Map<string, string>();

  node(node: Pick<CompileStage, 'key' | 'stepName'>, role: string): string {
    const prefix = `${role} ${cleanKey(node.key)}`;
    const step = cleanText(node.stepName);
    const name = step ? truncate(`${prefix} ${step}`, MAX_STATE_NAME) : truncate(prefix, MAX_STATE_NAME);
    return this.own(name, `${role}\u0000${node.key}`);
  }

  parallel(levelIndex: number): string {
    return this.own(`Parallel level ${levelIndex + 1}`, `parallel\u0000${levelIndex}`);
  }

  claim(name: string): void {
    this.own(name, `fixed\u0000${name}`);
  }

  /** Same owner -> same name (names are asked for more than once); two owners never share one. */
  private own(name: string, owner: string): string {
    const current = this.owners.get(name);
    if (current !== undefined && current !== owner) {
      throw new Error(`compile: two states would be named "${name}"`);
    }
    this.owners.set(name, owner);
    return name;
  }
}

/** Keys are digit strings in practice; anything else loses whitespace and unsafe characters. */
function cleanKey(key: string): string {
  return key.normalize('NFC').replace(/[^\p{L}\p{M}\p{N}\-_.]/gu, '_') || '_';
}

/** Keeps letters (any script), marks, digits, space and `-_.()`; other runs become one space. */
function cleanText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[^\p{L}\p{M}\p{N}\-_.()]+/gu, ' ')
    .trim();
}

/** Cuts at a code point boundary so at most `max` UTF-16 units remain (never half a surrogate pair). */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const codePoint of text) {
    if (out.length + codePoint.length > max) break;
    out += codePoint;
  }
  return out.trimEnd();
}

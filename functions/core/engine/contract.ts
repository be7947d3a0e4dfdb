/**
 * The engine contract: what the compiled state machines (statemachines/), the step worker, the
 * workflow-step Lambda, the finalizer and the local engine agree on. The Task actions the
 * compilers emit, the payloads those Tasks and the execution status events carry, and every
 * error name that crosses a state machine boundary (raised by a worker, matched by a Retry or
 * Catch, read back by the finalizer) are defined here once.
 *
 * This module has no imports: the compilers stay pure and light, and anything may depend on it.
 */

/** Error names Sluice raises or ends executions with. */
export const SLUICE_ERRORS = {
  /** A step failed for a reason shown to the user (never retried); every failed pipeline ends with it. */
  stepFailed: 'Sluice.StepFailed',
  /** A failure worth retrying (throttling, a dropped connection); the Tasks' Retry matches it. */
  transient: 'Sluice.Transient',
  /** The batch was stopped (or has otherwise finished) while a step ran. */
  batchStopped: 'Sluice.BatchStopped',
  /** A workflow's record Task found the job at its limit of concurrent runs; retried with a long backoff. */
  jobBusy: 'Sluice.JobBusy',
  /** Every failed workflow execution ends with it (a branch's error is passed on unchanged). */
  jobFailed: 'Sluice.JobFailed',
  /** A workflow Task ran for a workflow execution that has already ended. */
  workflowEnded: 'Sluice.WorkflowEnded',
  /** A workflow Task could not record the job's run. */
  recordFailed: 'Sluice.RecordFailed',
  /** The local engine could not run an execution at all. */
  engineError: 'Sluice.EngineError',
  /** The local host stopped while the execution ran. */
  hostStopped: 'Sluice.HostStopped',
} as const;

/** Every Sluice error name starts with it (their causes are meant for users). */
export const SLUICE_ERROR_PREFIX = 'Sluice.';

/** Error names of Step Functions itself that Sluice's definitions and code refer to. */
export const STATES_ERRORS = {
  /** Matches every error in a Retry or Catch. */
  all: 'States.ALL',
  /** A Task (or the execution) ran past its TimeoutSeconds. */
  timeout: 'States.Timeout',
  /** A Task failed; a `startExecution.sync:2` Task fails with it when the child execution does. */
  taskFailed: 'States.TaskFailed',
  /** The execution failed for a reason that is not a state's error. */
  runtime: 'States.Runtime',
} as const;

/** Lambda service errors a Task invoking a function may meet and should retry. */
const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** Errors worth retrying: Lambda service hiccups and the workers' own transient signal. */
export const TRANSIENT_ERRORS: readonly string[] = [...LAMBDA_TRANSIENT_ERRORS, SLUICE_ERRORS.transient];

/** The prefix of errors a Lambda invocation fails with when the function itself could not run. */
export const LAMBDA_ERROR_PREFIX = 'Lambda.';

/** What a step worker invocation is asked to do (the pipeline compiler emits these). */
export const WORKER_ACTIONS = {
  /** List the partitions of a partitioned stage's source: answers `{partitions: [{partition: n}, ...]}`. */
  plan: 'plan',
  /** Run a stage (or one partition of a partitioned stage): answers `{rows, bytes}`. */
  run: 'run',
  /** Close a partitioned stage's steps once every partition has run. */
  seal: 'seal',
  /**
   * Record that a stage failed (the Catch path): `error` carries `{Error, Cause}`; answers
   * `{cause}`, the failed node named for the user, which the execution ends with.
   */
  fail: 'fail',
} as const;

/** What the step worker is asked to do for a stage on Athena (whose queries the state machine runs). */
export const ATHENA_WORKER_ACTIONS = {
  /**
   * An Athena stage starts: marks its nodes running, stages what its external tables read
   * (dataset versions) and decides IGNORE targets; answers `{database, location, backslash}`,
   * the run's Glue database, `s3://<data bucket>/runs/<batch>/` and `\`, which its queries
   * are formatted with.
   */
  athenaPrepare: 'athena-prepare',
  /**
   * An Athena stage's queries have run: `counts` carries the row count of each of its nodes (the
   * stage's COUNT query); records the traces, publishes TARGET_CATALOG outputs as dataset
   * versions and moves TARGET_OBS output from the run prefix to the target prefix.
   */
  athenaFinish: 'athena-finish',
} as const;

export type WorkerAction =
  | (typeof WORKER_ACTIONS)[keyof typeof WORKER_ACTIONS]
  | (typeof ATHENA_WORKER_ACTIONS)[keyof typeof ATHENA_WORKER_ACTIONS];

/**
 * Athena stages (statemachines/compile.ts): the queries of a stage are written with these marks
 * where the run's Glue database and run prefix go; the compiler turns each query into a
 * `States.Format` over the answer of the stage's `athena-prepare` Task.
 */
export const ATHENA_MARKS = {
  /** The run-scoped Glue database, `sluice_run_<batch>`. */
  database: '\u0001database\u0001',
  /** `s3://<data bucket>/runs/<batch>/`: a node's output is under `<location><node key>/`. */
  location: '\u0001location\u0001',
} as const;

/**
 * Where a dataset source's columns go in its external table's DDL: the columns of the version
 * the batch reads, as stored (Hive types), which `athena-prepare` answers as
 * `sources.n<node key>`. Node keys are digit strings.
 */
export const athenaSourceColumnsMark = (nodeKey: string) => `\u0001columns:${nodeKey}\u0001`;

/** The run-scoped Glue databases are named this plus the batch id in lower case, `_` for `-`. */
export const RUN_DATABASE_PREFIX = 'sluice_run_';

/** The Step Functions integrations an Athena stage runs its queries with. */
export const ATHENA_RESOURCES = {
  startQuery: 'arn:aws:states:::athena:startQueryExecution.sync',
  queryResults: 'arn:aws:states:::athena:getQueryResults',
} as const;

/** Athena errors worth retrying (the query never started). */
export const ATHENA_TRANSIENT_ERRORS: readonly string[] = [
  'Athena.TooManyRequestsException',
  'Athena.InternalServerException',
];

/** What a workflow-step invocation is asked to do (the workflow compiler emits these). */
export const WORKFLOW_STEP_ACTIONS = {
  /** Record the job's batch (holding a run slot) and answer the deployed version to start. */
  record: 'record',
  /** Record why the job failed, ending its run when it cannot end by itself. */
  fail: 'fail',
} as const;

export type WorkflowStepAction = (typeof WORKFLOW_STEP_ACTIONS)[keyof typeof WORKFLOW_STEP_ACTIONS];

/** The execution input of every pipeline state machine. */
export interface ExecutionInput {
  batch_id: string;
  pipeline_id: string;
  pipeline_version: number;
}

/** What a Catch puts into `$.error` and a `fail` Task passes on. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/** The payload of one step worker invocation: one action for one stage of the batch's plan. */
export interface WorkerEvent extends ExecutionInput {
  action: WorkerAction;
  stage_id: string;
  partition?: number;
  error?: CaughtError;
  /** athena-finish: the row count of each node of the stage, in the stage's node order. */
  counts?: string[];
}

/** The execution input of every workflow state machine. */
export interface WorkflowExecutionInput {
  workflow_execution_id: string;
  workflow_id: string;
}

/** Statuses of an execution, as Step Functions reports them. */
export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

/** An execution's status as Step Functions reports it (DescribeExecution, or its status change event). */
export interface ExecutionStatusDetail {
  executionArn: string;
  stateMachineArn?: string;
  name: string;
  status: ExecutionStatus;
  error?: string | null;
  cause?: string | null;
}

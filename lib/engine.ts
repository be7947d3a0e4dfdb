/**
 * The pipeline engine on AWS. The pipelines area compiles each pipeline version to ASL and
 * deploys it as a Standard state machine named `<prefix><pipeline id>`, run by one shared
 * execution role that may invoke the step worker (one Task per node) and deliver execution
 * history and traces. When an execution ends, Step Functions announces it on the default
 * EventBridge bus and a rule hands it to the finalizer, which records the batch's terminal
 * state; should that event be lost, the reconciler (run every few minutes by a schedule rule)
 * finds the run still open, asks Step Functions and settles it. The state machines themselves
 * are created at runtime, so this construct owns the name prefix and grants every Step Functions
 * permission on that prefix only.
 *
 * Stages on Athena are run by the state machines themselves, in this construct's Athena
 * workgroup (results under `runs/_athena/` of the data bucket): their role may run queries there,
 * read and write the run prefix, and create and drop the run-scoped Glue databases
 * (`sluice_run_<batch>`), which the finalizer drops when the batch ends.
 */
import { ArnFormat, Aws, Duration, Fn, RemovalPolicy, Size, Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { Match, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import {
  type IRole,
  PolicyStatement,
  PrincipalWithConditions,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUN_DATABASE_PREFIX } from '#core/engine/contract';
import { SETTING } from '#core/setting-names';
import { type AccessResources, grantAccess } from './access.ts';
import { functionEntry, SluiceFunction } from './function.ts';
import { acknowledgeWildcard, grantExecutionLogsAndTraces } from './nag.ts';
import type { EngineAccess, EngineSetting } from './resources.ts';

/** Length of a pipeline id (`pl-` and 22 characters, functions/core/ids.ts). */
export const PIPELINE_ID_LENGTH = 25;
/** Step Functions' limit on a state machine name. */
export const STATE_MACHINE_NAME_MAX_LENGTH = 80;

/** How often the reconciler looks for runs whose end event was lost. */
export const RECONCILE_INTERVAL = Duration.minutes(5);

/** Data Flow's LARGE workerType: Lambda's largest memory size and generous scratch space. */
export const LARGE_WORKER_MEMORY_MB = 10_240;
export const LARGE_WORKER_EPHEMERAL_MIB = 10_240;

export interface EngineProps {
  /** The stores and secrets (the engine's own functions are granted through lib/access.ts). */
  readonly resources: AccessResources;
  /** Retention of the functions' log groups and of the execution history. */
  readonly logRetention: RetentionDays;
  /**
   * Buckets outside the stack that pipeline nodes may read and write (S3 sources and targets).
   * The step worker gets object and list access on exactly these. @default none
   */
  readonly externalBuckets?: readonly string[];
  /** Memory of the step worker in MB (also its CPU share). @default 3008 */
  readonly stepWorkerMemorySize?: number;
  /** Size of the step worker's /tmp in MiB, where inputs and outputs are staged. @default 4096 */
  readonly stepWorkerEphemeralStorageMiB?: number;
  /**
   * AUTO runs a stage on Athena when the bytes of the sources upstream of it exceed this
   * (SLUICE_ATHENA_THRESHOLD_BYTES). @default 2 GiB
   */
  readonly athenaThresholdBytes?: number;
}

/** AUTO's default threshold for Athena: 2 GiB. */
export const DEFAULT_ATHENA_THRESHOLD_BYTES = 2 * 1024 ** 3;

export class Engine extends Construct implements EngineAccess {
  /** Runs one node of a pipeline run with DuckDB (invoked by the state machines' Tasks). */
  public readonly stepWorker: SluiceFunction;
  /** The same worker with the most memory Lambda offers, for runs with workerType LARGE. */
  public readonly largeStepWorker: SluiceFunction;
  /** Records a batch's terminal state when its execution ends. */
  public readonly finalizer: SluiceFunction;
  /** Dead letters of the finalizer: undeliverable events and failed invocations. */
  public readonly finalizerDeadLetterQueue: Queue;
  /** Fires on terminal status changes of this stack's state machines' executions. */
  public readonly executionStatusRule: Rule;
  /**
   * Settles runs whose end event was lost: batches and workflow executions left running or
   * pending are looked up in Step Functions and recorded; a pending batch whose slot came starts.
   */
  public readonly reconciler: SluiceFunction;
  /** Dead letters of the reconciler: schedule ticks that could not be delivered or kept failing. */
  public readonly reconcilerDeadLetterQueue: Queue;
  /** Runs the reconciler every `RECONCILE_INTERVAL`. */
  public readonly reconcilerSchedule: Rule;
  /** The role every pipeline state machine runs as. */
  public readonly statesRole: Role;
  /** Execution history of every pipeline state machine. */
  public readonly executionLogGroup: LogGroup;
  /** Every state machine the engine creates is named this prefix plus a pipeline id. */
  public readonly stateMachinePrefix: string;
  /** The pipeline state machines' names start with this (`<prefix>pl-`, pipeline ids start with `pl-`). */
  public readonly pipelineStateMachinePrefix: string;
  /** `arn:<partition>:states:<region>:<account>:stateMachine:` (a state machine ARN minus its name). */
  public readonly stateMachineArnBase: string;
  public readonly externalBuckets: readonly string[];
  /** Where the queries of pipeline stages on Athena run. */
  public readonly athenaWorkGroup: CfnWorkGroup;
  public readonly athenaWorkGroupName: string;
  /** Settings for functions; pick what each needs in lib/access.ts. */
  public readonly environment: Readonly<Partial<Record<EngineSetting, string>>>;

  constructor(scope: Construct, id: string, props: EngineProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.externalBuckets = [...new Set(props.externalBuckets ?? [])];
    for (const bucket of this.externalBuckets) {
      const problem = bucketNameProblem(bucket);
      if (problem) throw new Error(`${id}: external bucket "${bucket}" ${problem}`);
    }

    this.stateMachinePrefix = stateMachinePrefix(stack.stackName);
    this.pipelineStateMachinePrefix = `${this.stateMachinePrefix}pl-`;
    this.stateMachineArnBase = this.stateMachineArn('');

    this.executionLogGroup = new LogGroup(this, 'ExecutionLogs', {
      // Under /aws/vendedlogs/ Step Functions' log delivery needs no per-group resource policy
      // (CloudWatch Logs caps resource policies at 5,120 characters per account and region).
      // The stack id's unique part keeps the name free when a deleted stack is deployed again:
      // the group is retained.
      logGroupName: `/aws/vendedlogs/states/${stack.stackName}-pipelines-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stepWorker = new SluiceFunction(this, 'StepWorker', {
      entry: functionEntry('step-worker'),
      description: 'Sluice step worker: runs one pipeline node with DuckDB',
      memorySize: props.stepWorkerMemorySize ?? 3008,
      timeout: Duration.minutes(15),
      ephemeralStorageSize: Size.mebibytes(props.stepWorkerEphemeralStorageMiB ?? 4096),
      nativeDuckDb: true,
      logRetention: props.logRetention,
    });
    this.largeStepWorker = new SluiceFunction(this, 'LargeStepWorker', {
      entry: functionEntry('step-worker'),
      description: 'Sluice step worker, LARGE (Data Flow workerType): runs one pipeline node with DuckDB',
      memorySize: LARGE_WORKER_MEMORY_MB,
      timeout: Duration.minutes(15),
      ephemeralStorageSize: Size.mebibytes(LARGE_WORKER_EPHEMERAL_MIB),
      nativeDuckDb: true,
      logRetention: props.logRetention,
    });
    for (const worker of [this.stepWorker, this.largeStepWorker]) acknowledgeTaskInvocation(worker);

    this.statesRole = newStatesRole(this, 'Execution role of the Sluice pipeline state machines');
    const workerArn = this.stepWorker.functionArn;
    const largeWorkerArn = this.largeStepWorker.functionArn;
    for (const arn of [workerArn, largeWorkerArn]) {
      this.statesRole.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          // The function and its versions or aliases, should a Task name one.
          resources: [arn, `${arn}:*`],
        }),
      );
      acknowledgeWildcard(
        this.statesRole,
        `${arn}:*`,
        'lambda:InvokeFunction on the step workers only: the ":*" suffix covers their published versions ' +
          'and aliases, which a compiled Task may name; no other function matches.',
      );
    }
    grantExecutionLogsAndTraces(this.statesRole);

    // Stages on Athena run in a workgroup of their own: results under the run prefix (the state
    // machines' role needs nothing of the results bucket), no Data Query scan limit, their own metrics.
    this.athenaWorkGroupName = pipelineWorkGroupName(stack.stackName);
    const data = props.resources.storage.dataBucket;
    this.athenaWorkGroup = new CfnWorkGroup(this, 'AthenaWorkGroup', {
      name: this.athenaWorkGroupName,
      description: 'Sluice pipelines: the queries of stages on Athena, run by the state machines',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: data.s3UrlForObject(ATHENA_RESULTS_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });
    this.grantAthenaStages(props.resources);

    this.finalizerDeadLetterQueue = new Queue(this, 'FinalizerDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.finalizerDeadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the end of the line: it is the dead-letter queue of the execution status rule ' +
        'target and of the finalizer; its messages are inspected and replayed by an operator, never ' +
        'consumed automatically.',
    });

    this.finalizer = new SluiceFunction(this, 'Finalizer', {
      entry: functionEntry('finalizer'),
      description: 'Sluice finalizer: records the terminal state of a batch when its execution ends',
      memorySize: 512,
      timeout: Duration.minutes(1),
      deadLetterQueue: this.finalizerDeadLetterQueue,
      logRetention: props.logRetention,
    });

    this.executionStatusRule = new Rule(this, 'ExecutionStatusRule', {
      description: "Sluice: a pipeline execution ended; the finalizer records its batch's state",
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: Match.prefix(this.stateMachineArnBase + this.stateMachinePrefix),
        },
      },
    });
    this.executionStatusRule.addTarget(
      new LambdaFunction(this.finalizer, {
        deadLetterQueue: this.finalizerDeadLetterQueue,
        retryAttempts: 4,
        maxEventAge: Duration.hours(2),
      }),
    );

    this.reconcilerDeadLetterQueue = new Queue(this, 'ReconcilerDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.reconcilerDeadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the end of the line: it is the dead-letter queue of the reconciler schedule target ' +
        'and of the reconciler; a message here means the reconciler could not run, which an operator ' +
        'investigates; nothing consumes it automatically.',
    });

    // Mirrors the finalizer, whose code it runs for each run it settles: the same stores, settings
    // and rights (lib/access.ts), invoked asynchronously with a dead-letter queue.
    this.reconciler = new SluiceFunction(this, 'Reconciler', {
      entry: functionEntry('reconciler'),
      description: 'Sluice reconciler: settles runs whose end event was lost and starts pending batches',
      memorySize: 512,
      // Well below the interval, so that runs do not pile up.
      timeout: Duration.minutes(2),
      deadLetterQueue: this.reconcilerDeadLetterQueue,
      logRetention: props.logRetention,
    });

    this.reconcilerSchedule = new Rule(this, 'ReconcilerSchedule', {
      description: 'Sluice: runs the reconciler, which settles runs whose end event was lost',
      schedule: Schedule.rate(RECONCILE_INTERVAL),
    });
    this.reconcilerSchedule.addTarget(
      new LambdaFunction(this.reconciler, {
        deadLetterQueue: this.reconcilerDeadLetterQueue,
        retryAttempts: 2,
        // A tick older than the next one is worth nothing.
        maxEventAge: RECONCILE_INTERVAL,
      }),
    );

    this.environment = {
      ...(this.externalBuckets.length > 0 ? { [SETTING.buckets]: this.externalBuckets.join(',') } : {}),
      [SETTING.stepWorkerArn]: workerArn,
      [SETTING.largeStepWorkerArn]: largeWorkerArn,
      [SETTING.athenaThresholdBytes]: String(athenaThreshold(props.athenaThresholdBytes)),
      // The reference (the same name) makes functions wait for the workgroup on the first deploy.
      [SETTING.pipelineWorkgroup]: this.athenaWorkGroup.ref,
      [SETTING.stateMachinePrefix]: this.stateMachinePrefix,
      [SETTING.stateMachineArnBase]: this.stateMachineArnBase,
      [SETTING.statesRoleArn]: this.statesRole.roleArn,
      [SETTING.statesLogGroupArn]: this.executionLogGroup.logGroupArn,
    };

    // The finalizer drops a batch's run database when its execution ends; the reconciler does
    // when it settles a batch whose end event was lost.
    this.grantDropRunDatabases(this.finalizer.executionRole);
    this.grantDropRunDatabases(this.reconciler.executionRole);

    const resources: AccessResources = { ...props.resources, engine: this };
    grantAccess('stepWorker', this.stepWorker, resources);
    grantAccess('stepWorker', this.largeStepWorker, resources);
    grantAccess('finalizer', this.finalizer, resources);
    grantAccess('reconciler', this.reconciler, resources);
  }

  /**
   * Manage the pipeline state machines: create, update, publish versions, tag, describe and
   * delete them, start and stop their executions, and pass the states role to them. Every
   * action only on names with the engine's prefix.
   */
  grantManagePipelines(fn: SluiceFunction): void {
    this.grantStateMachineActions(fn, [
      'states:CreateStateMachine',
      'states:UpdateStateMachine',
      'states:DeleteStateMachine',
      'states:DescribeStateMachine',
      'states:PublishStateMachineVersion',
      'states:TagResource',
      'states:StartExecution',
    ]);
    this.grantExecutionActions(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.statesRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
      }),
    );
  }

  /** Start executions of the pipeline state machines (or their versions), stop and describe them. */
  grantRunPipelines(fn: SluiceFunction): void {
    this.grantStateMachineActions(fn, ['states:StartExecution']);
    this.grantExecutionActions(fn);
  }

  /**
   * Object reads, writes and deletes, and listings, on exactly the external buckets (none when
   * none are configured).
   */
  /**
   * Listing the external buckets only: a function that records batches sizes their S3-prefix
   * sources to choose an engine (AUTO sends a stage past SLUICE_ATHENA_THRESHOLD_BYTES to Athena).
   */
  grantListExternalBuckets(fn: SluiceFunction): void {
    if (this.externalBuckets.length === 0) return;
    const stack = Stack.of(this);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: this.externalBuckets.map((bucket) =>
          stack.formatArn({ service: 's3', region: '', account: '', resource: bucket }),
        ),
      }),
    );
  }

  grantExternalBuckets(fn: SluiceFunction): void {
    if (this.externalBuckets.length === 0) return;
    const stack = Stack.of(this);
    const bucketArn = (bucket: string) =>
      stack.formatArn({ service: 's3', region: '', account: '', resource: bucket });
    const objectsArn = (bucket: string) => `${bucketArn(bucket)}/*`;
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: this.externalBuckets.map(objectsArn),
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: this.externalBuckets.map(bucketArn) }),
    );
    for (const bucket of this.externalBuckets) {
      acknowledgeWildcard(
        fn.executionRole,
        objectsArn(bucket),
        `Object actions on the external bucket "${bucket}", which the operator listed in sluice:buckets ` +
          'for pipeline sources and targets; the keys are chosen by the pipelines at runtime.',
      );
    }
  }

  /**
   * What the state machines need to run stages on Athena themselves (statemachines/compile.ts):
   * queries only in the deployment's workgroup, whose results Athena stages in the results
   * bucket; the data bucket's run prefix, where a run's inputs are staged and its outputs written
   * (and nothing else of it, nor of any external bucket); and Glue databases and tables only of
   * the run-scoped databases (`sluice_run_<batch>`).
   */
  private grantAthenaStages(resources: AccessResources): void {
    const stack = Stack.of(this);
    const role = this.statesRole;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:GetQueryRuntimeStatistics',
        ],
        resources: [
          stack.formatArn({
            service: 'athena',
            resource: 'workgroup',
            resourceName: this.athenaWorkGroupName,
          }),
        ],
      }),
    );
    // CTAS and UNLOAD write under the run prefix; external tables read it: the inputs the step
    // worker stages there (S3 sources' objects, dataset parts) and the outputs of earlier stages;
    // Athena writes and reads each query's result there too (`runs/_athena/`, the workgroup's
    // output location). So the role needs nothing of the external buckets nor of datasets/.
    const data = resources.storage.dataBucket;
    const runs = data.arnForObjects(`${RUN_PREFIX}*`);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [runs],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [data.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUN_PREFIX}*`] } },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [data.bucketArn],
      }),
    );
    const glue = runDatabaseArns(stack);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'glue:CreateDatabase',
          'glue:GetDatabase',
          'glue:DeleteDatabase',
          'glue:CreateTable',
          'glue:GetTable',
          'glue:GetTables',
          'glue:DeleteTable',
          'glue:GetPartitions',
        ],
        resources: [glue.catalog, glue.databases, glue.tables],
      }),
    );
    // A query without a database of its own runs in `default`, which Athena looks up.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetDatabase'],
        resources: [stack.formatArn({ service: 'glue', resource: 'database', resourceName: 'default' })],
      }),
    );
    acknowledgeWildcard(
      role,
      runs,
      `CTAS and UNLOAD of Athena stages write under "${RUN_PREFIX}<batch>/" and external tables read it; ` +
        'batch ids are made at runtime. No other prefix of the data bucket is granted.',
    );
    for (const arn of [glue.databases, glue.tables]) {
      acknowledgeWildcard(
        role,
        arn,
        `Only the run-scoped Glue databases "${RUN_DATABASE_PREFIX}<batch>" and their tables, which ` +
          'Athena stages create at runtime.',
      );
    }
  }

  /** Drop the run-scoped Glue databases (and their tables) when a batch ends. */
  private grantDropRunDatabases(role: IRole | undefined): void {
    if (!role) return;
    const glue = runDatabaseArns(Stack.of(this));
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:DeleteDatabase', 'glue:GetTables', 'glue:DeleteTable'],
        resources: [glue.catalog, glue.databases, glue.tables],
      }),
    );
    for (const arn of [glue.databases, glue.tables]) {
      acknowledgeWildcard(
        role,
        arn,
        `Only the run-scoped Glue databases "${RUN_DATABASE_PREFIX}<batch>" and their tables, dropped ` +
          'when the batch that made them ends.',
      );
    }
  }

  private stateMachineArn(name: string): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: name,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  private grantStateMachineActions(fn: SluiceFunction, actions: string[]): void {
    // Pipeline ids start with `pl-`: workflow state machines (`<prefix>wf-…`) are not covered.
    const machines = this.stateMachineArn(`${this.pipelineStateMachinePrefix}*`);
    const versions = `${machines}:*`;
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [machines, versions] }));
    acknowledgeWildcard(
      fn.executionRole,
      machines,
      `${actions.join(', ')} only on state machines named "${this.stateMachinePrefix}<pipeline id>": ` +
        'they are created at runtime, one per pipeline, so their names end in a wildcard.',
    );
    acknowledgeWildcard(
      fn.executionRole,
      versions,
      `${actions.join(', ')} on the published versions (":<n>") of the state machines named ` +
        `"${this.stateMachinePrefix}<pipeline id>"; a batch runs one version.`,
    );
  }

  private grantExecutionActions(fn: SluiceFunction): void {
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachinePrefix}*:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['states:StopExecution', 'states:DescribeExecution'],
        resources: [executions],
      }),
    );
    acknowledgeWildcard(
      fn.executionRole,
      executions,
      'StopExecution and DescribeExecution only on executions of the state machines named ' +
        `"${this.stateMachinePrefix}<pipeline id>"; executions are named after batches at runtime.`,
    );
  }
}

/** Where the pipelines workgroup keeps query results: under the run prefix, expiring with it. */
const ATHENA_RESULTS_PREFIX = 'runs/_athena/';

/** `<stack name>-pipelines`: Athena workgroup names are at most 128 letters, digits, `-` and `_`. */
export function pipelineWorkGroupName(stackName: string): string {
  if (Token.isUnresolved(stackName)) throw new Error('The engine needs a stack name known at synth time');
  return `${stackName.slice(0, 100)}-pipelines`;
}

function athenaThreshold(bytes: number | undefined): number {
  const value = bytes ?? DEFAULT_ATHENA_THRESHOLD_BYTES;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`Engine: athenaThresholdBytes must be a whole number of bytes, got ${value}`);
  }
  return value;
}

/** The data bucket's prefix of run data (functions/core/engine/worker.ts `runPrefix`). */
const RUN_PREFIX = 'runs/';

/** The Glue catalog, the run-scoped databases and their tables. */
function runDatabaseArns(stack: Stack) {
  const arn = (resource: string, resourceName?: string) =>
    stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
  return {
    catalog: arn('catalog'),
    databases: arn('database', `${RUN_DATABASE_PREFIX}*`),
    tables: arn('table', `${RUN_DATABASE_PREFIX}*/*`),
  };
}

/**
 * `<stack name>_`, cut so that the prefix and a pipeline id fit in a state machine name.
 * Stack names are letters, digits and hyphens and never contain `_`, so the prefix of stack
 * `Sluice` cannot match the state machines of a sibling stack such as `Sluice-Dev`.
 */
export function stateMachinePrefix(stackName: string): string {
  if (Token.isUnresolved(stackName)) throw new Error('The engine needs a stack name known at synth time');
  const room = STATE_MACHINE_NAME_MAX_LENGTH - PIPELINE_ID_LENGTH - 1;
  return `${stackName.slice(0, room)}_`;
}

/**
 * Why a name is not a valid general purpose S3 bucket name, or undefined when it is
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lower-case letters, digits, dots and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not be formatted as an IP address';
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(prefix)) return `must not begin with "${prefix}"`;
  }
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(suffix)) return `must not end with "${suffix}"`;
  }
  return undefined;
}

/** The role a family of state machines runs as: only Step Functions of this account may assume it. */
export function newStatesRole(scope: Construct, description: string): Role {
  return new Role(scope, 'StatesRole', {
    assumedBy: new PrincipalWithConditions(new ServicePrincipal('states.amazonaws.com'), {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    }),
    description,
  });
}

/** A function that state machines invoke synchronously needs no dead-letter queue. */
export function acknowledgeTaskInvocation(fn: SluiceFunction): void {
  Validations.of(fn).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason:
      'Invoked synchronously by state machines (lambda:invoke Task): a failure goes back to the ' +
      "execution, where the Task's Retry and Catch handle it; Lambda dead-letter queues only apply to " +
      'asynchronous invocations.',
  });
}

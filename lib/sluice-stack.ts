/**
 * The Sluice stack: stores, secrets, Data Query, the pipeline engine, triggers, workflows, the HTTP API, upload ingest
 * and the alarms that watch them, composed from one construct per concern. Props carry the few knobs an operator turns; `bin/sluice.ts` reads
 * them from context.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Alarms } from './alarms.ts';
import { SluiceApi } from './api.ts';
import { Console, type ConsoleProps } from './console.ts';
import { Engine } from './engine.ts';
import { UploadIngest } from './ingest.ts';
import { QueryService } from './query.ts';
import { Secrets } from './secrets.ts';
import { Storage } from './storage.ts';
import { Triggers } from './triggers.ts';
import { Workflows } from './workflows.ts';

export interface SluiceStackProps extends StackProps {
  /** Steady-state requests per second for the API stage. @default 50 */
  readonly throttlingRateLimit?: number;
  /** Burst capacity of the API stage. @default 100 */
  readonly throttlingBurstLimit?: number;
  /** Retention of every log group (functions, API access logs). @default one month */
  readonly logRetention?: RetentionDays;
  /** Username of the bootstrap admin. @default 'admin' */
  readonly adminUsername?: string;
  /** Memory of the S3-event ingest function in MB. @default 2048 */
  readonly ingestMemorySize?: number;
  /** /tmp size of the S3-event ingest function in MiB. @default 4096 */
  readonly ingestEphemeralStorageMiB?: number;
  /** S3 buckets outside the stack that pipelines may read and write. @default none */
  readonly externalBuckets?: readonly string[];
  /** Memory of the pipeline step worker in MB. @default 3008 */
  readonly stepWorkerMemorySize?: number;
  /** AUTO runs a stage on Athena past this many input bytes. @default 2 GiB */
  readonly athenaThresholdBytes?: number;
  /** /tmp size of the pipeline step worker in MiB. @default 4096 */
  readonly stepWorkerEphemeralStorageMiB?: number;
  /** Most bytes one Data Query query may scan before Athena cancels it. @default 100 GiB */
  readonly queryBytesScannedLimit?: number;
  /** Email address subscribed to the alarm topic (it confirms by email). @default none */
  readonly alarmEmail?: string;
  /**
   * IANA time zone Data Flow dates are written in and schedules without one run in
   * (SLUICE_DEFAULT_TIMEZONE). @default 'UTC'
   */
  readonly defaultTimezone?: string;
  /** The web console's build folder and an optional custom domain (see lib/console.ts). @default console/dist */
  readonly console?: Pick<ConsoleProps, 'consoleDir' | 'domainName' | 'certificate'>;
}

export const STACK_DEFAULTS = {
  throttlingRateLimit: 50,
  throttlingBurstLimit: 100,
  logRetention: RetentionDays.ONE_MONTH,
  adminUsername: 'admin',
  defaultTimezone: 'UTC',
} as const;

export class SluiceStack extends Stack {
  public readonly storage: Storage;
  public readonly secrets: Secrets;
  public readonly query: QueryService;
  public readonly engine: Engine;
  public readonly triggers: Triggers;
  public readonly workflows: Workflows;
  public readonly api: SluiceApi;
  public readonly ingest: UploadIngest;
  public readonly alarms: Alarms;
  public readonly console: Console;

  constructor(scope: Construct, id: string, props: SluiceStackProps = {}) {
    super(scope, id, {
      description: 'Sluice: serverless data hub (HTTP API, DynamoDB, S3, Step Functions, Athena)',
      ...props,
    });
    const logRetention = props.logRetention ?? STACK_DEFAULTS.logRetention;

    this.storage = new Storage(this, 'Storage');
    this.secrets = new Secrets(this, 'Secrets', {
      adminUsername: props.adminUsername ?? STACK_DEFAULTS.adminUsername,
    });
    // Before the engine and the API: functions that publish dataset versions register them in
    // its Glue catalog, and the query area runs on its workgroup.
    this.query = new QueryService(this, 'Query', {
      resources: { storage: this.storage, secrets: this.secrets },
      logRetention,
      ...(props.externalBuckets !== undefined ? { externalBuckets: props.externalBuckets } : {}),
      ...(props.queryBytesScannedLimit !== undefined
        ? { bytesScannedCutoffPerQuery: props.queryBytesScannedLimit }
        : {}),
    });
    // Before the API: the pipelines area is granted on the engine's resources.
    this.engine = new Engine(this, 'Engine', {
      resources: { storage: this.storage, secrets: this.secrets, query: this.query },
      logRetention,
      ...(props.externalBuckets !== undefined ? { externalBuckets: props.externalBuckets } : {}),
      ...(props.stepWorkerMemorySize !== undefined
        ? { stepWorkerMemorySize: props.stepWorkerMemorySize }
        : {}),
      ...(props.athenaThresholdBytes !== undefined
        ? { athenaThresholdBytes: props.athenaThresholdBytes }
        : {}),
      ...(props.stepWorkerEphemeralStorageMiB !== undefined
        ? { stepWorkerEphemeralStorageMiB: props.stepWorkerEphemeralStorageMiB }
        : {}),
    });
    // Before the API, after the engine: workflow Tasks start the pipeline state machines.
    this.workflows = new Workflows(this, 'Workflows', {
      resources: { storage: this.storage, secrets: this.secrets, query: this.query, engine: this.engine },
      logRetention,
    });
    // Before the API, after the engine and workflows: the fire function starts runs (of jobs or
    // workflows), the triggers area arms schedules and rules that target it.
    this.triggers = new Triggers(this, 'Triggers', {
      resources: {
        storage: this.storage,
        secrets: this.secrets,
        query: this.query,
        engine: this.engine,
        workflows: this.workflows,
      },
      logRetention,
    });
    const resources = {
      storage: this.storage,
      secrets: this.secrets,
      query: this.query,
      engine: this.engine,
      triggers: this.triggers,
      workflows: this.workflows,
      defaultTimezone: props.defaultTimezone ?? STACK_DEFAULTS.defaultTimezone,
    };

    this.api = new SluiceApi(this, 'Api', {
      resources,
      throttlingRateLimit: props.throttlingRateLimit ?? STACK_DEFAULTS.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit ?? STACK_DEFAULTS.throttlingBurstLimit,
      logRetention,
    });
    this.ingest = new UploadIngest(this, 'UploadIngest', {
      resources,
      logRetention,
      ...(props.ingestMemorySize !== undefined ? { memorySize: props.ingestMemorySize } : {}),
      ...(props.ingestEphemeralStorageMiB !== undefined
        ? { ephemeralStorageMiB: props.ingestEphemeralStorageMiB }
        : {}),
    });

    // Last: it watches what the others built.
    this.alarms = new Alarms(this, 'Alarms', {
      ...(props.alarmEmail !== undefined ? { alarmEmail: props.alarmEmail } : {}),
      functions: {
        'api-authorizer': this.api.authorizerFunction,
        ...Object.fromEntries(
          Object.entries(this.api.areaFunctions).map(([area, fn]) => [`api-${area}`, fn]),
        ),
        'step-worker': this.engine.stepWorker,
        'large-step-worker': this.engine.largeStepWorker,
        finalizer: this.engine.finalizer,
        reconciler: this.engine.reconciler,
        ingest: this.ingest.function,
        'query-events': this.query.queryEvents,
        'trigger-fire': this.triggers.fireFunction,
        'workflow-step': this.workflows.workflowStep,
      },
      deadLetterQueues: {
        finalizer: this.engine.finalizerDeadLetterQueue,
        reconciler: this.engine.reconcilerDeadLetterQueue,
        ingest: this.ingest.deadLetterQueue,
        'query-events': this.query.queryEventsDeadLetterQueue,
        triggers: this.triggers.deadLetterQueue,
      },
      // Workflow state machines log to the engine's group too (functions/core/engine/sfn.ts).
      executionLogGroup: this.engine.executionLogGroup,
      stateMachineFamilies: {
        Pipeline: this.engine.pipelineStateMachinePrefix,
        Workflow: this.workflows.stateMachinePrefix,
      },
      queryWorkGroupName: this.query.workGroupName,
    });

    this.console = new Console(this, 'Console', {
      apiUrl: this.api.url,
      accessLogBucket: this.storage.accessLogBucket,
      storage: this.storage,
      ...props.console,
    });
    new CfnOutput(this, 'ConsoleUrl', {
      description: 'The web console (and the API on the same origin)',
      value: this.console.url,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the Sluice API',
      value: this.api.url,
    });
    new CfnOutput(this, 'DataBucketName', {
      description:
        'Bucket holding datasets (datasets/), uploads (uploads/), pipeline run data (runs/) and query result pages (queries/)',
      value: this.storage.dataBucket.bucketName,
    });
    new CfnOutput(this, 'ResultsBucketName', {
      description: 'Bucket for Data Query results (bucketName of POST /v1/data-query/query)',
      value: this.query.resultsBucket.bucketName,
    });
    new CfnOutput(this, 'QueryWorkGroup', {
      description: 'Athena workgroup every Data Query query runs in',
      value: this.query.workGroupName,
    });
    new CfnOutput(this, 'StateMachinePrefix', {
      description: 'Pipeline state machines are named this prefix plus the pipeline id',
      value: this.engine.stateMachinePrefix,
    });
    new CfnOutput(this, 'TriggerScheduleGroup', {
      description: 'EventBridge Scheduler group holding one schedule per SCHEDULED trigger',
      value: this.triggers.scheduleGroupName,
    });
    new CfnOutput(this, 'TriggerDeadLetterQueueUrl', {
      description: 'Trigger firings that failed after their retries (schedules, rules and the fire function)',
      value: this.triggers.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'SNS topic every alarm notifies; subscribe to it (or set sluice:alarmEmail) to hear of failures',
      value: this.alarms.topic.topicArn,
    });
    new CfnOutput(this, 'AdminSecretName', {
      description:
        'Bootstrap admin credentials; read them with: aws secretsmanager get-secret-value ' +
        '--secret-id <this value> --query SecretString --output text',
      value: this.secrets.bootstrapAdmin.secretName,
    });
  }
}

/**
 * Settings: the environment, parsed once by one zod schema into a typed object.
 *
 * `SETTING` (setting-names.ts) names every environment variable Sluice reads. `lib/` imports it to
 * set a variable on a function and the runtime reads it here, so the two cannot drift apart.
 * Nothing else in `functions/` reads `process.env`.
 *
 * A Lambda parses its environment once, when it starts (platform/lambda.ts); the local host parses
 * an environment it builds itself; either way every bad value stops it at start with the
 * variable's name. The result is the platform's `settings`. A value that only some functions
 * receive (the state machine settings, ...) is optional in the schema; the code that needs it asks
 * for it with `requireSetting(s)` when it is created, which fails with the same kind of message.
 */
import os from 'node:os';
import * as z from 'zod';
import { canonicalTimezone, GLUE_PREFIX_PATTERN, SETTING, type SettingName } from './setting-names.ts';

export { SETTING, type SettingName } from './setting-names.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** An unset or empty variable: undefined. */
const optional = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const flag = optional.transform((value) => value === 'true');

/** A comma-separated list (blank entries dropped). */
const list = optional.transform((value) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
);

function integer(name: SettingName, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return optional.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      ctx.addIssue({
        code: 'custom',
        message: `Setting ${name} must be an integer between ${min} and ${max}, got "${raw}"`,
      });
      return z.NEVER;
    }
    return value;
  });
}

const LOCAL_STEP_WORKER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sluice-local-step-worker';
const LOCAL_WORKFLOW_STEP_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sluice-local-workflow-step';

const S = SETTING;

/** The environment as Sluice reads it, and the settings object it becomes. */
export const settingsSchema = z
  .object({
    [S.region]: optional,
    [S.defaultRegion]: optional,
    [S.serviceName]: optional,

    [S.table]: optional,
    [S.dataBucket]: optional,
    [S.dynamodbEndpoint]: optional,
    [S.s3Endpoint]: optional,
    [S.s3PublicEndpoint]: optional,

    [S.jwtSecret]: optional,
    [S.jwtSecretArn]: optional,
    [S.adminSecretArn]: optional,
    [S.accessTokenTtl]: integer(S.accessTokenTtl, 900, 60, 86_400),
    [S.refreshTokenTtl]: integer(S.refreshTokenTtl, 30 * 86_400, 3_600, 365 * 86_400),
    [S.loginMaxFailures]: integer(S.loginMaxFailures, 5, 1, 1_000),
    [S.loginLockSeconds]: integer(S.loginLockSeconds, 900, 1, 86_400),
    [S.secureCookies]: flag,

    [S.directUploadMaxBytes]: integer(S.directUploadMaxBytes, 4 * 1024 * 1024, 1024),
    [S.maxUploadBytes]: integer(S.maxUploadBytes, 2 * 1024 * 1024 * 1024, 1024),
    [S.uploadUrlTtl]: integer(S.uploadUrlTtl, 900, 60, 7 * 86_400),
    [S.tmpDir]: optional,
    [S.duckdbThreads]: integer(S.duckdbThreads, Math.max(1, os.availableParallelism()), 1, 64),
    [S.duckdbMemoryLimit]: optional,

    [S.buckets]: list,
    [S.stepWorkerArn]: optional,
    [S.largeStepWorkerArn]: optional,
    [S.runTimeoutMinutes]: integer(S.runTimeoutMinutes, 360, 1, 1440),
    [S.maxPartitions]: integer(S.maxPartitions, 256, 1, 10_000),
    [S.partCacheMb]: integer(S.partCacheMb, 512, 0, 8192),
    [S.athenaThresholdBytes]: integer(S.athenaThresholdBytes, 2 * 1024 * 1024 * 1024, 0),
    [S.pipelineWorkgroup]: optional,

    [S.reconcileGraceSeconds]: integer(S.reconcileGraceSeconds, 300, 0, 86_400),
    [S.reconcileIntervalSeconds]: integer(S.reconcileIntervalSeconds, 300, 1, 86_400),

    [S.queryCatalogName]: optional,
    [S.resultsBucket]: optional,
    [S.queryTimeoutSeconds]: integer(S.queryTimeoutSeconds, 1800, 1, 24 * 3600),
    [S.athenaWorkgroup]: optional,
    [S.glueDatabasePrefix]: optional.refine(
      (prefix) => prefix === undefined || GLUE_PREFIX_PATTERN.test(prefix),
      {
        error: (issue) =>
          `Setting ${S.glueDatabasePrefix} must be 1-64 lower-case letters, digits or _ (starting with a letter), got "${String(issue.input)}"`,
      },
    ),
    [S.mysqlConnectorArn]: optional,
    [S.dataSourceSecretPrefix]: optional,
    [S.localSecretKey]: optional,

    [S.stateMachinePrefix]: optional,
    [S.stateMachineArnBase]: optional,
    [S.statesRoleArn]: optional,
    [S.statesLogGroupArn]: optional,

    [S.workflowStepArn]: optional,
    [S.workflowRoleArn]: optional,

    [S.defaultTimezone]: optional.transform((raw, ctx) => {
      const zone = raw === undefined ? 'UTC' : canonicalTimezone(raw);
      if (zone) return zone;
      ctx.addIssue({
        code: 'custom',
        message: `Setting ${S.defaultTimezone} must be an IANA time zone name such as UTC or Asia/Seoul, got "${raw}"`,
      });
      return z.NEVER;
    }),
    [S.allowSecondSchedules]: flag,

    [S.triggerScheduleGroup]: optional,
    [S.triggerRulePrefix]: optional,
    [S.triggerEventBus]: optional,
    [S.triggerFireArn]: optional,
    [S.triggerSchedulerRoleArn]: optional,
    [S.triggerDlqArn]: optional,

    [S.eventBus]: optional,
  })
  .transform((env) => {
    const stepWorkerArn = env[S.stepWorkerArn] ?? LOCAL_STEP_WORKER_ARN;
    return {
      serviceName: env[S.serviceName] ?? 'sluice',
      /** Where the stores are. Endpoints are set only by the local host. */
      storage: {
        region: env[S.region] ?? env[S.defaultRegion] ?? 'us-east-1',
        tableName: env[S.table],
        dataBucket: env[S.dataBucket],
        dynamodbEndpoint: env[S.dynamodbEndpoint],
        s3Endpoint: env[S.s3Endpoint],
        /** Endpoint that presigned URLs point at; defaults to the S3 endpoint the functions use. */
        s3PublicEndpoint: env[S.s3PublicEndpoint] ?? env[S.s3Endpoint],
      },
      auth: {
        /** The signing key itself (local host) or the secret holding it (AWS): see `requireJwtKey`. */
        jwtSecret: env[S.jwtSecret],
        jwtSecretArn: env[S.jwtSecretArn],
        adminSecretArn: env[S.adminSecretArn],
        accessTokenTtlSeconds: env[S.accessTokenTtl],
        refreshTokenTtlSeconds: env[S.refreshTokenTtl],
        loginMaxFailures: env[S.loginMaxFailures],
        loginLockSeconds: env[S.loginLockSeconds],
        /** Mark the refresh cookie `Secure` on every response (see SETTING.secureCookies). */
        secureCookies: env[S.secureCookies],
      },
      tables: {
        /** Largest file accepted by the multipart upload route (the Lambda payload limit, after base64). */
        directUploadMaxBytes: env[S.directUploadMaxBytes],
        /** Largest file accepted through a presigned upload URL. */
        maxUploadBytes: env[S.maxUploadBytes],
        uploadUrlTtlSeconds: env[S.uploadUrlTtl],
        tmpDir: env[S.tmpDir] ?? os.tmpdir(),
        duckdbThreads: env[S.duckdbThreads],
        duckdbMemoryLimit: env[S.duckdbMemoryLimit],
      },
      pipelines: {
        /** External S3 buckets that SOURCE_OBS / TARGET_OBS nodes may read and write. */
        buckets: env[S.buckets],
        /** The step worker Lambda that every compiled Task invokes. */
        stepWorkerArn,
        /** The step worker for runs with workerType LARGE (defaults to the one above). */
        largeStepWorkerArn: env[S.largeStepWorkerArn] ?? stepWorkerArn,
        /** Longest a run may take when the pipeline does not say (minutes; Data Flow's default). */
        defaultTimeoutMinutes: env[S.runTimeoutMinutes],
        /** Most partitions a source fans out to. */
        maxPartitions: env[S.maxPartitions],
        /** Local disk a step worker may keep run parts on for the next step (0 turns it off). */
        partCacheBytes: env[S.partCacheMb] * 1024 * 1024,
        /** AUTO runs a stage on Athena when the bytes upstream of it exceed this (2 GiB unless set). */
        athenaThresholdBytes: env[S.athenaThresholdBytes],
        /** The Athena workgroup of stages on Athena (AWS; the local host answers them itself). */
        athenaWorkgroup: env[S.pipelineWorkgroup],
      },
      /** The reconciler: settles runs whose end was never recorded. */
      reconcile: {
        /** A run younger than this is left alone: its own events may still be on their way (seconds). */
        graceSeconds: env[S.reconcileGraceSeconds],
        /** How often the local host reconciles (seconds); on AWS a schedule every 5 minutes runs it. */
        intervalSeconds: env[S.reconcileIntervalSeconds],
      },
      query: {
        /** Name of the built-in DATA_CATALOG data source (database = collection, table = dataset). */
        catalogName: env[S.queryCatalogName] ?? 'sluice',
        /** The deployment's own bucket for query results; external ones come from SLUICE_BUCKETS. */
        resultsBucket: env[S.resultsBucket],
        /** Longest a query may run before it is aborted, seconds (30 minutes unless set). */
        timeoutSeconds: env[S.queryTimeoutSeconds],
        /** Where registered data source passwords go: Secrets Manager (AWS) or encrypted items (local). */
        dataSourceSecretPrefix: env[S.dataSourceSecretPrefix],
        localSecretKey: env[S.localSecretKey],
      },
      /**
       * Athena and the Glue Data Catalog (AWS deployment only; the local host sets none of these).
       * The functions that register dataset versions in Glue do not run queries, so the Athena
       * engine checks what it needs when it is created.
       */
      athena: {
        /** Workgroup every query runs in (its settings enforce result encryption and a scan limit). */
        workgroup: env[S.athenaWorkgroup],
        /** Glue databases are `<prefix>_<collection id>`; unset means no Glue registration (local host). */
        glueDatabasePrefix: env[S.glueDatabasePrefix],
        /** Athena data source connector for registered MySQL sources (federated queries). */
        mysqlConnectorArn: env[S.mysqlConnectorArn],
      },
      /** Step Functions settings of the AWS deployment (not used by the local host). */
      stepFunctions: {
        /** State machine names are this prefix plus the pipeline id. */
        stateMachinePrefix: env[S.stateMachinePrefix],
        /** `arn:aws:states:{region}:{account}:stateMachine:` — with the name, a state machine's ARN. */
        stateMachineArnBase: env[S.stateMachineArnBase],
        /** Role every pipeline state machine runs as (may invoke the step worker, write logs and traces). */
        roleArn: env[S.statesRoleArn],
        /** CloudWatch Logs group for execution history (logging level ALL). */
        logGroupArn: env[S.statesLogGroupArn],
      },
      /** Workflow settings (lib/workflows.ts sets them on AWS; the local host uses the defaults). */
      workflows: {
        /** The workflow-step Lambda that compiled workflows invoke to record job runs and failures. */
        stepArn: env[S.workflowStepArn] ?? LOCAL_WORKFLOW_STEP_ARN,
        /** The role workflow state machines run as; only the functions that deploy workflows get it. */
        roleArn: env[S.workflowRoleArn],
      },
      dataflow: {
        /**
         * The zone Data Flow dates are written in (`…+09:00` for Asia/Seoul), the one stats dates
         * without an offset are read in, and the one a trigger schedule runs in when it names none.
         */
        defaultTimezone: env[S.defaultTimezone],
      },
      triggers: {
        /**
         * Accept `rate(n seconds)` schedules. For local hosts and tests only: EventBridge Scheduler
         * has minute granularity, so the AWS deployment never sets it and the API refuses seconds.
         */
        allowSecondSchedules: env[S.allowSecondSchedules],
      },
      /**
       * Where trigger schedules and rules live on AWS (lib/triggers.ts sets these). The group and rule
       * prefix are enough to remove a trigger's schedule or rule; arming one also needs the target
       * settings, which only the triggers area gets (the fire function cannot name its own ARN).
       */
      triggerRules: {
        scheduleGroup: env[S.triggerScheduleGroup],
        rulePrefix: env[S.triggerRulePrefix],
        eventBus: env[S.triggerEventBus] ?? 'default',
        fireFunctionArn: env[S.triggerFireArn],
        schedulerRoleArn: env[S.triggerSchedulerRoleArn],
        deadLetterQueueArn: env[S.triggerDlqArn],
      },
      /** Sluice's own events: the bus they go to on AWS, unset locally. */
      events: { bus: env[S.eventBus] },
    };
  });

export type Settings = z.output<typeof settingsSchema>;

/** Parses an environment; every bad variable is named in the error. */
export function parseSettings(env: Record<string, string | undefined>): Settings {
  const result = settingsSchema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => issue.message).join('; '));
}

/** A setting the caller cannot do without; its absence names the variable. */
export function requireSetting<T>(value: T | undefined, name: SettingName): T {
  if (value === undefined) throw new ConfigError(`Missing required setting ${name}`);
  return value;
}

/** The access-token signing key's source: the key itself (local host) or its secret (AWS). */
export function requireJwtKey(auth: Settings['auth']): { jwtSecret?: string; jwtSecretArn?: string } {
  if (!auth.jwtSecret && !auth.jwtSecretArn) {
    throw new ConfigError(`Missing required setting ${SETTING.jwtSecret} or ${SETTING.jwtSecretArn}`);
  }
  return { jwtSecret: auth.jwtSecret, jwtSecretArn: auth.jwtSecretArn };
}

/**
 * A section with the settings the caller cannot do without made required; every missing one is
 * named in the error.
 */
export function requireSettings<T extends object, K extends keyof T>(
  section: T,
  names: Record<K, SettingName>,
): T & { [P in K]-?: NonNullable<T[P]> } {
  const missing = (Object.keys(names) as K[])
    .filter((key) => section[key] === undefined)
    .map((key) => names[key]);
  if (missing.length > 0) throw new ConfigError(`Missing required setting ${missing.join(', ')}`);
  return section as T & { [P in K]-?: NonNullable<T[P]> };
}

/** The settings of this process's environment (a Lambda function's). */
export function settingsFromEnvironment(): Settings {
  return parseSettings(process.env);
}

/** Whether this process is a Lambda function (set by the Lambda runtime, never by Sluice). */
export function isLambdaRuntime(): boolean {
  return process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;
}

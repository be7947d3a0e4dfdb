/**
 * Configuration from the environment. Each section is read when the module that needs it
 * loads, so a missing setting stops a Lambda (or the local host) at start with the setting's
 * name instead of failing on the first request.
 */
import os from 'node:os';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function envString(name: string, fallback?: string): string {
  const value = process.env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`Missing required setting ${name}`);
}

export function envOptional(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function envInt(name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = envOptional(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`Setting ${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function once<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => {
    if (value === undefined) value = load();
    return value;
  };
}

/** Where the stores are. Endpoints are set only by the local host. */
export const storageConfig = once(() => ({
  region: envString('AWS_REGION', envOptional('AWS_DEFAULT_REGION') ?? 'us-east-1'),
  tableName: envString('SLUICE_TABLE'),
  dataBucket: envString('SLUICE_DATA_BUCKET'),
  dynamodbEndpoint: envOptional('SLUICE_DYNAMODB_ENDPOINT'),
  s3Endpoint: envOptional('SLUICE_S3_ENDPOINT'),
  /** Endpoint that presigned URLs point at; defaults to the S3 endpoint the functions use. */
  s3PublicEndpoint: envOptional('SLUICE_S3_PUBLIC_ENDPOINT') ?? envOptional('SLUICE_S3_ENDPOINT'),
}));

/**
 * Set to `true` by lib/api.ts on the auth function: on AWS the API is HTTPS only, so the
 * refresh cookie is always `Secure`. Unset (the local host), a cookie is `Secure` when the
 * request came through an HTTPS proxy (`X-Forwarded-Proto: https`).
 */
export const SECURE_COOKIES_SETTING = 'SLUICE_SECURE_COOKIES';

export const authConfig = once(() => {
  const secret = envOptional('SLUICE_JWT_SECRET');
  const secretArn = envOptional('SLUICE_JWT_SECRET_ARN');
  if (!secret && !secretArn) {
    throw new ConfigError('Missing required setting SLUICE_JWT_SECRET or SLUICE_JWT_SECRET_ARN');
  }
  return {
    jwtSecret: secret,
    jwtSecretArn: secretArn,
    adminSecretArn: envOptional('SLUICE_ADMIN_SECRET_ARN'),
    accessTokenTtlSeconds: envInt('SLUICE_ACCESS_TOKEN_TTL', 900, 60, 86_400),
    refreshTokenTtlSeconds: envInt('SLUICE_REFRESH_TOKEN_TTL', 30 * 86_400, 3_600, 365 * 86_400),
    loginMaxFailures: envInt('SLUICE_LOGIN_MAX_FAILURES', 5, 1, 1_000),
    loginLockSeconds: envInt('SLUICE_LOGIN_LOCK_SECONDS', 900, 1, 86_400),
    /** Mark the refresh cookie `Secure` on every response (see SECURE_COOKIES_SETTING). */
    secureCookies: envOptional(SECURE_COOKIES_SETTING) === 'true',
  };
});

export const tablesConfig = once(() => ({
  /** Largest file accepted by the multipart upload route (the Lambda payload limit, after base64). */
  directUploadMaxBytes: envInt('SLUICE_DIRECT_UPLOAD_MAX_BYTES', 4 * 1024 * 1024, 1024),
  /** Largest file accepted through a presigned upload URL. */
  maxUploadBytes: envInt('SLUICE_MAX_UPLOAD_BYTES', 2 * 1024 * 1024 * 1024, 1024),
  uploadUrlTtlSeconds: envInt('SLUICE_UPLOAD_URL_TTL', 900, 60, 7 * 86_400),
  tmpDir: envString('SLUICE_TMP_DIR', os.tmpdir()),
  duckdbThreads: envInt('SLUICE_DUCKDB_THREADS', Math.max(1, os.availableParallelism()), 1, 64),
  duckdbMemoryLimit: envOptional('SLUICE_DUCKDB_MEMORY_LIMIT'),
}));

/** A comma-separated setting as a list (blank entries dropped). */
export function envList(name: string): string[] {
  return (envOptional(name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const pipelinesConfig = once(() => ({
  /** External S3 buckets that SOURCE_OBS / TARGET_OBS nodes may read and write. */
  buckets: envList('SLUICE_BUCKETS'),
  /** The step worker Lambda that every compiled Task invokes. */
  stepWorkerArn: envString(
    'SLUICE_STEP_WORKER_ARN',
    'arn:aws:lambda:us-east-1:000000000000:function:sluice-local-step-worker',
  ),
  /** The step worker for runs with workerType LARGE (defaults to the one above). */
  largeStepWorkerArn: envString(
    'SLUICE_LARGE_STEP_WORKER_ARN',
    envString(
      'SLUICE_STEP_WORKER_ARN',
      'arn:aws:lambda:us-east-1:000000000000:function:sluice-local-step-worker',
    ),
  ),
  /** Longest a run may take when the pipeline does not say (minutes; Data Flow's default). */
  defaultTimeoutMinutes: envInt('SLUICE_RUN_TIMEOUT_MINUTES', 360, 1, 1440),
  /** Most partitions a source fans out to. */
  maxPartitions: envInt('SLUICE_MAX_PARTITIONS', 256, 1, 10_000),
  /** Local disk a step worker may keep run parts on for the next step (MiB; 0 turns it off). */
  partCacheBytes: envInt('SLUICE_PART_CACHE_MB', 512, 0, 8192) * 1024 * 1024,
}));

/** The reconciler: settles runs whose end was never recorded. */
export const reconcileConfig = once(() => ({
  /** A run younger than this is left alone: its own events may still be on their way (seconds). */
  graceSeconds: envInt('SLUICE_RECONCILE_GRACE_SECONDS', 300, 0, 86_400),
  /** How often the local host reconciles (seconds); on AWS a schedule every 5 minutes runs it. */
  intervalSeconds: envInt('SLUICE_RECONCILE_INTERVAL_SECONDS', 300, 1, 86_400),
}));

/** Data Query settings. */
export const queryConfig = once(() => ({
  /** Name of the built-in DATA_CATALOG data source (database = collection, table = dataset). */
  catalogName: envString('SLUICE_QUERY_CATALOG_NAME', 'sluice'),
  /** The deployment's own bucket for query results; external ones come from SLUICE_BUCKETS. */
  resultsBucket: envString('SLUICE_RESULTS_BUCKET'),
  /** Longest a query may run before it is aborted, seconds (30 minutes unless set). */
  timeoutSeconds: envInt('SLUICE_QUERY_TIMEOUT_SECONDS', 1800, 1, 24 * 3600),
}));

/** What SLUICE_GLUE_DATABASE_PREFIX may be (lib/query.ts derives it from the stack name). */
export const GLUE_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Athena and the Glue Data Catalog (AWS deployment only; the local host sets none of these).
 * Every value is optional here because the functions that register dataset versions in Glue
 * do not run queries: the Athena engine checks what it needs when it is created.
 */
export const athenaConfig = once(() => {
  const prefix = envOptional('SLUICE_GLUE_DATABASE_PREFIX');
  if (prefix !== undefined && !GLUE_PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(
      `Setting SLUICE_GLUE_DATABASE_PREFIX must be 1-64 lower-case letters, digits or _ (starting with a letter), got "${prefix}"`,
    );
  }
  return {
    /** Workgroup every query runs in (its settings enforce result encryption and a scan limit). */
    workgroup: envOptional('SLUICE_ATHENA_WORKGROUP'),
    /** Glue databases are `<prefix>_<collection id>`; unset means no Glue registration (local host). */
    glueDatabasePrefix: prefix,
    /** Athena data source connector for registered MySQL sources (federated queries). */
    mysqlConnectorArn: envOptional('SLUICE_MYSQL_CONNECTOR_ARN'),
  };
});

/** Step Functions settings of the AWS deployment (not used by the local host). */
export const stepFunctionsConfig = once(() => ({
  /** State machine names are this prefix plus the pipeline id. */
  stateMachinePrefix: envString('SLUICE_STATE_MACHINE_PREFIX'),
  /** `arn:aws:states:{region}:{account}:stateMachine:` — with the name, a state machine's ARN. */
  stateMachineArnBase: envString('SLUICE_STATE_MACHINE_ARN_BASE'),
  /** Role every pipeline state machine runs as (may invoke the step worker, write logs and traces). */
  roleArn: envString('SLUICE_STATES_ROLE_ARN'),
  /** CloudWatch Logs group for execution history (logging level ALL). */
  logGroupArn: envString('SLUICE_STATES_LOG_GROUP_ARN'),
}));

/** Workflow settings (lib/workflows.ts sets them on AWS; the local host uses the defaults). */
export const workflowsConfig = once(() => ({
  /** The workflow-step Lambda that compiled workflows invoke to record job runs and failures. */
  stepArn: envString(
    'SLUICE_WORKFLOW_STEP_ARN',
    'arn:aws:lambda:us-east-1:000000000000:function:sluice-local-workflow-step',
  ),
  /** The role workflow state machines run as; only the functions that deploy workflows get it. */
  roleArn: envOptional('SLUICE_WORKFLOW_ROLE_ARN'),
}));

/**
 * The canonical name of an IANA time zone (`asia/seoul` → `Asia/Seoul`), or undefined for anything
 * else. Offsets such as `+09:00` are refused: they are not zones and have no daylight-saving rules.
 */
export function canonicalTimezone(name: string): string | undefined {
  const text = typeof name === 'string' ? name.trim() : '';
  if (text === '' || /^[+-]/.test(text)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Data Flow settings (every host). */
export const dataflowConfig = once(() => {
  const raw = envString('SLUICE_DEFAULT_TIMEZONE', 'UTC');
  const zone = canonicalTimezone(raw);
  if (!zone) {
    throw new ConfigError(
      `Setting SLUICE_DEFAULT_TIMEZONE must be an IANA time zone name such as UTC or Asia/Seoul, got "${raw}"`,
    );
  }
  return {
    /**
     * The zone Data Flow dates are written in (`…+09:00` for Asia/Seoul), the one stats dates
     * without an offset are read in, and the one a trigger schedule runs in when it names none.
     */
    defaultTimezone: zone,
  };
});

/** Trigger settings read by the triggers API (every host). */
export const triggersConfig = once(() => ({
  /**
   * Accept `rate(n seconds)` schedules. For local hosts and tests only: EventBridge Scheduler
   * has minute granularity, so the AWS deployment never sets it and the API refuses seconds.
   */
  allowSecondSchedules: envOptional('SLUICE_ALLOW_SECOND_SCHEDULES') === 'true',
}));

/**
 * Where trigger schedules and rules live on AWS (lib/triggers.ts sets these). The group and rule
 * prefix are enough to remove a trigger's schedule or rule; arming one also needs the target
 * settings, which only the triggers area gets (the fire function cannot name its own ARN).
 */
export const triggerRulesConfig = once(() => ({
  scheduleGroup: envString('SLUICE_TRIGGER_SCHEDULE_GROUP'),
  rulePrefix: envString('SLUICE_TRIGGER_RULE_PREFIX'),
  eventBus: envString('SLUICE_TRIGGER_EVENT_BUS', 'default'),
  fireFunctionArn: envOptional('SLUICE_TRIGGER_FIRE_ARN'),
  schedulerRoleArn: envOptional('SLUICE_TRIGGER_SCHEDULER_ROLE_ARN'),
  deadLetterQueueArn: envOptional('SLUICE_TRIGGER_DLQ_ARN'),
}));

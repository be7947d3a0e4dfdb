/**
 * The environment variable of every setting, and the checks `lib/` shares with the runtime.
 * No side effects: the CDK app imports this to set variables on functions, and
 * functions/core/settings.ts imports it to read them.
 */
/** Environment variable of each setting. */
export const SETTING = {
  region: 'AWS_REGION',
  defaultRegion: 'AWS_DEFAULT_REGION',
  /** Read by Powertools too; the logger, tracer and metrics are named after it. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Read by Powertools only (lib/function.ts sets it). */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',

  table: 'SLUICE_TABLE',
  dataBucket: 'SLUICE_DATA_BUCKET',
  dynamodbEndpoint: 'SLUICE_DYNAMODB_ENDPOINT',
  s3Endpoint: 'SLUICE_S3_ENDPOINT',
  s3PublicEndpoint: 'SLUICE_S3_PUBLIC_ENDPOINT',

  jwtSecret: 'SLUICE_JWT_SECRET',
  jwtSecretArn: 'SLUICE_JWT_SECRET_ARN',
  adminSecretArn: 'SLUICE_ADMIN_SECRET_ARN',
  accessTokenTtl: 'SLUICE_ACCESS_TOKEN_TTL',
  refreshTokenTtl: 'SLUICE_REFRESH_TOKEN_TTL',
  loginMaxFailures: 'SLUICE_LOGIN_MAX_FAILURES',
  loginLockSeconds: 'SLUICE_LOGIN_LOCK_SECONDS',
  /**
   * `true` on AWS (lib/api.ts sets it on the auth function): the API is HTTPS only, so the refresh
   * cookie is always `Secure`. Unset (the local host), a cookie is `Secure` when the request came
   * through an HTTPS proxy (`X-Forwarded-Proto: https`).
   */
  secureCookies: 'SLUICE_SECURE_COOKIES',

  directUploadMaxBytes: 'SLUICE_DIRECT_UPLOAD_MAX_BYTES',
  maxUploadBytes: 'SLUICE_MAX_UPLOAD_BYTES',
  uploadUrlTtl: 'SLUICE_UPLOAD_URL_TTL',
  tmpDir: 'SLUICE_TMP_DIR',
  duckdbThreads: 'SLUICE_DUCKDB_THREADS',
  duckdbMemoryLimit: 'SLUICE_DUCKDB_MEMORY_LIMIT',

  buckets: 'SLUICE_BUCKETS',
  stepWorkerArn: 'SLUICE_STEP_WORKER_ARN',
  largeStepWorkerArn: 'SLUICE_LARGE_STEP_WORKER_ARN',
  runTimeoutMinutes: 'SLUICE_RUN_TIMEOUT_MINUTES',
  maxPartitions: 'SLUICE_MAX_PARTITIONS',
  partCacheMb: 'SLUICE_PART_CACHE_MB',
  /** A stage of an AUTO pipeline runs on Athena when its inputs exceed this many bytes. */
  athenaThresholdBytes: 'SLUICE_ATHENA_THRESHOLD_BYTES',
  /** The Athena workgroup stages of pipelines run their queries in (lib/engine.ts). */
  pipelineWorkgroup: 'SLUICE_PIPELINE_WORKGROUP',

  reconcileGraceSeconds: 'SLUICE_RECONCILE_GRACE_SECONDS',
  reconcileIntervalSeconds: 'SLUICE_RECONCILE_INTERVAL_SECONDS',

  queryCatalogName: 'SLUICE_QUERY_CATALOG_NAME',
  resultsBucket: 'SLUICE_RESULTS_BUCKET',
  queryTimeoutSeconds: 'SLUICE_QUERY_TIMEOUT_SECONDS',
  athenaWorkgroup: 'SLUICE_ATHENA_WORKGROUP',
  glueDatabasePrefix: 'SLUICE_GLUE_DATABASE_PREFIX',
  mysqlConnectorArn: 'SLUICE_MYSQL_CONNECTOR_ARN',
  dataSourceSecretPrefix: 'SLUICE_DATA_SOURCE_SECRET_PREFIX',
  localSecretKey: 'SLUICE_LOCAL_SECRET_KEY',

  stateMachinePrefix: 'SLUICE_STATE_MACHINE_PREFIX',
  stateMachineArnBase: 'SLUICE_STATE_MACHINE_ARN_BASE',
  statesRoleArn: 'SLUICE_STATES_ROLE_ARN',
  statesLogGroupArn: 'SLUICE_STATES_LOG_GROUP_ARN',

  workflowStepArn: 'SLUICE_WORKFLOW_STEP_ARN',
  workflowRoleArn: 'SLUICE_WORKFLOW_ROLE_ARN',

  defaultTimezone: 'SLUICE_DEFAULT_TIMEZONE',
  allowSecondSchedules: 'SLUICE_ALLOW_SECOND_SCHEDULES',

  triggerScheduleGroup: 'SLUICE_TRIGGER_SCHEDULE_GROUP',
  triggerRulePrefix: 'SLUICE_TRIGGER_RULE_PREFIX',
  triggerEventBus: 'SLUICE_TRIGGER_EVENT_BUS',
  triggerFireArn: 'SLUICE_TRIGGER_FIRE_ARN',
  triggerSchedulerRoleArn: 'SLUICE_TRIGGER_SCHEDULER_ROLE_ARN',
  triggerDlqArn: 'SLUICE_TRIGGER_DLQ_ARN',

  /** The EventBridge bus Sluice's own events go to (AWS only). */
  eventBus: 'SLUICE_EVENT_BUS',
} as const;

export type SettingName = (typeof SETTING)[keyof typeof SETTING];

/** What SLUICE_GLUE_DATABASE_PREFIX may be (lib/query.ts derives it from the stack name). */
export const GLUE_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

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

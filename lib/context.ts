/**
 * Operator settings from CDK context (`cdk.json` or `cdk deploy -c sluice:<name>=<value>`).
 * Values given on the command line arrive as strings, so numbers are parsed and checked here:
 * a bad value stops the synth with the setting's name.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { canonicalTimezone } from '#core/setting-names';
import { bucketNameProblem } from './engine.ts';
import { MIN_BYTES_SCANNED_LIMIT } from './query.ts';
import type { SluiceStackProps } from './sluice-stack.ts';

export const CONTEXT_KEYS = {
  stackName: 'sluice:stackName',
  throttlingRateLimit: 'sluice:throttlingRateLimit',
  throttlingBurstLimit: 'sluice:throttlingBurstLimit',
  logRetentionDays: 'sluice:logRetentionDays',
  adminUsername: 'sluice:adminUsername',
  ingestMemorySize: 'sluice:ingestMemorySize',
  ingestEphemeralStorageMiB: 'sluice:ingestEphemeralStorageMiB',
  /** S3 buckets outside the stack that pipelines may read and write: an array, or comma-separated. */
  buckets: 'sluice:buckets',
  stepWorkerMemorySize: 'sluice:stepWorkerMemorySize',
  stepWorkerEphemeralStorageMiB: 'sluice:stepWorkerEphemeralStorageMiB',
  /** Most bytes one Data Query query may scan (Athena's per-query cutoff), in bytes. */
  queryBytesScannedLimit: 'sluice:queryBytesScannedLimit',
  /** Email address subscribed to the alarm topic. */
  alarmEmail: 'sluice:alarmEmail',
  /** IANA time zone of Data Flow dates and of schedules that name none (SLUICE_DEFAULT_TIMEZONE). */
  defaultTimezone: 'sluice:defaultTimezone',
} as const;

export interface SluiceSettings {
  readonly stackName: string;
  readonly props: SluiceStackProps;
}

export function readSettings(node: Node): SluiceSettings {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const int = (key: string, min: number, max: number): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`Context ${key} must be an integer between ${min} and ${max}, got "${raw}"`);
    }
    return value;
  };

  const retentionDays = int(CONTEXT_KEYS.logRetentionDays, 1, 3653);
  if (retentionDays !== undefined && !Object.values(RetentionDays).includes(retentionDays)) {
    throw new Error(
      `Context ${CONTEXT_KEYS.logRetentionDays} must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, ...), got ${retentionDays}`,
    );
  }
  const adminUsername = text(CONTEXT_KEYS.adminUsername);
  if (adminUsername !== undefined && !/^[A-Za-z0-9._@-]{3,64}$/.test(adminUsername)) {
    throw new Error(`Context ${CONTEXT_KEYS.adminUsername} must be 3-64 letters, digits or . _ @ -`);
  }

  const externalBuckets = bucketList(node.tryGetContext(CONTEXT_KEYS.buckets));

  const alarmEmail = text(CONTEXT_KEYS.alarmEmail)?.trim() || undefined;
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    throw new Error(`Context ${CONTEXT_KEYS.alarmEmail} must be an email address, got "${alarmEmail}"`);
  }

  const timezoneText = text(CONTEXT_KEYS.defaultTimezone);
  const defaultTimezone = timezoneText === undefined ? undefined : canonicalTimezone(timezoneText);
  if (timezoneText !== undefined && defaultTimezone === undefined) {
    throw new Error(
      `Context ${CONTEXT_KEYS.defaultTimezone} must be an IANA time zone name such as UTC or Asia/Seoul, got "${timezoneText}"`,
    );
  }

  const entries: Partial<Record<keyof SluiceStackProps, unknown>> = {
    throttlingRateLimit: int(CONTEXT_KEYS.throttlingRateLimit, 1, 10_000),
    throttlingBurstLimit: int(CONTEXT_KEYS.throttlingBurstLimit, 1, 5_000),
    logRetention: retentionDays as RetentionDays | undefined,
    adminUsername,
    ingestMemorySize: int(CONTEXT_KEYS.ingestMemorySize, 128, 10_240),
    ingestEphemeralStorageMiB: int(CONTEXT_KEYS.ingestEphemeralStorageMiB, 512, 10_240),
    externalBuckets: externalBuckets.length > 0 ? externalBuckets : undefined,
    stepWorkerMemorySize: int(CONTEXT_KEYS.stepWorkerMemorySize, 128, 10_240),
    stepWorkerEphemeralStorageMiB: int(CONTEXT_KEYS.stepWorkerEphemeralStorageMiB, 512, 10_240),
    queryBytesScannedLimit: int(
      CONTEXT_KEYS.queryBytesScannedLimit,
      MIN_BYTES_SCANNED_LIMIT,
      Number.MAX_SAFE_INTEGER,
    ),
    alarmEmail,
    defaultTimezone,
  };
  const props = Object.fromEntries(
    Object.entries(entries).filter(([, value]) => value !== undefined),
  ) as SluiceStackProps;
  return { stackName: text(CONTEXT_KEYS.stackName) ?? 'Sluice', props };
}

/**
 * `sluice:buckets` as a list: a JSON array (cdk.json) or a comma-separated string (the command
 * line); blanks and repeats dropped, each name checked against the S3 bucket naming rules.
 */
function bucketList(value: unknown): string[] {
  const key = CONTEXT_KEYS.buckets;
  if (value === undefined || value === null) return [];
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === 'string') items = value.split(',');
  else throw new Error(`Context ${key} must be a list of bucket names or a comma-separated string`);
  const names = items.map((item) => {
    if (typeof item !== 'string')
      throw new Error(`Context ${key} must hold bucket names, got ${JSON.stringify(item)}`);
    return item.trim();
  });
  const buckets = [...new Set(names.filter((name) => name !== ''))];
  for (const bucket of buckets) {
    const problem = bucketNameProblem(bucket);
    if (problem) throw new Error(`Context ${key}: bucket name "${bucket}" ${problem}`);
  }
  return buckets;
}

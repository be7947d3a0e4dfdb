/**
 * The events Sluice's event handlers receive, as zod schemas that the Powertools parser
 * middleware checks before a handler runs: the EventBridge envelope (Powertools' own schemas)
 * narrowed to the one source and detail type each rule selects, and the detail fields the handler
 * reads. The local host sends the same shapes (triggers/local.ts builds its EventBridge events).
 *
 * An event that does not parse cannot be fixed by a retry: the parser's error handler
 * (`dropMalformed`) logs which fields are wrong (paths and zod messages, never values or the
 * detail) and answers a value, so the invocation succeeds and the event is dropped.
 */
import type { ParseError } from '@aws-lambda-powertools/parser';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import * as z from 'zod';
import { logger } from './observability.ts';

/** Step Functions "Execution Status Change" of a pipeline's or workflow's execution (the finalizer). */
export const executionStatusChangeSchema = EventBridgeSchema.extend({
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().optional(),
    name: z.string().min(1),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

/** Athena "Query State Change" of an execution in the deployment's workgroup (query-events). */
export const queryStateChangeSchema = EventBridgeSchema.extend({
  source: z.literal('aws.athena'),
  'detail-type': z.literal('Athena Query State Change'),
  detail: z.object({
    queryExecutionId: z.string().min(1),
    currentState: z.enum(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']),
    previousState: z.string().optional(),
    workgroupName: z.string(),
    statementType: z.string().optional(),
    sequenceNumber: z.string().optional(),
    versionId: z.string().optional(),
  }),
});

/** S3 "Object Created" on EventBridge (the ingest of uploads). */
export const objectCreatedSchema = S3EventNotificationEventBridgeSchema.extend({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  // Powertools takes an IPv4 address only; a client on S3's dual-stack endpoints has an IPv6 one,
  // and the ingest never reads it.
  detail: S3EventNotificationEventBridgeSchema.shape.detail.extend({
    'source-ip-address': z.string().optional(),
  }),
});

/**
 * What trigger schedules and rules send the trigger-fire function (triggers/aws.ts): the trigger
 * and the delivery id (Scheduler's execution id, or the event's id); a rule adds the event's
 * source, detail type and detail.
 */
export const triggerFireSchema = z.object({
  triggerId: z.string().min(1),
  eventId: z.string().min(1).optional(),
  time: z.string().optional(),
  source: z.string().optional(),
  detailType: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export type ExecutionStatusChange = z.output<typeof executionStatusChangeSchema>;
export type QueryStateChange = z.output<typeof queryStateChangeSchema>;
export type ObjectCreated = z.output<typeof objectCreatedSchema>;
export type TriggerFireEvent = z.output<typeof triggerFireSchema>;

/** The fields that identify an event in a log line, when they are strings. */
const IDENTITY = {
  id: 'eventId',
  source: 'source',
  'detail-type': 'detailType',
  triggerId: 'triggerId',
} as const;

function identityOf(event: unknown): Record<string, string> {
  if (typeof event !== 'object' || event === null)
    return { eventType: event === null ? 'null' : typeof event };
  const found: Record<string, string> = {};
  for (const [field, name] of Object.entries(IDENTITY)) {
    const value = (event as Record<string, unknown>)[field];
    if (typeof value === 'string') found[name] = value.slice(0, 200);
  }
  return found;
}

interface Issue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message: string;
}

/** Where each problem is and what it is: the zod issues a ParseError carries, without values. */
export function issuesOf(error: ParseError): string[] {
  const cause = error.cause as { issues?: Issue[] } | Issue[] | undefined;
  const issues = Array.isArray(cause) ? cause : (cause?.issues ?? []);
  return issues.map((issue) => {
    const path = (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part));
    return `${path.length > 0 ? path.join('.') : '(event)'}: ${issue.message}`;
  });
}

/**
 * The parser middleware's error handler of `handler`: logs the malformed event and answers
 * `dropped`, so the invocation succeeds (no retry, no dead-letter queue).
 */
export function dropMalformed<R>(handler: string, dropped: R): (error: ParseError, event: unknown) => R {
  return (error, event) => {
    logger.error(`${handler}: malformed event dropped`, { ...identityOf(event), issues: issuesOf(error) });
    return dropped;
  };
}

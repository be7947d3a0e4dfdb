/**
 * One start per delivery. EventBridge rules and Scheduler schedules deliver at least once and
 * retry an invocation that failed, so the same firing can reach `fireTrigger` more than once; each
 * of its targets must still start once. Powertools idempotency keeps that promise: the first
 * delivery claims a record per (trigger, delivery, target) in Sluice's table (INPROGRESS), and
 * once the target has started the record holds what the start did (COMPLETED). A redelivery finds
 * the record and starts nothing. A start that fails deletes its record, so the retry of that
 * delivery may start it; a start still in progress holds a redelivery off (it fails and is retried)
 * until the invocation's deadline has passed.
 *
 * Both hosts fire through here with their platform's DynamoDB client: the trigger-fire Lambda,
 * and the local scheduler and bus (local.ts), whose records land in the host's dynalite.
 *
 * Records, written only by Powertools' DynamoDB persistence layer, all in one partition:
 * - `pk` = `IDEMPOTENCY#trigger-fire`;
 * - `sk` = `trigger-fire#<md5, base64, of [triggerId, deliveryId, targetId]>`;
 * - `status` INPROGRESS | COMPLETED, `data` = `{outcome}` (what the start did);
 * - `in_progress_expiration` (epoch ms): when a claim whose start never finished (a timeout) stops
 *   holding redeliveries off: the Lambda's deadline, or LOCAL_DEADLINE_MS on the local host;
 * - `ttl` (epoch s, the table's TTL attribute): two days after the last write, well past the two
 *   hours of retries. dynalite never deletes an expired item; Powertools overwrites one.
 */

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { Stores } from '../clients.ts';
import { TABLE_KEYS } from '../table-schema.ts';

/** One delivery of a firing, for one of the firing's targets. */
export interface Delivery {
  triggerId: string;
  /** The Scheduler execution id or EventBridge event id (the local scheduler and bus make theirs). */
  deliveryId: string;
  /** The job or workflow the start is for. */
  targetId: string;
}

export const DELIVERY_RECORDS = {
  /** The partition key value of every delivery record. */
  partition: 'IDEMPOTENCY#trigger-fire',
  /** Sort keys are this prefix, `#`, and the hash of the delivery. */
  keyPrefix: 'trigger-fire',
  /** What the hash is taken of. */
  keyPath: '[triggerId, deliveryId, targetId]',
  expiresAfterSeconds: 2 * 86_400,
} as const;

/** How long a start in progress holds redeliveries off when no Lambda deadline is known. */
export const LOCAL_DEADLINE_MS = 15 * 60_000;

/** What a delivery did: the start's outcome, now or (`duplicate`) when an earlier delivery started it. */
export interface Delivered<T> {
  outcome: T;
  duplicate: boolean;
}

type Once = (
  delivery: Delivery,
  start: () => Promise<unknown>,
) => Promise<{ outcome: unknown; duplicate?: true }>;

interface Guard {
  config: IdempotencyConfig;
  once: Once;
}

/** One persistence layer per DynamoDB client: a platform's stores (two local hosts hold two). */
const guards = new WeakMap<DynamoDBClient, Guard>();

function guardOf(stores: Stores): Guard {
  const known = guards.get(stores.dynamodb);
  if (known) return known;
  const config = new IdempotencyConfig({
    eventKeyJmesPath: DELIVERY_RECORDS.keyPath,
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: DELIVERY_RECORDS.expiresAfterSeconds,
    // A stored result is a redelivery's: mark it so, for the caller to start nothing.
    responseHook: (response) =>
      typeof response === 'object' && response !== null && !Array.isArray(response)
        ? { ...response, duplicate: true }
        : response,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: stores.table,
    awsSdkV3Client: stores.dynamodb,
    keyAttr: TABLE_KEYS.partitionKey,
    sortKeyAttr: TABLE_KEYS.sortKey,
    staticPkValue: DELIVERY_RECORDS.partition,
    expiryAttr: TABLE_KEYS.ttlAttribute,
  });
  const once: Once = makeIdempotent(
    async (_delivery: Delivery, start: () => Promise<unknown>) => ({ outcome: await start() }),
    { persistenceStore, config, keyPrefix: DELIVERY_RECORDS.keyPrefix, dataIndexArgument: 0 },
  );
  const guard = { config, once };
  guards.set(stores.dynamodb, guard);
  return guard;
}

/**
 * Runs `start` unless an earlier delivery of the same firing ran it for the same target.
 * `remainingTimeInMillis` is the invocation's deadline (the Lambda context's); without one a
 * start in progress holds redeliveries off for LOCAL_DEADLINE_MS. Errors of `start` propagate,
 * after the claim is given up.
 */
export async function startOnce<T>(
  stores: Stores,
  delivery: Delivery,
  start: () => Promise<T>,
  remainingTimeInMillis: () => number = () => LOCAL_DEADLINE_MS,
): Promise<Delivered<T>> {
  const { config, once } = guardOf(stores);
  // Powertools reads only the deadline from the Lambda context.
  config.registerLambdaContext({ getRemainingTimeInMillis: remainingTimeInMillis } as Context);
  const done = await once(delivery, start);
  return { outcome: done.outcome as T, duplicate: done.duplicate === true };
}

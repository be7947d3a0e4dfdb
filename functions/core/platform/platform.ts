/**
 * The platform: everything that differs between the AWS deployment and the local host, as one
 * object of ports. It is built once, by `createAwsPlatform()` (functions/core/platform/aws.ts)
 * when a Lambda starts or by `createLocalPlatform()` (local/platform.ts) when the host starts, and
 * every handler invocation runs on it (`runOn`); services ask for the port they need with
 * `platform()`. No module picks its own adapter.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Stores } from '../clients.ts';
import type { Engine } from '../engine/engine.ts';
import type { EventSink } from '../events.ts';
import type { QueryEngine } from '../query/engine.ts';
import type { Settings } from '../settings.ts';
import type { Manifest } from '../tables/manifest.ts';
import type { TriggerRuntime } from '../triggers/runtime.ts';

/**
 * What the catalog tells an outside catalog (Glue on AWS, nothing locally). It follows Sluice's
 * catalog, never the other way round: a hook logs its failures and never fails the caller.
 */
export interface CatalogHooks {
  versionPublished(
    dataset: { id: string; name: string; collection_id: string },
    manifest: Manifest,
  ): Promise<void>;
  datasetDeleted(dataset: { id: string; collection_id: string }): Promise<void>;
  collectionDeleted(collection: { id: string }): Promise<void>;
}

/** A data source password as its record keeps it: a reference to it, or its ciphertext. */
export type KeptPassword = { password_secret_arn?: string } | { password_encrypted: string };

/** Secrets kept outside the table (Secrets Manager on AWS, the data directory locally). */
export interface Secrets {
  /** The string value of a secret. */
  read(id: string): Promise<string>;
  /** Keeps a registered data source's password where it may be (never in the table). */
  keepPassword(dataSourceName: string, password: string): Promise<KeptPassword>;
}

export interface Clock {
  now(): Date;
}

export interface Platform {
  readonly settings: Settings;
  /** The table and the data bucket, and their clients. */
  readonly stores: Stores;
  /** Runs compiled pipelines and workflows (Step Functions; aws-local-stepfunctions locally). */
  readonly engine: Engine;
  /** Runs Data Query statements (Athena; DuckDB locally). */
  readonly queryEngine: QueryEngine;
  /** Arms and disarms trigger schedules and rules (EventBridge; croner and an in-process bus locally). */
  readonly triggers: TriggerRuntime;
  /** Where Sluice's own events go; never fails the caller. */
  readonly events: EventSink;
  readonly catalog: CatalogHooks;
  readonly secrets: Secrets;
  readonly clock: Clock;
}

export const noCatalogHooks: CatalogHooks = {
  versionPublished: async () => undefined,
  datasetDeleted: async () => undefined,
  collectionDeleted: async () => undefined,
};

export const systemClock: Clock = { now: () => new Date() };

const current = new AsyncLocalStorage<Platform>();

/** Runs `work`, and everything it starts, on `platform`. */
export function runOn<T>(on: Platform, work: () => T): T {
  return current.run(on, work);
}

/** Whether the caller already runs on a platform (a host that invokes a handler in process). */
export const onPlatform = (): boolean => current.getStore() !== undefined;

/** The platform the current invocation runs on. */
export function platform(): Platform {
  const found = current.getStore();
  if (!found) throw new Error('No platform: Sluice services run inside a handler or host that provides one');
  return found;
}

/**
 * The platform: everything that differs between the AWS deployment and the local host, as one
 * object of ports. It is built once, by `createAwsPlatform()` (functions/core/platform/aws.ts)
 * when a Lambda starts or by `createLocalPlatform()` (local/platform.ts) when the host starts, and
 * every handler invocation runs on it (`runOn`); services ask for the port they need with
 * `platform()`. No module picks its own adapter.
 *
 * Each Lambda entry declares the ports it uses (`onAws` in platform/lambda.ts): on AWS only those
 * adapters are built (and bundled), and a host runs the entry's handler on a view of its platform
 * with only those ports (`restrictTo`), so a port used but not declared fails on both hosts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Engine } from '../engine/engine.ts';
import type { EventSink } from '../events.ts';
import type { QueryEngine } from '../query/engine.ts';
import type { Settings } from '../settings.ts';
import type { Stores } from '../table-clients.ts';
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

/** The ports a function declares (settings and the clock are always there). */
export const PORT_NAMES = [
  'stores',
  'engine',
  'queryEngine',
  'triggers',
  'events',
  'catalog',
  'secrets',
] as const;

export type PortName = (typeof PORT_NAMES)[number];

/** What a function is told when it uses a port its entry did not declare. */
export class MissingPortError extends Error {
  constructor(port: PortName, declared: readonly PortName[]) {
    super(
      `This function was not given the ${port} port (it declares ${declared.length > 0 ? declared.join(', ') : 'none'}): ` +
        `name the ${port} adapter in its entry's onAws({ ... })`,
    );
    this.name = 'MissingPortError';
  }
}

/** A platform whose ports come from `ports` by getter; any other port throws MissingPortError. */
export function platformOf(
  settings: Settings,
  ports: { readonly [K in PortName]?: () => Platform[K] },
  clock: Clock = systemClock,
): Platform {
  const declared = PORT_NAMES.filter((name) => ports[name] !== undefined);
  const view = { settings, clock } as Platform;
  for (const name of PORT_NAMES) {
    const get = ports[name];
    Object.defineProperty(view, name, {
      enumerable: true,
      get:
        get ??
        (() => {
          throw new MissingPortError(name, declared);
        }),
    });
  }
  return Object.freeze(view);
}

/**
 * What a function declares: the ports it uses and, for some, how it narrows the host's port (a
 * function given the table alone sees the host's stores without the data bucket).
 */
export interface PortDeclaration {
  readonly ports: readonly PortName[];
  readonly narrow?: { readonly [K in PortName]?: (port: Platform[K]) => Platform[K] };
}

/** The platform each restricted view was made from, so a view of a view sees the whole platform. */
const wholeOf = new WeakMap<Platform, Platform>();
/** The views of each platform by declaration, so a function sees the same view on every call. */
const viewsOf = new WeakMap<Platform, WeakMap<PortDeclaration, Platform>>();

/**
 * `on` seen through what a function declares: its settings, clock and its ports (narrowed as it
 * says), and an error naming the port for any other. A host that runs a function's handler on its
 * own platform (the local host) runs it on this view, so that an entry that forgets a port it uses
 * fails there as it would on AWS.
 */
export function restrictTo(on: Platform, declared: PortDeclaration): Platform {
  const whole = wholeOf.get(on) ?? on;
  let views = viewsOf.get(whole);
  if (!views) {
    views = new WeakMap();
    viewsOf.set(whole, views);
  }
  let view = views.get(declared);
  if (!view) {
    const port = <K extends PortName>(name: K) => {
      const narrow = declared.narrow?.[name] as ((port: Platform[K]) => Platform[K]) | undefined;
      if (!narrow) return () => whole[name];
      let narrowed: Platform[K] | undefined;
      return () => {
        narrowed ??= narrow(whole[name]);
        return narrowed;
      };
    };
    view = platformOf(
      whole.settings,
      Object.fromEntries(
        PORT_NAMES.filter((name) => declared.ports.includes(name)).map((name) => [name, port(name)]),
      ),
      whole.clock,
    );
    wholeOf.set(view, whole);
    views.set(declared, view);
  }
  return view;
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

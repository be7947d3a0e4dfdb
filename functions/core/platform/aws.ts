/**
 * The AWS platform: each port is built by an adapter (platform/aws/*.ts, one module per adapter)
 * from the function's settings. A Lambda entry names the adapters it uses, so its bundle carries
 * only their SDK clients (`onAws` in platform/lambda.ts); any other port throws, naming itself.
 *
 * | port        | adapter                                  | module            |
 * |-------------|------------------------------------------|-------------------|
 * | stores      | DynamoDB table + S3 data bucket          | aws/stores.ts     |
 * | stores      | the DynamoDB table alone                 | aws/table.ts      |
 * | engine      | Step Functions                           | aws/engine.ts     |
 * | queryEngine | Athena                                   | aws/query.ts      |
 * | triggers    | EventBridge Scheduler and rules          | aws/triggers.ts   |
 * | events      | EventBridge PutEvents                    | aws/events.ts     |
 * | catalog     | Glue Data Catalog                        | aws/catalog.ts    |
 * | secrets     | Secrets Manager (Powertools parameters)  | aws/secrets.ts    |
 */
import type { Settings } from '../settings.ts';
import { type Platform, type PortDeclaration, type PortName, platformOf } from './platform.ts';

/**
 * Builds one port from the function's settings; a missing setting throws with its name. An
 * adapter that gives less than the whole port (the table without the data bucket) says how to
 * narrow a host's port the same way (`narrow`), for the local host's views.
 */
export type Adapter<K extends PortName> = ((settings: Settings) => Platform[K]) & {
  readonly narrow?: (port: Platform[K]) => Platform[K];
};

/** The adapters of the ports a function uses, by port. */
export type Adapters = { readonly [K in PortName]?: Adapter<K> };

/** The ports `adapters` supply. */
export const portsOf = (adapters: Adapters): PortName[] =>
  (Object.keys(adapters) as PortName[]).filter((name) => adapters[name] !== undefined);

/** What a function with these adapters declares (platform.ts `restrictTo`). */
export function declarationOf(adapters: Adapters): PortDeclaration {
  const ports = portsOf(adapters);
  const narrow = Object.fromEntries(
    ports.flatMap((name) => {
      const by = adapters[name]?.narrow;
      return by ? [[name, by]] : [];
    }),
  );
  return { ports, ...(Object.keys(narrow).length > 0 ? { narrow } : {}) };
}

/**
 * The platform of a function with these settings and adapters. Each port is built the first time
 * it is asked for, once per `built` cache (a process shares one, so two handlers of one module
 * share their clients); `onAws` asks for every declared port when a Lambda starts.
 */
export function createAwsPlatform(
  settings: Settings,
  adapters: Adapters,
  built: Map<Adapter<PortName>, unknown> = new Map(),
): Platform {
  const port =
    <K extends PortName>(adapter: Adapter<K>) =>
    () => {
      if (!built.has(adapter as Adapter<PortName>))
        built.set(adapter as Adapter<PortName>, adapter(settings));
      return built.get(adapter as Adapter<PortName>) as Platform[K];
    };
  return platformOf(
    settings,
    Object.fromEntries(
      portsOf(adapters).map((name) => [name, port(adapters[name] as Adapter<typeof name>)]),
    ) as { [K in PortName]?: () => Platform[K] },
  );
}

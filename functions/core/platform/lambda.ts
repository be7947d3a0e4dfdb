/**
 * Lambda entries run on the AWS platform, built once when the function starts from the
 * function's environment and the adapters its entry names: `onAws({ stores: awsStores, engine:
 * stepFunctionsEngine }, handler)`. Only those adapters' modules (and SDK clients) are imported
 * into the entry's bundle, and a port it did not name throws, naming the port.
 *
 * A host that invokes a handler in its own process (the local host) has already put the
 * invocation on its platform: the handler runs on a view of that platform restricted to the ports
 * its entry declares, so an entry that forgets a port it uses fails the local tests too.
 */
import { isLambdaRuntime, type Settings, settingsFromEnvironment } from '../settings.ts';
import { type Adapter, type Adapters, createAwsPlatform, declarationOf } from './aws.ts';
import {
  onPlatform,
  type Platform,
  type PortDeclaration,
  type PortName,
  platform,
  restrictTo,
  runOn,
} from './platform.ts';

/** The function's settings and the adapters built so far: once per process. */
let settings: Settings | undefined;
const built = new Map<Adapter<PortName>, unknown>();

/** What a function cannot start without beyond its ports, checked when it starts; a missing setting is named. */
export type Requirement = (platform: Platform) => unknown;

/** A handler made by `onAws`, with the adapters its entry names and what they declare. */
export type PortedHandler<A extends unknown[], R> = ((...args: A) => R) & {
  readonly adapters: Adapters;
  readonly declared: PortDeclaration;
};

/**
 * A handler that runs on the AWS platform with `adapters` as its ports. In a Lambda the platform
 * is built when the module loads: every declared port is built then and `requires` is checked,
 * so a bad or missing setting stops the function at start with its name. Elsewhere nothing is
 * built unless the handler is called outside a platform.
 */
export function onAws<A extends unknown[], R>(
  adapters: Adapters,
  handler: (...args: A) => R,
): PortedHandler<A, R>;
export function onAws<A extends unknown[], R>(
  adapters: Adapters,
  requires: Requirement,
  handler: (...args: A) => R,
): PortedHandler<A, R>;
export function onAws<A extends unknown[], R>(
  adapters: Adapters,
  second: Requirement | ((...args: A) => R),
  third?: (...args: A) => R,
): PortedHandler<A, R> {
  const handler = (third ?? second) as (...args: A) => R;
  const requires = third ? (second as Requirement) : undefined;
  const declared = declarationOf(adapters);
  let aws: Platform | undefined;
  const awsPlatform = () => {
    if (!aws) {
      settings ??= settingsFromEnvironment();
      const on = createAwsPlatform(settings, adapters, built);
      for (const name of declared.ports) void on[name];
      requires?.(on);
      aws = on;
    }
    return aws;
  };
  if (isLambdaRuntime()) awsPlatform();
  const run = (...args: A): R =>
    onPlatform()
      ? runOn(restrictTo(platform(), declared), () => handler(...args))
      : runOn(awsPlatform(), () => handler(...args));
  return Object.assign(run, { adapters, declared });
}

/**
 * Runs `work` on the current platform restricted to the ports `handler`'s entry declares: for a
 * host that calls what a handler would call directly (the local engine calls the step worker with
 * its own abort signal), so the entry's declaration is checked there too.
 */
export function onPortsOf<T>(handler: { readonly declared: PortDeclaration }, work: () => T): T {
  return runOn(restrictTo(platform(), handler.declared), work);
}

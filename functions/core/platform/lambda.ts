/**
 * Lambda entries run on the AWS platform, built once when the function starts from the
 * function's environment. A host that invokes a handler in its own process (the local host) has
 * already put the invocation on its platform, and that one is kept.
 */
import { isLambdaRuntime, settingsFromEnvironment } from '../settings.ts';
import { createAwsPlatform } from './aws.ts';
import { onPlatform, type Platform, runOn } from './platform.ts';

let aws: ReturnType<typeof createAwsPlatform> | undefined;

/** The AWS platform, built once per process. */
function awsPlatform() {
  aws ??= createAwsPlatform(settingsFromEnvironment());
  return aws;
}

/** What a function cannot start without, checked when it starts; a missing setting is named. */
export type Requirement = (platform: Platform) => unknown;

/** The table and the data bucket (every function but the fallback). */
export const needsStores: Requirement = (on) => on.stores;

/** Nothing: a function that answers from the route table alone (the fallback). */
export const needsNothing: Requirement = () => undefined;

/**
 * A handler that runs on the AWS platform. In a Lambda the platform is built when the module
 * loads and `requires` (by default the stores) is checked then, so a bad or missing setting stops
 * the function at start with its name. Elsewhere (the local host imports the same modules) nothing
 * is built unless the handler is called outside a platform.
 */
export function onAws<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R;
export function onAws<A extends unknown[], R>(
  requires: Requirement,
  handler: (...args: A) => R,
): (...args: A) => R;
export function onAws<A extends unknown[], R>(
  first: Requirement | ((...args: A) => R),
  second?: (...args: A) => R,
): (...args: A) => R {
  const handler = (second ?? first) as (...args: A) => R;
  const requires = second ? (first as Requirement) : needsStores;
  let checked = false;
  const onAwsPlatform = () => {
    const built = awsPlatform();
    if (!checked) requires(built);
    checked = true;
    return built;
  };
  if (isLambdaRuntime()) onAwsPlatform();
  return (...args) => (onPlatform() ? handler(...args) : runOn(onAwsPlatform(), () => handler(...args)));
}

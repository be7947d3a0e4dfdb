/**
 * Lambda entries run on the AWS platform, built once when the function starts from the
 * function's environment. A host that invokes a handler in its own process (the local host) has
 * already put the invocation on its platform, and that one is kept.
 */
import { isLambdaRuntime, type Settings, settingsFromEnvironment } from '../settings.ts';
import { createAwsPlatform } from './aws.ts';
import { onPlatform, runOn } from './platform.ts';

let aws: ReturnType<typeof createAwsPlatform> | undefined;

/** The AWS platform, built once per process. */
function awsPlatform() {
  aws ??= createAwsPlatform(settingsFromEnvironment());
  return aws;
}

/**
 * A handler that runs on the AWS platform. In a Lambda the platform is built when the module
 * loads, and `requires` checks the settings this function cannot do without, so a bad or missing
 * one stops it at start with its name. Elsewhere (the local host imports the same modules) nothing
 * is built unless the handler is called outside a platform.
 */
export function onAws<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R;
export function onAws<A extends unknown[], R>(
  requires: (settings: Settings) => void,
  handler: (...args: A) => R,
): (...args: A) => R;
export function onAws<A extends unknown[], R>(
  first: ((settings: Settings) => void) | ((...args: A) => R),
  second?: (...args: A) => R,
): (...args: A) => R {
  const handler = (second ?? first) as (...args: A) => R;
  const requires = second ? (first as (settings: Settings) => void) : undefined;
  let checked = false;
  const onAwsPlatform = () => {
    const built = awsPlatform();
    if (!checked) requires?.(built.settings);
    checked = true;
    return built;
  };
  if (isLambdaRuntime()) onAwsPlatform();
  return (...args) => (onPlatform() ? handler(...args) : runOn(onAwsPlatform(), () => handler(...args)));
}

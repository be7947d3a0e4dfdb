/**
 * Lambda entries run on the AWS platform, built once when the function starts. A host that
 * invokes a handler in its own process (the local host) has already put the invocation on its
 * platform, and that one is kept.
 */
import { createAwsPlatform } from './aws.ts';
import { onPlatform, runOn } from './platform.ts';

const aws = createAwsPlatform();

export function onAws<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R {
  return (...args) => (onPlatform() ? handler(...args) : runOn(aws, () => handler(...args)));
}

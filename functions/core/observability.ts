/**
 * Powertools for AWS Lambda: one logger, tracer and metrics instance per function. The
 * logger never receives request bodies, passwords, tokens or secrets: log ids and counts.
 * Locally `npm start` sets POWERTOOLS_DEV (compact output, metrics off) before anything loads,
 * and the tracer stays off because it is not running inside Lambda.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareObj } from '@middy/core';

/** lib/function.ts names every function's service `sluice` (POWERTOOLS_SERVICE_NAME). */
const serviceName = 'sluice';

export const logger = new Logger({ serviceName });
/**
 * Loaded with the function, on purpose. The Tracer brings the X-Ray SDK (aws-xray-sdk-core with
 * semver and cls-hooked: about 125 KB of a bundle and a third of the baseline's init time, measured
 * with `npm run bench -- bundles`), and it is the heaviest module every function carries. Every
 * invocation of an actively traced function uses it (the handler subsegment, every SDK client's
 * subsegments), so importing it lazily would only move the same cost from the init phase into the
 * first request while making the init number look better: that is not a saving. Tracing stays on.
 */
export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({ namespace: 'Sluice', serviceName });

/**
 * Flushes the metrics a request recorded (EMF) when it ends. Unlike Powertools' logMetrics
 * middleware it stays quiet for the many requests that record none.
 */
export function publishMetrics(): MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/**
 * Powertools for AWS Lambda: one logger, tracer and metrics instance per function. The
 * logger never receives request bodies, passwords, tokens or secrets: log ids and counts.
 * Locally the host sets POWERTOOLS_DEV (compact output, metrics off) and the tracer stays
 * off because it is not running inside Lambda.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'sluice';

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({ namespace: 'Sluice', serviceName });

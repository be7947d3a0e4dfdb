/**
 * The step worker Lambda: Step Functions invokes it once per Task of a compiled pipeline
 * (plan, run, seal or fail for one stage of one batch; athena-prepare and athena-finish around
 * the queries of a stage on Athena, which the state machine runs itself). It carries DuckDB; the
 * logic lives in core/engine/worker.ts, which the local engine calls directly.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { warmUp } from '#core/duckdb';
import type { WorkerEvent } from '#core/engine/contract';
import { runStep } from '#core/engine/worker';
import { logger, publishMetrics, tracer } from '#core/observability';
import { glueCatalog } from '#core/platform/aws/catalog';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';

// Start DuckDB in the init phase rather than inside the first step.
warmUp().catch((error: unknown) =>
  logger.warn('DuckDB did not start at init; retrying on first use', { error: error as Error }),
);

export const handler = onAws(
  { stores: awsStores, catalog: glueCatalog, events: eventBridgeEvents },
  middy((event: WorkerEvent) => runStep(event))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics()),
);

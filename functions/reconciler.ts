/**
 * The reconciler Lambda: a schedule runs it every 5 minutes to settle batches and workflow
 * executions whose end was never recorded (a status change event that was lost, a finalizer
 * that failed past its retries) and to start waiting batches whose run slot leaked. The local
 * host runs the same code on its own timer.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { reconcile } from '#core/engine/reconcile';
import { logger, metrics, publishMetrics, tracer } from '#core/observability';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { stepFunctionsEngineDroppingRunDatabases } from '#core/platform/aws/run-databases';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { platform } from '#core/platform/platform';

export const handler = onAws(
  // The engine drops the run database of a batch it settles, as the finalizer would have.
  { stores: awsStores, engine: stepFunctionsEngineDroppingRunDatabases, events: eventBridgeEvents },
  middy(async () => {
    const report = await reconcile({ graceSeconds: platform().settings.reconcile.graceSeconds });
    if (report.settled > 0) metrics.addMetric('RunsReconciled', 'Count', report.settled);
    logger.info('reconciled', { ...report });
    return report;
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics()),
);

/**
 * The finalizer Lambda: an EventBridge rule sends it the status changes of pipeline
 * executions, and it sets the batch's terminal state and starts the next waiting run.
 * An event that does not parse (executionStatusChangeSchema) is logged and dropped: a retry
 * would bring the same event, and the reconciler settles a run whose end event never arrived.
 * Locally the engine hands the same detail to `onExecutionStatus` itself (local/platform.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { onExecutionStatus } from '#core/engine/finalize';
import { dropMalformed, type ExecutionStatusChange, executionStatusChangeSchema } from '#core/event-schemas';
import { logger, publishMetrics, tracer } from '#core/observability';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { stepFunctionsEngineDroppingRunDatabases } from '#core/platform/aws/run-databases';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';

export type ExecutionStatusEvent = ExecutionStatusChange;

export const handler = onAws(
  { stores: awsStores, engine: stepFunctionsEngineDroppingRunDatabases, events: eventBridgeEvents },
  middy((event: ExecutionStatusEvent) => onExecutionStatus(event.detail))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics())
    .use(parser({ schema: executionStatusChangeSchema, errorHandler: dropMalformed('finalizer', null) })),
);

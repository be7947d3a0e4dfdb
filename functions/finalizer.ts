/**
 * The finalizer Lambda: an EventBridge rule sends it the status changes of pipeline
 * executions, and it sets the batch's terminal state and starts the next waiting run.
 * The local engine calls the same handler with the same event shape.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { type ExecutionStatusDetail, onExecutionStatus } from '#core/engine/finalize';
import { logger, publishMetrics, tracer } from '#core/observability';
import { onAws } from '#core/platform/lambda';

export type ExecutionStatusEvent = EventBridgeEvent<
  'Step Functions Execution Status Change',
  ExecutionStatusDetail
>;

export const handler = onAws(
  middy((event: ExecutionStatusEvent) => onExecutionStatus(event.detail))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics()),
);

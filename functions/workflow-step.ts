/**
 * The workflow-step Lambda: a workflow's state machine invokes it to record each job's run
 * before starting it, and to record a job's failure. The logic lives in
 * core/workflows/steps.ts, which the local engine calls directly.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { logger, publishMetrics, tracer } from '#core/observability';
import { stepFunctionsEngine } from '#core/platform/aws/engine';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { runWorkflowStep, type WorkflowStepEvent } from '#core/workflows/steps';

export const handler = onAws(
  { stores: awsStores, engine: stepFunctionsEngine, events: eventBridgeEvents },
  middy((event: WorkflowStepEvent) => runWorkflowStep(event))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics()),
);

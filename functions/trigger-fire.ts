/**
 * The trigger-fire Lambda: the target of every trigger schedule (EventBridge Scheduler) and
 * trigger rule (EventBridge). Both send `{triggerId, eventId, time}` (rules add the event's
 * source, detail-type and detail); `fireTrigger` resolves what the trigger starts (its target and
 * the workflows whose TRIGGER nodes name it) and records and starts those runs, as the local host
 * does in-process. A failure is thrown so that the invocation is retried and, in the end, lands
 * in the dead-letter queue; an input that does not parse (triggerFireSchema) is logged and
 * dropped, since a retry would bring the same input.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dropMalformed, type TriggerFireEvent, triggerFireSchema } from '#core/event-schemas';
import { logger, publishMetrics, tracer } from '#core/observability';
import { stepFunctionsEngine } from '#core/platform/aws/engine';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { eventBridgeTriggers } from '#core/platform/aws/triggers';
import { onAws } from '#core/platform/lambda';
import { fireTrigger } from '#core/triggers/fire';

export type { TriggerFireEvent } from '#core/event-schemas';

export const handler = onAws(
  {
    stores: awsStores,
    engine: stepFunctionsEngine,
    events: eventBridgeEvents,
    triggers: eventBridgeTriggers,
  },
  middy(async (event: TriggerFireEvent, context: Context) => {
    logger.appendKeys({ triggerId: event.triggerId });
    const kind = event.source || event.detailType || event.detail ? 'event' : 'schedule';
    return fireTrigger(
      event.triggerId,
      {
        kind,
        ...(event.eventId ? { id: event.eventId } : {}),
        ...(event.time ? { time: event.time } : {}),
        ...(event.source ? { source: event.source } : {}),
        ...(event.detailType ? { detailType: event.detailType } : {}),
        ...(event.detail ? { detail: event.detail } : {}),
      },
      { remainingTimeInMillis: () => context.getRemainingTimeInMillis() },
    );
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics())
    .use(
      parser({
        schema: triggerFireSchema,
        errorHandler: dropMalformed('trigger-fire', { fired: false, reason: 'malformed' } as const),
      }),
    ),
);

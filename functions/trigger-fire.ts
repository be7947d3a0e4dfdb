/**
 * The trigger-fire Lambda: the target of every trigger schedule (EventBridge Scheduler) and
 * trigger rule (EventBridge). Both send `{triggerId, eventId, time}` (rules add the event's
 * source, detail-type and detail); `fireTrigger` resolves what the trigger starts (its target and
 * the workflows whose TRIGGER nodes name it) and records and starts those runs, as the local host
 * does in-process. A failure is thrown so that the invocation is retried and, in the end, lands
 * in the dead-letter queue.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { logger, publishMetrics, tracer } from '#core/observability';
import { onAws } from '#core/platform/lambda';
import { fireTrigger } from '#core/triggers/fire';

export interface TriggerFireEvent {
  triggerId: string;
  /** Scheduler execution id or EventBridge event id: one run per delivery. */
  eventId?: string;
  time?: string;
  source?: string;
  detailType?: string;
  detail?: Record<string, unknown>;
}

export const handler = onAws(
  middy(async (event: TriggerFireEvent) => {
    if (typeof event?.triggerId !== 'string' || event.triggerId === '') {
      // Nothing to retry: a malformed input stays malformed.
      logger.error('trigger-fire invoked without a triggerId');
      return { fired: false, reason: 'malformed' };
    }
    logger.appendKeys({ triggerId: event.triggerId });
    const kind = event.source || event.detailType || event.detail ? 'event' : 'schedule';
    return fireTrigger(event.triggerId, {
      kind,
      ...(event.eventId ? { id: event.eventId } : {}),
      ...(event.time ? { time: event.time } : {}),
      ...(event.source ? { source: event.source } : {}),
      ...(event.detailType ? { detailType: event.detailType } : {}),
      ...(event.detail ? { detail: event.detail } : {}),
    });
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics()),
);

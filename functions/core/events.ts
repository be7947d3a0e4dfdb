/**
 * Sluice's own events, the ones triggers listen to next to S3's: a batch finished, a dataset
 * got a new version. On AWS they go to the default EventBridge bus (source `sluice.*`), where
 * trigger rules match them; the local platform feeds its in-process bus. Either way the sink is
 * the platform's `events` port (platform/aws/events.ts on AWS: a function that publishes is given the
 * bus, checked when it starts).
 */
import { logger } from './observability.ts';

export interface SluiceEvent {
  source: 'sluice.pipelines' | 'sluice.catalog';
  'detail-type': 'Batch Finished' | 'Dataset Version Published';
  detail: Record<string, unknown>;
}

export type EventSink = (event: SluiceEvent) => Promise<void>;

/** A sink that never fails the work that caused the event: an error is logged and dropped. */
export function forgivingSink(deliver: EventSink): EventSink {
  return async (event) => {
    try {
      await deliver(event);
    } catch (error) {
      logger.warn('event not published', { detailType: event['detail-type'], error: error as Error });
    }
  };
}

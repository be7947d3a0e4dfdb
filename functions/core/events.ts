/**
 * Sluice's own events, the ones triggers listen to next to S3's: a batch finished, a dataset
 * got a new version. On AWS they go to the default EventBridge bus (source `sluice.*`), where
 * trigger rules match them; the local host installs a sink that feeds its in-process bus.
 * Publishing never fails the work that caused it: an error is logged and dropped.
 */
import { logger } from './observability.ts';
import { settings } from './settings.ts';

export interface SluiceEvent {
  source: 'sluice.pipelines' | 'sluice.catalog';
  'detail-type': 'Batch Finished' | 'Dataset Version Published';
  detail: Record<string, unknown>;
}

export type EventSink = (event: SluiceEvent) => Promise<void>;

let sink: EventSink | undefined;

/** Installs where events go (the local bus; tests). */
export function useEventSink(next: EventSink | undefined): void {
  sink = next;
}

async function defaultSink(): Promise<EventSink | undefined> {
  if (!settings.events.bus) return undefined;
  const { eventBridgeSink } = await import('./events-aws.ts');
  sink = eventBridgeSink(settings.events.bus);
  return sink;
}

export async function publishEvent(event: SluiceEvent): Promise<void> {
  try {
    const target = sink ?? (await defaultSink());
    if (target) await target(event);
  } catch (error) {
    logger.warn('event not published', { detailType: event['detail-type'], error: error as Error });
  }
}

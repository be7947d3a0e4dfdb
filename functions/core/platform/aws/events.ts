/** The events port on AWS: Sluice events put on the EventBridge bus (functions/core/events-aws.ts). */
import { forgivingSink } from '../../events.ts';
import { eventBridgeSink } from '../../events-aws.ts';
import { requireSetting, SETTING } from '../../settings.ts';
import type { Adapter } from '../aws.ts';

/** Needs SLUICE_EVENT_BUS (lib/events.ts `grantPublishSluiceEvents` sets it with the permission). */
export const eventBridgeEvents: Adapter<'events'> = (settings) =>
  forgivingSink(
    eventBridgeSink(requireSetting(settings.events.bus, SETTING.eventBus), settings.storage.region),
  );

/**
 * Sluice's own events (functions/core/events.ts): a batch finished, a dataset version was
 * published. They go to the account's default EventBridge bus, where trigger rules match them.
 * Publishers get the bus in SLUICE_EVENT_BUS and may put events there with Sluice's sources only.
 */
import { Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SETTING } from '#core/setting-names';
import type { SluiceFunction } from './function.ts';

/** The `source` of every Sluice event; nothing else may be published. */
export const SLUICE_EVENT_SOURCES = ['sluice.pipelines', 'sluice.catalog'] as const;
export const SLUICE_EVENT_BUS = 'default';

export function defaultEventBusArn(stack: Stack): string {
  return stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: SLUICE_EVENT_BUS });
}

/** Lets a function publish Sluice events on the default bus, with Sluice's sources only. */
export function grantPublishSluiceEvents(fn: SluiceFunction): void {
  fn.addEnvironment(SETTING.eventBus, SLUICE_EVENT_BUS);
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [defaultEventBusArn(Stack.of(fn))],
      conditions: { StringEquals: { 'events:source': [...SLUICE_EVENT_SOURCES] } },
    }),
  );
}

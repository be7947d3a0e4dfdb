/** The trigger runtime port on AWS: EventBridge Scheduler schedules and EventBridge rules. */
import { createAwsTriggerRuntime } from '../../triggers/aws.ts';
import type { Adapter } from '../aws.ts';

/** Needs the schedule group and rule prefix (`createAwsTriggerRuntime`). */
export const eventBridgeTriggers: Adapter<'triggers'> = (settings) => createAwsTriggerRuntime(settings);

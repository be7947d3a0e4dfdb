/**
 * The trigger runtime on AWS. A SCHEDULED trigger is an EventBridge Scheduler schedule named
 * after the trigger in the deployment's schedule group; an EVENT trigger is an EventBridge rule
 * `<rule prefix><trigger id>` on the default bus. Both target the trigger-fire Lambda with the
 * trigger id (and the delivery id, so a retried delivery starts one run), retry for up to two
 * hours and then leave the delivery in the triggers' dead-letter queue.
 *
 * What a firing starts is never part of the schedule or rule: the fire function resolves it
 * (the trigger's target, the workflows whose TRIGGER nodes name it). So every trigger is armed
 * the same way, with or without a target, and attaching it to a workflow later needs no change
 * here.
 */
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { tracer } from '../observability.ts';
import { requireSettings, SETTING, type Settings } from '../settings.ts';
import type { ArmedTrigger, TriggerRuntime } from './runtime.ts';

export type TriggerRulesConfig = Settings['triggerRules'] & { scheduleGroup: string; rulePrefix: string };

/** Retries of a delivery before it goes to the dead-letter queue. */
export const RETRY_POLICY = { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 2 * 3600 } as const;
/** The id of the one target of a trigger rule. */
export const RULE_TARGET_ID = 'fire';

const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;

async function ignoreMissing(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
  }
}

export class AwsTriggerRuntime implements TriggerRuntime {
  constructor(
    private readonly scheduler: SchedulerClient,
    private readonly events: EventBridgeClient,
    private readonly config: TriggerRulesConfig,
  ) {}

  ruleName(triggerId: string): string {
    return `${this.config.rulePrefix}${triggerId}`;
  }

  /** The fire target's settings; only the triggers area, which arms triggers, has them. */
  private target() {
    return requireSettings(this.config, {
      fireFunctionArn: SETTING.triggerFireArn,
      schedulerRoleArn: SETTING.triggerSchedulerRoleArn,
      deadLetterQueueArn: SETTING.triggerDlqArn,
    });
  }

  async register(trigger: ArmedTrigger): Promise<void> {
    if (trigger.schedule) await this.putSchedule(trigger);
    else if (trigger.pattern) await this.putRule(trigger);
  }

  async unregister(triggerId: string): Promise<void> {
    // Either kind may exist (the id says nothing about it); removing a missing one is fine.
    await ignoreMissing(
      this.scheduler.send(
        new DeleteScheduleCommand({ Name: triggerId, GroupName: this.config.scheduleGroup }),
      ),
    );
    const name = this.ruleName(triggerId);
    const bus = this.config.eventBus;
    await ignoreMissing(
      this.events.send(new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: [RULE_TARGET_ID] })),
    );
    await ignoreMissing(this.events.send(new DeleteRuleCommand({ Name: name, EventBusName: bus })));
  }

  private async putSchedule(trigger: ArmedTrigger): Promise<void> {
    const schedule = trigger.schedule;
    if (!schedule) return;
    if (/^rate\(\d+ seconds?\)$/.test(schedule.expression)) {
      throw new Error(`EventBridge Scheduler has no second schedules (${schedule.expression}).`);
    }
    const target = this.target();
    const oneTime = 'at' in schedule.local;
    const input: CreateScheduleCommandInput = {
      Name: trigger.triggerId,
      GroupName: this.config.scheduleGroup,
      Description: `Sluice trigger ${trigger.name}`,
      ScheduleExpression: schedule.expression,
      ScheduleExpressionTimezone: schedule.timezone,
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: trigger.enabled ? 'ENABLED' : 'DISABLED',
      // A one-time schedule removes itself once it has run; the trigger is switched off by the firing.
      ActionAfterCompletion: oneTime ? 'DELETE' : 'NONE',
      Target: {
        Arn: target.fireFunctionArn,
        RoleArn: target.schedulerRoleArn,
        // Scheduler fills in its context attributes: one execution id per scheduled invocation.
        Input: JSON.stringify({
          triggerId: trigger.triggerId,
          eventId: '<aws.scheduler.execution-id>',
          time: '<aws.scheduler.scheduled-time>',
        }),
        RetryPolicy: { ...RETRY_POLICY },
        DeadLetterConfig: { Arn: target.deadLetterQueueArn },
      },
    };
    try {
      await this.scheduler.send(new CreateScheduleCommand(input));
    } catch (error) {
      if (errorName(error) !== 'ConflictException') throw error;
      await this.scheduler.send(new UpdateScheduleCommand(input));
    }
  }

  private async putRule(trigger: ArmedTrigger): Promise<void> {
    const target = this.target();
    const rule = { Name: this.ruleName(trigger.triggerId), EventBusName: this.config.eventBus };
    await this.events.send(
      new PutRuleCommand({
        ...rule,
        Description: `Sluice trigger ${trigger.name}`,
        EventPattern: JSON.stringify(trigger.pattern),
        State: trigger.enabled ? 'ENABLED' : 'DISABLED',
      }),
    );
    const out = await this.events.send(
      new PutTargetsCommand({
        Rule: rule.Name,
        EventBusName: rule.EventBusName,
        Targets: [
          {
            Id: RULE_TARGET_ID,
            Arn: target.fireFunctionArn,
            // The trigger id, the event id (one run per event) and what happened, for the logs.
            InputTransformer: {
              InputPathsMap: {
                id: '$.id',
                time: '$.time',
                source: '$.source',
                detailType: '$.detail-type',
                detail: '$.detail',
              },
              InputTemplate: `{"triggerId":${JSON.stringify(trigger.triggerId)},"eventId":<id>,"time":<time>,"source":<source>,"detailType":<detailType>,"detail":<detail>}`,
            },
            RetryPolicy: { ...RETRY_POLICY },
            DeadLetterConfig: { Arn: target.deadLetterQueueArn },
          },
        ],
      }),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const entry = out.FailedEntries?.[0];
      throw new Error(
        `PutTargets rejected the target: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`,
      );
    }
  }
}

export function createAwsTriggerRuntime(settings: Settings): AwsTriggerRuntime {
  const region = settings.storage.region;
  return new AwsTriggerRuntime(
    tracer.captureAWSv3Client(new SchedulerClient({ region })),
    tracer.captureAWSv3Client(new EventBridgeClient({ region })),
    requireSettings(settings.triggerRules, {
      scheduleGroup: SETTING.triggerScheduleGroup,
      rulePrefix: SETTING.triggerRulePrefix,
    }),
  );
}

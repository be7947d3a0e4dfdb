import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  ResourceNotFoundException as RuleNotFound,
} from '@aws-sdk/client-eventbridge';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException as ScheduleNotFound,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsTriggerRuntime, type TriggerRulesConfig } from '#core/triggers/aws';
import type { ArmedTrigger } from '#core/triggers/runtime';

const scheduler = mockClient(SchedulerClient);
const events = mockClient(EventBridgeClient);

const FIRE = 'arn:aws:lambda:ap-northeast-2:123456789012:function:Sluice-TriggersFire';
const ROLE = 'arn:aws:iam::123456789012:role/Sluice-TriggersSchedulerRole';
const DLQ = 'arn:aws:sqs:ap-northeast-2:123456789012:Sluice-TriggersDeadLetterQueue';
const config: TriggerRulesConfig = {
  scheduleGroup: 'Sluice-triggers',
  rulePrefix: 'Sluice_trigger-',
  eventBus: 'default',
  fireFunctionArn: FIRE,
  schedulerRoleArn: ROLE,
  deadLetterQueueArn: DLQ,
};
const ID = 'trg-0123456789abcdefghjkmn';
const RETRY = { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 };
const meta = { $metadata: {} };

const runtime = (c: TriggerRulesConfig = config) =>
  new AwsTriggerRuntime(
    new SchedulerClient({ region: 'ap-northeast-2' }),
    new EventBridgeClient({ region: 'ap-northeast-2' }),
    c,
  );
const inputOf = (mock: typeof scheduler | typeof events, command: unknown, index = 0) =>
  (mock.commandCalls(command as never)[index]?.args[0] as { input: unknown } | undefined)?.input;

const daily: ArmedTrigger = {
  triggerId: ID,
  name: 'nightly_load',
  enabled: true,
  schedule: { expression: 'cron(30 2 * * ? *)', timezone: 'Asia/Seoul', local: { cron: '0 30 2 * * *' } },
};

beforeEach(() => {
  scheduler.reset();
  events.reset();
});

describe('the AWS trigger runtime', () => {
  it('creates a schedule in the group that invokes the fire function with retries and a DLQ', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await runtime().register(daily);

    expect(inputOf(scheduler, CreateScheduleCommand)).toEqual({
      Name: ID,
      GroupName: 'Sluice-triggers',
      Description: 'Sluice trigger nightly_load',
      ScheduleExpression: 'cron(30 2 * * ? *)',
      ScheduleExpressionTimezone: 'Asia/Seoul',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
      Target: {
        Arn: FIRE,
        RoleArn: ROLE,
        Input: JSON.stringify({
          triggerId: ID,
          eventId: '<aws.scheduler.execution-id>',
          time: '<aws.scheduler.scheduled-time>',
        }),
        RetryPolicy: RETRY,
        DeadLetterConfig: { Arn: DLQ },
      },
    });
    expect(events.calls()).toHaveLength(0);
  });

  it('replaces an existing schedule of the same trigger', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(new ConflictException({ message: 'exists', Message: 'exists', ...meta }));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await runtime().register({ ...daily, enabled: false });

    expect(inputOf(scheduler, UpdateScheduleCommand)).toMatchObject({
      Name: ID,
      GroupName: 'Sluice-triggers',
      State: 'DISABLED',
    });
  });

  it('lets a one-time schedule delete itself after it ran', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    await runtime().register({
      ...daily,
      schedule: {
        expression: 'at(2030-01-02T03:04:05)',
        timezone: 'UTC',
        local: { at: '2030-01-02T03:04:05.000Z' },
      },
    });

    expect(inputOf(scheduler, CreateScheduleCommand)).toMatchObject({
      ScheduleExpression: 'at(2030-01-02T03:04:05)',
      ActionAfterCompletion: 'DELETE',
    });
  });

  it('refuses second schedules, which EventBridge Scheduler does not have', async () => {
    await expect(
      runtime().register({
        ...daily,
        schedule: {
          expression: 'rate(2 seconds)',
          timezone: 'UTC',
          local: { cron: '* * * * * *', interval: 2 },
        },
      }),
    ).rejects.toThrow(/no second schedules/);
    expect(scheduler.calls()).toHaveLength(0);
  });

  it('puts a rule with the pattern on the default bus, targeting the fire function with the event', async () => {
    events.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    events.on(PutTargetsCommand).resolves({ FailedEntryCount: 0, FailedEntries: [] });
    const pattern = {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['landing'] }, object: { key: [{ prefix: 'in/' }] } },
    };

    await runtime().register({ triggerId: ID, name: 'on_upload', enabled: true, pattern });

    expect(inputOf(events, PutRuleCommand)).toEqual({
      Name: `Sluice_trigger-${ID}`,
      EventBusName: 'default',
      Description: 'Sluice trigger on_upload',
      EventPattern: JSON.stringify(pattern),
      State: 'ENABLED',
    });
    expect(inputOf(events, PutTargetsCommand)).toEqual({
      Rule: `Sluice_trigger-${ID}`,
      EventBusName: 'default',
      Targets: [
        {
          Id: 'fire',
          Arn: FIRE,
          InputTransformer: {
            InputPathsMap: {
              id: '$.id',
              time: '$.time',
              source: '$.source',
              detailType: '$.detail-type',
              detail: '$.detail',
            },
            InputTemplate: `{"triggerId":"${ID}","eventId":<id>,"time":<time>,"source":<source>,"detailType":<detailType>,"detail":<detail>}`,
          },
          RetryPolicy: RETRY,
          DeadLetterConfig: { Arn: DLQ },
        },
      ],
    });
    expect(scheduler.calls()).toHaveLength(0);
  });

  it('fails when EventBridge rejects the target', async () => {
    events.on(PutRuleCommand).resolves({ RuleArn: 'arn:rule' });
    events.on(PutTargetsCommand).resolves({
      FailedEntryCount: 1,
      FailedEntries: [{ TargetId: 'fire', ErrorCode: 'ValidationException', ErrorMessage: 'bad arn' }],
    });

    await expect(
      runtime().register({
        triggerId: ID,
        name: 'on_upload',
        enabled: true,
        pattern: { source: ['aws.s3'] },
      }),
    ).rejects.toThrow(/ValidationException bad arn/);
  });

  it('removes the schedule, the rule target and the rule, whichever exist', async () => {
    scheduler.on(DeleteScheduleCommand).resolves({});
    events.on(RemoveTargetsCommand).rejects(new RuleNotFound({ message: 'no rule', ...meta }));
    events.on(DeleteRuleCommand).rejects(new RuleNotFound({ message: 'no rule', ...meta }));

    await runtime().unregister(ID);

    expect(inputOf(scheduler, DeleteScheduleCommand)).toEqual({ Name: ID, GroupName: 'Sluice-triggers' });
    expect(inputOf(events, RemoveTargetsCommand)).toEqual({
      Rule: `Sluice_trigger-${ID}`,
      EventBusName: 'default',
      Ids: ['fire'],
    });
    expect(inputOf(events, DeleteRuleCommand)).toEqual({
      Name: `Sluice_trigger-${ID}`,
      EventBusName: 'default',
    });
  });

  it('treats a missing schedule as removed, but not other errors', async () => {
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(new ScheduleNotFound({ message: 'gone', Message: 'gone', ...meta }));
    events.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
    events.on(DeleteRuleCommand).resolves({});
    await runtime().unregister(ID);

    scheduler.on(DeleteScheduleCommand).rejects(new Error('throttled'));
    await expect(runtime().unregister(ID)).rejects.toThrow('throttled');
  });

  it('removes triggers without the target settings, but needs them to arm one', async () => {
    const removeOnly: TriggerRulesConfig = {
      ...config,
      fireFunctionArn: undefined,
      schedulerRoleArn: undefined,
    };
    scheduler.on(DeleteScheduleCommand).resolves({});
    events.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
    events.on(DeleteRuleCommand).resolves({});

    await runtime(removeOnly).unregister(ID);
    await expect(runtime(removeOnly).register(daily)).rejects.toThrow(
      /SLUICE_TRIGGER_FIRE_ARN, SLUICE_TRIGGER_SCHEDULER_ROLE_ARN/,
    );
  });
});

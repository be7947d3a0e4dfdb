import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
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
import { SFNClient, StartExecutionCommand, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// The stores' settings, parsed once when the first service module loads: set before any import.
vi.hoisted(() => {
  process.env.SLUICE_TABLE = 'Sluice-Table';
  process.env.SLUICE_DATA_BUCKET = 'sluice-data';
  process.env.SLUICE_WORKFLOW_STEP_ARN =
    'arn:aws:lambda:ap-northeast-2:123456789012:function:Sluice-WorkflowStep';
  delete process.env.SLUICE_ALLOW_SECOND_SCHEDULES;
});

import { AwsTriggerRuntime, type TriggerRulesConfig } from '#core/triggers/aws';
import type { ArmedTrigger } from '#core/triggers/runtime';

const scheduler = mockClient(SchedulerClient);
const events = mockClient(EventBridgeClient);
const ddb = mockClient(DynamoDBDocumentClient);
/** The delivery records (Powertools idempotency writes them with the low-level client). */
const dynamodb = mockClient(DynamoDBClient);
const sfn = mockClient(SFNClient);

const { fireTrigger } = await import('#core/triggers/fire');
const { createTrigger } = await import('#core/triggers/triggers');
const { runOn } = await import('#core/platform/platform');
const { testPlatform } = await import('./test-platform.ts');
const { SfnEngine } = await import('#core/engine/sfn');

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
  ddb.reset();
  dynamodb.reset();
  sfn.reset();
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

// ---------------------------------------------------------------------------------------------
// What a trigger starts is resolved by the fire function, not by its schedule.

const WORKFLOW = 'wf-0123456789abcdefghjkmnpq';
const JOB = 'pl-0123456789abcdefghjkmnpq';
const STATE_MACHINES = 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:';
const WORKFLOW_VERSION = `${STATE_MACHINES}Sluice_${WORKFLOW}:1`;
const CREATED = '2025-03-01T00:00:00.000Z';

/** A SCHEDULED trigger as stored, with no target of its own. */
const storedTrigger = {
  pk: `TRIGGER#${ID}`,
  sk: 'META',
  id: ID,
  name: 'hourly_load',
  description: '',
  type: 'SCHEDULED',
  trigger_rule: { type: 'RECURRING', interval: 'HOUR', time: '15' },
  timezone: 'UTC',
  schedule: { expression: 'cron(15 * * * ? *)', timezone: 'UTC', local: { cron: '0 15 * * * *' } },
  on_busy: 'QUEUE',
  enabled: true,
  created_at: CREATED,
  updated_at: CREATED,
  created_by: 'admin',
};

/** Data Flow's workflow: the trigger's node, then the job's node with its jobCondition. */
const storedWorkflow = {
  pk: `WF#${WORKFLOW}`,
  sk: 'META',
  id: WORKFLOW,
  name: 'workflow001',
  description: '',
  is_temp: false,
  nodes: [
    { id: ID, name: 'hourly_load', type: 'TRIGGER', parentNodeIds: [], triggerId: ID },
    {
      id: JOB,
      name: 'job001',
      type: 'JOB',
      parentNodeIds: [ID],
      jobId: JOB,
      jobCondition: { workerType: 'DEFAULT', numWorker: 3, timeout: 30 },
    },
  ],
  created_at: CREATED,
  updated_at: CREATED,
  created_by: 'admin',
};

const storedJob = {
  pk: `PL#${JOB}`,
  sk: 'META',
  id: JOB,
  name: 'job001',
  version: 1,
  valid: true,
  timeout_minutes: 360,
  num_workers: 2,
  max_concurrent_runs: 1,
  active_runs: 0,
};

const commandInput = <T>(mock: typeof ddb | typeof dynamodb | typeof sfn, command: unknown, index = 0) =>
  (mock.commandCalls(command as never)[index]?.args[0] as { input: T } | undefined)?.input;

describe('triggers on AWS', () => {
  it('arm a SCHEDULED trigger that has no target: its schedule targets the fire function', async () => {
    ddb.on(PutCommand).resolves({});
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    const created = await runOn(testPlatform({ triggers: runtime() }), () =>
      createTrigger(
        {
          name: 'trigger001',
          type: 'SCHEDULED',
          triggerRule: { type: 'RECURRING', interval: 'DAY', time: '10:00' },
        },
        { username: 'admin' },
      ),
    );

    expect(created.target).toBeNull();
    expect(inputOf(scheduler, CreateScheduleCommand)).toMatchObject({
      Name: created.triggerId,
      GroupName: 'Sluice-triggers',
      ScheduleExpression: 'cron(0 10 * * ? *)',
      State: 'ENABLED',
      Target: { Arn: FIRE, RoleArn: ROLE, DeadLetterConfig: { Arn: DLQ } },
    });
  });

  it('start, when fired, each workflow whose TRIGGER node names them, found by one Query', async () => {
    const engine = new SfnEngine(new SFNClient({ region: 'ap-northeast-2' }), {
      stateMachinePrefix: 'Sluice_',
      stateMachineArnBase: STATE_MACHINES,
      roleArn: 'arn:aws:iam::123456789012:role/Sluice-States',
      logGroupArn: 'arn:aws:logs:ap-northeast-2:123456789012:log-group:/sluice/states:*',
      workflowRoleArn: 'arn:aws:iam::123456789012:role/Sluice-WorkflowStates',
    });
    ddb.on(GetCommand).resolves({});
    ddb.on(GetCommand, { Key: { pk: `TRIGGER#${ID}`, sk: 'META' } }).resolves({ Item: storedTrigger });
    ddb.on(GetCommand, { Key: { pk: `WF#${WORKFLOW}`, sk: 'META' } }).resolves({ Item: storedWorkflow });
    ddb.on(GetCommand, { Key: { pk: `PL#${JOB}`, sk: 'META' } }).resolves({ Item: storedJob });
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb
      .on(QueryCommand, { IndexName: 'gsi2', ExpressionAttributeValues: { ':pk': `TRIGGERWORKFLOWS#${ID}` } })
      .resolves({ Items: [{ workflow_id: WORKFLOW, trigger_id: ID }] });
    ddb.on(PutCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    dynamodb.on(PutItemCommand).resolves({});
    dynamodb.on(UpdateItemCommand).resolves({});
    sfn
      .on(UpdateStateMachineCommand)
      .resolves({ stateMachineVersionArn: WORKFLOW_VERSION, updateDate: new Date() });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });

    const outcome = await runOn(testPlatform({ engine }), () =>
      fireTrigger(ID, { kind: 'schedule', id: 'delivery-1' }),
    );

    // Resolved by a Query of the workflows-by-trigger index, never a Scan.
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(0);
    expect(commandInput(ddb, QueryCommand)).toMatchObject({
      TableName: 'Sluice-Table',
      IndexName: 'gsi2',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'gsi2pk' },
      ExpressionAttributeValues: { ':pk': `TRIGGERWORKFLOWS#${ID}` },
    });
    // One claim of the delivery for this workflow, completed once it started, then the execution
    // with the node's jobCondition.
    expect(commandInput(dynamodb, PutItemCommand)).toMatchObject({
      TableName: 'Sluice-Table',
      Item: {
        pk: { S: 'IDEMPOTENCY#trigger-fire' },
        sk: { S: expect.stringMatching(/^trigger-fire#/) },
        status: { S: 'INPROGRESS' },
      },
      ConditionExpression: expect.stringContaining('attribute_not_exists(#id)'),
    });
    expect(commandInput(dynamodb, UpdateItemCommand)).toMatchObject({
      ExpressionAttributeValues: { ':status': { S: 'COMPLETED' } },
    });
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item as Record<string, any>);
    expect(puts[0]).toMatchObject({
      workflow_id: WORKFLOW,
      trigger_id: ID,
      trigger_name: 'hourly_load',
      created_by: 'trigger:hourly_load',
      plan: [{ key: JOB, jobId: JOB, jobCondition: { workerType: 'DEFAULT', numWorker: 3, timeout: 30 } }],
    });
    // The job's Task waits for the node's 30 minutes (plus the start margin), not the job's 360.
    const definition = JSON.parse(
      commandInput<{ definition: string }>(sfn, UpdateStateMachineCommand)?.definition ?? '{}',
    );
    const run = Object.values(definition.States as Record<string, any>).find(
      (state) => state.Resource === 'arn:aws:states:::states:startExecution.sync:2',
    );
    expect(run?.TimeoutSeconds).toBe(30 * 60 + 600);
    const start = commandInput<{ stateMachineArn: string; name: string; input: string }>(
      sfn,
      StartExecutionCommand,
    );
    expect(start?.stateMachineArn).toBe(WORKFLOW_VERSION);
    expect(JSON.parse(start?.input ?? '{}')).toEqual({
      workflow_execution_id: puts[0]?.id,
      workflow_id: WORKFLOW,
    });
    expect(outcome).toEqual({
      fired: true,
      targets: [
        { type: 'WORKFLOW', workflowId: WORKFLOW, started: true, executionId: puts[0]?.id, status: 'READY' },
      ],
    });
    // The firing is recorded on the trigger.
    const updates = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates.at(-1)).toMatchObject({
      Key: { pk: `TRIGGER#${ID}`, sk: 'META' },
      ExpressionAttributeValues: { ':batch': puts[0]?.id },
    });
  });

  it('start nothing, and stay armed, when no target and no workflow names them', async () => {
    ddb.on(GetCommand, { Key: { pk: `TRIGGER#${ID}`, sk: 'META' } }).resolves({ Item: storedTrigger });
    ddb.on(QueryCommand).resolves({ Items: [] });

    const outcome = await runOn(testPlatform(), () =>
      fireTrigger(ID, { kind: 'schedule', id: 'delivery-2' }),
    );

    expect(outcome).toEqual({ fired: false, reason: 'no-target' });
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(dynamodb.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
    expect(scheduler.calls()).toHaveLength(0);
  });
});

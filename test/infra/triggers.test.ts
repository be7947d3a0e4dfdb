import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EVENTBRIDGE_NAME_MAX_LENGTH,
  TRIGGER_ID_LENGTH,
  triggerRulePrefix,
  triggerScheduleGroupName,
} from '#lib/triggers';
import {
  asArray,
  environmentOf,
  policyDocument,
  policyStatements,
  removeAssemblies,
  resourcesOfType,
  type Statement,
  synthesize,
} from './synth.ts';

let template: Template;

beforeAll(() => {
  template = synthesize({ props: { externalBuckets: ['raw-landing-zone'] } }).template;
}, 60_000);

afterAll(removeAssemblies);

type Resource = ReturnType<typeof resourcesOfType>[string];

function resource(type: string, prefix: string): [string, Resource] {
  const found = Object.entries(resourcesOfType(template, type)).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.length}`);
  return found[0] as [string, Resource];
}

function statementsOfRole(rolePrefix: string): Statement[] {
  const [roleId] = resource('AWS::IAM::Role', rolePrefix);
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policyDocument(policy).Statement);
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => asArray(s.Action));
const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => asArray(s.Action).includes(action));

/** `arn:${Partition}:<service>:${Region}:${AccountId}:<rest>` as the template renders it. */
const arn = (service: string, rest: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      rest,
    ],
  ],
});
const SCHEDULES = arn('scheduler', ':schedule/SluiceTest-triggers/*');
const RULES = arn('events', ':rule/SluiceTest_trigger-*');
const DEFAULT_BUS = arn('events', ':event-bus/default');

const fireFunctionId = () => resource('AWS::Lambda::Function', 'TriggersFireFunction')[0];
const queueId = () => resource('AWS::SQS::Queue', 'TriggersDeadLetterQueue')[0];

describe('trigger names', () => {
  it('put schedules in the stack’s group and prefix rules with the stack name and an underscore', () => {
    expect(triggerScheduleGroupName('Sluice')).toBe('Sluice-triggers');
    expect(triggerRulePrefix('Sluice')).toBe('Sluice_trigger-');
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'SluiceTest-triggers' });
  });

  it('leave room for a trigger id within EventBridge’s 64-character limits', () => {
    const long = 'S'.repeat(128);
    expect(triggerScheduleGroupName(long).length).toBe(EVENTBRIDGE_NAME_MAX_LENGTH);
    expect(triggerRulePrefix(long).length + TRIGGER_ID_LENGTH).toBe(EVENTBRIDGE_NAME_MAX_LENGTH);
  });
});

describe('trigger-fire function', () => {
  it('has a dead-letter queue for failed invocations, 512 MB and one minute', () => {
    const [, fn] = resource('AWS::Lambda::Function', 'TriggersFireFunction');
    expect(fn.Properties).toMatchObject({
      MemorySize: 512,
      Timeout: 60,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId(), 'Arn'] } },
    });
  });

  it('may be invoked by this stack’s trigger rules only', () => {
    const permissions = Object.values(resourcesOfType(template, 'AWS::Lambda::Permission')).filter((p) =>
      JSON.stringify(p.Properties?.FunctionName).includes(fireFunctionId()),
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fireFunctionId(), 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: RULES,
      },
    ]);
  });

  it('starts runs like the pipelines area and may only remove trigger schedules and rules', () => {
    const statements = statementsOfRole('TriggersFireFunctionRole');
    expect(actionsOf(statements)).toEqual(
      expect.arrayContaining(['states:StartExecution', 'states:CreateStateMachine']),
    );
    expect(withAction(statements, 'scheduler:DeleteSchedule').map((s) => s.Resource)).toEqual([SCHEDULES]);
    expect(actionsOf(statements).filter((a) => a.startsWith('scheduler:'))).toEqual([
      'scheduler:DeleteSchedule',
    ]);
    const ruleActions = actionsOf(statements).filter(
      (a) => a.startsWith('events:') && a !== 'events:PutEvents',
    );
    expect(ruleActions.sort()).toEqual(['events:DeleteRule', 'events:RemoveTargets']);
    expect(withAction(statements, 'events:DeleteRule').map((s) => s.Resource)).toEqual([RULES]);
  });

  it('cannot pass the scheduler role nor learn the target settings', () => {
    const [schedulerRoleId] = resource('AWS::IAM::Role', 'TriggersSchedulerRole');
    const passed = withAction(statementsOfRole('TriggersFireFunctionRole'), 'iam:PassRole');
    expect(JSON.stringify(passed)).not.toContain(schedulerRoleId);
    const [, fn] = resource('AWS::Lambda::Function', 'TriggersFireFunction');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_TRIGGER_SCHEDULE_GROUP: 'SluiceTest-triggers',
      SLUICE_TRIGGER_RULE_PREFIX: 'SluiceTest_trigger-',
      SLUICE_TRIGGER_EVENT_BUS: 'default',
    });
    expect(environmentOf(fn).SLUICE_TRIGGER_FIRE_ARN).toBeUndefined();
  });
});

describe('scheduler role', () => {
  it('is assumed by EventBridge Scheduler for this stack’s schedule group only', () => {
    const [groupId] = resource('AWS::Scheduler::ScheduleGroup', 'TriggersScheduleGroup');
    const [, role] = resource('AWS::IAM::Role', 'TriggersSchedulerRole');
    expect(role.Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: {
              'aws:SourceAccount': { Ref: 'AWS::AccountId' },
              'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] },
            },
          },
        },
      ],
    });
  });

  it('may invoke the trigger-fire function and dead-letter to its queue, nothing else', () => {
    const statements = statementsOfRole('TriggersSchedulerRole');
    expect(statements.map((s) => ({ Action: s.Action, Resource: s.Resource }))).toEqual([
      { Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fireFunctionId(), 'Arn'] } },
      { Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId(), 'Arn'] } },
    ]);
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and accepts messages from this stack’s trigger rules only, over TLS', () => {
    const [, queue] = resource('AWS::SQS::Queue', 'TriggersDeadLetterQueue');
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    const [, policy] = resource('AWS::SQS::QueuePolicy', 'TriggersDeadLetterQueuePolicy');
    const statements = policyDocument(policy).Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Condition: { ArnLike: { 'aws:SourceArn': RULES } },
        }),
      ]),
    );
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
  });
});

describe('triggers area', () => {
  it('gets the trigger settings and the buckets that object events may name', () => {
    const [schedulerRoleId] = resource('AWS::IAM::Role', 'TriggersSchedulerRole');
    const [, fn] = resource('AWS::Lambda::Function', 'ApiTriggersFunction');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_BUCKETS: 'raw-landing-zone',
      SLUICE_TRIGGER_SCHEDULE_GROUP: 'SluiceTest-triggers',
      SLUICE_TRIGGER_RULE_PREFIX: 'SluiceTest_trigger-',
      SLUICE_TRIGGER_EVENT_BUS: 'default',
      SLUICE_TRIGGER_FIRE_ARN: { 'Fn::GetAtt': [fireFunctionId(), 'Arn'] },
      SLUICE_TRIGGER_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] },
      SLUICE_TRIGGER_DLQ_ARN: { 'Fn::GetAtt': [queueId(), 'Arn'] },
    });
  });

  it('may pass only the scheduler role, and only to EventBridge Scheduler', () => {
    const [schedulerRoleId] = resource('AWS::IAM::Role', 'TriggersSchedulerRole');
    const passes = withAction(statementsOfRole('ApiTriggersFunctionRole'), 'iam:PassRole');
    expect(passes.map((s) => ({ Resource: s.Resource, Condition: s.Condition }))).toEqual([
      {
        Resource: { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('manages schedules in its group and rules with its prefix only', () => {
    const statements = statementsOfRole('ApiTriggersFunctionRole');
    const scheduler = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('scheduler:')));
    expect(scheduler.map((s) => s.Resource)).toEqual([SCHEDULES]);
    expect(asArray(scheduler[0]?.Action).sort()).toEqual([
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
      'scheduler:UpdateSchedule',
    ]);
    const rules = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('events:')));
    expect(rules.map((s) => s.Resource)).toEqual([RULES]);
    expect(asArray(rules[0]?.Action).sort()).toEqual([
      'events:DeleteRule',
      'events:PutRule',
      'events:PutTargets',
      'events:RemoveTargets',
    ]);
  });

  it('starts no runs itself', () => {
    const actions = actionsOf(statementsOfRole('ApiTriggersFunctionRole'));
    expect(actions.filter((a) => a.startsWith('states:'))).toEqual([]);
  });
});

describe('rule targets', () => {
  it('every rule of the stack retries and has a dead-letter queue', () => {
    const rules = Object.entries(resourcesOfType(template, 'AWS::Events::Rule'));
    expect(rules.length).toBeGreaterThan(0);
    for (const [id, rule] of rules) {
      const targets = (rule.Properties?.Targets ?? []) as Record<string, unknown>[];
      expect(targets.length, id).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.DeadLetterConfig, id).toEqual({ Arn: expect.anything() });
        expect(target.RetryPolicy, id).toEqual(
          expect.objectContaining({ MaximumRetryAttempts: expect.any(Number) }),
        );
      }
    }
  });
});

describe('Sluice events', () => {
  const PUBLISHERS = [
    'EngineStepWorkerRole',
    'EngineFinalizerRole',
    'ApiPipelinesFunctionRole',
    'ApiJobsFunctionRole',
    'ApiIngestFunctionRole',
    'UploadIngestFunctionRole',
    'TriggersFireFunctionRole',
  ];

  it('are published by the functions that finish batches or publish dataset versions', () => {
    for (const role of PUBLISHERS) {
      expect(withAction(statementsOfRole(role), 'events:PutEvents'), role).toHaveLength(1);
    }
    for (const prefix of [
      'EngineStepWorker',
      'EngineFinalizer',
      'ApiPipelinesFunction',
      'TriggersFireFunction',
    ]) {
      const [, fn] = resource('AWS::Lambda::Function', prefix);
      expect(environmentOf(fn).SLUICE_EVENT_BUS, prefix).toBe('default');
    }
  });

  it('go to the default bus only, with Sluice’s sources only', () => {
    const puts = policyStatements(template).filter(({ statement }) =>
      asArray(statement.Action).includes('events:PutEvents'),
    );
    expect(puts.length).toBeGreaterThanOrEqual(PUBLISHERS.length);
    for (const { policy, statement } of puts) {
      expect(statement.Resource, policy).toEqual(DEFAULT_BUS);
      expect(statement.Condition, policy).toEqual({
        StringEquals: { 'events:source': ['sluice.pipelines', 'sluice.catalog'] },
      });
    }
  });
});

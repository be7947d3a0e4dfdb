import { describe, expect, it } from 'vitest';
import {
  EVENTBRIDGE_NAME_MAX_LENGTH,
  TRIGGER_ID_LENGTH,
  triggerRulePrefix,
  triggerScheduleGroupName,
} from '#lib/triggers';
import {
  actionsOf,
  asArray,
  environmentOf,
  policyDocument,
  policyStatements,
  regionalArn,
  resource,
  resourcesOfType,
  statementsOfRole,
  statementsWith,
  synthesizeBeforeAll,
} from './synth.ts';

const synth = synthesizeBeforeAll({ props: { externalBuckets: ['raw-landing-zone'] } });

const SCHEDULES = regionalArn('scheduler', ':schedule/SluiceTest-triggers/*');
const RULES = regionalArn('events', ':rule/SluiceTest_trigger-*');
const DEFAULT_BUS = regionalArn('events', ':event-bus/default');

const fireFunctionId = () => resource(synth.template, 'AWS::Lambda::Function', 'TriggersFireFunction')[0];
const queueId = () => resource(synth.template, 'AWS::SQS::Queue', 'TriggersDeadLetterQueue')[0];

describe('trigger names', () => {
  it('put schedules in the stack’s group and prefix rules with the stack name and an underscore', () => {
    expect(triggerScheduleGroupName('Sluice')).toBe('Sluice-triggers');
    expect(triggerRulePrefix('Sluice')).toBe('Sluice_trigger-');
    synth.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'SluiceTest-triggers' });
  });

  it('leave room for a trigger id within EventBridge’s 64-character limits', () => {
    const long = 'S'.repeat(128);
    expect(triggerScheduleGroupName(long).length).toBe(EVENTBRIDGE_NAME_MAX_LENGTH);
    expect(triggerRulePrefix(long).length + TRIGGER_ID_LENGTH).toBe(EVENTBRIDGE_NAME_MAX_LENGTH);
  });
});

describe('trigger-fire function', () => {
  it('has a dead-letter queue for failed invocations, 512 MB and one minute', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'TriggersFireFunction');
    expect(fn.Properties).toMatchObject({
      MemorySize: 512,
      Timeout: 60,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId(), 'Arn'] } },
    });
  });

  it('may be invoked by this stack’s trigger rules only', () => {
    const permissions = Object.values(resourcesOfType(synth.template, 'AWS::Lambda::Permission')).filter(
      (p) => JSON.stringify(p.Properties?.FunctionName).includes(fireFunctionId()),
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
    const statements = statementsOfRole(synth.template, 'TriggersFireFunctionRole');
    expect(actionsOf(statements)).toEqual(
      expect.arrayContaining(['states:StartExecution', 'states:CreateStateMachine']),
    );
    expect(statementsWith(statements, 'scheduler:DeleteSchedule').map((s) => s.Resource)).toEqual([
      SCHEDULES,
    ]);
    expect(actionsOf(statements).filter((a) => a.startsWith('scheduler:'))).toEqual([
      'scheduler:DeleteSchedule',
    ]);
    const ruleActions = actionsOf(statements).filter(
      (a) => a.startsWith('events:') && a !== 'events:PutEvents',
    );
    expect(ruleActions.sort()).toEqual(['events:DeleteRule', 'events:RemoveTargets']);
    expect(statementsWith(statements, 'events:DeleteRule').map((s) => s.Resource)).toEqual([RULES]);
  });

  it('resolves and starts the workflows that name a trigger: queries the table indexes, knows the workflow settings', () => {
    const statements = statementsOfRole(synth.template, 'TriggersFireFunctionRole');
    // The workflows-by-trigger index is a Query of gsi2.
    const queries = statementsWith(statements, 'dynamodb:Query');
    expect(JSON.stringify(queries.map((s) => s.Resource))).toContain('/index/gsi2');
    const states = statements.filter((s) => asArray(s.Action).includes('states:StartExecution'));
    expect(JSON.stringify(states.map((s) => s.Resource))).toContain(':stateMachine:SluiceTest_wf-*');
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'TriggersFireFunction');
    const [stepId] = resource(synth.template, 'AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    const [roleId] = resource(synth.template, 'AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_WORKFLOW_STEP_ARN: { 'Fn::GetAtt': [stepId, 'Arn'] },
      SLUICE_WORKFLOW_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
    });
  });

  it('cannot pass the scheduler role nor learn the target settings', () => {
    const [schedulerRoleId] = resource(synth.template, 'AWS::IAM::Role', 'TriggersSchedulerRole');
    const passed = statementsWith(
      statementsOfRole(synth.template, 'TriggersFireFunctionRole'),
      'iam:PassRole',
    );
    expect(JSON.stringify(passed)).not.toContain(schedulerRoleId);
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'TriggersFireFunction');
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
    const [groupId] = resource(synth.template, 'AWS::Scheduler::ScheduleGroup', 'TriggersScheduleGroup');
    const [, role] = resource(synth.template, 'AWS::IAM::Role', 'TriggersSchedulerRole');
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
    const statements = statementsOfRole(synth.template, 'TriggersSchedulerRole');
    expect(statements.map((s) => ({ Action: s.Action, Resource: s.Resource }))).toEqual([
      { Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fireFunctionId(), 'Arn'] } },
      { Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId(), 'Arn'] } },
    ]);
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and accepts messages from this stack’s trigger rules only, over TLS', () => {
    const [, queue] = resource(synth.template, 'AWS::SQS::Queue', 'TriggersDeadLetterQueue');
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    const [, policy] = resource(synth.template, 'AWS::SQS::QueuePolicy', 'TriggersDeadLetterQueuePolicy');
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
    const [schedulerRoleId] = resource(synth.template, 'AWS::IAM::Role', 'TriggersSchedulerRole');
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'ApiTriggersFunction');
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
    const [schedulerRoleId] = resource(synth.template, 'AWS::IAM::Role', 'TriggersSchedulerRole');
    const passes = statementsWith(
      statementsOfRole(synth.template, 'ApiTriggersFunctionRole'),
      'iam:PassRole',
    );
    expect(passes.map((s) => ({ Resource: s.Resource, Condition: s.Condition }))).toEqual([
      {
        Resource: { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
  });

  it('manages schedules in its group and rules with its prefix only', () => {
    const statements = statementsOfRole(synth.template, 'ApiTriggersFunctionRole');
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
    const actions = actionsOf(statementsOfRole(synth.template, 'ApiTriggersFunctionRole'));
    expect(actions.filter((a) => a.startsWith('states:'))).toEqual([]);
  });
});

describe('rule targets', () => {
  it('every rule of the stack retries and has a dead-letter queue', () => {
    const rules = Object.entries(resourcesOfType(synth.template, 'AWS::Events::Rule'));
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
      expect(statementsWith(statementsOfRole(synth.template, role), 'events:PutEvents'), role).toHaveLength(
        1,
      );
    }
    for (const prefix of [
      'EngineStepWorker',
      'EngineFinalizer',
      'ApiPipelinesFunction',
      'TriggersFireFunction',
    ]) {
      const [, fn] = resource(synth.template, 'AWS::Lambda::Function', prefix);
      expect(environmentOf(fn).SLUICE_EVENT_BUS, prefix).toBe('default');
    }
  });

  it('go to the default bus only, with Sluice’s sources only', () => {
    const puts = policyStatements(synth.template).filter(({ statement }) =>
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

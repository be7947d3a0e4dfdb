import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asArray,
  environmentOf,
  policyDocument,
  removeAssemblies,
  resourcesOfType,
  type Statement,
  synthesize,
} from './synth.ts';

let template: Template;

beforeAll(() => {
  template = synthesize().template;
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

const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => asArray(s.Action).includes(action));

/** `arn:${Partition}:<service>:${Region}:${AccountId}<rest>` as the template renders it. */
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

describe('the workflow state machines role', () => {
  it('is assumed by Step Functions of this account only', () => {
    const [, role] = resource('AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(role.Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it('starts only pipeline state machines and their versions, never workflow ones', () => {
    const start = withAction(statementsOfRole('WorkflowsStatesRole'), 'states:StartExecution');
    expect(start).toEqual([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: [
          arn('states', ':stateMachine:SluiceTest_pl-*'),
          arn('states', ':stateMachine:SluiceTest_pl-*:*'),
        ],
      },
    ]);
  });

  it('describes and stops only executions of pipeline state machines (what .sync needs)', () => {
    const statements = statementsOfRole('WorkflowsStatesRole');
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(withAction(statements, action).map((s) => s.Resource)).toEqual([
        arn('states', ':execution:SluiceTest_pl-*:*'),
      ]);
    }
  });

  it('manages only the EventBridge rule Step Functions uses for .sync executions', () => {
    const statements = statementsOfRole('WorkflowsStatesRole');
    const rule = arn('events', ':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
    for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
      expect(withAction(statements, action).map((s) => s.Resource)).toEqual([rule]);
    }
  });

  it('invokes only the workflow-step function', () => {
    const [stepId] = resource('AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    const invoke = withAction(statementsOfRole('WorkflowsStatesRole'), 'lambda:InvokeFunction');
    expect(invoke.map((s) => s.Resource)).toEqual([
      [{ 'Fn::GetAtt': [stepId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [stepId, 'Arn'] }, ':*']] }],
    ]);
  });

  it('uses "*" only for log delivery and X-Ray', () => {
    const wildcard = statementsOfRole('WorkflowsStatesRole').filter((s) => s.Resource === '*');
    const actions = wildcard.flatMap((s) => asArray(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/^(logs:[A-Za-z]+|xray:[A-Za-z]+)$/);
  });
});

describe('the workflows area function', () => {
  it('manages only workflow state machines and passes only the workflow role', () => {
    const statements = statementsOfRole('ApiWorkflowsFunctionRole');
    const states = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('states:')));
    expect(states).toHaveLength(1);
    expect(states[0]?.Resource).toEqual([
      arn('states', ':stateMachine:SluiceTest_wf-*'),
      arn('states', ':stateMachine:SluiceTest_wf-*:*'),
    ]);
    expect(asArray(states[0]?.Action)).toContain('states:StartExecution');
    const [roleId] = resource('AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(withAction(statements, 'iam:PassRole')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
      },
    ]);
  });

  it('knows the workflow-step function and the workflow role', () => {
    const [, fn] = resource('AWS::Lambda::Function', 'ApiWorkflowsFunction');
    const [stepId] = resource('AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    const [roleId] = resource('AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_WORKFLOW_STEP_ARN: { 'Fn::GetAtt': [stepId, 'Arn'] },
      SLUICE_WORKFLOW_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
      SLUICE_STATE_MACHINE_PREFIX: 'SluiceTest_',
    });
  });
});

describe('the workflow-step function', () => {
  it('deploys and records job runs like the pipelines area, and cannot touch the workflow role', () => {
    const statements = statementsOfRole('WorkflowsWorkflowStepRole');
    const [pipelineRoleId] = resource('AWS::IAM::Role', 'EngineStatesRole');
    expect(withAction(statements, 'iam:PassRole').map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [pipelineRoleId, 'Arn'] },
    ]);
    expect(withAction(statements, 'states:CreateStateMachine')).toHaveLength(1);
    const [, fn] = resource('AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    expect(environmentOf(fn).SLUICE_STEP_WORKER_ARN).toBeDefined();
  });
});

describe('workflow executions', () => {
  it('reach the finalizer through the engine status rule (the names share its prefix)', () => {
    const [, rule] = resource('AWS::Events::Rule', 'EngineExecutionStatusRule');
    const pattern = rule.Properties?.EventPattern as {
      detail: { stateMachineArn: Array<{ prefix: unknown }> };
    };
    expect(pattern.detail.stateMachineArn).toEqual([{ prefix: arn('states', ':stateMachine:SluiceTest_') }]);
  });
});

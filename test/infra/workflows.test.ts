import { describe, expect, it } from 'vitest';
import {
  asArray,
  environmentOf,
  regionalArn,
  resource,
  statementsOfRole,
  statementsWith,
  synthesizeBeforeAll,
} from './synth.ts';

const synth = synthesizeBeforeAll();

describe('the workflow state machines role', () => {
  it('is assumed by Step Functions of this account only', () => {
    const [, role] = resource(synth.template, 'AWS::IAM::Role', 'WorkflowsStatesRole');
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
    const start = statementsWith(
      statementsOfRole(synth.template, 'WorkflowsStatesRole'),
      'states:StartExecution',
    );
    expect(start).toEqual([
      {
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: [
          regionalArn('states', ':stateMachine:SluiceTest_pl-*'),
          regionalArn('states', ':stateMachine:SluiceTest_pl-*:*'),
        ],
      },
    ]);
  });

  it('describes and stops only executions of pipeline state machines (what .sync needs)', () => {
    const statements = statementsOfRole(synth.template, 'WorkflowsStatesRole');
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      expect(statementsWith(statements, action).map((s) => s.Resource)).toEqual([
        regionalArn('states', ':execution:SluiceTest_pl-*:*'),
      ]);
    }
  });

  it('manages only the EventBridge rule Step Functions uses for .sync executions', () => {
    const statements = statementsOfRole(synth.template, 'WorkflowsStatesRole');
    const rule = regionalArn('events', ':rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
    for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
      expect(statementsWith(statements, action).map((s) => s.Resource)).toEqual([rule]);
    }
  });

  it('invokes only the workflow-step function', () => {
    const [stepId] = resource(synth.template, 'AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    const invoke = statementsWith(
      statementsOfRole(synth.template, 'WorkflowsStatesRole'),
      'lambda:InvokeFunction',
    );
    expect(invoke.map((s) => s.Resource)).toEqual([
      [{ 'Fn::GetAtt': [stepId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [stepId, 'Arn'] }, ':*']] }],
    ]);
  });

  it('uses "*" only for log delivery and X-Ray', () => {
    const wildcard = statementsOfRole(synth.template, 'WorkflowsStatesRole').filter(
      (s) => s.Resource === '*',
    );
    const actions = wildcard.flatMap((s) => asArray(s.Action));
    expect(actions.length).toBeGreaterThan(0);
    for (const action of actions) expect(action).toMatch(/^(logs:[A-Za-z]+|xray:[A-Za-z]+)$/);
  });
});

describe('the workflows area function', () => {
  it('manages only workflow state machines and passes only the workflow role', () => {
    const statements = statementsOfRole(synth.template, 'ApiWorkflowsFunctionRole');
    const states = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('states:')));
    expect(states).toHaveLength(1);
    expect(states[0]?.Resource).toEqual([
      regionalArn('states', ':stateMachine:SluiceTest_wf-*'),
      regionalArn('states', ':stateMachine:SluiceTest_wf-*:*'),
    ]);
    expect(asArray(states[0]?.Action)).toContain('states:StartExecution');
    const [roleId] = resource(synth.template, 'AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(statementsWith(statements, 'iam:PassRole')).toEqual([
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
      },
    ]);
  });

  it('knows the workflow-step function and the workflow role', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'ApiWorkflowsFunction');
    const [stepId] = resource(synth.template, 'AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    const [roleId] = resource(synth.template, 'AWS::IAM::Role', 'WorkflowsStatesRole');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_WORKFLOW_STEP_ARN: { 'Fn::GetAtt': [stepId, 'Arn'] },
      SLUICE_WORKFLOW_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
      SLUICE_STATE_MACHINE_PREFIX: 'SluiceTest_',
    });
  });
});

describe('the workflow-step function', () => {
  it('deploys and records job runs like the pipelines area, and cannot touch the workflow role', () => {
    const statements = statementsOfRole(synth.template, 'WorkflowsWorkflowStepRole');
    const [pipelineRoleId] = resource(synth.template, 'AWS::IAM::Role', 'EngineStatesRole');
    expect(statementsWith(statements, 'iam:PassRole').map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [pipelineRoleId, 'Arn'] },
    ]);
    expect(statementsWith(statements, 'states:CreateStateMachine')).toHaveLength(1);
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'WorkflowsWorkflowStep');
    expect(environmentOf(fn).SLUICE_STEP_WORKER_ARN).toBeDefined();
  });
});

describe('workflow executions', () => {
  it('reach the finalizer through the engine status rule (the names share its prefix)', () => {
    const [, rule] = resource(synth.template, 'AWS::Events::Rule', 'EngineExecutionStatusRule');
    const pattern = rule.Properties?.EventPattern as {
      detail: { stateMachineArn: Array<{ prefix: unknown }> };
    };
    expect(pattern.detail.stateMachineArn).toEqual([
      { prefix: regionalArn('states', ':stateMachine:SluiceTest_') },
    ]);
  });
});

import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
  StateMachineAlreadyExists,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  UpdateStateMachineCommand,
  ValidationException,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSfnEngine, executionArnFor } from '#core/engine/sfn';

const sfn = mockClient(SFNClient);

const config = {
  stateMachinePrefix: 'sluice-dev-',
  stateMachineArnBase: 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:',
  roleArn: 'arn:aws:iam::123456789012:role/sluice-states',
  logGroupArn: 'arn:aws:logs:ap-northeast-2:123456789012:log-group:/sluice/states:*',
};
const ARN = 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:sluice-dev-pl-1';
const LOGGING = {
  level: 'ALL',
  includeExecutionData: false,
  destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: config.logGroupArn } }],
};
const DEFINITION = '{"StartAt":"No steps","States":{"No steps":{"Type":"Succeed"}}}';
const input = { batch_id: 'batch-01', pipeline_id: 'pl-1', pipeline_version: 2 };

const meta = { $metadata: {} };
const engine = () => createSfnEngine(new SFNClient({ region: 'ap-northeast-2' }), config);
const inputOf = <T>(command: new (...args: any[]) => T, index = 0) =>
  (sfn.commandCalls(command as any)[index]?.args[0] as any)?.input;

beforeEach(() => {
  sfn.reset();
});

describe('the Step Functions engine', () => {
  it('creates the state machine on the first deploy', async () => {
    sfn
      .on(UpdateStateMachineCommand)
      .rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', ...meta }));
    sfn.on(CreateStateMachineCommand).resolves({
      stateMachineArn: ARN,
      stateMachineVersionArn: `${ARN}:1`,
      creationDate: new Date(),
    });

    const ref = await engine().deploy({ pipelineId: 'pl-1', version: 1, definition: DEFINITION });

    expect(ref).toBe(`${ARN}:1`);
    expect(inputOf(UpdateStateMachineCommand)).toEqual({
      stateMachineArn: ARN,
      definition: DEFINITION,
      roleArn: config.roleArn,
      loggingConfiguration: LOGGING,
      tracingConfiguration: { enabled: true },
      publish: true,
      versionDescription: 'pipeline pl-1 v1',
    });
    expect(inputOf(CreateStateMachineCommand)).toEqual({
      name: 'sluice-dev-pl-1',
      definition: DEFINITION,
      roleArn: config.roleArn,
      type: 'STANDARD',
      loggingConfiguration: LOGGING,
      tracingConfiguration: { enabled: true },
      publish: true,
      versionDescription: 'pipeline pl-1 v1',
      tags: [{ key: 'sluice:pipeline', value: 'pl-1' }],
    });
  });

  it('publishes a new version of the existing state machine on a later deploy', async () => {
    sfn
      .on(UpdateStateMachineCommand)
      .resolves({ updateDate: new Date(), stateMachineVersionArn: `${ARN}:4` });

    const ref = await engine().deploy({ pipelineId: 'pl-1', version: 4, definition: DEFINITION });

    expect(ref).toBe(`${ARN}:4`);
    expect(sfn.commandCalls(UpdateStateMachineCommand)).toHaveLength(1);
    expect(inputOf(UpdateStateMachineCommand)).toEqual({
      stateMachineArn: ARN,
      definition: DEFINITION,
      roleArn: config.roleArn,
      loggingConfiguration: LOGGING,
      tracingConfiguration: { enabled: true },
      publish: true,
      versionDescription: 'pipeline pl-1 v4',
    });
    expect(sfn.commandCalls(CreateStateMachineCommand)).toHaveLength(0);
  });

  it('updates once more when a concurrent deploy created the state machine first', async () => {
    sfn
      .on(UpdateStateMachineCommand)
      .rejectsOnce(new StateMachineDoesNotExist({ message: 'nope', ...meta }))
      .resolves({ updateDate: new Date(), stateMachineVersionArn: `${ARN}:2` });
    sfn.on(CreateStateMachineCommand).rejects(new StateMachineAlreadyExists({ message: 'exists', ...meta }));

    const ref = await engine().deploy({ pipelineId: 'pl-1', version: 2, definition: DEFINITION });

    expect(ref).toBe(`${ARN}:2`);
    expect(sfn.commandCalls(UpdateStateMachineCommand)).toHaveLength(2);
    expect(inputOf(UpdateStateMachineCommand, 1)).toEqual(inputOf(UpdateStateMachineCommand, 0));
  });

  it('passes other deploy errors on', async () => {
    sfn.on(UpdateStateMachineCommand).rejects(new ValidationException({ message: 'bad', ...meta }));
    await expect(engine().deploy({ pipelineId: 'pl-1', version: 2, definition: '{}' })).rejects.toThrow(
      'bad',
    );
    expect(sfn.commandCalls(CreateStateMachineCommand)).toHaveLength(0);
  });

  it('starts an execution named after the batch', async () => {
    const executionArn = 'arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-pl-1:batch-01';
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });

    expect(await engine().start({ ref: `${ARN}:2`, input })).toBe(executionArn);
    expect(inputOf(StartExecutionCommand)).toEqual({
      stateMachineArn: `${ARN}:2`,
      name: 'batch-01',
      input: JSON.stringify(input),
    });
  });

  it('answers the existing execution when the batch was already started', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }));

    expect(await engine().start({ ref: `${ARN}:2`, input })).toBe(
      'arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-pl-1:batch-01',
    );
    expect(inputOf(StartExecutionCommand)).toEqual({
      stateMachineArn: `${ARN}:2`,
      name: 'batch-01',
      input: JSON.stringify(input),
    });
  });

  it('builds execution ARNs from unqualified, version and alias ARNs', () => {
    const expected = 'arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-pl-1:b';
    expect(executionArnFor(ARN, 'b')).toBe(expected);
    expect(executionArnFor(`${ARN}:7`, 'b')).toBe(expected);
    expect(executionArnFor(`${ARN}:live`, 'b')).toBe(expected);
    expect(() => executionArnFor('arn:aws:lambda:x:1:function:f', 'b')).toThrow();
  });

  const EXECUTION = 'arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-pl-1:batch-01';

  it('stops an execution with a cause', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });

    await engine().stop(EXECUTION, 'stopped by user u-1');

    expect(inputOf(StopExecutionCommand)).toEqual({ executionArn: EXECUTION, cause: 'stopped by user u-1' });
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(0);
  });

  it('ignores stopping an unknown execution', async () => {
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', ...meta }));
    await expect(engine().stop(EXECUTION, 'c')).resolves.toBeUndefined();
  });

  it('ignores stopping an execution that already finished', async () => {
    sfn.on(StopExecutionCommand).rejects(new ValidationException({ message: 'not running', ...meta }));
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      status: 'SUCCEEDED',
      startDate: new Date(),
    });

    await expect(engine().stop(EXECUTION, 'c')).resolves.toBeUndefined();
    expect(inputOf(DescribeExecutionCommand)).toEqual({ executionArn: EXECUTION });
  });

  it('fails to stop an execution that is still running', async () => {
    sfn.on(StopExecutionCommand).rejects(new ValidationException({ message: 'throttled', ...meta }));
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      status: 'RUNNING',
      startDate: new Date(),
    });

    await expect(engine().stop(EXECUTION, 'c')).rejects.toThrow('throttled');
  });

  it('removes the pipeline state machine, ignoring one that is gone', async () => {
    sfn.on(DeleteStateMachineCommand).resolves({});
    await engine().remove('pl-1');
    expect(inputOf(DeleteStateMachineCommand)).toEqual({ stateMachineArn: ARN });

    sfn.reset();
    sfn.on(DeleteStateMachineCommand).rejects(new StateMachineDoesNotExist({ message: 'gone', ...meta }));
    await expect(engine().remove('pl-1')).resolves.toBeUndefined();
  });
});

describe('workflows on the Step Functions engine', () => {
  const WORKFLOW_ROLE = 'arn:aws:iam::123456789012:role/sluice-workflows';
  const WF_ARN = 'arn:aws:states:ap-northeast-2:123456789012:stateMachine:sluice-dev-wf-1';
  const workflows = () =>
    createSfnEngine(new SFNClient({ region: 'ap-northeast-2' }), {
      ...config,
      workflowRoleArn: WORKFLOW_ROLE,
    });

  it('deploys a workflow as a state machine of its own, running as the workflow role', async () => {
    sfn
      .on(UpdateStateMachineCommand)
      .rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', ...meta }));
    sfn.on(CreateStateMachineCommand).resolves({
      stateMachineArn: WF_ARN,
      stateMachineVersionArn: `${WF_ARN}:1`,
      creationDate: new Date(),
    });

    const ref = await workflows().deployWorkflow({ workflowId: 'wf-1', definition: DEFINITION });

    expect(ref).toBe(`${WF_ARN}:1`);
    expect(inputOf(CreateStateMachineCommand)).toMatchObject({
      name: 'sluice-dev-wf-1',
      roleArn: WORKFLOW_ROLE,
      type: 'STANDARD',
      publish: true,
      tags: [{ key: 'sluice:workflow', value: 'wf-1' }],
    });
  });

  it('refuses to deploy a workflow without the workflow role setting', async () => {
    await expect(engine().deployWorkflow({ workflowId: 'wf-1', definition: DEFINITION })).rejects.toThrow(
      'SLUICE_WORKFLOW_ROLE_ARN',
    );
    expect(sfn.commandCalls(UpdateStateMachineCommand)).toHaveLength(0);
  });

  it('starts a workflow execution named after the workflow execution', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', ...meta }));
    const started = { workflow_execution_id: 'wfx-1', workflow_id: 'wf-1' };

    expect(await workflows().startWorkflow({ ref: `${WF_ARN}:3`, input: started })).toBe(
      'arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-wf-1:wfx-1',
    );
    expect(inputOf(StartExecutionCommand)).toEqual({
      stateMachineArn: `${WF_ARN}:3`,
      name: 'wfx-1',
      input: JSON.stringify(started),
    });
  });

  it('tells running, ended and never-started executions apart', async () => {
    const EXECUTION = engine().executionIdOf(`${ARN}:2`, 'batch-01');
    expect(EXECUTION).toBe('arn:aws:states:ap-northeast-2:123456789012:execution:sluice-dev-pl-1:batch-01');
    const described = (status: 'RUNNING' | 'FAILED') => ({
      executionArn: EXECUTION,
      stateMachineArn: ARN,
      status,
      startDate: new Date(),
    });

    sfn.on(DescribeExecutionCommand).resolvesOnce(described('RUNNING')).resolvesOnce(described('FAILED'));
    expect(await engine().executionState(EXECUTION)).toBe('RUNNING');
    expect(await engine().executionState(EXECUTION)).toBe('ENDED');

    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', ...meta }));
    expect(await engine().executionState(EXECUTION)).toBe('UNKNOWN');
  });

  it('describes an ended execution for the reconciler with DescribeExecution, in the status event’s shape', async () => {
    const EXECUTION = engine().executionIdOf(`${ARN}:2`, 'batch-01');
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      stateMachineArn: `${ARN}:2`,
      name: 'batch-01',
      status: 'FAILED',
      error: 'Sluice.StepFailed',
      cause: 'Step 2 (transform) failed',
      startDate: new Date(),
    });

    const described = await engine().describeExecution(EXECUTION);

    expect(inputOf(DescribeExecutionCommand)).toEqual({ executionArn: EXECUTION });
    expect(described).toEqual({
      executionArn: EXECUTION,
      stateMachineArn: `${ARN}:2`,
      name: 'batch-01',
      status: 'FAILED',
      error: 'Sluice.StepFailed',
      cause: 'Step 2 (transform) failed',
    });
  });

  it('answers no description for an execution Step Functions does not have, and rethrows other errors', async () => {
    const EXECUTION = engine().executionIdOf(`${ARN}:2`, 'batch-02');
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'gone', ...meta }));
    expect(await engine().describeExecution(EXECUTION)).toBeUndefined();

    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(new ValidationException({ message: 'bad arn', ...meta }));
    await expect(engine().describeExecution(EXECUTION)).rejects.toThrow('bad arn');
  });
});

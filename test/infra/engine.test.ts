import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { Engine, PIPELINE_ID_LENGTH, STATE_MACHINE_NAME_MAX_LENGTH, stateMachinePrefix } from '#lib/engine';
import { nagPacks } from '#lib/nag';
import { Secrets } from '#lib/secrets';
import { Storage } from '#lib/storage';
import {
  actionsOf,
  asArray,
  cdkJsonContext,
  environmentOf,
  policyStatements,
  regionalArn,
  resource,
  resourcesOfType,
  statementsOfRole,
  statementsWith,
  synthesize,
  synthesizeBeforeAll,
} from './synth.ts';

const EXTERNAL_BUCKETS = ['raw-landing-zone', 'curated.exports'];
/** The roles of the functions that record batches (and so size their sources for engine AUTO). */
const RECORDS_BATCHES = [
  'ApiPipelinesFunctionRole',
  'ApiJobsFunctionRole',
  'WorkflowsWorkflowStepRole',
  'TriggersFireFunctionRole',
];

const synth = synthesizeBeforeAll();
/** The same stack with external buckets configured. */
const withBuckets = synthesizeBeforeAll({ props: { externalBuckets: EXTERNAL_BUCKETS } });

const statesArn = (rest: string) => regionalArn('states', rest);
const s3Arn = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${rest}`]] });

const MANAGE_ACTIONS = [
  'states:CreateStateMachine',
  'states:DeleteStateMachine',
  'states:DescribeStateMachine',
  'states:PublishStateMachineVersion',
  'states:StartExecution',
  'states:TagResource',
  'states:UpdateStateMachine',
];

describe('step worker', () => {
  it('runs Node 24 on x86_64 with DuckDB-sized memory, 15 minutes and a 4 GiB /tmp', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'EngineStepWorker');
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['x86_64'],
      MemorySize: 3008,
      Timeout: 900,
      EphemeralStorage: { Size: 4096 },
      Handler: 'index.handler',
    });
  });

  it('takes memory and /tmp size from the stack props', () => {
    const custom = synthesize({
      props: { stepWorkerMemorySize: 10_240, stepWorkerEphemeralStorageMiB: 10_240 },
    }).template;
    const [, fn] = resource(custom, 'AWS::Lambda::Function', 'EngineStepWorker');
    expect(fn.Properties).toMatchObject({ MemorySize: 10_240, EphemeralStorage: { Size: 10_240 } });
  });

  it('gets the stores, a temp directory, and no bucket list when none is configured', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'EngineStepWorker');
    const env = environmentOf(fn);
    expect(env).toMatchObject({
      SLUICE_TABLE: { Ref: expect.stringMatching(/^StorageTable/) },
      SLUICE_DATA_BUCKET: { Ref: expect.stringMatching(/^StorageDataBucket/) },
      SLUICE_TMP_DIR: '/tmp',
    });
    expect(env.SLUICE_BUCKETS).toBeUndefined();
    // Its own ARN would be a circular reference, and it never starts a state machine.
    expect(env.SLUICE_STEP_WORKER_ARN).toBeUndefined();
  });

  it('reads, writes and deletes objects under datasets/ and runs/ only, and lists only those prefixes', () => {
    const statements = statementsOfRole(synth.template, 'EngineStepWorkerRole');
    const objects = statements.filter((s) => asArray(s.Action).some((a) => /^s3:.*Object$/.test(a)));
    expect(objects).toHaveLength(1);
    expect(asArray(objects[0]?.Action).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    const suffixes = asArray(objects[0]?.Resource).map((r) =>
      (r as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].at(-1),
    );
    expect(suffixes.sort()).toEqual(['/datasets/*', '/runs/*']);
    expect(statementsWith(statements, 's3:ListBucket')).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^StorageDataBucket/), 'Arn'] },
        Condition: { StringLike: { 's3:prefix': ['datasets/', 'datasets/*', 'runs/', 'runs/*'] } },
      }),
    ]);
  });
});

describe('state machines role', () => {
  it('is assumed by Step Functions from this account only', () => {
    const [, role] = resource(synth.template, 'AWS::IAM::Role', 'EngineStatesRole');
    expect(role.Properties?.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it('may invoke the two step workers (DEFAULT and LARGE) and their versions, and no other function', () => {
    const invokes = statementsWith(
      statementsOfRole(synth.template, 'EngineStatesRole'),
      'lambda:InvokeFunction',
    );
    const expected = ['EngineStepWorker', 'EngineLargeStepWorker'].flatMap((prefix) => {
      const [id] = resource(synth.template, 'AWS::Lambda::Function', prefix);
      const worker = { 'Fn::GetAtt': [id, 'Arn'] };
      return [worker, { 'Fn::Join': ['', [worker, ':*']] }];
    });
    for (const statement of invokes) expect(asArray(statement.Action)).toEqual(['lambda:InvokeFunction']);
    const resources = invokes.flatMap((statement) => asArray(statement.Resource));
    expect(resources).toHaveLength(expected.length);
    expect(resources).toEqual(expect.arrayContaining(expected));
  });

  it('delivers execution history and traces, the only statement on "*"', () => {
    const wildcard = statementsOfRole(synth.template, 'EngineStatesRole').filter((s) =>
      asArray(s.Resource).includes('*'),
    );
    expect(wildcard).toHaveLength(1);
    expect(asArray(wildcard[0]?.Action)).toEqual(
      expect.arrayContaining([
        'logs:CreateLogDelivery',
        'logs:PutResourcePolicy',
        'logs:DescribeLogGroups',
        'xray:PutTraceSegments',
        'xray:GetSamplingRules',
      ]),
    );
  });
});

describe('execution history', () => {
  it('goes to a retained vended-logs group with the stack retention', () => {
    synth.template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: {
        LogGroupName: {
          'Fn::Join': [
            '',
            [Match.stringLikeRegexp('^/aws/vendedlogs/states/SluiceTest-pipelines-'), Match.anyValue()],
          ],
        },
        RetentionInDays: 30,
      },
    });
  });
});

describe('state machine names', () => {
  it('start with the stack name and an underscore, which no sibling stack name contains', () => {
    expect(stateMachinePrefix('Sluice')).toBe('Sluice_');
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.StateMachinePrefix?.Value).toBe('SluiceTest_');
  });

  it('leave room for a pipeline id within the 80-character limit', () => {
    const prefix = stateMachinePrefix('S'.repeat(128));
    expect(prefix.length + PIPELINE_ID_LENGTH).toBe(STATE_MACHINE_NAME_MAX_LENGTH);
    expect(prefix.endsWith('_')).toBe(true);
    const long = synthesize({ stackName: `Sluice${'x'.repeat(100)}` }).template;
    const value = (long.toJSON().Outputs as Record<string, { Value: string }>).StateMachinePrefix?.Value;
    expect(`${value}pl-0123456789abcdefghjkmn`.length).toBeLessThanOrEqual(STATE_MACHINE_NAME_MAX_LENGTH);
  });
});

describe('finalizer', () => {
  it('receives terminal status changes of this stack’s state machines only', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ prefix: statesArn(':stateMachine:SluiceTest_') }],
        },
      },
    });
  });

  it('is the rule target, with retries and a dead-letter queue', () => {
    const [finalizerId] = resource(synth.template, 'AWS::Lambda::Function', 'EngineFinalizer');
    const [queueId] = resource(synth.template, 'AWS::SQS::Queue', 'EngineFinalizerDeadLetterQueue');
    const [, rule] = resource(synth.template, 'AWS::Events::Rule', 'EngineExecutionStatusRule');
    expect(rule.Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [finalizerId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
      }),
    ]);
  });

  it('has its own dead-letter queue for failed invocations, 512 MB and one minute', () => {
    const [queueId] = resource(synth.template, 'AWS::SQS::Queue', 'EngineFinalizerDeadLetterQueue');
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'EngineFinalizer');
    expect(fn.Properties).toMatchObject({
      MemorySize: 512,
      Timeout: 60,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
    synth.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('gets the Step Functions settings', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'EngineFinalizer');
    const [roleId] = resource(synth.template, 'AWS::IAM::Role', 'EngineStatesRole');
    const [logsId] = resource(synth.template, 'AWS::Logs::LogGroup', 'EngineExecutionLogs');
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_STATE_MACHINE_PREFIX: 'SluiceTest_',
      SLUICE_STATE_MACHINE_ARN_BASE: statesArn(':stateMachine:'),
      SLUICE_STATES_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
      SLUICE_STATES_LOG_GROUP_ARN: { 'Fn::GetAtt': [logsId, 'Arn'] },
    });
  });

  it('may start, stop and describe executions of the prefixed state machines, nothing more', () => {
    const states = statementsOfRole(synth.template, 'EngineFinalizerRole').filter((s) =>
      asArray(s.Action).some((a) => a.startsWith('states:')),
    );
    expect(states).toEqual([
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: [statesArn(':stateMachine:SluiceTest_pl-*'), statesArn(':stateMachine:SluiceTest_pl-*:*')],
      }),
      expect.objectContaining({
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: statesArn(':execution:SluiceTest_*:*'),
      }),
    ]);
  });
});

describe('reconciler', () => {
  it('runs every 5 minutes from a schedule rule, with retries and a dead-letter queue', () => {
    const [fnId] = resource(synth.template, 'AWS::Lambda::Function', 'EngineReconciler');
    const [queueId] = resource(synth.template, 'AWS::SQS::Queue', 'EngineReconcilerDeadLetterQueue');
    const [, rule] = resource(synth.template, 'AWS::Events::Rule', 'EngineReconcilerSchedule');
    expect(rule.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect(rule.Properties?.EventPattern).toBeUndefined();
    expect(rule.Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      }),
    ]);
  });

  it('is sized like the finalizer, finishes well within the interval and dead-letters failed runs', () => {
    const [queueId] = resource(synth.template, 'AWS::SQS::Queue', 'EngineReconcilerDeadLetterQueue');
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'EngineReconciler');
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 120,
      Handler: 'index.handler',
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
  });

  it('gets the same settings as the finalizer', () => {
    const [, finalizer] = resource(synth.template, 'AWS::Lambda::Function', 'EngineFinalizer');
    const [, reconciler] = resource(synth.template, 'AWS::Lambda::Function', 'EngineReconciler');
    expect(environmentOf(reconciler)).toEqual(environmentOf(finalizer));
    expect(environmentOf(reconciler)).toMatchObject({
      SLUICE_TABLE: { Ref: expect.stringMatching(/^StorageTable/) },
      SLUICE_STATE_MACHINE_PREFIX: 'SluiceTest_',
      SLUICE_EVENT_BUS: 'default',
    });
  });

  it('has the finalizer’s Step Functions rights, whose code it runs: start, stop and describe', () => {
    const states = (role: string) =>
      statementsOfRole(synth.template, role).filter((s) =>
        asArray(s.Action).some((a) => a.startsWith('states:')),
      );
    expect(states('EngineReconcilerRole')).toEqual([
      // A batch waiting for the slot a settled run frees.
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: [statesArn(':stateMachine:SluiceTest_pl-*'), statesArn(':stateMachine:SluiceTest_pl-*:*')],
      }),
      // Pipeline (`SluiceTest_pl-…`) and workflow (`SluiceTest_wf-…`) executions alike; a settled
      // workflow execution stops the job runs it leaves behind.
      expect.objectContaining({
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: statesArn(':execution:SluiceTest_*:*'),
      }),
    ]);
    expect(states('EngineReconcilerRole')).toEqual(states('EngineFinalizerRole'));
  });

  it('reads and writes the table, announces finished batches, drops run databases, and touches nothing else', () => {
    const statements = statementsOfRole(synth.template, 'EngineReconcilerRole');
    const [tableId] = resource(synth.template, 'AWS::DynamoDB::Table', 'StorageTable');
    expect(statementsWith(statements, 'dynamodb:UpdateItem')).toEqual([
      expect.objectContaining({ Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } }),
    ]);
    expect(statementsWith(statements, 'dynamodb:Query')).toHaveLength(1);
    expect(statementsWith(statements, 'events:PutEvents')).toHaveLength(1);
    const services = new Set(actionsOf(statements).map((a) => a.split(':')[0]));
    expect([...services].sort()).toEqual(['dynamodb', 'events', 'glue', 'logs', 'sqs', 'states', 'xray']);
  });
});

describe('pipelines area', () => {
  it('gets the engine settings', () => {
    const [workerId] = resource(synth.template, 'AWS::Lambda::Function', 'EngineStepWorker');
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'ApiPipelinesFunction');
    expect(fn.Properties).toMatchObject({ MemorySize: 1024, Timeout: 29, Architectures: ['arm64'] });
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_STEP_WORKER_ARN: { 'Fn::GetAtt': [workerId, 'Arn'] },
      SLUICE_STATE_MACHINE_PREFIX: 'SluiceTest_',
      SLUICE_STATE_MACHINE_ARN_BASE: statesArn(':stateMachine:'),
      SLUICE_STATES_ROLE_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^EngineStatesRole/), 'Arn'] },
      SLUICE_STATES_LOG_GROUP_ARN: { 'Fn::GetAtt': [expect.stringMatching(/^EngineExecutionLogs/), 'Arn'] },
    });
  });

  it('manages state machines and executions under the prefix only', () => {
    const states = statementsOfRole(synth.template, 'ApiPipelinesFunctionRole').filter((s) =>
      asArray(s.Action).some((a) => a.startsWith('states:')),
    );
    expect(states).toEqual([
      expect.objectContaining({
        Action: MANAGE_ACTIONS,
        Resource: [statesArn(':stateMachine:SluiceTest_pl-*'), statesArn(':stateMachine:SluiceTest_pl-*:*')],
      }),
      expect.objectContaining({
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: statesArn(':execution:SluiceTest_*:*'),
      }),
    ]);
  });

  it('passes the state machines role only to Step Functions', () => {
    const [roleId] = resource(synth.template, 'AWS::IAM::Role', 'EngineStatesRole');
    const passRoles = policyStatements(synth.template).filter(({ statement }) =>
      JSON.stringify(statement.Resource).includes(roleId),
    );
    const [workflowRoleId] = resource(synth.template, 'AWS::IAM::Role', 'WorkflowsStatesRole');
    for (const { statement } of passRoles) {
      // The trigger-fire function passes the workflow role too (triggers may run workflows).
      expect(statement).toMatchObject({
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Condition: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
      });
      for (const passed of asArray(statement.Resource)) {
        expect([{ 'Fn::GetAtt': [roleId, 'Arn'] }, { 'Fn::GetAtt': [workflowRoleId, 'Arn'] }]).toContainEqual(
          passed,
        );
      }
    }
    // Among them the functions that deploy pipeline versions: the pipelines and jobs areas, and
    // the trigger-fire function (a triggered run may be a version's first); the triggers area,
    // which only arms schedules and rules, is not.
    const passers = passRoles.map(({ policy }) => policy.replace(/DefaultPolicy.*$/, ''));
    expect(passers).toEqual(
      expect.arrayContaining(['ApiPipelinesFunctionRole', 'ApiJobsFunctionRole', 'TriggersFireFunctionRole']),
    );
    expect(passers).not.toContain('ApiTriggersFunctionRole');
  });

  it('deletes and lists run data under runs/ only', () => {
    const statements = statementsOfRole(synth.template, 'ApiPipelinesFunctionRole');
    const s3 = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['runs/', 'runs/*'] } },
      }),
      expect.objectContaining({
        Action: 's3:DeleteObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/runs/*']] },
      }),
    ]);
  });

  it('serves the greedy batches route through the authorizer', () => {
    const [integrationId] = Object.entries(
      resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Integration'),
    ).find(([, integration]) =>
      JSON.stringify(integration.Properties?.IntegrationUri).includes('ApiPipelinesFunction'),
    ) ?? [''];
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /api/v1/batches/{proxy+}',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: Object.keys(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Authorizer'))[0] },
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
    });
  });
});

describe('Step Functions permissions', () => {
  it('are never "states:*" and never on "*"', () => {
    for (const { policy, statement } of policyStatements(synth.template)) {
      const actions = asArray(statement.Action).filter((a) => a.startsWith('states:'));
      if (actions.length === 0) continue;
      expect(actions, policy).not.toContain('states:*');
      expect(asArray(statement.Resource), policy).not.toContain('*');
    }
  });
});

describe('external buckets', () => {
  const workerStatements = () => statementsOfRole(withBuckets.template, 'EngineStepWorkerRole');

  it('are granted to the step worker, objects and listing, for exactly the configured buckets', () => {
    const statements = workerStatements();
    const external = statements.filter((s) => JSON.stringify(s.Resource).includes(':s3:::'));
    expect(external).toEqual([
      expect.objectContaining({
        Action: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: expect.arrayContaining(EXTERNAL_BUCKETS.map((b) => s3Arn(`${b}/*`))),
      }),
      expect.objectContaining({ Action: 's3:ListBucket' }),
    ]);
    expect(asArray(external[1]?.Resource)).toHaveLength(EXTERNAL_BUCKETS.length);
    expect(asArray(external[1]?.Resource)).toEqual(expect.arrayContaining(EXTERNAL_BUCKETS.map(s3Arn)));
    expect(external[1]?.Condition).toBeUndefined();
    // Object statements hold the external buckets plus the data bucket's prefixes, nothing else.
    const objectResources = asArray(external[0]?.Resource).filter((r) =>
      JSON.stringify(r).includes(':s3:::'),
    );
    expect(objectResources).toHaveLength(EXTERNAL_BUCKETS.length);
    expect(objectResources).toEqual(expect.arrayContaining(EXTERNAL_BUCKETS.map((b) => s3Arn(`${b}/*`))));
  });

  it('are granted to no other function than the step workers and the query functions (results)', () => {
    const allowed = [
      'EngineStepWorkerRole',
      'EngineLargeStepWorkerRole',
      'ApiQueryFunctionRole',
      'QueryQueryEventsRole',
    ];
    for (const { policy, statement } of policyStatements(withBuckets.template)) {
      if (allowed.some((prefix) => policy.startsWith(prefix))) continue;
      if (RECORDS_BATCHES.some((prefix) => policy.startsWith(prefix))) continue;
      expect(JSON.stringify(statement.Resource), policy).not.toContain(':s3:::');
    }
  });

  it('are only listed by the functions that record batches, which size S3 sources for engine AUTO', () => {
    for (const { policy, statement } of policyStatements(withBuckets.template)) {
      if (!RECORDS_BATCHES.some((prefix) => policy.startsWith(prefix))) continue;
      if (!JSON.stringify(statement.Resource).includes(':s3:::')) continue;
      expect(statement.Action, policy).toBe('s3:ListBucket');
      expect(asArray(statement.Resource), policy).toEqual(
        expect.arrayContaining(EXTERNAL_BUCKETS.map(s3Arn)),
      );
      expect(asArray(statement.Resource), policy).toHaveLength(EXTERNAL_BUCKETS.length);
    }
    const listing = new Set(
      policyStatements(withBuckets.template)
        .filter(({ statement }) => JSON.stringify(statement.Resource).includes(':s3:::'))
        .map(({ policy }) => RECORDS_BATCHES.find((prefix) => policy.startsWith(prefix)))
        .filter(Boolean),
    );
    expect([...listing].sort()).toEqual([...RECORDS_BATCHES].sort());
  });

  it('are listed for the step worker and the pipelines area', () => {
    for (const prefix of ['EngineStepWorker', 'EngineLargeStepWorker', 'ApiPipelinesFunction']) {
      const [, fn] = resource(withBuckets.template, 'AWS::Lambda::Function', prefix);
      expect(environmentOf(fn).SLUICE_BUCKETS, prefix).toBe(EXTERNAL_BUCKETS.join(','));
    }
  });

  it('leave no S3 action on "*"', () => {
    for (const t of [synth.template, withBuckets.template]) {
      for (const { policy, statement } of policyStatements(t)) {
        if (!asArray(statement.Action).some((a) => a.startsWith('s3:'))) continue;
        expect(asArray(statement.Resource), policy).not.toContain('*');
        for (const r of asArray(statement.Resource)) {
          if (typeof r === 'string') expect(r, policy).not.toMatch(/^arn:[^:]+:s3:::\*/);
        }
      }
    }
  });

  it('pass cdk-nag with an acknowledgement per bucket', () => {
    const violations = nagPacks().flatMap((pack) => pack.validateScope(withBuckets.app).violations);
    expect(
      violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });

  it('must be valid S3 bucket names', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Invalid');
    const storage = new Storage(stack, 'Storage');
    const secrets = new Secrets(stack, 'Secrets', { adminUsername: 'admin' });
    expect(
      () =>
        new Engine(stack, 'Engine', {
          resources: { storage, secrets },
          logRetention: RetentionDays.ONE_MONTH,
          externalBuckets: ['Not_A_Bucket'],
        }),
    ).toThrow(/Not_A_Bucket/);
  });
});

describe('IAM', () => {
  it('grants no "*" action anywhere', () => {
    for (const t of [synth.template, withBuckets.template]) {
      for (const { policy, statement } of policyStatements(t)) {
        if (statement.Effect !== 'Allow') continue;
        for (const action of asArray(statement.Action))
          expect(action, policy).not.toMatch(/^(\*|[\w-]+:\*)$/);
      }
    }
  });
});

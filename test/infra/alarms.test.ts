import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  QUERY_FAILURE_MIN_QUERIES,
  QUERY_FAILURE_RATE_PERCENT,
  UNSUCCESSFUL_EXECUTION_EVENTS,
} from '#lib/alarms';
import { readSettings } from '#lib/context';
import { nagPacks } from '#lib/nag';
import { type Resource, regionalArn, resource, resourcesOfType, synthesizeBeforeAll } from './synth.ts';

const EMAIL = 'data-ops@example.com';

const synth = synthesizeBeforeAll();
/** The same stack with an alarm email configured. */
const withEmail = synthesizeBeforeAll({ props: { alarmEmail: EMAIL } });

const alarms = () => Object.entries(resourcesOfType(synth.template, 'AWS::CloudWatch::Alarm'));
const topicRef = () => ({ Ref: resource(synth.template, 'AWS::SNS::Topic', 'AlarmsTopic')[0] });

/** Alarms on one metric (not metric math), as `[logicalId, properties]`. */
function alarmsOn(namespace: string, metricName: string): [string, Record<string, unknown>][] {
  return alarms()
    .filter(([, a]) => a.Properties?.Namespace === namespace && a.Properties?.MetricName === metricName)
    .map(([id, a]) => [id, a.Properties ?? {}]);
}

/** The value of one dimension of a single-metric alarm. */
function dimension(alarm: Record<string, unknown>, name: string): unknown {
  return (alarm.Dimensions as { Name: string; Value: unknown }[] | undefined)?.find((d) => d.Name === name)
    ?.Value;
}

describe('alarm topic', () => {
  it('is encrypted with a customer managed key that rotates and lets CloudWatch alarms use it', () => {
    const [keyId, key] = resource(synth.template, 'AWS::KMS::Key', 'AlarmsTopicKey');
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    const [, topic] = resource(synth.template, 'AWS::SNS::Topic', 'AlarmsTopic');
    expect(topic.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect((key.Properties?.KeyPolicy as { Statement?: unknown[] } | undefined)?.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  it('accepts publishes over TLS only, and from this stack’s alarms only', () => {
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef()],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              ArnLike: { 'aws:SourceArn': regionalArn('cloudwatch', ':alarm:SluiceTest_*') },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('is a stack output, AlarmTopicArn', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AlarmTopicArn?.Value).toEqual(topicRef());
  });

  it('has no subscription unless an alarm email is given', () => {
    synth.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('subscribes the alarm email when one is given', () => {
    const [topicId] = resource(withEmail.template, 'AWS::SNS::Topic', 'AlarmsTopic');
    withEmail.template.resourceCountIs('AWS::SNS::Subscription', 1);
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: EMAIL,
      TopicArn: { Ref: topicId },
    });
  });

  it('takes the email from the sluice:alarmEmail context, and refuses one that is not an address', () => {
    const settings = (context: Record<string, unknown>) => readSettings(new App({ context }).node);
    expect(settings({ 'sluice:alarmEmail': ` ${EMAIL} ` }).props).toEqual({ alarmEmail: EMAIL });
    expect(settings({}).props.alarmEmail).toBeUndefined();
    expect(() => settings({ 'sluice:alarmEmail': 'data-ops' })).toThrow(/sluice:alarmEmail/);
  });
});

describe('every alarm', () => {
  it('notifies the topic, treats missing data as fine, is named after the stack and says what broke', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms()) {
      expect(alarm.Properties, id).toMatchObject({
        AlarmActions: [topicRef()],
        TreatMissingData: 'notBreaching',
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmName: expect.stringMatching(/^SluiceTest_[a-z0-9-]+$/),
      });
      expect(String(alarm.Properties?.AlarmDescription).length, id).toBeGreaterThanOrEqual(80);
    }
  });

  it('has a name of its own', () => {
    const names = alarms().map(([, a]) => a.Properties?.AlarmName);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('dead-letter queue alarms', () => {
  it('watch every queue of the stack (all of them dead-letter queues) for a visible message', () => {
    const queues = Object.keys(resourcesOfType(synth.template, 'AWS::SQS::Queue'));
    const watching = alarmsOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    expect(queues.length).toBeGreaterThanOrEqual(5);
    expect(watching).toHaveLength(queues.length);
    expect(watching.map(([, a]) => dimension(a, 'QueueName'))).toEqual(
      expect.arrayContaining(queues.map((q) => ({ 'Fn::GetAtt': [q, 'QueueName'] }))),
    );
    for (const [id, alarm] of watching) {
      expect(alarm, id).toMatchObject({ Statistic: 'Maximum', Period: 300, Threshold: 1 });
    }
  });
});

describe('Lambda alarms', () => {
  const functions = () => Object.keys(resourcesOfType(synth.template, 'AWS::Lambda::Function'));

  it.each(['Errors', 'Throttles'])('watch %s of every function of the stack', (metric) => {
    const watched = alarmsOn('AWS/Lambda', metric).map(([, a]) => dimension(a, 'FunctionName'));
    expect(functions().length).toBeGreaterThanOrEqual(20);
    expect(watched).toHaveLength(functions().length);
    expect(watched).toEqual(expect.arrayContaining(functions().map((fn) => ({ Ref: fn }))));
    for (const [id, alarm] of alarmsOn('AWS/Lambda', metric)) {
      expect(alarm, id).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 1 });
    }
  });

  it('include the reconciler’s errors', () => {
    const [reconciler] = resource(synth.template, 'AWS::Lambda::Function', 'EngineReconciler');
    const errors = alarmsOn('AWS/Lambda', 'Errors').filter(
      ([, a]) => JSON.stringify(dimension(a, 'FunctionName')) === JSON.stringify({ Ref: reconciler }),
    );
    expect(errors).toEqual([
      [expect.any(String), expect.objectContaining({ AlarmName: 'SluiceTest_reconciler-errors' })],
    ]);
  });
});

describe('state machine alarms', () => {
  const families = { Pipeline: 'SluiceTest_pl-', Workflow: 'SluiceTest_wf-' };
  const filters = () => Object.values(resourcesOfType(synth.template, 'AWS::Logs::MetricFilter'));

  it('count unsuccessful executions per family from the shared execution history log group', () => {
    const [logsId] = resource(synth.template, 'AWS::Logs::LogGroup', 'EngineExecutionLogs');
    const expected = Object.entries(families).flatMap(([family, prefix]) =>
      Object.entries(UNSUCCESSFUL_EXECUTION_EVENTS).map(([metric, event]) => ({
        LogGroupName: { Ref: logsId },
        FilterPattern: `{ ($.type = "${event}") && ($.execution_arn = %${prefix}%) }`,
        MetricTransformations: [
          { MetricNamespace: 'Sluice/SluiceTest', MetricName: `${family}${metric}`, MetricValue: '1' },
        ],
      })),
    );
    expect(filters().map((f: Resource) => f.Properties)).toEqual(expect.arrayContaining(expected));
    expect(filters()).toHaveLength(expected.length);
  });

  it('alarm on any failed or timed-out execution of each family, not on a stop', () => {
    for (const family of Object.keys(families)) {
      for (const metric of Object.keys(UNSUCCESSFUL_EXECUTION_EVENTS)) {
        const found = alarmsOn('Sluice/SluiceTest', `${family}${metric}`);
        expect(found, `${family}${metric}`).toEqual([
          [expect.any(String), expect.objectContaining({ Statistic: 'Sum', Period: 300, Threshold: 1 })],
        ]);
      }
      expect(alarmsOn('Sluice/SluiceTest', `${family}ExecutionsAborted`)).toEqual([]);
    }
    expect(Object.values(UNSUCCESSFUL_EXECUTION_EVENTS)).toEqual(['ExecutionFailed', 'ExecutionTimedOut']);
  });
});

describe('Data Query alarm', () => {
  it('fires when most of the workgroup’s finished queries failed', () => {
    const [, alarm] = resource(synth.template, 'AWS::CloudWatch::Alarm', 'AlarmsQueryFailureRate');
    const metrics = alarm.Properties?.Metrics as {
      Id: string;
      Expression?: string;
      ReturnData?: boolean;
      MetricStat?: {
        Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
        Stat: string;
        Period: number;
      };
    }[];
    expect(alarm.Properties?.Threshold).toBe(QUERY_FAILURE_RATE_PERCENT);
    const returned = metrics.filter((m) => m.ReturnData !== false);
    expect(returned).toEqual([
      expect.objectContaining({
        Expression: `IF(failed + succeeded >= ${QUERY_FAILURE_MIN_QUERIES}, 100 * failed / (failed + succeeded), 0)`,
      }),
    ]);
    const counted = metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat] : []));
    const dims = counted.map((stat) =>
      Object.fromEntries(stat.Metric.Dimensions.map((d) => [d.Name, d.Value])),
    );
    expect(dims).toEqual(
      expect.arrayContaining(
        ['SUCCEEDED', 'FAILED'].flatMap((state) =>
          ['DML', 'DDL'].map((type) => ({
            WorkGroup: 'SluiceTest-queries',
            QueryState: state,
            QueryType: type,
          })),
        ),
      ),
    );
    expect(counted).toHaveLength(4);
    for (const stat of counted) {
      expect(stat).toMatchObject({
        Metric: { Namespace: 'AWS/Athena', MetricName: 'TotalExecutionTime' },
        Stat: 'SampleCount',
        Period: 900,
      });
    }
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged with the alarm email subscribed', () => {
    const violations = nagPacks().flatMap((pack) => pack.validateScope(withEmail.app).violations);
    expect(
      violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });
});

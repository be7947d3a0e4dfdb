/**
 * Alarms by default, as AWS Solutions Constructs build them (`buildStepFunctionCWAlarms`, the
 * dead-letter queue alarms): every alarm notifies one SNS topic, which an operator may
 * subscribe an email address to (`sluice:alarmEmail`). Every alarm is made by `notifyingAlarm`:
 * missing data is not breaching (a quiet deployment is a healthy one), and ALARM publishes to
 * the topic.
 *
 * - dead-letter queues: a message is visible (something failed past its retries);
 * - Lambda: `Errors` and `Throttles` of every function the stack passes in;
 * - state machines: failed and timed-out executions per family (pipelines, workflows); aborted
 *   ones are left out, since a stop through the API aborts an execution on purpose;
 * - Data Query: the share of failed queries in the Athena workgroup.
 *
 * The state machines are created at runtime, one per pipeline or workflow, so there is nothing in
 * the template to hang `AWS/States` alarms on: `ExecutionsFailed` and its siblings exist only per
 * `StateMachineArn` (no account-level or per-prefix series), and an alarm names its metrics when
 * it is deployed, before the state machines it should watch exist. Every one of them logs
 * its execution history (level ALL, functions/core/engine/sfn.ts) to the engine's log group, so
 * metric filters on that group count the `ExecutionFailed` and `ExecutionTimedOut` events per
 * family, told apart by the state machine name in `execution_arn`.
 * That covers state machines that do not exist yet, and only this stack's.
 *
 * The topic is encrypted with a customer managed key (rotated yearly), not the AWS managed
 * `alias/aws/sns`: CloudWatch alarms must be allowed kms:GenerateDataKey* and kms:Decrypt on the
 * topic's key, and the policy of an AWS managed key cannot be changed, so alarms could not publish
 * to a topic encrypted with it. cdk-nag accepts both (AwsSolutions-SNS2 wants a key, KMS5 rotation).
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Period of the Lambda, dead-letter queue and execution alarms: any bad event in 5 minutes. */
const ALARM_PERIOD = Duration.minutes(5);
/** Data Query alarms when, in this window, ... */
export const QUERY_FAILURE_WINDOW = Duration.minutes(15);
/** ... at least this many queries finished ... */
export const QUERY_FAILURE_MIN_QUERIES = 5;
/** ... and at least this share of them (percent) failed. User SQL errors fail queries too. */
export const QUERY_FAILURE_RATE_PERCENT = 50;

/** Execution history events that end an execution unsuccessfully, by the metric that counts them. */
export const UNSUCCESSFUL_EXECUTION_EVENTS = {
  ExecutionsFailed: 'ExecutionFailed',
  ExecutionsTimedOut: 'ExecutionTimedOut',
} as const;

export interface NotifyingAlarmProps {
  /** The alarm's name after the stack's alarm prefix (`alarmNamePrefix`). */
  readonly name: string;
  readonly metric: IMetric;
  /** Alarms at this value or above. */
  readonly threshold: number;
  /** What went wrong and where to look: it is the body of the notification. */
  readonly description: string;
}

/**
 * The one way Sluice makes an alarm: one evaluation period, at or above the threshold, missing
 * data not breaching, ALARM notifies the topic.
 */
export function notifyingAlarm(
  scope: Construct,
  id: string,
  topic: ITopic,
  props: NotifyingAlarmProps,
): Alarm {
  const alarm = new Alarm(scope, id, {
    alarmName: `${alarmNamePrefix(Stack.of(scope).stackName)}${props.name}`,
    alarmDescription: props.description,
    metric: props.metric,
    threshold: props.threshold,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new SnsAction(topic));
  return alarm;
}

/**
 * `<stack name>_`: every alarm of the stack is named with it, so the topic lets exactly these
 * alarms publish (stack names never contain `_`, so `Sluice_` does not match `Sluice-Dev_`).
 */
function alarmNamePrefix(stackName: string): string {
  return `${stackName}_`;
}

export interface AlarmsProps {
  /** An email address subscribed to the topic. @default no subscription */
  readonly alarmEmail?: string;
  /** Functions whose errors and throttles alarm, by a short kebab-case name used in alarm names. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Dead-letter queues that alarm as soon as a message arrives, by short kebab-case name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The log group every state machine of the stack writes its execution history to. */
  readonly executionLogGroup: ILogGroup;
  /**
   * Families of state machines in that log group: a singular name (`Pipeline`, used in metric and
   * alarm names) and the prefix every state machine name of the family starts with.
   */
  readonly stateMachineFamilies: Readonly<Record<string, string>>;
  /** The Athena workgroup of Data Query (CloudWatch metrics publishing turned on). */
  readonly queryWorkGroupName: string;
}

export class Alarms extends Construct {
  /** Every alarm of the stack notifies this topic. */
  public readonly topic: Topic;
  /** Encrypts the topic; CloudWatch alarms may use it to publish. */
  public readonly topicKey: Key;
  /** Namespace of the metrics the stack derives from logs (`Sluice/<stack name>`). */
  public readonly metricNamespace: string;
  public readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.metricNamespace = `Sluice/${stack.stackName}`;

    this.topicKey = new Key(this, 'TopicKey', {
      description: `Encrypts the ${stack.stackName} alarm topic`,
      enableKeyRotation: true,
      // Only notifications in flight are encrypted with it: nothing to keep once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // What CloudWatch needs to publish to an encrypted topic (AWS knowledge center,
    // "cloudwatch-configure-alarm-sns"); conditions on the caller make its publishes fail.
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      // The sender name of alarm emails; SNS allows 100 characters, stack names 128.
      displayName: `${stack.stackName.slice(0, 93)} alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // The topic has a policy (enforceSSL), so CloudWatch needs an explicit allow: this stack's alarms only.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisStacksAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${alarmNamePrefix(stack.stackName)}*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );

    if (props.alarmEmail !== undefined) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'Email subscription of the alarm topic: SNS retries email deliveries itself, an undeliverable ' +
          'alarm email has nothing to replay, and every alarm stays visible in the CloudWatch console.',
      });
    }

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.add(`${pascal(name)}DeadLetters`, {
        name: `${name}-dead-letters`,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        threshold: 1,
        description:
          `Messages in the ${name} dead-letter queue (${queue.node.path}): events or invocations failed ` +
          'after their retries. Read them, fix the cause, then redrive or delete them.',
      });
    }

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${pascal(name)}Errors`, {
        name: `${name}-errors`,
        metric: fn.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: 1,
        description:
          `The ${name} function (${fn.node.path}) failed: an unhandled error, a timeout or running out ` +
          'of memory. Its log group has the request id and the error.',
      });
      this.add(`${pascal(name)}Throttles`, {
        name: `${name}-throttles`,
        metric: fn.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
        threshold: 1,
        description:
          `Invocations of the ${name} function (${fn.node.path}) were throttled: the account's or the ` +
          "function's concurrency limit was reached.",
      });
    }

    for (const [family, prefix] of Object.entries(props.stateMachineFamilies)) {
      for (const [metricName, eventType] of Object.entries(UNSUCCESSFUL_EXECUTION_EVENTS)) {
        const filter = new MetricFilter(this, `${family}${metricName}Filter`, {
          logGroup: props.executionLogGroup,
          filterPattern: FilterPattern.all(
            FilterPattern.stringValue('$.type', '=', eventType),
            // A regex: the ARN is arn:…:execution:<state machine name>:<execution name>.
            FilterPattern.regexValue('$.execution_arn', '=', prefix),
          ),
          metricNamespace: this.metricNamespace,
          metricName: `${family}${metricName}`,
          metricValue: '1',
        });
        this.add(`${family}${metricName}`, {
          name: kebab(`${family}${metricName}`),
          metric: filter.metric({ period: ALARM_PERIOD, statistic: 'Sum' }),
          threshold: 1,
          description:
            `A ${family.toLowerCase()} execution ended with ${eventType} (state machines named "${prefix}…"). ` +
            'Find it in the execution history log group or the Step Functions console.',
        });
      }
    }

    this.add('QueryFailureRate', {
      name: 'query-failure-rate',
      metric: queryFailureRate(props.queryWorkGroupName),
      threshold: QUERY_FAILURE_RATE_PERCENT,
      description:
        `At least ${QUERY_FAILURE_RATE_PERCENT}% of the Data Query queries that finished in the last ` +
        `${QUERY_FAILURE_WINDOW.toMinutes()} minutes (${QUERY_FAILURE_MIN_QUERIES} or more) failed in the Athena ` +
        `workgroup ${props.queryWorkGroupName}. Each query's error is in the Data Query history and in Athena's.`,
    });
  }

  private add(id: string, props: NotifyingAlarmProps): void {
    this.alarms.push(notifyingAlarm(this, id, this.topic, props));
  }
}

/**
 * Percent of the workgroup's finished queries (DML and DDL) that failed, 0 below the minimum
 * count. Athena publishes `TotalExecutionTime` once per finished query with the dimensions
 * QueryState, QueryType and WorkGroup, so its sample count is the number of queries.
 */
function queryFailureRate(workGroup: string): MathExpression {
  const count = (state: 'SUCCEEDED' | 'FAILED', type: 'DML' | 'DDL') =>
    new Metric({
      namespace: 'AWS/Athena',
      metricName: 'TotalExecutionTime',
      dimensionsMap: { WorkGroup: workGroup, QueryState: state, QueryType: type },
      statistic: 'SampleCount',
      period: QUERY_FAILURE_WINDOW,
    });
  // Each query type's count per state, missing counted as none (Athena publishes nothing when idle).
  const total = (state: 'SUCCEEDED' | 'FAILED') => {
    const name = state.toLowerCase();
    return new MathExpression({
      expression: `FILL(${name}Dml, 0) + FILL(${name}Ddl, 0)`,
      usingMetrics: { [`${name}Dml`]: count(state, 'DML'), [`${name}Ddl`]: count(state, 'DDL') },
      period: QUERY_FAILURE_WINDOW,
    });
  };
  return new MathExpression({
    expression: `IF(failed + succeeded >= ${QUERY_FAILURE_MIN_QUERIES}, 100 * failed / (failed + succeeded), 0)`,
    usingMetrics: { failed: total('FAILED'), succeeded: total('SUCCEEDED') },
    label: 'Failed Data Query queries (%)',
    period: QUERY_FAILURE_WINDOW,
  });
}

/** `api-catalog` → `ApiCatalog`. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** `PipelineExecutionsFailed` → `pipeline-executions-failed`. */
function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

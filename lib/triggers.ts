/**
 * Triggers on AWS. The triggers area creates one EventBridge Scheduler schedule (in this
 * construct's schedule group) per SCHEDULED trigger and one EventBridge rule on the default bus
 * (named with this construct's rule prefix) per EVENT trigger, at runtime, whether or not the
 * trigger names a target. Every schedule and rule targets the trigger-fire Lambda, which resolves
 * what the trigger starts when it fires (its target, and the workflows whose TRIGGER nodes name
 * it: a Query of the table's index, then those workflows' state machines) and records and starts
 * the runs through the same code as the API, with retries and this construct's dead-letter queue. Because the schedules and rules are
 * created at runtime, the construct owns their names (group, prefix) and grants every permission
 * on those names only:
 * - Scheduler invokes the fire function as `schedulerRole`, which may invoke that function and
 *   send to the dead-letter queue, nothing else;
 * - rules invoke it through a resource policy limited to rules with the prefix;
 * - the triggers area may pass only `schedulerRole`, manage schedules in the group only and rules
 *   with the prefix only.
 *
 * S3 "Object Created" events reach the default bus only from buckets with EventBridge
 * notifications turned on: the data bucket has them (lib/storage.ts); for the external buckets
 * (sluice:buckets) the operator turns them on (README, "Triggers").
 */
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { PolicyStatement, PrincipalWithConditions, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SETTING } from '#core/setting-names';
import { type AccessResources, grantAccess } from './access.ts';
import { SLUICE_EVENT_BUS } from './events.ts';
import { functionEntry, SluiceFunction } from './function.ts';
import { acknowledgeWildcard } from './nag.ts';
import type { TriggersAccess } from './resources.ts';

/** Length of a trigger id (`trg-` and 22 characters, functions/core/ids.ts). */
export const TRIGGER_ID_LENGTH = 26;
/** EventBridge's limit on a rule name, and Scheduler's on a schedule group name. */
export const EVENTBRIDGE_NAME_MAX_LENGTH = 64;

export interface TriggersProps {
  /** The stores and the engine: the fire function starts runs. */
  readonly resources: AccessResources;
  readonly logRetention: RetentionDays;
}

export class Triggers extends Construct implements TriggersAccess {
  /** The target of every trigger schedule and rule: records and starts the run. */
  public readonly fireFunction: SluiceFunction;
  /** Deliveries that still failed after the retries, of schedules, rules and the fire function. */
  public readonly deadLetterQueue: Queue;
  /** The role Scheduler invokes the fire function as. */
  public readonly schedulerRole: Role;
  public readonly scheduleGroup: ScheduleGroup;
  public readonly scheduleGroupName: string;
  /** Every trigger rule is named this prefix plus a trigger id. */
  public readonly rulePrefix: string;
  /** `arn:…:scheduler:…:schedule/<group>/*`: the trigger schedules. */
  public readonly schedulesArn: string;
  /** `arn:…:events:…:rule/<prefix>*`: the trigger rules (default bus). */
  public readonly rulesArn: string;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.scheduleGroupName = triggerScheduleGroupName(stack.stackName);
    this.rulePrefix = triggerRulePrefix(stack.stackName);

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the end of the line: it is the dead-letter queue of every trigger schedule and rule ' +
        'target and of the trigger-fire function; its messages are inspected and replayed by an operator, ' +
        'never consumed automatically.',
    });

    this.fireFunction = new SluiceFunction(this, 'FireFunction', {
      entry: functionEntry('trigger-fire'),
      description: 'Sluice trigger-fire: a trigger schedule or rule fired; records and starts the run',
      memorySize: 512,
      timeout: Duration.minutes(1),
      deadLetterQueue: this.deadLetterQueue,
      logRetention: props.logRetention,
    });

    this.scheduleGroup = new ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: this.scheduleGroupName,
      // Its schedules target this stack's fire function: they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.schedulesArn = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    this.rulesArn = stack.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: `${this.rulePrefix}*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    this.schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new PrincipalWithConditions(new ServicePrincipal('scheduler.amazonaws.com'), {
        StringEquals: {
          'aws:SourceAccount': Aws.ACCOUNT_ID,
          'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
        },
      }),
      description: 'Sluice trigger schedules: invokes the trigger-fire function, dead letters to its queue',
    });
    this.schedulerRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fireFunction.functionArn] }),
    );
    this.schedulerRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );

    // Rules created at runtime invoke the function and dead-letter through resource policies.
    this.fireFunction.addPermission('TriggerRules', {
      principal: new ServicePrincipal('events.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: this.rulesArn,
      sourceAccount: Aws.ACCOUNT_ID,
    });
    this.deadLetterQueue.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': this.rulesArn } },
      }),
    );

    grantAccess('triggerFire', this.fireFunction, { ...props.resources, triggers: this });
  }

  /** Where schedules and rules live: enough to remove them. */
  private useRules(fn: SluiceFunction): void {
    fn.addEnvironment(SETTING.triggerScheduleGroup, this.scheduleGroupName);
    fn.addEnvironment(SETTING.triggerRulePrefix, this.rulePrefix);
    fn.addEnvironment(SETTING.triggerEventBus, SLUICE_EVENT_BUS);
  }

  /**
   * Create, update and delete trigger schedules and rules (the triggers area): schedules in the
   * group only, rules with the prefix only, passing the scheduler role only, to Scheduler only.
   */
  grantManageTriggers(fn: SluiceFunction): void {
    this.useRules(fn);
    fn.addEnvironment(SETTING.triggerFireArn, this.fireFunction.functionArn);
    fn.addEnvironment(SETTING.triggerSchedulerRoleArn, this.schedulerRole.roleArn);
    fn.addEnvironment(SETTING.triggerDlqArn, this.deadLetterQueue.queueArn);
    this.grantScheduleActions(fn, [
      'scheduler:CreateSchedule',
      'scheduler:UpdateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
    ]);
    this.grantRuleActions(fn, [
      'events:PutRule',
      'events:PutTargets',
      'events:RemoveTargets',
      'events:DeleteRule',
    ]);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /** Remove trigger schedules and rules (the fire function: a spent one-time trigger, a leftover). */
  grantRemoveTriggers(fn: SluiceFunction): void {
    this.useRules(fn);
    this.grantScheduleActions(fn, ['scheduler:DeleteSchedule']);
    this.grantRuleActions(fn, ['events:RemoveTargets', 'events:DeleteRule']);
  }

  private grantScheduleActions(fn: SluiceFunction, actions: string[]): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.schedulesArn] }));
    acknowledgeWildcard(
      fn.executionRole,
      this.schedulesArn,
      `${actions.join(', ')} only on schedules in the "${this.scheduleGroupName}" group: one per trigger, ` +
        'created at runtime and named after the trigger id.',
    );
  }

  private grantRuleActions(fn: SluiceFunction, actions: string[]): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.rulesArn] }));
    acknowledgeWildcard(
      fn.executionRole,
      this.rulesArn,
      `${actions.join(', ')} only on default-bus rules named "${this.rulePrefix}<trigger id>": one per ` +
        'trigger, created at runtime.',
    );
  }
}

/** `<stack name>-triggers`, cut to Scheduler's 64-character limit. */
export function triggerScheduleGroupName(stackName: string): string {
  if (Token.isUnresolved(stackName)) throw new Error('Triggers need a stack name known at synth time');
  const suffix = '-triggers';
  return `${stackName.slice(0, EVENTBRIDGE_NAME_MAX_LENGTH - suffix.length)}${suffix}`;
}

/**
 * `<stack name>_trigger-`, cut so that the prefix and a trigger id fit in a rule name. Stack names
 * never contain `_`, so no sibling stack's rules (`Sluice-Dev_trigger-…`) match `Sluice_trigger-*`.
 */
export function triggerRulePrefix(stackName: string): string {
  if (Token.isUnresolved(stackName)) throw new Error('Triggers need a stack name known at synth time');
  const suffix = '_trigger-';
  return `${stackName.slice(0, EVENTBRIDGE_NAME_MAX_LENGTH - TRIGGER_ID_LENGTH - suffix.length)}${suffix}`;
}

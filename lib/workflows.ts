/**
 * Workflows on AWS. The workflows area compiles each workflow to ASL and deploys it as a
 * Standard state machine named `<engine prefix>wf-<id>`, running as this construct's role. Its
 * Tasks invoke the workflow-step function (which records each job's run as a batch) and start
 * the jobs' pipeline state machines with `states:startExecution.sync:2`, which needs the
 * managed EventBridge rule Step Functions uses to learn that a nested execution ended. A
 * workflow execution's end reaches the engine's finalizer through the engine's status rule:
 * the names share the engine's prefix.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SETTING } from '#core/setting-names';
import { type AccessResources, grantAccess } from './access.ts';
import { acknowledgeTaskInvocation, type Engine, newStatesRole } from './engine.ts';
import { functionEntry, SluiceFunction } from './function.ts';
import { acknowledgeWildcard, grantExecutionLogsAndTraces } from './nag.ts';
import type { WorkflowSetting, WorkflowsAccess } from './resources.ts';

/** The rule Step Functions manages for `.sync` integrations with Step Functions itself. */
export const SYNC_EVENTS_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

export interface WorkflowsProps {
  /** The stores and the engine (the workflow-step function is granted through lib/access.ts). */
  readonly resources: AccessResources & { readonly engine?: Engine };
  readonly logRetention: RetentionDays;
}

export class Workflows extends Construct implements WorkflowsAccess {
  /** Records job runs and job failures for the workflow state machines. */
  public readonly workflowStep: SluiceFunction;
  /** The role every workflow state machine runs as. */
  public readonly statesRole: Role;
  /** Every workflow state machine is named this plus the rest of a workflow id (`<engine prefix>wf-`). */
  public readonly stateMachinePrefix: string;
  /** Settings for functions; pick what each needs in lib/access.ts. */
  public readonly environment: Readonly<Record<WorkflowSetting, string>>;
  private readonly engine: Engine;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    const { engine } = props.resources;
    if (!engine) throw new Error(`${id}: workflows need the engine: build Engine first`);
    this.engine = engine;
    const stack = Stack.of(this);
    this.stateMachinePrefix = `${engine.stateMachinePrefix}wf-`;
    const pipelinePrefix = `${engine.stateMachinePrefix}pl-`;

    this.workflowStep = new SluiceFunction(this, 'WorkflowStep', {
      entry: functionEntry('workflow-step'),
      description: 'Sluice workflow step: records the job runs and failures of a workflow execution',
      memorySize: 512,
      // Recording a run may deploy the job's version first (a state machine update).
      timeout: Duration.minutes(2),
      logRetention: props.logRetention,
    });
    acknowledgeTaskInvocation(this.workflowStep);

    this.statesRole = newStatesRole(this, 'Execution role of the Sluice workflow state machines');
    const stepArn = this.workflowStep.functionArn;
    this.statesRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [stepArn, `${stepArn}:*`] }),
    );
    acknowledgeWildcard(
      this.statesRole,
      `${stepArn}:*`,
      'lambda:InvokeFunction on the workflow-step function only: the ":*" suffix covers its published ' +
        'versions and aliases; no other function matches.',
    );

    // Start the jobs' pipeline state machines (a batch runs a published version) and, as
    // `.sync` does, watch and stop those executions. Workflow state machines are not included.
    const pipelines = `${engine.stateMachineArnBase}${pipelinePrefix}*`;
    const versions = `${pipelines}:*`;
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${pipelinePrefix}*:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.statesRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['states:StartExecution'], resources: [pipelines, versions] }),
    );
    this.statesRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executions],
      }),
    );
    acknowledgeWildcard(
      this.statesRole,
      pipelines,
      `states:StartExecution only on pipeline state machines ("${pipelinePrefix}<rest of the pipeline id>"), ` +
        'created at runtime, one per pipeline.',
    );
    acknowledgeWildcard(
      this.statesRole,
      versions,
      'states:StartExecution on the published versions (":<n>") of the pipeline state machines; a job run ' +
        'starts one version.',
    );
    acknowledgeWildcard(
      this.statesRole,
      executions,
      'DescribeExecution and StopExecution (what startExecution.sync needs) only on executions of the ' +
        'pipeline state machines; executions are named after batches at runtime.',
    );
    this.statesRole.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: SYNC_EVENTS_RULE,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      }),
    );
    grantExecutionLogsAndTraces(this.statesRole);

    this.environment = {
      [SETTING.workflowStepArn]: stepArn,
      [SETTING.workflowRoleArn]: this.statesRole.roleArn,
    };

    grantAccess('workflowStep', this.workflowStep, { ...props.resources, workflows: this });
  }

  /**
   * Manage the workflow state machines: create, update, publish, tag, describe and delete them,
   * start their executions, and pass the workflow role to them. Only names with the workflow prefix.
   */
  grantManageWorkflows(fn: SluiceFunction): void {
    const machines = `${this.engine.stateMachineArnBase}${this.stateMachinePrefix}*`;
    const versions = `${machines}:*`;
    const actions = [
      'states:CreateStateMachine',
      'states:UpdateStateMachine',
      'states:DeleteStateMachine',
      'states:DescribeStateMachine',
      'states:PublishStateMachineVersion',
      'states:TagResource',
      'states:StartExecution',
    ];
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [machines, versions] }));
    acknowledgeWildcard(
      fn.executionRole,
      machines,
      `${actions.join(', ')} only on state machines named "${this.stateMachinePrefix}<rest of the workflow id>": ` +
        'they are created at runtime, one per workflow.',
    );
    acknowledgeWildcard(
      fn.executionRole,
      versions,
      `${actions.join(', ')} on the published versions (":<n>") of the workflow state machines; an ` +
        'execution starts one version.',
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.statesRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
      }),
    );
  }
}

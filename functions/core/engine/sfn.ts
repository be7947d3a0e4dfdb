/**
 * The run engine on AWS: one Standard state machine per pipeline, one published version per
 * pipeline version, one execution per batch (named after the batch, so starting twice is safe).
 * A workflow is a Standard state machine of its own (`<prefix><workflow id>`, a version per
 * change) running as the workflow role; its executions are named after workflow executions.
 */
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeExecutionCommand,
  type LoggingConfiguration,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  type TracingConfiguration,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';

import { requireSetting, requireSettings, SETTING, type Settings } from '../settings.ts';
import { RUN_DATABASE_PREFIX } from './contract.ts';
import type {
  DeployRequest,
  DeployWorkflowRequest,
  Engine,
  ExecutionState,
  ExecutionStatusDetail,
  StartRequest,
  StartWorkflowRequest,
} from './engine.ts';

export interface StepFunctionsConfig {
  /** State machine names are this prefix plus the pipeline id. */
  stateMachinePrefix: string;
  /** `arn:aws:states:{region}:{account}:stateMachine:` — with the name, a state machine's ARN. */
  stateMachineArnBase: string;
  /** Role every pipeline state machine runs as. */
  roleArn: string;
  /** CloudWatch Logs group for execution history. */
  logGroupArn: string;
  /** The role workflow state machines run as; checked when a workflow is first deployed. */
  workflowRoleArn?: string;
}

/** The Step Functions settings; a missing one stops the function when the engine is created. */
export function stepFunctionsSettings(settings: Settings): StepFunctionsConfig {
  return {
    ...requireSettings(settings.stepFunctions, {
      stateMachinePrefix: SETTING.stateMachinePrefix,
      stateMachineArnBase: SETTING.stateMachineArnBase,
      roleArn: SETTING.statesRoleArn,
      logGroupArn: SETTING.statesLogGroupArn,
    }),
    ...(settings.workflows.roleArn ? { workflowRoleArn: settings.workflows.roleArn } : {}),
  };
}

const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;

/** `arn:aws:states:r:a:stateMachine:name[:version]` + execution name -> the execution's ARN. */
export function executionArnFor(stateMachineRef: string, executionName: string): string {
  const parts = stateMachineRef.split(':');
  if (parts.length < 7 || parts[2] !== 'states' || parts[5] !== 'stateMachine') {
    throw new Error(`Not a state machine ARN: ${stateMachineRef}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}

/**
 * Drops one Glue database, done when it is already gone. Only the finalizer's engine has one
 * (functions/core/platform/aws/run-databases.ts), so the API functions that start runs do not
 * carry the Glue client.
 */
export type DropDatabase = (database: string) => Promise<void>;

export class SfnEngine implements Engine {
  constructor(
    private readonly client: SFNClient,
    private readonly config: StepFunctionsConfig,
    private readonly dropDatabase?: DropDatabase,
  ) {}

  async dropRunDatabase(database: string): Promise<void> {
    if (!this.dropDatabase)
      throw new Error('This engine was built without a Glue client: it cannot drop run databases');
    if (!database.startsWith(RUN_DATABASE_PREFIX)) throw new Error(`Not a run database: ${database}`);
    await this.dropDatabase(database);
  }

  private name(pipelineId: string): string {
    return `${this.config.stateMachinePrefix}${pipelineId}`;
  }

  private arn(pipelineId: string): string {
    return `${this.config.stateMachineArnBase}${this.name(pipelineId)}`;
  }

  private logging(): LoggingConfiguration {
    return {
      level: 'ALL',
      includeExecutionData: false,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: this.config.logGroupArn } }],
    };
  }

  private tracing(): TracingConfiguration {
    return { enabled: true };
  }

  async deploy({ pipelineId, version, definition }: DeployRequest): Promise<string> {
    return this.publish(pipelineId, definition, {
      roleArn: this.config.roleArn,
      versionDescription: `pipeline ${pipelineId} v${version}`,
      tag: { key: 'sluice:pipeline', value: pipelineId },
    });
  }

  async deployWorkflow({ workflowId, definition }: DeployWorkflowRequest): Promise<string> {
    const roleArn = requireSetting(this.config.workflowRoleArn, SETTING.workflowRoleArn);
    return this.publish(workflowId, definition, {
      roleArn,
      versionDescription: `workflow ${workflowId}`,
      tag: { key: 'sluice:workflow', value: workflowId },
    });
  }

  /** Updates the state machine `<prefix><id>` (creating it the first time) and publishes a version. */
  private async publish(
    id: string,
    definition: string,
    options: { roleArn: string; versionDescription: string; tag: { key: string; value: string } },
  ): Promise<string> {
    const { roleArn, versionDescription } = options;
    const update = async () => {
      const out = await this.client.send(
        new UpdateStateMachineCommand({
          stateMachineArn: this.arn(id),
          definition,
          roleArn,
          loggingConfiguration: this.logging(),
          tracingConfiguration: this.tracing(),
          publish: true,
          versionDescription,
        }),
      );
      if (!out.stateMachineVersionArn) throw new Error(`No version published for ${this.name(id)}`);
      return out.stateMachineVersionArn;
    };

    try {
      return await update();
    } catch (error) {
      if (errorName(error) !== 'StateMachineDoesNotExist') throw error;
    }
    // First version: create the state machine, publishing version 1.
    try {
      const out = await this.client.send(
        new CreateStateMachineCommand({
          name: this.name(id),
          definition,
          roleArn,
          type: 'STANDARD',
          loggingConfiguration: this.logging(),
          tracingConfiguration: this.tracing(),
          publish: true,
          versionDescription,
          tags: [options.tag],
        }),
      );
      if (out.stateMachineVersionArn) return out.stateMachineVersionArn;
    } catch (error) {
      // Someone else created it between our two calls: publish on top of theirs.
      if (errorName(error) !== 'StateMachineAlreadyExists') throw error;
    }
    return update();
  }

  async start({ ref, input }: StartRequest): Promise<string> {
    return this.startNamed(ref, input.batch_id, input);
  }

  async startWorkflow({ ref, input }: StartWorkflowRequest): Promise<string> {
    return this.startNamed(ref, input.workflow_execution_id, input);
  }

  executionIdOf(ref: string, name: string): string {
    return executionArnFor(ref, name);
  }

  private async startNamed(ref: string, name: string, input: object): Promise<string> {
    try {
      const out = await this.client.send(
        new StartExecutionCommand({ stateMachineArn: ref, name, input: JSON.stringify(input) }),
      );
      if (!out.executionArn) throw new Error(`No execution ARN for ${name}`);
      return out.executionArn;
    } catch (error) {
      // Execution names are unique per state machine: this one was already started.
      if (errorName(error) === 'ExecutionAlreadyExists') return executionArnFor(ref, name);
      throw error;
    }
  }

  async executionState(executionId: string): Promise<ExecutionState> {
    const described = await this.describeExecution(executionId);
    if (!described) return 'UNKNOWN';
    return described.status === 'RUNNING' || described.status === 'PENDING_REDRIVE' ? 'RUNNING' : 'ENDED';
  }

  async describeExecution(executionId: string): Promise<ExecutionStatusDetail | undefined> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn: executionId }));
      return {
        executionArn: out.executionArn ?? executionId,
        ...(out.stateMachineArn ? { stateMachineArn: out.stateMachineArn } : {}),
        name: out.name ?? executionId.split(':').pop() ?? '',
        status: out.status ?? 'RUNNING',
        ...(out.error !== undefined ? { error: out.error } : {}),
        ...(out.cause !== undefined ? { cause: out.cause } : {}),
      };
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  async stop(executionId: string, cause: string): Promise<void> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn: executionId, cause }));
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return;
      // Stopping a finished execution is not an error here; anything else still running is.
      const status = await this.client
        .send(new DescribeExecutionCommand({ executionArn: executionId }))
        .then((out) => out.status)
        .catch(() => undefined);
      if (status !== undefined && status !== 'RUNNING' && status !== 'PENDING_REDRIVE') return;
      throw error;
    }
  }

  async remove(pipelineId: string): Promise<void> {
    try {
      // Deleting a state machine deletes its versions and aliases too.
      await this.client.send(new DeleteStateMachineCommand({ stateMachineArn: this.arn(pipelineId) }));
    } catch (error) {
      const name = errorName(error);
      if (name !== 'StateMachineDoesNotExist' && name !== 'ResourceNotFound') throw error;
    }
  }
}

export function createSfnEngine(
  client: SFNClient,
  config: StepFunctionsConfig,
  dropDatabase?: DropDatabase,
): Engine {
  return new SfnEngine(client, config, dropDatabase);
}

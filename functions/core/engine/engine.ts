/**
 * The run engine port: where compiled pipeline and workflow definitions become runnable and
 * executions start and stop. On AWS it is Step Functions (sfn.ts); the local platform carries
 * its own engine (aws-local-stepfunctions running the same definitions). What the definitions
 * and the code behind their Tasks agree on is the engine contract (contract.ts).
 */
import type { ExecutionInput, ExecutionStatusDetail, WorkflowExecutionInput } from './contract.ts';

export type { ExecutionStatusDetail } from './contract.ts';

export interface DeployRequest {
  pipelineId: string;
  version: number;
  /** The compiled Amazon States Language document. */
  definition: string;
}

export interface StartRequest {
  /** What `deploy` returned for the version to run. */
  ref: string;
  input: ExecutionInput;
}

export interface DeployWorkflowRequest {
  workflowId: string;
  /** The compiled workflow (statemachines/workflow.ts). */
  definition: string;
}

export interface StartWorkflowRequest {
  /** What `deployWorkflow` returned. */
  ref: string;
  input: WorkflowExecutionInput;
}

export type ExecutionState = 'RUNNING' | 'ENDED' | 'UNKNOWN';

export interface Engine {
  /** Makes `definition` runnable as the given pipeline version; returns the reference to start it from. */
  deploy(request: DeployRequest): Promise<string>;
  /** Starts an execution named after the batch; returns the execution id (an ARN on AWS). */
  start(request: StartRequest): Promise<string>;
  /** Stops an execution; a finished or unknown execution is not an error. */
  stop(executionId: string, cause: string): Promise<void>;
  /** Removes everything deployed for a pipeline or a workflow (its state machine and versions). */
  remove(pipelineId: string): Promise<void>;
  /**
   * The id the execution named `name` of `ref` has once started (by `start`, or by a
   * workflow's `startExecution.sync:2` Task), so that it can be stopped.
   */
  executionIdOf(ref: string, name: string): string;
  /**
   * Whether an execution is still running, has ended (its status change is on its way to the
   * finalizer, or already there), or is unknown (never started).
   */
  executionState(executionId: string): Promise<ExecutionState>;
  /**
   * What the engine knows of an execution now (the reconciler settles records from it), or
   * undefined when it has no such execution.
   */
  describeExecution(executionId: string): Promise<ExecutionStatusDetail | undefined>;
  /**
   * Makes a compiled workflow runnable: on AWS a Standard state machine of its own, running
   * as the workflow role; locally a definition whose job Tasks start runs in this engine.
   */
  deployWorkflow(request: DeployWorkflowRequest): Promise<string>;
  /** Starts a workflow execution named after its id; returns the execution id. */
  startWorkflow(request: StartWorkflowRequest): Promise<string>;
  /**
   * Removes the run-scoped Glue database of a batch that ran stages on Athena (with its tables;
   * their data stays under the run prefix until it expires). A missing database is not an error.
   * Engines without Athena (the local host) have nothing to drop.
   */
  dropRunDatabase?(database: string): Promise<void>;
}

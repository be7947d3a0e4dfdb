/**
 * The run engine: where compiled pipeline definitions become runnable and executions start
 * and stop. On AWS it is Step Functions (sfn.ts); the local host registers its own engine
 * (aws-local-stepfunctions running the same definitions) with `useEngine` before serving.
 */
import type { ExecutionInput } from '../pipelines/model.ts';

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

export interface Engine {
  /** Makes `definition` runnable as the given pipeline version; returns the reference to start it from. */
  deploy(request: DeployRequest): Promise<string>;
  /** Starts an execution named after the batch; returns the execution id (an ARN on AWS). */
  start(request: StartRequest): Promise<string>;
  /** Stops an execution; a finished or unknown execution is not an error. */
  stop(executionId: string, cause: string): Promise<void>;
  /** Removes everything deployed for a pipeline (its state machine and versions). */
  remove(pipelineId: string): Promise<void>;
}

let current: Engine | undefined;

/** Installs the engine (the local host does this before it serves; unit tests may too). */
export function useEngine(engine: Engine): void {
  current = engine;
}

/** The installed engine, or Step Functions when none was installed (the AWS deployment). */
export async function engine(): Promise<Engine> {
  if (!current) current = (await import('./sfn.ts')).createSfnEngine();
  return current;
}

/**
 * What lib/access.ts needs of the constructs that own resources: the settings each hands to
 * functions and the grants it makes. The constructs implement these; access.ts sees only them, so
 * the constructs can call `grantAccess` without an import cycle.
 */
import type { SETTING } from '#core/setting-names';
import type { SluiceFunction } from './function.ts';

/** Settings the engine hands to functions (read by functions/core/settings.ts). */
export type EngineSetting =
  /** External buckets that pipeline nodes may read and write, comma-separated (`settings.pipelines`). */
  | typeof SETTING.buckets
  /** The step worker's ARN, the resource of every compiled Task (`settings.pipelines`). */
  | typeof SETTING.stepWorkerArn
  /** The step worker for runs with workerType LARGE (`settings.pipelines`). */
  | typeof SETTING.largeStepWorkerArn
  /** AUTO's threshold for running a stage on Athena, and the workgroup (`settings.pipelines`). */
  | typeof SETTING.athenaThresholdBytes
  | typeof SETTING.pipelineWorkgroup
  /** The rest is `settings.stepFunctions`. */
  | typeof SETTING.stateMachinePrefix
  | typeof SETTING.stateMachineArnBase
  | typeof SETTING.statesRoleArn
  | typeof SETTING.statesLogGroupArn;

/** Settings Data Query hands to functions (read by functions/core/settings.ts). */
export type QuerySetting =
  /** `settings.query`: the deployment's own bucket for results. */
  | typeof SETTING.resultsBucket
  /** `settings.athena`. */
  | typeof SETTING.athenaWorkgroup
  | typeof SETTING.glueDatabasePrefix
  /** Secrets Manager name prefix of registered data sources' passwords (functions/core/query/data-sources.ts). */
  | typeof SETTING.dataSourceSecretPrefix
  /** External buckets that may receive results, comma-separated (`settings.pipelines`). */
  | typeof SETTING.buckets;

/** Settings the triggers construct hands to functions (`settings.triggerRules`, functions/core/settings.ts). */
export type TriggerSetting =
  | typeof SETTING.triggerScheduleGroup
  | typeof SETTING.triggerRulePrefix
  | typeof SETTING.triggerEventBus
  | typeof SETTING.triggerFireArn
  | typeof SETTING.triggerSchedulerRoleArn
  | typeof SETTING.triggerDlqArn;

/** Settings workflows hand to functions (`settings.workflows`, functions/core/settings.ts). */
export type WorkflowSetting =
  /** The workflow-step function's ARN, the resource of the record and failure Tasks. */
  | typeof SETTING.workflowStepArn
  /** The role workflow state machines run as (passed when deploying one). */
  | typeof SETTING.workflowRoleArn;

/** The pipeline engine (lib/engine.ts) as access.ts uses it. */
export interface EngineAccess {
  readonly environment: Readonly<Partial<Record<EngineSetting, string>>>;
  grantManagePipelines(fn: SluiceFunction): void;
  grantRunPipelines(fn: SluiceFunction): void;
  grantExternalBuckets(fn: SluiceFunction): void;
  grantListExternalBuckets(fn: SluiceFunction): void;
}

/** Data Query (lib/query.ts) as access.ts uses it. */
export interface QueryAccess {
  readonly environment: Readonly<Partial<Record<QuerySetting, string>>>;
  grantRunQueries(fn: SluiceFunction): void;
  grantFollowQueries(fn: SluiceFunction): void;
  grantResultObjects(fn: SluiceFunction): void;
  grantReadCatalog(fn: SluiceFunction): void;
  grantWriteCatalog(fn: SluiceFunction): void;
  grantDeleteCatalog(fn: SluiceFunction): void;
  grantCreateDataSourceSecrets(fn: SluiceFunction): void;
}

/** Trigger schedules and rules (lib/triggers.ts) as access.ts uses them. */
export interface TriggersAccess {
  grantManageTriggers(fn: SluiceFunction): void;
  grantRemoveTriggers(fn: SluiceFunction): void;
}

/** Workflow state machines (lib/workflows.ts) as access.ts uses them. */
export interface WorkflowsAccess {
  readonly environment: Readonly<Record<WorkflowSetting, string>>;
  grantManageWorkflows(fn: SluiceFunction): void;
}

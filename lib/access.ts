/**
 * What each function may touch, in one place so it can be read (and reviewed) at a glance:
 * the environment it receives and the permissions it is granted. The grants themselves are
 * made by the constructs that own the resources (Storage, Secrets, Engine, QueryService), at the
 * narrowest scope.
 */
import type { Area } from '#core/routes';
import { SETTING } from '#core/setting-names';
import { grantPublishSluiceEvents } from './events.ts';
import type { SluiceFunction } from './function.ts';
import type {
  EngineAccess as Engine,
  EngineSetting,
  QueryAccess as QueryService,
  QuerySetting,
  TriggersAccess as Triggers,
  WorkflowSetting,
  WorkflowsAccess as Workflows,
} from './resources.ts';
import type { Secrets } from './secrets.ts';
import type { Storage } from './storage.ts';

/**
 * Every area Lambda, plus the authorizer, the S3-event side of ingest, the engine's step
 * worker, finalizer and reconciler, and Data Query's query-events handler.
 */
export type FunctionRole =
  | Area
  | 'authorizer'
  | 'ingestEvents'
  | 'stepWorker'
  | 'finalizer'
  | 'reconciler'
  | 'queryEvents'
  | 'triggerFire'
  | 'workflowStep';

export interface AccessResources {
  readonly storage: Storage;
  readonly secrets: Secrets;
  /** The pipeline engine; absent while the engine itself is being built. */
  readonly engine?: Engine;
  /** Data Query (Athena, Glue, results); built before the engine, whose step worker registers versions. */
  readonly query?: QueryService;
  /** Trigger schedules and rules; built after the engine (its fire function starts runs), before the API. */
  readonly triggers?: Triggers;
  /** Workflow state machines and their step function; built after the engine, before the API. */
  readonly workflows?: Workflows;
  /**
   * Not a resource but an operator setting: the zone of Data Flow dates and of schedules that name
   * none (SLUICE_DEFAULT_TIMEZONE, `settings.dataflow`; the functions default to UTC without it).
   */
  readonly defaultTimezone?: string;
}

type Profile = (fn: SluiceFunction, resources: AccessResources) => void;

function useStorage(fn: SluiceFunction, storage: Storage): void {
  for (const [name, value] of Object.entries(storage.environment)) fn.addEnvironment(name, value);
}

/** The Data Flow areas write dates in this zone and schedule in it when a trigger names none. */
function useDataflow(fn: SluiceFunction, resources: AccessResources): void {
  if (resources.defaultTimezone !== undefined) {
    fn.addEnvironment(SETTING.defaultTimezone, resources.defaultTimezone);
  }
}

/** What `stepFunctionsSettings` (functions/core/engine/sfn.ts) requires. */
const STEP_FUNCTIONS_SETTINGS = [
  SETTING.stateMachinePrefix,
  SETTING.stateMachineArnBase,
  SETTING.statesRoleArn,
  SETTING.statesLogGroupArn,
] as const satisfies readonly EngineSetting[];

function requireEngine(resources: AccessResources, role: FunctionRole): Engine {
  if (!resources.engine) throw new Error(`The ${role} function needs the engine: build Engine first`);
  return resources.engine;
}

/** The engine's settings by name (SLUICE_BUCKETS is absent when no external bucket is configured). */
function useEngine(fn: SluiceFunction, engine: Engine, names: readonly EngineSetting[]): void {
  for (const name of names) {
    const value = engine.environment[name];
    if (value !== undefined) fn.addEnvironment(name, value);
  }
}

function requireWorkflows(resources: AccessResources, role: FunctionRole): Workflows {
  if (!resources.workflows) throw new Error(`The ${role} function needs workflows: build Workflows first`);
  return resources.workflows;
}

function useWorkflows(fn: SluiceFunction, workflows: Workflows, names: readonly WorkflowSetting[]): void {
  for (const name of names) fn.addEnvironment(name, workflows.environment[name]);
}

function requireTriggers(resources: AccessResources, role: FunctionRole): Triggers {
  if (!resources.triggers) throw new Error(`The ${role} function needs the triggers: build Triggers first`);
  return resources.triggers;
}

function requireQuery(resources: AccessResources, role: FunctionRole): QueryService {
  if (!resources.query) throw new Error(`The ${role} function needs Data Query: build QueryService first`);
  return resources.query;
}

/** Data Query's settings by name (SLUICE_BUCKETS is absent when no external bucket is configured). */
function useQuery(fn: SluiceFunction, query: QueryService, names: readonly QuerySetting[]): void {
  for (const name of names) {
    const value = query.environment[name];
    if (value !== undefined) fn.addEnvironment(name, value);
  }
}

/**
 * Publishing a dataset version also points its Glue table at the version (the symlink manifest
 * is written under `datasets/`, which publishers may already write).
 */
function registerVersions(fn: SluiceFunction, query: QueryService): void {
  useQuery(fn, query, [SETTING.glueDatabasePrefix]);
  query.grantWriteCatalog(fn);
}

/** Ingest reads uploads, writes dataset versions, then deletes the upload. */
const ingest: Profile = (fn, resources) => {
  const { storage } = resources;
  useStorage(fn, storage);
  fn.addEnvironment(SETTING.tmpDir, '/tmp');
  storage.grantTable(fn, 'readWrite');
  storage.grantObjects(fn, 'uploads', ['s3:GetObject', 's3:DeleteObject']);
  storage.grantObjects(fn, 'datasets', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
  // Unconditioned so that a HeadObject on a missing key answers 404, not 403.
  storage.grantList(fn);
  registerVersions(fn, requireQuery(resources, 'ingest'));
  // A published version is announced for DATASET_UPDATED triggers.
  grantPublishSluiceEvents(fn);
};

/**
 * Pipelines and their Data Flow views (jobs, workflows, triggers): the table, run data, and
 * deploying, starting and stopping pipeline state machines.
 */
function managePipelines(role: FunctionRole): Profile {
  return (fn, resources) => {
    const { storage } = resources;
    const engine = requireEngine(resources, role);
    useStorage(fn, storage);
    useEngine(fn, engine, [
      SETTING.buckets,
      SETTING.stepWorkerArn,
      SETTING.largeStepWorkerArn,
      SETTING.athenaThresholdBytes,
      SETTING.pipelineWorkgroup,
      ...STEP_FUNCTIONS_SETTINGS,
    ]);
    storage.grantTable(fn, 'readWrite');
    // Deleting a batch removes its run data.
    storage.grantList(fn, ['runs']);
    storage.grantObjects(fn, 'runs', ['s3:DeleteObject']);
    // Deploys pipeline versions as state machines, starts and stops batches.
    engine.grantManagePipelines(fn);
    // Recording a batch with engine AUTO sizes its S3-prefix sources by listing them.
    engine.grantListExternalBuckets(fn);
    // A batch that ends here (stopped, or failed to start) is announced for RUN_FINISHED triggers.
    grantPublishSluiceEvents(fn);
  };
}

/**
 * Records a batch's terminal state; may start (the next waiting batch), stop (a workflow's
 * abandoned job runs) and describe pipeline executions; announces finished batches for
 * RUN_FINISHED triggers.
 */
function settleRuns(role: FunctionRole): Profile {
  return (fn, resources) => {
    const { storage } = resources;
    const engine = requireEngine(resources, role);
    useStorage(fn, storage);
    // A waiting batch deployed by nobody yet is compiled here (its Athena stages in the workgroup).
    useEngine(fn, engine, [...STEP_FUNCTIONS_SETTINGS, SETTING.pipelineWorkgroup]);
    storage.grantTable(fn, 'readWrite');
    engine.grantRunPipelines(fn);
    grantPublishSluiceEvents(fn);
  };
}

export const ACCESS: Readonly<Record<FunctionRole, Profile>> = {
  health(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'getItem');
    // HeadBucket is authorized by s3:ListBucket.
    storage.grantList(fn);
  },
  authorizer(fn, { storage, secrets }) {
    useStorage(fn, storage);
    fn.addEnvironment(SETTING.jwtSecretArn, secrets.jwtSigningKey.secretArn);
    storage.grantTable(fn, 'getItem');
    secrets.grantReadJwtKey(fn);
  },
  auth(fn, { storage, secrets }) {
    useStorage(fn, storage);
    fn.addEnvironment(SETTING.jwtSecretArn, secrets.jwtSigningKey.secretArn);
    fn.addEnvironment(SETTING.adminSecretArn, secrets.bootstrapAdmin.secretArn);
    storage.grantTable(fn, 'readWrite');
    secrets.grantReadJwtKey(fn);
    secrets.grantReadBootstrapAdmin(fn);
  },
  users(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'readWrite');
  },
  catalog(fn, resources) {
    const { storage } = resources;
    const query = requireQuery(resources, 'catalog');
    useStorage(fn, storage);
    useQuery(fn, query, [SETTING.glueDatabasePrefix]);
    storage.grantTable(fn, 'readWrite');
    // Deleting a dataset removes its versions' objects, and its Glue table (a collection, its database).
    storage.grantList(fn, ['datasets']);
    storage.grantObjects(fn, 'datasets', ['s3:DeleteObject']);
    query.grantDeleteCatalog(fn);
  },
  tables(fn, { storage }) {
    useStorage(fn, storage);
    storage.grantTable(fn, 'readWrite');
    storage.grantObjects(fn, 'datasets', ['s3:GetObject']);
    // Signs presigned PUT URLs: the URL carries this role's permission.
    storage.grantObjects(fn, 'uploads', ['s3:PutObject']);
  },
  ingest,
  ingestEvents: ingest,
  /** Deleting a pipeline with ?force=true first deletes its triggers (their schedules and rules). */
  pipelines(fn, resources) {
    managePipelines('pipelines')(fn, resources);
    requireTriggers(resources, 'pipelines').grantRemoveTriggers(fn);
  },
  /** Jobs are pipelines seen through the Data Flow API: the same rights. */
  jobs(fn, resources) {
    managePipelines('jobs')(fn, resources);
    requireTriggers(resources, 'jobs').grantRemoveTriggers(fn);
    useDataflow(fn, resources);
  },
  /**
   * Workflows: records in the table; deploys workflow state machines (passing the workflow role)
   * and starts their executions. Job runs are recorded and started by the state machines.
   */
  workflows(fn, resources) {
    const { storage } = resources;
    const workflows = requireWorkflows(resources, 'workflows');
    useStorage(fn, storage);
    useEngine(fn, requireEngine(resources, 'workflows'), STEP_FUNCTIONS_SETTINGS);
    useWorkflows(fn, workflows, [SETTING.workflowStepArn, SETTING.workflowRoleArn]);
    useDataflow(fn, resources);
    storage.grantTable(fn, 'readWrite');
    workflows.grantManageWorkflows(fn);
  },
  /**
   * A workflow's record and failure Tasks: records job runs as batches and deploys their
   * versions like the pipelines area (the state machine starts them), ends runs it gave up on.
   */
  workflowStep: managePipelines('workflowStep'),
  /**
   * Triggers: records in the table, and their schedules and rules. Checks event buckets against
   * the configured ones; starts no runs (the fire function does).
   */
  triggers(fn, resources) {
    const { storage } = resources;
    useStorage(fn, storage);
    useEngine(fn, requireEngine(resources, 'triggers'), [SETTING.buckets]);
    useDataflow(fn, resources);
    storage.grantTable(fn, 'readWrite');
    requireTriggers(resources, 'triggers').grantManageTriggers(fn);
  },
  /**
   * A trigger fired: records and starts the run like the pipelines area does, and removes the
   * schedule of a spent one-time trigger (or of one that no longer exists).
   */
  triggerFire(fn, resources) {
    managePipelines('triggerFire')(fn, resources);
    requireTriggers(resources, 'triggerFire').grantRemoveTriggers(fn);
    // Triggers may target workflows: deploy and start their state machines.
    const workflows = requireWorkflows(resources, 'triggerFire');
    useWorkflows(fn, workflows, [SETTING.workflowStepArn, SETTING.workflowRoleArn]);
    workflows.grantManageWorkflows(fn);
  },
  /** Runs one node: reads inputs, writes outputs under runs/, datasets and external buckets. */
  stepWorker(fn, resources) {
    const { storage } = resources;
    const engine = requireEngine(resources, 'stepWorker');
    useStorage(fn, storage);
    useEngine(fn, engine, [SETTING.buckets]);
    fn.addEnvironment(SETTING.tmpDir, '/tmp');
    storage.grantTable(fn, 'readWrite');
    storage.grantObjects(fn, 'datasets', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    storage.grantObjects(fn, 'runs', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    storage.grantList(fn, ['datasets', 'runs']);
    engine.grantExternalBuckets(fn);
    // TARGET_CATALOG nodes publish dataset versions.
    registerVersions(fn, requireQuery(resources, 'stepWorker'));
    grantPublishSluiceEvents(fn);
  },
  finalizer: settleRuns('finalizer'),
  /**
   * Settles runs whose end event was lost through the finalizer's code (functions/core/engine/
   * reconcile.ts): describes their executions, records what it learns, starts the batches waiting
   * for the slots it frees, and stops the job runs of a workflow execution it ends. The same rights.
   */
  reconciler: settleRuns('reconciler'),
  /**
   * Data Query: submits queries to Athena (which reads the datasets and stages results with this
   * role's credentials), serves result pages, answers catalog statements (SHOW, CREATE/DROP
   * SCHEMA, DROP TABLE) and registers MySQL data sources.
   */
  query(fn, resources) {
    const { storage } = resources;
    const query = requireQuery(resources, 'query');
    useStorage(fn, storage);
    useQuery(fn, query, [
      SETTING.resultsBucket,
      SETTING.athenaWorkgroup,
      SETTING.glueDatabasePrefix,
      SETTING.dataSourceSecretPrefix,
      SETTING.buckets,
    ]);
    storage.grantTable(fn, 'readWrite');
    // Manifests for name resolution, Parquet parts and symlink manifests for Athena; DROP TABLE
    // and DROP SCHEMA ... CASCADE delete datasets with their objects.
    storage.grantObjects(fn, 'datasets', ['s3:GetObject', 's3:DeleteObject']);
    storage.grantList(fn, ['datasets']);
    storage.grantBucketLocation(fn);
    // A table that lags behind its dataset is registered again before a query reads it.
    storage.grantSymlinkManifests(fn);
    storage.grantObjects(fn, 'queries', ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']);
    query.grantRunQueries(fn);
    query.grantResultObjects(fn);
    query.grantReadCatalog(fn);
    query.grantWriteCatalog(fn);
    query.grantDeleteCatalog(fn);
    query.grantCreateDataSourceSecrets(fn);
  },
  /** Records the outcome of an Athena execution: copies its result to the caller's folder, writes the preview. */
  queryEvents(fn, resources) {
    const { storage } = resources;
    const query = requireQuery(resources, 'queryEvents');
    useStorage(fn, storage);
    useQuery(fn, query, [SETTING.athenaWorkgroup, SETTING.glueDatabasePrefix]);
    storage.grantTable(fn, 'readWrite');
    storage.grantObjects(fn, 'queries', ['s3:PutObject', 's3:DeleteObject']);
    query.grantFollowQueries(fn);
    query.grantResultObjects(fn);
  },
  docs() {
    // Serves the bundled OpenAPI document and Swagger UI's files: no stores, no secrets.
  },
  fallback() {
    // Answers 404/405 from the route table alone: no stores, no secrets.
  },
};

export function grantAccess(role: FunctionRole, fn: SluiceFunction, resources: AccessResources): void {
  ACCESS[role](fn, resources);
}

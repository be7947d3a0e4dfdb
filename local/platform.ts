/**
 * The local platform: compiled pipelines and workflows run on aws-local-stepfunctions with the
 * step worker in this process, queries on DuckDB, triggers on croner schedules and an in-process
 * bus with EventBridge pattern semantics (which also carries Sluice's own events), no Glue and no
 * Secrets Manager (the host keeps its keys in the data directory).
 *
 * The host calls the step worker, workflow-step, finalizer and trigger-fire logic directly (the
 * engine passes the worker its abort signal), each on the ports its Lambda entry declares, as the
 * API handlers run on theirs (platform/lambda.ts).
 */
import { createStores, type StoreCredentials } from '#core/clients';
import { createLocalAthena } from '#core/engine/athena-local';
import { onExecutionStatus } from '#core/engine/finalize';
import { runStep } from '#core/engine/worker';
import { forgivingSink } from '#core/events';
import { onPortsOf } from '#core/platform/lambda';
import { noCatalogHooks, type Platform, systemClock } from '#core/platform/platform';
import { encryptLocal } from '#core/query/data-sources';
import { createDuckDbQueryEngine, type DuckDbQueryEngine } from '#core/query/duckdb-engine';
import { requireSetting, SETTING, type Settings } from '#core/settings';
import { fireTrigger } from '#core/triggers/fire';
import { createLocalTriggerRuntime, type LocalTriggerRuntime, sluiceBusEvent } from '#core/triggers/local';
import { runWorkflowStep } from '#core/workflows/steps';
import { handler as finalizer } from '#functions/finalizer';
import { handler as stepWorker } from '#functions/step-worker';
import { handler as triggerFire } from '#functions/trigger-fire';
import { handler as workflowStep } from '#functions/workflow-step';
import { createLocalEngine, type LocalEngine } from './engine.ts';

export interface LocalPlatformOptions {
  settings: Settings;
  /** The stand-ins' fixed credentials. */
  credentials: StoreCredentials;
  dataDir: string;
  /** Keeps the host's shutdown waiting for this work. */
  track(work: Promise<unknown>): void;
  log(line: string): void;
}

export interface LocalPlatform extends Platform {
  readonly engine: LocalEngine;
  readonly queryEngine: DuckDbQueryEngine;
  readonly triggers: LocalTriggerRuntime;
}

export function createLocalPlatform(options: LocalPlatformOptions): LocalPlatform {
  const { settings, track, log } = options;
  const region = settings.storage.region;
  const athena = createLocalAthena();
  const engine = createLocalEngine({
    dataDir: options.dataDir,
    region,
    // What those functions' handlers call, on the ports their entries declare (as on AWS).
    worker: (event, signal) => onPortsOf(stepWorker, () => runStep(event, signal)),
    workflowStep: (event) => onPortsOf(workflowStep, () => runWorkflowStep(event)),
    // Athena Task states of pipelines run on DuckDB here, on the step worker's ports.
    athena: {
      startQuery: (task, signal) => onPortsOf(stepWorker, () => athena.startQuery(task, signal)),
      queryResults: (task) => onPortsOf(stepWorker, () => athena.queryResults(task)),
    },
    onStatus: (detail) => onPortsOf(finalizer, () => onExecutionStatus(detail)),
    track,
    log,
  });
  // Queries run on a pool of sandboxed DuckDB instances (functions/core/duckdb.ts createSandboxPool).
  const queryEngine = createDuckDbQueryEngine({ track });
  const triggers = createLocalTriggerRuntime({
    fire: (triggerId, cause) => onPortsOf(triggerFire, () => fireTrigger(triggerId, cause)),
    track,
    log,
  });
  return {
    settings,
    stores: createStores(settings.storage, options.credentials),
    engine,
    queryEngine,
    triggers,
    events: forgivingSink(async (event) => {
      triggers.publish(sluiceBusEvent(event, region));
    }),
    catalog: noCatalogHooks,
    secrets: {
      read: async (id) => {
        throw new Error(`The local host keeps no secret ${id}: its keys are in the data directory`);
      },
      // Encrypted with the data directory's own key before it is written.
      keepPassword: async (_name, password) => ({
        password_encrypted: encryptLocal(
          password,
          requireSetting(settings.query.localSecretKey, SETTING.localSecretKey),
        ),
      }),
    },
    clock: systemClock,
  };
}

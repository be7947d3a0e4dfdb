/**
 * The AWS platform: Step Functions runs pipelines and workflows, Athena runs queries, EventBridge
 * Scheduler and rules arm triggers, Sluice events go to EventBridge, dataset versions are
 * registered in Glue, secrets come from Secrets Manager. A Lambda builds it once, at init.
 *
 * Adapters and the stores' clients are created the first time a function uses them: a function is
 * only given the settings of what it uses (lib/access.ts), and each checks its own settings then.
 * What a function cannot start without is checked when it starts (platform/lambda.ts).
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createStores, type Stores } from '../clients.ts';
import type { Engine } from '../engine/engine.ts';
import { createSfnEngine, stepFunctionsSettings } from '../engine/sfn.ts';
import { discardEvents, forgivingSink } from '../events.ts';
import { eventBridgeSink } from '../events-aws.ts';
import { tracer } from '../observability.ts';
import { athenaEngineConfig, createAthenaEngine } from '../query/athena.ts';
import type { QueryEngine } from '../query/engine.ts';
import { onCollectionDeleted, onDatasetDeleted, onVersionPublished } from '../query/glue.ts';
import { requireSetting, SETTING, type Settings } from '../settings.ts';
import { createAwsTriggerRuntime } from '../triggers/aws.ts';
import type { TriggerRuntime } from '../triggers/runtime.ts';
import { type CatalogHooks, noCatalogHooks, type Platform, type Secrets, systemClock } from './platform.ts';

const glueCatalogHooks: CatalogHooks = {
  versionPublished: onVersionPublished,
  datasetDeleted: onDatasetDeleted,
  collectionDeleted: onCollectionDeleted,
};

function secretsManager(settings: Settings): Secrets {
  let client: SecretsManagerClient | undefined;
  const secrets = () => {
    client ??= tracer.captureAWSv3Client(new SecretsManagerClient({ region: settings.storage.region }));
    return client;
  };
  return {
    async read(id) {
      const out = await secrets().send(new GetSecretValueCommand({ SecretId: id }));
      if (!out.SecretString) throw new Error('secret has no string value');
      return out.SecretString;
    },
    async keepPassword(dataSourceName, password) {
      const prefix = requireSetting(settings.query.dataSourceSecretPrefix, SETTING.dataSourceSecretPrefix);
      const out = await secrets().send(
        new CreateSecretCommand({
          Name: `${prefix}${dataSourceName}`,
          SecretString: password,
          Description: `Sluice data source ${dataSourceName}: MySQL password`,
        }),
      );
      return { password_secret_arn: out.ARN };
    },
  };
}

/** The platform of a function with these settings (its environment's). */
export function createAwsPlatform(settings: Settings): Platform {
  let engine: Engine | undefined;
  let queryEngine: QueryEngine | undefined;
  let triggers: TriggerRuntime | undefined;
  let stores: Stores | undefined;
  const bus = settings.events.bus;
  const { region } = settings.storage;
  return {
    settings,
    get stores() {
      stores ??= createStores(settings.storage);
      return stores;
    },
    get engine() {
      engine ??= createSfnEngine(
        tracer.captureAWSv3Client(new SFNClient({ region, maxAttempts: 4 })),
        stepFunctionsSettings(settings),
      );
      return engine;
    },
    get queryEngine() {
      queryEngine ??= createAthenaEngine(
        tracer.captureAWSv3Client(new AthenaClient({ region, maxAttempts: 4 })),
        athenaEngineConfig(settings),
      );
      return queryEngine;
    },
    get triggers() {
      triggers ??= createAwsTriggerRuntime(settings);
      return triggers;
    },
    events: forgivingSink(bus ? eventBridgeSink(bus, region) : discardEvents),
    // Only the AWS deployment registers datasets in Glue; a function without the prefix has no part in it.
    catalog: settings.athena.glueDatabasePrefix === undefined ? noCatalogHooks : glueCatalogHooks,
    secrets: secretsManager(settings),
    clock: systemClock,
  };
}

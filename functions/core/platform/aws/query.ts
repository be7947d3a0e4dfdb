/** The query engine port on AWS: Athena (functions/core/query/athena.ts). */
import { AthenaClient } from '@aws-sdk/client-athena';
import { tracer } from '../../observability.ts';
import { athenaEngineConfig, createAthenaEngine } from '../../query/athena.ts';
import type { Adapter } from '../aws.ts';

/** Needs SLUICE_ATHENA_WORKGROUP and SLUICE_GLUE_DATABASE_PREFIX (`athenaEngineConfig`). */
export const athenaQueryEngine: Adapter<'queryEngine'> = (settings) => {
  const config = athenaEngineConfig(settings);
  return createAthenaEngine(
    tracer.captureAWSv3Client(new AthenaClient({ region: settings.storage.region, maxAttempts: 4 })),
    config,
  );
};

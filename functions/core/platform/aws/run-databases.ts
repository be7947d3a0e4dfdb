/**
 * The run engine port for the finalizer and the reconciler (the two that settle batches): Step
 * Functions, plus dropping the Glue database a batch that ran stages on Athena leaves behind. Kept apart from `stepFunctionsEngine` so the functions
 * that only start and stop runs do not bundle the Glue client.
 */
import { DeleteDatabaseCommand, GlueClient } from '@aws-sdk/client-glue';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createSfnEngine, type DropDatabase, stepFunctionsSettings } from '../../engine/sfn.ts';
import { tracer } from '../../observability.ts';
import type { Adapter } from '../aws.ts';

/** Glue's DeleteDatabase, done when the database is already gone. */
export function dropGlueDatabase(glue: GlueClient): DropDatabase {
  return async (database) => {
    try {
      await glue.send(new DeleteDatabaseCommand({ Name: database }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'EntityNotFoundException') throw error;
    }
  };
}

/** Needs the state machine settings (`stepFunctionsSettings`) and Glue's DeleteDatabase on run databases. */
export const stepFunctionsEngineDroppingRunDatabases: Adapter<'engine'> = (settings) => {
  const region = settings.storage.region;
  const glue = tracer.captureAWSv3Client(new GlueClient({ region, maxAttempts: 4 }));
  return createSfnEngine(
    tracer.captureAWSv3Client(new SFNClient({ region, maxAttempts: 4 })),
    stepFunctionsSettings(settings),
    dropGlueDatabase(glue),
  );
};

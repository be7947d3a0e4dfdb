/** The run engine port on AWS: Step Functions (functions/core/engine/sfn.ts). */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createSfnEngine, stepFunctionsSettings } from '../../engine/sfn.ts';
import { tracer } from '../../observability.ts';
import type { Adapter } from '../aws.ts';

/** Needs the state machine settings (`stepFunctionsSettings`). */
export const stepFunctionsEngine: Adapter<'engine'> = (settings) => {
  const config = stepFunctionsSettings(settings);
  return createSfnEngine(
    tracer.captureAWSv3Client(new SFNClient({ region: settings.storage.region, maxAttempts: 4 })),
    config,
  );
};

/**
 * The secrets port on AWS: reads through Powertools Parameters' Secrets Manager provider, which
 * caches each value for SECRET_MAX_AGE_SECONDS (a rotated secret is seen within that time, and a
 * warm function does not call Secrets Manager on every request); data source passwords are kept
 * as secrets of their own (CreateSecret).
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { tracer } from '../../observability.ts';
import { requireSetting, SETTING, type Settings } from '../../settings.ts';
import type { Adapter } from '../aws.ts';
import type { Secrets } from '../platform.ts';

/** How long a secret read is served from the function's cache. */
export const SECRET_MAX_AGE_SECONDS = 5 * 60;

/** Secrets Manager through `client` (the function's own, traced, unless a test passes one). */
export function secretsManagerSecrets(settings: Settings, client?: SecretsManagerClient): Secrets {
  let sdk = client;
  let provider: SecretsProvider | undefined;
  // Created on first use: a function may hold this port for a path it rarely takes.
  const secretsManager = () => {
    sdk ??= tracer.captureAWSv3Client(new SecretsManagerClient({ region: settings.storage.region }));
    return sdk;
  };
  return {
    async read(id) {
      provider ??= new SecretsProvider({ awsSdkV3Client: secretsManager() });
      const value = await provider.get(id, { maxAge: SECRET_MAX_AGE_SECONDS });
      if (typeof value !== 'string') throw new Error('secret has no string value');
      return value;
    },
    async keepPassword(dataSourceName, password) {
      const prefix = requireSetting(settings.query.dataSourceSecretPrefix, SETTING.dataSourceSecretPrefix);
      const out = await secretsManager().send(
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

export const secretsManager: Adapter<'secrets'> = (settings) => secretsManagerSecrets(settings);

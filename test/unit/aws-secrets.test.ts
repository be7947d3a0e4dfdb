import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { secretsManagerSecrets } from '#core/platform/aws/secrets';
import { parseSettings, SETTING } from '#core/settings';

const secretsManager = mockClient(SecretsManagerClient);
const SECRET = 'arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:sluice-jwt';
const settings = parseSettings({
  [SETTING.region]: 'ap-northeast-2',
  [SETTING.dataSourceSecretPrefix]: 'sluice/data-sources/',
});
const secrets = () => secretsManagerSecrets(settings, new SecretsManagerClient({ region: 'ap-northeast-2' }));
const reads = () => secretsManager.commandCalls(GetSecretValueCommand).length;

beforeEach(() => {
  secretsManager.reset();
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the AWS secrets port', () => {
  it('reads a secret once within its five-minute time to live', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'key-1' });
    const port = secrets();

    const first = await port.read(SECRET);
    vi.setSystemTime(Date.now() + (4 * 60 + 59) * 1000);
    const second = await port.read(SECRET);

    expect([first, second]).toEqual(['key-1', 'key-1']);
    expect(reads()).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: SECRET,
    });
  });

  it('reads the secret again once its time to live has passed, so a rotated value is seen', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: 'key-1' })
      .resolvesOnce({ SecretString: 'key-2' });
    const port = secrets();

    await port.read(SECRET);
    vi.setSystemTime(Date.now() + (5 * 60 + 1) * 1000);
    const after = await port.read(SECRET);

    expect(after).toBe('key-2');
    expect(reads()).toBe(2);
  });

  it('refuses a secret that has no string value', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });

    await expect(secrets().read(SECRET)).rejects.toThrow('secret has no string value');
  });

  it('keeps a data source password as a secret of its own under the configured prefix', async () => {
    secretsManager.on(CreateSecretCommand).resolves({ ARN: `${SECRET}-mysql` });

    const kept = await secrets().keepPassword('sales-db', 'hunter2');

    expect(kept).toEqual({ password_secret_arn: `${SECRET}-mysql` });
    expect(secretsManager.commandCalls(CreateSecretCommand)[0]?.args[0].input).toEqual({
      Name: 'sluice/data-sources/sales-db',
      SecretString: 'hunter2',
      Description: 'Sluice data source sales-db: MySQL password',
    });
  });
});

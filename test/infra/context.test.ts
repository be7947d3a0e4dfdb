import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { readSettings } from '#lib/context';

const settings = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('operator settings from context', () => {
  it('default to the Sluice stack with no overrides', () => {
    expect(settings({})).toEqual({ stackName: 'Sluice', props: {} });
  });

  it('parse numbers given as strings on the command line', () => {
    const { stackName, props } = settings({
      'sluice:stackName': 'SluiceDev',
      'sluice:throttlingRateLimit': '20',
      'sluice:throttlingBurstLimit': '40',
      'sluice:logRetentionDays': '90',
      'sluice:adminUsername': 'ops',
      'sluice:ingestMemorySize': '3008',
      'sluice:ingestEphemeralStorageMiB': 8192,
    });
    expect(stackName).toBe('SluiceDev');
    expect(props).toEqual({
      throttlingRateLimit: 20,
      throttlingBurstLimit: 40,
      logRetention: RetentionDays.THREE_MONTHS,
      adminUsername: 'ops',
      ingestMemorySize: 3008,
      ingestEphemeralStorageMiB: 8192,
    });
  });

  it('reject a retention CloudWatch Logs does not offer, naming the setting', () => {
    expect(() => settings({ 'sluice:logRetentionDays': '31' })).toThrow(/sluice:logRetentionDays/);
  });

  it('reject a memory size Lambda does not offer, naming the setting', () => {
    expect(() => settings({ 'sluice:ingestMemorySize': '64' })).toThrow(/sluice:ingestMemorySize/);
  });
});

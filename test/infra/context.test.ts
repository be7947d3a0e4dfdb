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

  it('read the engine settings', () => {
    expect(
      settings({
        'sluice:buckets': 'raw-landing, curated.exports,,raw-landing',
        'sluice:stepWorkerMemorySize': '10240',
        'sluice:stepWorkerEphemeralStorageMiB': '8192',
      }).props,
    ).toEqual({
      externalBuckets: ['raw-landing', 'curated.exports'],
      stepWorkerMemorySize: 10_240,
      stepWorkerEphemeralStorageMiB: 8192,
    });
  });

  it('take external buckets as a list from cdk.json', () => {
    expect(settings({ 'sluice:buckets': ['one-bucket', 'two-bucket'] }).props.externalBuckets).toEqual([
      'one-bucket',
      'two-bucket',
    ]);
    expect(settings({ 'sluice:buckets': '' }).props.externalBuckets).toBeUndefined();
  });

  it.each([
    ['Upper-Case'],
    ['under_score'],
    ['ab'],
    ['-leading-hyphen'],
    ['two..dots'],
    ['192.168.1.1'],
    ['xn--punycode'],
    ['access-point-s3alias'],
  ])('reject the bucket name %s, naming the setting', (bucket) => {
    const read = () => settings({ 'sluice:buckets': `good-bucket,${bucket}` });
    expect(read).toThrow('sluice:buckets');
    expect(read).toThrow(`"${bucket}"`);
  });

  it("read the Data Query scan limit in bytes, refusing one below Athena's 10 MB minimum", () => {
    expect(settings({ 'sluice:queryBytesScannedLimit': '10737418240' }).props).toEqual({
      queryBytesScannedLimit: 10_737_418_240,
    });
    expect(() => settings({ 'sluice:queryBytesScannedLimit': '1000' })).toThrow(
      /sluice:queryBytesScannedLimit/,
    );
  });

  it('read the default time zone in its canonical spelling, refusing offsets and unknown names', () => {
    expect(settings({ 'sluice:defaultTimezone': 'asia/seoul' }).props).toEqual({
      defaultTimezone: 'Asia/Seoul',
    });
    expect(() => settings({ 'sluice:defaultTimezone': '+09:00' })).toThrow(/sluice:defaultTimezone/);
    expect(() => settings({ 'sluice:defaultTimezone': 'Mars/Olympus_Mons' })).toThrow(
      /sluice:defaultTimezone/,
    );
  });

  it('reject a step worker /tmp size Lambda does not offer, naming the setting', () => {
    expect(() => settings({ 'sluice:stepWorkerEphemeralStorageMiB': '256' })).toThrow(
      /sluice:stepWorkerEphemeralStorageMiB/,
    );
  });
});

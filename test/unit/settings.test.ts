import { describe, expect, it } from 'vitest';
import { ConfigError, parseSettings, requireSetting, requireSettings, SETTING } from '#core/settings';

describe('settings', () => {
  it('fall back to their defaults in an empty environment', () => {
    const settings = parseSettings({});

    expect(settings.storage.region).toBe('us-east-1');
    expect(settings.auth.accessTokenTtlSeconds).toBe(900);
    expect(settings.dataflow.defaultTimezone).toBe('UTC');
    expect(settings.pipelines.largeStepWorkerArn).toBe(settings.pipelines.stepWorkerArn);
    expect(settings.triggerRules.eventBus).toBe('default');
  });

  it('read each variable by the name lib/ sets it under', () => {
    const settings = parseSettings({
      [SETTING.table]: 'T',
      [SETTING.buckets]: ' a, ,b ',
      [SETTING.partCacheMb]: '2',
      [SETTING.defaultTimezone]: 'asia/seoul',
      [SETTING.s3Endpoint]: 'http://127.0.0.1:1',
    });

    expect(settings.storage.tableName).toBe('T');
    expect(settings.pipelines.buckets).toEqual(['a', 'b']);
    expect(settings.pipelines.partCacheBytes).toBe(2 * 1024 * 1024);
    expect(settings.dataflow.defaultTimezone).toBe('Asia/Seoul');
    expect(settings.storage.s3PublicEndpoint).toBe('http://127.0.0.1:1');
  });

  it('are refused together, each bad variable named', () => {
    const parse = () =>
      parseSettings({
        [SETTING.accessTokenTtl]: '5',
        [SETTING.defaultTimezone]: '+09:00',
        [SETTING.glueDatabasePrefix]: 'Bad-Prefix',
      });

    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/SLUICE_ACCESS_TOKEN_TTL must be an integer between 60 and 86400, got "5"/);
    expect(parse).toThrow(/SLUICE_DEFAULT_TIMEZONE must be an IANA time zone name/);
    expect(parse).toThrow(/SLUICE_GLUE_DATABASE_PREFIX must be 1-64 lower-case letters/);
  });

  it('that a function cannot do without name themselves when missing', () => {
    const settings = parseSettings({ [SETTING.stateMachinePrefix]: 'p-' });

    expect(() => requireSetting(settings.storage.tableName, SETTING.table)).toThrow(
      'Missing required setting SLUICE_TABLE',
    );
    expect(() =>
      requireSettings(settings.stepFunctions, {
        stateMachinePrefix: SETTING.stateMachinePrefix,
        roleArn: SETTING.statesRoleArn,
        logGroupArn: SETTING.statesLogGroupArn,
      }),
    ).toThrow('Missing required setting SLUICE_STATES_ROLE_ARN, SLUICE_STATES_LOG_GROUP_ARN');
  });
});

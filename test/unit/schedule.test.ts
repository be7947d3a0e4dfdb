import { Cron } from 'croner';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runOn } from '#core/platform/platform';
import { settingsFromEnvironment } from '#core/settings';
import type { Schedule } from '#core/triggers/runtime';
import {
  formatInZone,
  isValidTimezone,
  nextRuns,
  parseDateTime,
  ScheduleError,
  scheduleFromExpression,
  scheduleFromRule,
  type TriggerRule,
} from '#core/triggers/schedule';
import { onTestPlatform, testPlatform } from './test-platform.ts';

onTestPlatform();

const NOW = new Date('2026-01-15T00:00:00Z');

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

/** Weekday (SUN..SAT) and wall-clock "YYYY-MM-DD HH:mm" of an instant in a zone. */
function wall(date: Date, tz: string): { weekday: string; text: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  return {
    weekday: String(parts.weekday).toUpperCase(),
    text: `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`,
  };
}

function errorOf(fn: () => unknown): ScheduleError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ScheduleError) return error;
    throw error;
  }
  throw new Error('expected a ScheduleError');
}

describe('scheduleFromRule: RECURRING', () => {
  const cases: {
    name: string;
    rule: TriggerRule;
    tz?: string;
    expression: string;
    cron: string;
    from: string;
    runs: string[];
  }[] = [
    {
      name: 'HOUR with the minute as "mm"',
      rule: { type: 'RECURRING', interval: 'HOUR', time: '15' },
      expression: 'cron(15 * * * ? *)',
      cron: '0 15 * * * *',
      from: '2026-01-01T10:20:00Z',
      runs: ['2026-01-01T11:15:00.000Z', '2026-01-01T12:15:00.000Z', '2026-01-01T13:15:00.000Z'],
    },
    {
      name: 'HOUR with "HH:mm" uses only the minutes',
      rule: { type: 'RECURRING', interval: 'HOUR', time: '07:45' },
      expression: 'cron(45 * * * ? *)',
      cron: '0 45 * * * *',
      from: '2026-01-01T10:45:00Z',
      runs: ['2026-01-01T11:45:00.000Z', '2026-01-01T12:45:00.000Z'],
    },
    {
      name: 'HOUR at minute 00',
      rule: { type: 'RECURRING', interval: 'HOUR', time: '00' },
      expression: 'cron(0 * * * ? *)',
      cron: '0 0 * * * *',
      from: '2026-01-01T23:30:00Z',
      runs: ['2026-01-02T00:00:00.000Z', '2026-01-02T01:00:00.000Z'],
    },
    {
      name: 'DAY at HH:mm',
      rule: { type: 'RECURRING', interval: 'DAY', time: '09:30' },
      expression: 'cron(30 9 * * ? *)',
      cron: '0 30 9 * * *',
      from: '2026-01-01T09:30:00Z',
      runs: ['2026-01-02T09:30:00.000Z', '2026-01-03T09:30:00.000Z'],
    },
    {
      name: 'DAY with a one-digit hour and seconds',
      rule: { type: 'RECURRING', interval: 'DAY', time: '7:05:00' },
      expression: 'cron(5 7 * * ? *)',
      cron: '0 5 7 * * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-01T07:05:00.000Z'],
    },
    {
      name: 'WEEK on several days (sorted, names in any form)',
      rule: { type: 'RECURRING', interval: 'WEEK', time: '08:00', dayOfWeek: ['friday', 'MON', 'Wed'] },
      expression: 'cron(0 8 ? * MON,WED,FRI *)',
      cron: '0 0 8 * * 1,3,5',
      from: '2026-01-01T00:00:00Z', // a Thursday
      runs: [
        '2026-01-02T08:00:00.000Z',
        '2026-01-05T08:00:00.000Z',
        '2026-01-07T08:00:00.000Z',
        '2026-01-09T08:00:00.000Z',
      ],
    },
    {
      name: 'WEEK on Sunday and Saturday (the ends of both numberings)',
      rule: { type: 'RECURRING', interval: 'WEEK', time: '12:00', dayOfWeek: ['SATURDAY', 'SUNDAY'] },
      expression: 'cron(0 12 ? * SUN,SAT *)',
      cron: '0 0 12 * * 0,6',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-03T12:00:00.000Z', '2026-01-04T12:00:00.000Z', '2026-01-10T12:00:00.000Z'],
    },
    {
      name: 'MONTH on the last day, across February of a leap year',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '23:00', dateOfMonth: ['-1'] },
      expression: 'cron(0 23 L * ? *)',
      cron: '0 0 23 L * *',
      from: '2024-01-15T00:00:00Z',
      runs: ['2024-01-31T23:00:00.000Z', '2024-02-29T23:00:00.000Z', '2024-03-31T23:00:00.000Z'],
    },
    {
      name: 'MONTH on the last day, across February of a common year',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '23:00', dateOfMonth: ['-1'] },
      expression: 'cron(0 23 L * ? *)',
      cron: '0 0 23 L * *',
      from: '2025-01-31T23:00:00Z',
      runs: ['2025-02-28T23:00:00.000Z', '2025-03-31T23:00:00.000Z', '2025-04-30T23:00:00.000Z'],
    },
    {
      name: 'MONTH mixing dates with the last day',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '06:00', dateOfMonth: ['15', '-1', '1'] },
      expression: 'cron(0 6 1,15,L * ? *)',
      cron: '0 0 6 1,15,L * *',
      from: '2025-02-10T00:00:00Z',
      runs: [
        '2025-02-15T06:00:00.000Z',
        '2025-02-28T06:00:00.000Z',
        '2025-03-01T06:00:00.000Z',
        '2025-03-15T06:00:00.000Z',
        '2025-03-31T06:00:00.000Z',
      ],
    },
    {
      name: 'MONTH on the 31st skips shorter months',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '00:00', dateOfMonth: ['31'] },
      expression: 'cron(0 0 31 * ? *)',
      cron: '0 0 0 31 * *',
      from: '2026-01-31T00:00:00Z',
      runs: ['2026-03-31T00:00:00.000Z', '2026-05-31T00:00:00.000Z'],
    },
    {
      name: 'MONTH with dateOfMonth as one comma-separated string',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '00:00', dateOfMonth: '1, 15' },
      expression: 'cron(0 0 1,15 * ? *)',
      cron: '0 0 0 1,15 * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-15T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
    },
    {
      name: 'DAY in Asia/Seoul',
      rule: { type: 'RECURRING', interval: 'DAY', time: '09:00' },
      tz: 'Asia/Seoul',
      expression: 'cron(0 9 * * ? *)',
      cron: '0 0 9 * * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'],
    },
  ];

  it.each(cases)('$name', ({ rule, tz, expression, cron, from, runs }) => {
    const schedule = scheduleFromRule(rule, tz, NOW);
    expect(schedule.expression).toBe(expression);
    expect(schedule.timezone).toBe(tz ?? 'UTC');
    expect(schedule.local).toEqual({ cron });
    expect(iso(nextRuns(schedule, new Date(from), runs.length))).toEqual(runs);
  });

  it('WEEK runs land only on the chosen weekdays, for many weeks', () => {
    const schedule = scheduleFromRule(
      { type: 'RECURRING', interval: 'WEEK', time: '08:00', dayOfWeek: ['TUE', 'THU', 'SUN'] },
      undefined,
      NOW,
    );
    const runs = nextRuns(schedule, new Date('2026-01-01T00:00:00Z'), 30);
    expect(runs).toHaveLength(30);
    expect(new Set(runs.map((d) => wall(d, 'UTC').weekday))).toEqual(new Set(['TUE', 'THU', 'SUN']));
  });

  it('the same rule in Asia/Seoul and UTC fires at different instants, at the same wall time', () => {
    const rule: TriggerRule = { type: 'RECURRING', interval: 'WEEK', time: '08:00', dayOfWeek: ['MON'] };
    const from = new Date('2026-01-01T00:00:00Z');
    const [seoul] = nextRuns(scheduleFromRule(rule, 'Asia/Seoul', NOW), from, 1);
    const [utc] = nextRuns(scheduleFromRule(rule, 'UTC', NOW), from, 1);
    expect(seoul?.toISOString()).toBe('2026-01-04T23:00:00.000Z'); // Sunday in UTC
    expect(utc?.toISOString()).toBe('2026-01-05T08:00:00.000Z');
    expect(seoul && wall(seoul, 'Asia/Seoul')).toEqual({ weekday: 'MON', text: '2026-01-05 08:00' });
  });

  it('keeps the wall-clock time across DST changes in America/New_York', () => {
    const schedule = scheduleFromRule(
      { type: 'RECURRING', interval: 'DAY', time: '09:00' },
      'America/New_York',
      NOW,
    );
    const spring = nextRuns(schedule, new Date('2026-03-06T00:00:00Z'), 4);
    expect(iso(spring)).toEqual([
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z', // clocks went forward that night
      '2026-03-09T13:00:00.000Z',
    ]);
    const autumn = nextRuns(schedule, new Date('2026-10-31T00:00:00Z'), 3);
    expect(iso(autumn)).toEqual([
      '2026-10-31T13:00:00.000Z',
      '2026-11-01T14:00:00.000Z',
      '2026-11-02T14:00:00.000Z',
    ]);
    for (const run of [...spring, ...autumn]) expect(wall(run, 'America/New_York').text).toMatch(/ 09:00$/);
  });

  it('runs a time inside the spring-forward gap right after the gap', () => {
    const schedule = scheduleFromRule(
      { type: 'RECURRING', interval: 'DAY', time: '02:30' },
      'America/New_York',
      NOW,
    );
    expect(iso(nextRuns(schedule, new Date('2026-03-07T12:00:00Z'), 2))).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z',
    ]);
  });
});

describe('scheduleFromRule: ONE_TIME', () => {
  const cases: { name: string; executionDate: string; tz?: string; expression: string; at: string }[] = [
    {
      name: 'no offset: wall time in the zone',
      executionDate: '2030-05-01T09:00:00',
      tz: 'Asia/Seoul',
      expression: 'at(2030-05-01T09:00:00)',
      at: '2030-05-01T00:00:00.000Z',
    },
    {
      name: 'UTC instant shown as Seoul wall time',
      executionDate: '2030-05-01T00:00:00Z',
      tz: 'Asia/Seoul',
      expression: 'at(2030-05-01T09:00:00)',
      at: '2030-05-01T00:00:00.000Z',
    },
    {
      name: 'offset instant in the default UTC zone',
      executionDate: '2030-05-01T09:00:00+09:00',
      expression: 'at(2030-05-01T00:00:00)',
      at: '2030-05-01T00:00:00.000Z',
    },
    {
      name: 'space separator, no seconds, DST zone',
      executionDate: '2030-07-04 12:30',
      tz: 'America/New_York',
      expression: 'at(2030-07-04T12:30:00)',
      at: '2030-07-04T16:30:00.000Z',
    },
  ];

  it.each(cases)('$name', ({ executionDate, tz, expression, at }) => {
    const schedule = scheduleFromRule({ type: 'ONE_TIME', executionDate }, tz, NOW);
    expect(schedule).toEqual({ expression, timezone: tz ?? 'UTC', local: { at } });
    expect(iso(nextRuns(schedule, NOW, 3))).toEqual([at]);
    expect(nextRuns(schedule, new Date(at), 3)).toEqual([]);
  });
});

describe('scheduleFromExpression', () => {
  const cases: {
    expression: string;
    tz?: string;
    normal?: string;
    cron: string;
    from: string;
    runs: string[];
  }[] = [
    {
      expression: 'cron(0 12 * * ? *)',
      cron: '0 0 12 * * *',
      from: '2026-01-01T12:00:00Z',
      runs: ['2026-01-02T12:00:00.000Z'],
    },
    {
      expression: 'cron(0 12 ? * * *)',
      cron: '0 0 12 * * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-01T12:00:00.000Z'],
    },
    {
      expression: 'cron(0 18 ? * MON-FRI *)',
      cron: '0 0 18 * * 1,2,3,4,5',
      from: '2026-01-02T19:00:00Z', // Friday evening
      runs: ['2026-01-05T18:00:00.000Z', '2026-01-06T18:00:00.000Z'],
    },
    {
      expression: '  cron(0   18 ? * mon-fri *) ',
      normal: 'cron(0 18 ? * MON-FRI *)',
      cron: '0 0 18 * * 1,2,3,4,5',
      from: '2026-01-02T19:00:00Z',
      runs: ['2026-01-05T18:00:00.000Z'],
    },
    {
      // EventBridge 1 = Sunday, croner 0 = Sunday
      expression: 'cron(0 10 ? * 1 *)',
      cron: '0 0 10 * * 0',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-04T10:00:00.000Z', '2026-01-11T10:00:00.000Z'],
    },
    {
      expression: 'cron(0 10 ? * 2-6 *)',
      cron: '0 0 10 * * 1,2,3,4,5',
      from: '2026-01-02T11:00:00Z',
      runs: ['2026-01-05T10:00:00.000Z'],
    },
    {
      expression: 'cron(5/20 8-9 ? * 7 *)',
      cron: '0 5-59/20 8-9 * * 6',
      from: '2026-01-01T00:00:00Z',
      runs: [
        '2026-01-03T08:05:00.000Z',
        '2026-01-03T08:25:00.000Z',
        '2026-01-03T08:45:00.000Z',
        '2026-01-03T09:05:00.000Z',
      ],
    },
    {
      expression: 'cron(*/15 * * * ? *)',
      cron: '0 0-59/15 * * * *',
      from: '2026-01-01T00:07:00Z',
      runs: ['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z'],
    },
    {
      expression: 'cron(0 0 */10 * ? *)',
      cron: '0 0 0 1-31/10 * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-11T00:00:00.000Z', '2026-01-21T00:00:00.000Z', '2026-01-31T00:00:00.000Z'],
    },
    {
      expression: 'cron(0 9 L * ? *)',
      cron: '0 0 9 L * *',
      from: '2028-02-01T00:00:00Z',
      runs: ['2028-02-29T09:00:00.000Z', '2028-03-31T09:00:00.000Z'],
    },
    {
      expression: 'cron(0 9 LW * ? *)',
      cron: '0 0 9 LW * *',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-30T09:00:00.000Z', '2026-02-27T09:00:00.000Z'], // last weekdays
    },
    {
      expression: 'cron(0 9 15W * ? *)',
      cron: '0 0 9 15W * *',
      from: '2026-08-01T00:00:00Z',
      runs: ['2026-08-14T09:00:00.000Z'], // the 15th is a Saturday
    },
    {
      expression: 'cron(0 9 ? * 6L *)',
      cron: '0 0 9 * * 5#L',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-30T09:00:00.000Z', '2026-02-27T09:00:00.000Z'], // last Fridays
    },
    {
      expression: 'cron(0 9 ? * FRI#3 *)',
      cron: '0 0 9 * * 5#3',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-16T09:00:00.000Z', '2026-02-20T09:00:00.000Z'],
    },
    {
      expression: 'cron(0 0 1 JAN,JUL ? 2030-2031)',
      cron: '0 0 0 1 1,7 * 2030-2031',
      from: '2026-01-01T00:00:00Z',
      runs: [
        '2030-01-01T00:00:00.000Z',
        '2030-07-01T00:00:00.000Z',
        '2031-01-01T00:00:00.000Z',
        '2031-07-01T00:00:00.000Z',
      ],
    },
    {
      expression: 'cron(30 8 ? * MON *)',
      tz: 'Asia/Seoul',
      cron: '0 30 8 * * 1',
      from: '2026-01-01T00:00:00Z',
      runs: ['2026-01-04T23:30:00.000Z'],
    },
  ];

  it.each(cases)('$expression', ({ expression, tz, normal, cron, from, runs }) => {
    const schedule = scheduleFromExpression(expression, tz, NOW);
    expect(schedule.expression).toBe(normal ?? expression);
    expect(schedule.local).toEqual({ cron });
    expect(iso(nextRuns(schedule, new Date(from), runs.length))).toEqual(runs);
    // the normalised expression reads back to the same schedule
    expect(scheduleFromExpression(schedule.expression, tz, NOW)).toEqual(schedule);
  });

  const rates: { expression: string; seconds: number }[] = [
    { expression: 'rate(1 minute)', seconds: 60 },
    { expression: 'rate(5 minutes)', seconds: 300 },
    { expression: 'rate(7 minutes)', seconds: 420 },
    { expression: 'rate(1 hour)', seconds: 3600 },
    { expression: 'rate(2 hours)', seconds: 7200 },
    { expression: 'rate(1 day)', seconds: 86400 },
    { expression: 'rate(3 days)', seconds: 259200 },
  ];

  it.each(rates)('$expression', ({ expression, seconds }) => {
    const schedule = scheduleFromExpression(expression, 'America/New_York', NOW);
    expect(schedule).toEqual({
      expression,
      timezone: 'America/New_York',
      local: { cron: '0 * * * * *', interval: seconds },
    });
    const from = new Date('2026-03-07T12:00:00Z'); // spans the DST change: rates do not care
    const runs = nextRuns(schedule, from, 4);
    expect(runs.map((d) => d.getTime() - from.getTime())).toEqual(
      [1, 2, 3, 4].map((k) => k * seconds * 1000),
    );
    // the local croner job fires at the same instants
    const local = schedule.local as { cron: string; interval: number };
    const croner = new Cron(local.cron, { timezone: schedule.timezone, interval: local.interval });
    expect(iso(croner.nextRuns(4, from))).toEqual(iso(runs));
  });

  it('rounds rate runs up to a whole minute', () => {
    const schedule = scheduleFromExpression('rate(10 minutes)');
    expect(iso(nextRuns(schedule, new Date('2026-01-01T00:00:30Z'), 2))).toEqual([
      '2026-01-01T00:11:00.000Z',
      '2026-01-01T00:21:00.000Z',
    ]);
  });

  it('at() is a wall time in the zone', () => {
    const schedule = scheduleFromExpression('at(2030-01-01T09:00:00)', 'Asia/Seoul', NOW);
    expect(schedule).toEqual({
      expression: 'at(2030-01-01T09:00:00)',
      timezone: 'Asia/Seoul',
      local: { at: '2030-01-01T00:00:00.000Z' },
    });
    expect(scheduleFromExpression('at(2030-01-01T09:00:00)', undefined, NOW).local).toEqual({
      at: '2030-01-01T09:00:00.000Z',
    });
  });

  it('at() on an ambiguous New York wall time takes the first occurrence', () => {
    const schedule = scheduleFromExpression('at(2030-11-03T01:30:00)', 'America/New_York', NOW);
    expect(schedule.local).toEqual({ at: '2030-11-03T05:30:00.000Z' }); // 01:30 EDT
  });
});

describe('time zones', () => {
  it.each([
    ['UTC', true],
    ['Asia/Seoul', true],
    ['America/New_York', true],
    ['Mars/Olympus_Mons', false],
    ['+09:00', false],
    ['', false],
  ])('%s is valid: %s', (tz, valid) => {
    expect(isValidTimezone(tz)).toBe(valid);
  });

  it('defaults to UTC and uses the canonical spelling', () => {
    const rule: TriggerRule = { type: 'RECURRING', interval: 'DAY', time: '09:00' };
    expect(scheduleFromRule(rule, undefined, NOW).timezone).toBe('UTC');
    expect(scheduleFromRule(rule, 'asia/seoul', NOW).timezone).toBe('Asia/Seoul');
  });
});

describe('the default time zone setting', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  /** Runs `work` on a platform whose environment has SLUICE_DEFAULT_TIMEZONE set. */
  function withZone<T>(zone: string, work: () => T): T {
    vi.stubEnv('SLUICE_DEFAULT_TIMEZONE', zone);
    return runOn(testPlatform(), work);
  }

  it('is where a rule without a time zone runs, and where its wall times are read', () => {
    // Arrange
    const rule: TriggerRule = { type: 'ONE_TIME', executionDate: '2026-03-01T10:00:00' };

    // Act
    const made = withZone('Asia/Seoul', () => scheduleFromRule(rule, undefined, NOW));

    // Assert
    expect(made.timezone).toBe('Asia/Seoul');
    expect(made.local).toEqual({ at: '2026-03-01T01:00:00.000Z' });
  });

  it('gives way to the time zone a trigger names', () => {
    const rule: TriggerRule = { type: 'RECURRING', interval: 'DAY', time: '09:00' };
    expect(withZone('Asia/Seoul', () => scheduleFromRule(rule, 'UTC', NOW)).timezone).toBe('UTC');
  });

  it('is refused, naming the setting, when it is no IANA name: a Data Flow function does not even start', async () => {
    vi.stubEnv('SLUICE_DEFAULT_TIMEZONE', '+09:00');
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'sluice-jobs');

    expect(() => settingsFromEnvironment()).toThrow(/SLUICE_DEFAULT_TIMEZONE/);
    await expect(import('#functions/jobs')).rejects.toThrow(/SLUICE_DEFAULT_TIMEZONE/);
  });
});

describe('dates in a zone', () => {
  it.each([
    ['2024-07-10T05:16:01.250Z', 'Asia/Seoul', '2024-07-10T14:16:01+09:00'],
    ['2024-07-10T05:16:01Z', 'UTC', '2024-07-10T05:16:01+00:00'],
    ['2024-07-10T05:16:01Z', 'America/New_York', '2024-07-10T01:16:01-04:00'],
    ['2024-01-10T05:16:01Z', 'America/New_York', '2024-01-10T00:16:01-05:00'],
    ['2024-07-10T05:16:01Z', 'Asia/Kolkata', '2024-07-10T10:46:01+05:30'],
  ])('%s in %s is written %s', (iso, tz, expected) => {
    expect(formatInZone(Date.parse(iso), tz)).toBe(expected);
  });

  it.each([
    ['2025-03-19T00:00:00', 'Asia/Seoul', '2025-03-18T15:00:00.000Z'],
    ['2023-10-23T15:17:32.833', 'Asia/Seoul', '2023-10-23T06:17:32.000Z'],
    ['2025-03-19T00:00:00+00:00', 'Asia/Seoul', '2025-03-19T00:00:00.000Z'],
    ['2025-03-19T00:00:00Z', 'Asia/Seoul', '2025-03-19T00:00:00.000Z'],
    ['2025-03-19 09:30', 'UTC', '2025-03-19T09:30:00.000Z'],
  ])('%s read in %s is %s', (text, tz, expected) => {
    expect(new Date(parseDateTime(text, tz) as number).toISOString()).toBe(expected);
  });

  it.each([['2025-02-30T00:00:00'], ['yesterday'], ['2025-03-19']])('%s is no date-time', (text) => {
    expect(parseDateTime(text, 'UTC')).toBeUndefined();
  });
});

describe('errors name the field', () => {
  const day = (time: string): TriggerRule => ({ type: 'RECURRING', interval: 'DAY', time });
  const ruleCases: { name: string; rule: TriggerRule; tz?: string; field: string }[] = [
    { name: 'time 25:00', rule: day('25:00'), field: 'triggerRule.time' },
    { name: 'time 12:60', rule: day('12:60'), field: 'triggerRule.time' },
    { name: 'time with seconds', rule: day('12:00:30'), field: 'triggerRule.time' },
    { name: 'time missing', rule: { type: 'RECURRING', interval: 'DAY' }, field: 'triggerRule.time' },
    {
      name: 'HOUR minute 60',
      rule: { type: 'RECURRING', interval: 'HOUR', time: '60' },
      field: 'triggerRule.time',
    },
    {
      name: 'empty dayOfWeek for WEEK',
      rule: { type: 'RECURRING', interval: 'WEEK', time: '08:00', dayOfWeek: [] },
      field: 'triggerRule.dayOfWeek',
    },
    {
      name: 'missing dayOfWeek for WEEK',
      rule: { type: 'RECURRING', interval: 'WEEK', time: '08:00' },
      field: 'triggerRule.dayOfWeek',
    },
    {
      name: 'unknown day',
      rule: { type: 'RECURRING', interval: 'WEEK', time: '08:00', dayOfWeek: ['MON', 'FUNDAY'] },
      field: 'triggerRule.dayOfWeek',
    },
    ...['32', '0', '-2', '1.5', 'x'].map((date) => ({
      name: `dateOfMonth "${date}"`,
      rule: { type: 'RECURRING', interval: 'MONTH', time: '08:00', dateOfMonth: ['1', date] } as TriggerRule,
      field: 'triggerRule.dateOfMonth',
    })),
    {
      name: 'empty dateOfMonth for MONTH',
      rule: { type: 'RECURRING', interval: 'MONTH', time: '08:00', dateOfMonth: [] },
      field: 'triggerRule.dateOfMonth',
    },
    {
      name: 'unknown interval',
      rule: { type: 'RECURRING', interval: 'YEAR', time: '08:00' } as unknown as TriggerRule,
      field: 'triggerRule.interval',
    },
    { name: 'missing interval', rule: { type: 'RECURRING', time: '08:00' }, field: 'triggerRule.interval' },
    {
      name: 'unknown type',
      rule: { type: 'SOMETIMES' } as unknown as TriggerRule,
      field: 'triggerRule.type',
    },
    { name: 'NONE has no schedule', rule: { type: 'NONE' }, field: 'triggerRule.type' },
    { name: 'invalid timezone', rule: day('09:00'), tz: 'Mars/Olympus_Mons', field: 'timezone' },
    { name: 'offset as timezone', rule: day('09:00'), tz: '+09:00', field: 'timezone' },
    {
      name: 'past executionDate',
      rule: { type: 'ONE_TIME', executionDate: '2026-01-14T23:59:59Z' },
      field: 'triggerRule.executionDate',
    },
    {
      name: 'executionDate equal to now',
      rule: { type: 'ONE_TIME', executionDate: '2026-01-15T09:00:00+09:00' },
      field: 'triggerRule.executionDate',
    },
    {
      name: 'missing executionDate',
      rule: { type: 'ONE_TIME' },
      field: 'triggerRule.executionDate',
    },
    {
      name: 'executionDate that is no date',
      rule: { type: 'ONE_TIME', executionDate: '2030-02-30T10:00:00' },
      field: 'triggerRule.executionDate',
    },
  ];

  it.each(ruleCases)('rule: $name', ({ rule, tz, field }) => {
    const error = errorOf(() => scheduleFromRule(rule, tz, NOW));
    expect(error.field).toBe(field);
    expect(error.message).not.toBe('');
  });

  const expressionCases: { expression: string; tz?: string; field?: string; match?: RegExp }[] = [
    { expression: 'cron(0 12 1 * MON *)', match: /exactly one of day-of-month and day-of-week/ },
    { expression: 'cron(0 12 * * * *)', match: /exactly one of/ },
    { expression: 'cron(0 12 ? * ? *)', match: /exactly one of/ },
    { expression: 'cron(0 12 * * ?)', match: /6 fields/ },
    { expression: 'cron(60 12 * * ? *)', match: /outside 0-59/ },
    { expression: 'cron(0 24 * * ? *)', match: /outside 0-23/ },
    { expression: 'cron(0 0 32 * ? *)', match: /outside 1-31/ },
    { expression: 'cron(0 0 ? * 8 *)', match: /outside 1-7/ },
    { expression: 'cron(0 0 ? * 0 *)', match: /outside 1-7/ },
    { expression: 'cron(0 0 ? * FUN *)', match: /not a value/ },
    { expression: 'cron(0 0 ? * FRI-MON *)', match: /backwards/ },
    { expression: 'cron(0 0 ? * */2 *)', match: /does not take steps/ },
    { expression: 'cron(0 0 ? * 3#1,6#3 *)', match: /must stand alone/ },
    { expression: 'cron(0 0 1 * ? 1969)', match: /outside 1970-2199/ },
    { expression: 'cron(0/0 * * * ? *)', match: /step/ },
    { expression: 'cron(0 0 30 2 ? *)', match: /never fires/ },
    { expression: 'cron(0 0 1 1 ? 2020)', match: /never fires/ },
    { expression: 'rate(1 minutes)', match: /1 minute/ },
    { expression: 'rate(5 minute)', match: /5 minutes/ },
    { expression: 'rate(0 minutes)', match: /1 or more/ },
    { expression: 'rate(5 seconds)' },
    { expression: 'rate(-1 minutes)' },
    { expression: 'rate(1.5 hours)' },
    { expression: 'at(2030-01-01 09:00)' },
    { expression: 'at(2030-02-30T09:00:00)' },
    { expression: 'at(2025-12-31T23:59:59)', match: /in the past/ },
    { expression: 'every 5 minutes' },
    { expression: 'cron(0 12 * * ? *)', tz: 'Nowhere/Special', field: 'timezone' },
  ];

  it.each(expressionCases)('expression: $expression', ({ expression, tz, field, match }) => {
    const error = errorOf(() => scheduleFromExpression(expression, tz, NOW));
    expect(error.field).toBe(field ?? 'expression');
    if (match) expect(error.message).toMatch(match);
  });
});

describe('nextRuns', () => {
  it('returns nothing for a count below 1', () => {
    const schedule: Schedule = scheduleFromExpression('cron(0 12 * * ? *)', undefined, NOW);
    expect(nextRuns(schedule, NOW, 0)).toEqual([]);
  });
});

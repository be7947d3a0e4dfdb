/**
 * Schedules for SCHEDULED triggers.
 *
 * A trigger's schedule comes either from Data Flow's `triggerRule` (RECURRING / ONE_TIME) or from an
 * EventBridge Scheduler expression (`cron(...)`, `rate(...)`, `at(...)`) plus an IANA time zone. Both
 * end up as one {@link Schedule}: the expression and time zone that an EventBridge Scheduler schedule
 * is created with on AWS, and the equivalent `croner` pattern (or instant) that the local host runs
 * in-process. A rule or expression that names no time zone runs in SLUICE_DEFAULT_TIMEZONE (UTC unless
 * set); callers pass another one when the user asks for it.
 *
 * Day-of-week numbering differs between the two: EventBridge counts 1-7 from Sunday, croner counts
 * 0-6 from Sunday. The croner pattern always carries weekdays as plain 0-6 numbers, so it never
 * depends on croner's Quartz option.
 */
import { Cron } from 'croner';
import { platform } from '../platform/platform.ts';
import { canonicalTimezone } from '../setting-names.ts';
import type { Schedule } from './runtime.ts';

/** Data Flow's `triggerRule`. */
export interface TriggerRule {
  type: 'RECURRING' | 'ONE_TIME' | 'NONE';
  interval?: 'HOUR' | 'DAY' | 'WEEK' | 'MONTH';
  /**
   * For HOUR, the minute of every hour: "mm" (Data Flow documents 00-59); "HH:mm" is also taken, and
   * only its minutes count. For DAY, WEEK and MONTH, the wall-clock time "HH:mm" (":00" seconds allowed).
   */
  time?: string;
  /** WEEK: days such as "MON" or "MONDAY" (any case), kept as given. */
  dayOfWeek?: string[];
  /**
   * MONTH: Data Flow's string, a date "1".."31" or "-1" for the last day of the month; several may be
   * given comma-separated ("1,15,-1") or as an array of such strings.
   */
  dateOfMonth?: string[] | string;
  /** ONE_TIME: ISO 8601 date-time. With an offset it is an instant; without one, a wall time in the time zone. */
  executionDate?: string;
}

/** Bad schedule input. `field` names the offending input, e.g. `triggerRule.time`, `expression`, `timezone`. */
export class ScheduleError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'ScheduleError';
    this.field = field;
  }
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Time zones and wall clocks

/** True for a time zone name that Intl knows (offsets such as "+09:00" are not names and are refused). */
export function isValidTimezone(tz: string): boolean {
  return canonicalTimezone(tz) !== undefined;
}

/**
 * The canonical name of a time zone (SLUICE_DEFAULT_TIMEZONE when none is given), or a ScheduleError
 * on `timezone`.
 */
export function resolveTimezone(tz: string | undefined): string {
  if (tz === undefined || tz === null) return platform().settings.dataflow.defaultTimezone;
  const name = canonicalTimezone(tz);
  if (!name) throw new ScheduleError('timezone', `"${tz}" is not a known IANA time zone name.`);
  return name;
}

/** A wall-clock reading: what a zone's clocks show at some instant. */
export interface Wall {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

/** What the zone's clocks show at an instant (ms), to the second. */
export function wallAt(ms: number, tz: string): Wall {
  let format = wallFormatters.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallFormatters.set(tz, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(ms)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The instant at which UTC clocks would show `w` (fields out of range carry over, as in Date.UTC). */
export function wallAsUtc(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function offsetAt(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(wallAt(whole, tz)) - whole;
}

/**
 * The instant at which the zone's clocks show `w`. A wall time that happens twice (clocks going back)
 * gives the first of the two; one that never happens (clocks going forward) is moved forward by the
 * length of the gap, so 02:30 on a spring-forward night in New York becomes 03:30 daylight time.
 */
export function instantOfWall(w: Wall, tz: string): number {
  const asUtc = wallAsUtc(w);
  const offsetBefore = offsetAt(asUtc - DAY_MS, tz);
  const offsetAfter = offsetAt(asUtc + DAY_MS, tz);
  const matches = [asUtc - offsetBefore, asUtc - offsetAfter]
    .filter((t) => offsetAt(t, tz) === asUtc - t)
    .sort((a, b) => a - b);
  return matches[0] ?? asUtc - offsetBefore;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYY-MM-DDTHH:mm:ss`, no offset. */
export function formatWall(w: Wall): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** An offset in ms as `+09:00` / `-04:00` / `+00:00`. */
function formatOffset(offsetMs: number): string {
  const minutes = Math.round(Math.abs(offsetMs) / MINUTE_MS);
  return `${offsetMs < 0 ? '-' : '+'}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** An instant as the zone writes it, ISO 8601 with the zone's offset at that instant: `2024-07-10T14:16:01+09:00`. */
export function formatInZone(ms: number, tz: string): string {
  return `${formatWall(wallAt(ms, tz))}${formatOffset(offsetAt(ms, tz))}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isRealWall(w: Wall): boolean {
  return (
    w.month >= 1 &&
    w.month <= 12 &&
    w.day >= 1 &&
    w.day <= daysInMonth(w.year, w.month) &&
    w.hour <= 23 &&
    w.minute <= 59 &&
    w.second <= 59
  );
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads an ISO 8601 date-time as an instant (ms, whole seconds: a fraction is dropped); no offset
 * means wall time in `tz`. Undefined when the text is no such date-time.
 */
export function parseDateTime(text: string, tz: string): number | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const w: Wall = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6] ?? 0),
  };
  if (!isRealWall(w)) return undefined;
  const zone = m[7];
  if (zone === undefined) return instantOfWall(w, tz);
  if (zone.toUpperCase() === 'Z') return wallAsUtc(w);
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || 0);
  if (hours > 18 || minutes > 59) return undefined;
  const sign = zone.startsWith('-') ? -1 : 1;
  return wallAsUtc(w) - sign * (hours * 60 + minutes) * MINUTE_MS;
}

function oneTime(instant: number, tz: string, now: Date, field: string): Schedule {
  if (instant <= now.getTime()) {
    throw new ScheduleError(field, `${new Date(instant).toISOString()} is in the past.`);
  }
  return {
    expression: `at(${formatWall(wallAt(instant, tz))})`,
    timezone: tz,
    local: { at: new Date(instant).toISOString() },
  };
}

// ---------------------------------------------------------------------------------------------
// Data Flow triggerRule

const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
const WEEKDAY_FULL = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];

function ruleTime(interval: string, time: unknown): { hour: number; minute: number } {
  const field = 'triggerRule.time';
  if (typeof time !== 'string' || time.trim() === '') {
    throw new ScheduleError(field, `is required for a RECURRING ${interval} rule.`);
  }
  const text = time.trim();
  if (interval === 'HOUR') {
    // Data Flow sends the minute of the hour; "HH:mm" is tolerated and only its minutes are used.
    const m = /^(?:(\d{1,2}):)?(\d{1,2})$/.exec(text);
    const hour = m?.[1] === undefined ? 0 : Number(m[1]);
    const minute = Number(m?.[2]);
    if (!m || hour > 23 || minute > 59) {
      throw new ScheduleError(field, `"${time}" is not a minute of the hour (00-59, or HH:mm).`);
    }
    return { hour: 0, minute };
  }
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || (m[3] !== undefined && Number(m[3]) !== 0)) {
    throw new ScheduleError(field, `"${time}" is not a time of day (HH:mm, 00:00-23:59).`);
  }
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

function ruleWeekdays(days: unknown): string {
  const field = 'triggerRule.dayOfWeek';
  if (!Array.isArray(days) || days.length === 0) {
    throw new ScheduleError(field, 'lists at least one day for a WEEK rule.');
  }
  const picked = new Set<number>();
  for (const day of days) {
    const name = typeof day === 'string' ? day.trim().toUpperCase() : '';
    let index = WEEKDAY_FULL.indexOf(name);
    if (index < 0) index = WEEKDAYS.indexOf(name as (typeof WEEKDAYS)[number]);
    if (index < 0) throw new ScheduleError(field, `"${String(day)}" is not a day of the week.`);
    picked.add(index);
  }
  return [...picked]
    .sort((a, b) => a - b)
    .map((i) => WEEKDAYS[i])
    .join(',');
}

function ruleDates(dates: unknown): string {
  const field = 'triggerRule.dateOfMonth';
  const items: unknown[] =
    typeof dates === 'string' || typeof dates === 'number'
      ? String(dates).split(',')
      : Array.isArray(dates)
        ? dates
        : [];
  const days = new Set<number>();
  let last = false;
  for (const item of items) {
    const text = typeof item === 'number' || typeof item === 'string' ? String(item).trim() : '';
    if (text === '-1' || text.toUpperCase() === 'L') {
      last = true;
    } else if (/^\d{1,2}$/.test(text) && Number(text) >= 1 && Number(text) <= 31) {
      days.add(Number(text));
    } else {
      throw new ScheduleError(
        field,
        `"${String(item)}" is not a date of the month (1-31, or -1 for the last day).`,
      );
    }
  }
  if (days.size === 0 && !last) {
    throw new ScheduleError(field, 'lists at least one date for a MONTH rule.');
  }
  const list = [...days].sort((a, b) => a - b).map(String);
  if (last) list.push('L');
  return list.join(',');
}

/**
 * The schedule for a Data Flow `triggerRule`, in `timezone` (default UTC). `now` is only used to
 * refuse a ONE_TIME date that has already passed.
 */
export function scheduleFromRule(rule: TriggerRule, timezone?: string, now: Date = new Date()): Schedule {
  const tz = resolveTimezone(timezone);
  if (rule === null || typeof rule !== 'object') {
    throw new ScheduleError('triggerRule', 'is required.');
  }
  const type = typeof rule.type === 'string' ? rule.type.toUpperCase() : rule.type;
  if (type === 'ONE_TIME') {
    const field = 'triggerRule.executionDate';
    if (typeof rule.executionDate !== 'string' || rule.executionDate.trim() === '') {
      throw new ScheduleError(field, 'is required for a ONE_TIME rule.');
    }
    const instant = parseDateTime(rule.executionDate, tz);
    if (instant === undefined) {
      throw new ScheduleError(field, `"${rule.executionDate}" is not an ISO 8601 date-time.`);
    }
    return oneTime(instant, tz, now, field);
  }
  if (type === 'NONE') {
    throw new ScheduleError('triggerRule.type', 'a NONE rule has no schedule.');
  }
  if (type !== 'RECURRING') {
    throw new ScheduleError('triggerRule.type', `"${String(rule.type)}" is not RECURRING, ONE_TIME or NONE.`);
  }
  const interval = typeof rule.interval === 'string' ? rule.interval.toUpperCase() : undefined;
  if (!interval || !['HOUR', 'DAY', 'WEEK', 'MONTH'].includes(interval)) {
    throw new ScheduleError(
      'triggerRule.interval',
      rule.interval === undefined
        ? 'is required for a RECURRING rule.'
        : `"${String(rule.interval)}" is not HOUR, DAY, WEEK or MONTH.`,
    );
  }
  const { hour, minute } = ruleTime(interval, rule.time);
  let fields: string;
  switch (interval) {
    case 'HOUR':
      fields = `${minute} * * * ? *`;
      break;
    case 'DAY':
      fields = `${minute} ${hour} * * ? *`;
      break;
    case 'WEEK':
      fields = `${minute} ${hour} ? * ${ruleWeekdays(rule.dayOfWeek)} *`;
      break;
    default:
      fields = `${minute} ${hour} ${ruleDates(rule.dateOfMonth)} * ? *`;
  }
  return cronSchedule(fields, tz, now);
}

// ---------------------------------------------------------------------------------------------
// EventBridge expressions

/**
 * The schedule for an EventBridge Scheduler expression, in `timezone` (default UTC). `now` is used to
 * refuse an `at()` in the past and a cron that can never fire again.
 */
export function scheduleFromExpression(
  expression: string,
  timezone?: string,
  now: Date = new Date(),
): Schedule {
  const tz = resolveTimezone(timezone);
  const text = typeof expression === 'string' ? expression.trim() : '';
  const m = /^(cron|rate|at)\((.*)\)$/is.exec(text);
  if (!m) {
    throw new ScheduleError('expression', `"${expression}" is not cron(...), rate(...) or at(...).`);
  }
  const kind = (m[1] ?? '').toLowerCase();
  const body = (m[2] ?? '').trim();
  if (kind === 'rate') {
    const rate = parseRate(body);
    return {
      expression: `rate(${rate.value} ${rate.unit})`,
      timezone: tz,
      local: { cron: '0 * * * * *', interval: rate.ms / 1000 },
    };
  }
  if (kind === 'at') {
    const at = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
    const w: Wall | undefined = at
      ? {
          year: Number(at[1]),
          month: Number(at[2]),
          day: Number(at[3]),
          hour: Number(at[4]),
          minute: Number(at[5]),
          second: Number(at[6]),
        }
      : undefined;
    if (!w || !isRealWall(w)) {
      throw new ScheduleError('expression', `"${expression}" is not at(yyyy-mm-ddThh:mm:ss).`);
    }
    return oneTime(instantOfWall(w, tz), tz, now, 'expression');
  }
  return cronSchedule(body, tz, now);
}

interface Rate {
  value: number;
  unit: string;
  ms: number;
}

const RATE_UNITS: Record<string, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: DAY_MS };

function parseRate(body: string): Rate {
  const m = /^(\d+)\s+([a-z]+)$/i.exec(body);
  const value = Number(m?.[1]);
  const unit = (m?.[2] ?? '').toLowerCase();
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  const unitMs = RATE_UNITS[singular];
  if (!m || unitMs === undefined || !Number.isSafeInteger(value)) {
    throw new ScheduleError('expression', `"rate(${body})" is not rate(<n> minutes|hours|days).`);
  }
  if (value < 1) throw new ScheduleError('expression', `rate(${body}): the value must be 1 or more.`);
  // EventBridge wants the singular unit with 1 and the plural otherwise.
  const expected = value === 1 ? singular : `${singular}s`;
  if (unit !== expected) {
    throw new ScheduleError('expression', `rate(${body}): write "${value} ${expected}".`);
  }
  return { value, unit, ms: value * unitMs };
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[]; // names[i] stands for min + i
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const F_MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const F_HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const F_DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const F_MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS };
const F_DOW: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS };
const F_YEAR: FieldSpec = { name: 'year', min: 1970, max: 2199 };

function cronError(fields: string, message: string): ScheduleError {
  return new ScheduleError('expression', `cron(${fields}): ${message}`);
}

function fieldValue(text: string, spec: FieldSpec, fields: string): number {
  let value: number;
  if (/^\d+$/.test(text)) {
    value = Number(text);
  } else {
    const index = spec.names?.indexOf(text) ?? -1;
    if (index < 0) throw cronError(fields, `"${text}" is not a value of the ${spec.name} field.`);
    value = spec.min + index;
  }
  if (value < spec.min || value > spec.max) {
    throw cronError(fields, `${spec.name} ${text} is outside ${spec.min}-${spec.max}.`);
  }
  return value;
}

/**
 * One list item of a plain field (a star, `n`, `a-b`, or any of these with a `/step`), rewritten for
 * croner: names become numbers and every step gets an explicit range, because a stepped star or a bare
 * `a/step` would start or end at different values in the two libraries (the year field above all).
 */
function plainItem(item: string, spec: FieldSpec, fields: string, steps: boolean): string {
  const m = /^(\*|[A-Z0-9]+)(?:-([A-Z0-9]+))?(?:\/(\d+))?$/.exec(item);
  if (!m || (m[1] === '*' && m[2] !== undefined)) {
    throw cronError(fields, `"${item}" is not valid in the ${spec.name} field.`);
  }
  const [, startText = '', endText, stepText] = m;
  if (stepText !== undefined && !steps) {
    throw cronError(fields, `the ${spec.name} field does not take steps ("${item}").`);
  }
  if (startText === '*') {
    return stepText === undefined ? '*' : `${spec.min}-${spec.max}/${step(stepText, spec, fields)}`;
  }
  const start = fieldValue(startText, spec, fields);
  const end = endText === undefined ? undefined : fieldValue(endText, spec, fields);
  if (end !== undefined && end < start) {
    throw cronError(fields, `the ${spec.name} range "${item}" runs backwards.`);
  }
  if (stepText === undefined) return end === undefined ? String(start) : `${start}-${end}`;
  return `${start}-${end ?? spec.max}/${step(stepText, spec, fields)}`;
}

function step(text: string, spec: FieldSpec, fields: string): number {
  const value = Number(text);
  if (value < 1 || value > spec.max - spec.min + 1) {
    throw cronError(fields, `step /${text} does not fit the ${spec.name} field.`);
  }
  return value;
}

function plainField(field: string, spec: FieldSpec, fields: string, steps = true): string {
  return field
    .split(',')
    .map((item) => plainItem(item, spec, fields, steps))
    .join(',');
}

function dayOfMonthField(field: string, fields: string): string {
  return field
    .split(',')
    .map((item) => {
      if (item === 'L' || item === 'LW') return item;
      const weekday = /^(\d+)W$/.exec(item);
      if (weekday) return `${fieldValue(weekday[1] ?? '', F_DOM, fields)}W`;
      return plainItem(item, F_DOM, fields, true);
    })
    .join(',');
}

/** EventBridge weekdays (1-7 from Sunday, or names) as croner weekdays (0-6 from Sunday). */
function dayOfWeekField(field: string, fields: string): string {
  const items = field.split(',');
  if (items.length > 1 && items.some((item) => item.includes('#'))) {
    throw cronError(fields, 'a day-of-week with # must stand alone.');
  }
  const out: string[] = [];
  for (const item of items) {
    if (item === 'L') {
      out.push('6'); // "L" alone is the last day of the week: Saturday
      continue;
    }
    const last = /^([A-Z0-9]+)L$/.exec(item);
    if (last) {
      out.push(`${fieldValue(last[1] ?? '', F_DOW, fields) - 1}#L`);
      continue;
    }
    const nth = /^([A-Z0-9]+)#(\d+)$/.exec(item);
    if (nth) {
      const n = Number(nth[2]);
      if (n < 1 || n > 5) throw cronError(fields, `"${item}": the week of the month must be 1-5.`);
      out.push(`${fieldValue(nth[1] ?? '', F_DOW, fields) - 1}#${n}`);
      continue;
    }
    const range = plainItem(item, F_DOW, fields, false);
    if (range === '*') {
      out.push('*');
      continue;
    }
    const [from = 0, to = from] = range.split('-').map(Number);
    for (let day = from; day <= to; day++) out.push(String(day - 1));
  }
  return [...new Set(out)].join(',');
}

function cronSchedule(body: string, tz: string, now: Date): Schedule {
  const fields = body.trim().toUpperCase().split(/\s+/);
  const text = fields.join(' ');
  if (fields.length !== 6) {
    throw cronError(text, 'needs 6 fields: minutes hours day-of-month month day-of-week year.');
  }
  const [minutes = '', hours = '', dom = '', month = '', dow = '', year = ''] = fields;
  for (const [name, value] of [
    ['minutes', minutes],
    ['hours', hours],
    ['month', month],
    ['year', year],
  ] as const) {
    if (value.includes('?')) throw cronError(text, `? is not allowed in the ${name} field.`);
  }
  if ((dom === '?') === (dow === '?')) {
    throw cronError(text, 'exactly one of day-of-month and day-of-week must be "?".');
  }
  if (dom.includes('?') && dom !== '?') throw cronError(text, '"?" must be the whole day-of-month field.');
  if (dow.includes('?') && dow !== '?') throw cronError(text, '"?" must be the whole day-of-week field.');

  const parts = [
    '0',
    plainField(minutes, F_MINUTES, text),
    plainField(hours, F_HOURS, text),
    dom === '?' ? '*' : dayOfMonthField(dom, text),
    plainField(month, F_MONTH, text),
    dow === '?' ? '*' : dayOfWeekField(dow, text),
  ];
  const yearPart = plainField(year, F_YEAR, text);
  if (yearPart !== '*') parts.push(yearPart);
  const pattern = parts.join(' ');

  let next: Date | null;
  try {
    next = new Cron(pattern, { timezone: tz }).nextRun(now);
  } catch (error) {
    throw cronError(text, `not supported here (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (!next) throw cronError(text, 'never fires after now.');
  return { expression: `cron(${text})`, timezone: tz, local: { cron: pattern } };
}

// ---------------------------------------------------------------------------------------------
// Upcoming runs

/**
 * The next `count` fire times strictly after `from`. Cron schedules are walked by croner in the
 * schedule's time zone. A rate schedule is taken to start at `from`: its runs are `from` plus one,
 * two, ... periods, each rounded up to a whole minute (which is also where the local croner job with
 * `interval` fires). A one-time schedule gives its instant if that is still ahead.
 */
export function nextRuns(schedule: Schedule, from: Date, count: number): Date[] {
  if (!(count >= 1)) return [];
  const local = schedule.local;
  if ('at' in local) {
    const at = Date.parse(local.at);
    return at > from.getTime() ? [new Date(at)] : [];
  }
  const rate = /^rate\((.*)\)$/.exec(schedule.expression);
  if (rate) {
    const period = parseRate(rate[1] ?? '').ms;
    const first = Math.ceil((from.getTime() + period) / MINUTE_MS) * MINUTE_MS;
    return Array.from({ length: count }, (_, i) => new Date(first + i * period));
  }
  return new Cron(local.cron, { timezone: schedule.timezone }).nextRuns(count, from);
}

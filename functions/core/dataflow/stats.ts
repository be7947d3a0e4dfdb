/**
 * Data Flow's dashboard: execution counts over a date range, read from the per-day run index (one
 * Query per UTC day the range touches; see recordRunDay in pipelines/runs.ts), never a scan.
 *
 * Everything is on the clock of SLUICE_DEFAULT_TIMEZONE, as Data Flow's is Korean time:
 * - `startDate` / `endDate` are ISO 8601; one without an offset (`2025-03-19T00:00:00`, as the
 *   reference examples send) is a wall time in that zone, a bare date is that day's midnight there.
 *   The range runs from `startDate` to the end of the second `endDate` names (a bare end date: to
 *   the end of that day), so `…T00:00:00` to `…T23:59:59` covers whole days.
 * - getExecutionCount has one bucket per day of the range, from `D 00:00:01` to `D+1 00:00:00`
 *   (whole seconds, as the reference defines them), written `YYYY-MM-DDTHH:mm:ss` without offset.
 * - getExecutionTimes has one point per bucket, its start as epoch ms and the number of runs that
 *   started in it: 2-hour buckets on even hours for a range of up to two days (the reference's
 *   example), whole days from midnight beyond.
 * A run counts where it was created (requested), and only inside the requested range.
 */
import * as z from 'zod';
import { queryAll } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { runDayKey } from '../pipelines/runs.ts';
import { platform } from '../platform/platform.ts';
import {
  formatWall,
  instantOfWall,
  parseDateTime,
  type Wall,
  wallAsUtc,
  wallAt,
} from '../triggers/schedule.ts';

const SECOND = 1000;
const DAY = 86_400_000;
const MAX_DAYS = 366;
/** Ranges up to this long get 2-hour points from getExecutionTimes; longer ones daily points. */
const TWO_HOUR_POINTS_UP_TO = 2 * DAY;

/** The zone stats dates are read in (SLUICE_DEFAULT_TIMEZONE). */
const zone = () => platform().settings.dataflow.defaultTimezone;

interface RunDay {
  batch_id: string;
  status: string;
  created_at: string;
}

const BARE_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** An instant from a stats date: a bare date or a date-time without offset is read in the zone. */
function instantOf(text: string): number | undefined {
  const trimmed = text.trim();
  const parsed = parseDateTime(BARE_DATE.test(trimmed) ? `${trimmed}T00:00:00` : trimmed, zone());
  // An ISO date that is no real date (02-30) is refused; other forms Date.parse reads are still
  // taken, as before dates were read in the zone.
  if (parsed !== undefined || /^\d{4}-\d{2}-\d{2}/.test(trimmed)) return parsed;
  const loose = Date.parse(trimmed);
  return Number.isNaN(loose) ? undefined : loose;
}

const dateParam = z.string().refine((s) => instantOf(s) !== undefined, {
  message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});

export const statsQuerySchema = z.object({ startDate: dateParam, endDate: dateParam });

type StatsQuery = z.output<typeof statsQuerySchema>;

/** Adds to a wall time (carrying over as Date.UTC does) and normalises the fields again. */
function shift(w: Wall, by: { days?: number; hours?: number; seconds?: number }): Wall {
  const t = wallAsUtc({
    ...w,
    day: w.day + (by.days ?? 0),
    hour: w.hour + (by.hours ?? 0),
    second: w.second + (by.seconds ?? 0),
  });
  const d = new Date(t);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

const midnight = (w: Wall): Wall => ({ ...w, hour: 0, minute: 0, second: 0 });

/** [start, end) in epoch ms. */
function range(q: StatsQuery): [number, number] {
  const start = instantOf(q.startDate) as number;
  const endText = q.endDate.trim();
  const end = BARE_DATE.test(endText)
    ? instantOfWall(shift(midnight(wallAt(instantOf(endText) as number, zone())), { days: 1 }), zone())
    : Math.floor((instantOf(endText) as number) / SECOND) * SECOND + SECOND;
  if (end <= start) throw ValidationError.field('query.endDate', 'must be after startDate');
  if ((end - start) / DAY > MAX_DAYS)
    throw ValidationError.field('query.endDate', `must be at most ${MAX_DAYS} days after startDate`);
  return [start, end];
}

/** The runs requested in [start, end). */
async function runsIn(start: number, end: number): Promise<RunDay[]> {
  const days: string[] = [];
  for (let t = Math.floor(start / DAY) * DAY; t < end; t += DAY) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  const perDay = await Promise.all(
    days.map((day) => queryAll<RunDay & Record<string, unknown>>({ partition: runDayKey(day) })),
  );
  return perDay.flat().filter((r) => {
    const t = Date.parse(r.created_at);
    return t >= start && t < end;
  });
}

/** When each run in [start, end) was requested (ms). */
const runTimes = async (start: number, end: number) =>
  (await runsIn(start, end)).map((r) => Date.parse(r.created_at));

const countIn = (times: number[], from: number, to: number) =>
  times.filter((t) => t >= from && t < to).length;

export async function executionResult(q: StatsQuery) {
  const [start, end] = range(q);
  const runs = await runsIn(start, end);
  return {
    totalCount: runs.length,
    completedCount: runs.filter((r) => r.status === 'completed').length,
    failedCount: runs.filter((r) => r.status === 'failed').length,
  };
}

/** One bucket per day of the range, `D 00:00:01` to `D+1 00:00:00`, sorted by date. */
export async function executionCount(q: StatsQuery) {
  const [start, end] = range(q);
  const times = await runTimes(start, end);
  const last = midnight(wallAt(end - 1, zone()));
  const result: { totalCount: number; startDate: string; endDate: string }[] = [];
  for (
    let day = midnight(wallAt(start, zone()));
    wallAsUtc(day) <= wallAsUtc(last);
    day = shift(day, { days: 1 })
  ) {
    const next = shift(day, { days: 1 });
    // Whole seconds 00:00:01 … 00:00:00 of the next day: instants from 00:00:01.000 up to 00:00:01.000 next day.
    const from = instantOfWall(day, zone()) + SECOND;
    const to = instantOfWall(next, zone()) + SECOND;
    result.push({
      totalCount: countIn(times, from, to),
      startDate: formatWall(shift(day, { seconds: 1 })),
      endDate: formatWall(next),
    });
  }
  return { result };
}

/** Runs started per bucket: `time` is the bucket's start (epoch ms), `value` the number of runs. */
export async function executionTimes(q: StatsQuery) {
  const [start, end] = range(q);
  const times = await runTimes(start, end);
  const hours = end - start <= TWO_HOUR_POINTS_UP_TO ? 2 : 24;
  const first = wallAt(start, zone());
  const step = hours === 24 ? { days: 1 } : { hours };
  const result: { time: number; value: number }[] = [];
  let bucket: Wall = { ...midnight(first), hour: first.hour - (first.hour % hours) };
  for (let from = instantOfWall(bucket, zone()); from < end; ) {
    bucket = shift(bucket, step);
    const to = instantOfWall(bucket, zone());
    result.push({ time: from, value: countIn(times, from, to) });
    from = to;
  }
  return { result };
}

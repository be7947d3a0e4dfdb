/**
 * Data Flow's dashboard: execution counts and times over a date range, read from the per-day
 * run index (one Query per UTC day; see recordRunDay in pipelines/runs.ts), never a scan.
 */
import { z } from 'zod';
import { queryAll } from '../db.ts';
import { ValidationError } from '../errors.ts';
import { runDayKey } from '../pipelines/runs.ts';

const DAY = 86_400_000;
const MAX_DAYS = 366;

interface RunDay {
  batch_id: string;
  status: string;
  created_at: string;
  duration_ms?: number;
}

const dateParam = z.string().refine((s) => !Number.isNaN(Date.parse(s)), {
  message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time',
});

export const statsQuerySchema = z.object({ startDate: dateParam, endDate: dateParam });

/** [start, end) in epoch ms; a bare end date includes that whole day. */
function range(q: z.output<typeof statsQuerySchema>): [number, number] {
  const start = Date.parse(q.startDate);
  const end = Date.parse(q.endDate) + (/^\d{4}-\d{2}-\d{2}$/.test(q.endDate) ? DAY : 0);
  if (end <= start) throw ValidationError.field('query.endDate', 'must be after startDate');
  if ((end - start) / DAY > MAX_DAYS)
    throw ValidationError.field('query.endDate', `must be at most ${MAX_DAYS} days after startDate`);
  return [start, end];
}

function days(start: number, end: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(start / DAY) * DAY; t < end; t += DAY)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

async function runsOf(day: string, start: number, end: number): Promise<RunDay[]> {
  const items = await queryAll<RunDay & Record<string, unknown>>({ partition: runDayKey(day) });
  return items.filter((r) => {
    const t = Date.parse(r.created_at);
    return t >= start && t < end;
  });
}

export async function executionResult(q: z.output<typeof statsQuerySchema>) {
  const [start, end] = range(q);
  const runs = (await Promise.all(days(start, end).map((d) => runsOf(d, start, end)))).flat();
  return {
    totalCount: runs.length,
    completedCount: runs.filter((r) => r.status === 'completed').length,
    failedCount: runs.filter((r) => r.status === 'failed').length,
  };
}

export async function executionCount(q: z.output<typeof statsQuerySchema>) {
  const [start, end] = range(q);
  const result = await Promise.all(
    days(start, end).map(async (day) => {
      const from = Math.max(start, Date.parse(day));
      const to = Math.min(end, Date.parse(day) + DAY);
      return {
        totalCount: (await runsOf(day, from, to)).length,
        startDate: new Date(from).toISOString(),
        endDate: new Date(to).toISOString(),
      };
    }),
  );
  return { result };
}

/** One point per finished run: when it was created (epoch ms) and how long it ran (ms). */
export async function executionTimes(q: z.output<typeof statsQuerySchema>) {
  const [start, end] = range(q);
  const runs = (await Promise.all(days(start, end).map((d) => runsOf(d, start, end)))).flat();
  return {
    result: runs
      .filter((r) => r.duration_ms !== undefined)
      .map((r) => ({ time: Date.parse(r.created_at), value: r.duration_ms as number }))
      .sort((a, b) => a.time - b.time),
  };
}

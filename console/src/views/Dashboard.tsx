/**
 * Dashboard: runs per day by status, run durations, runs started and recent failures. Totals
 * and per-day counts come from the Data Flow stats routes; status and duration per run from the
 * batches themselves (the stats routes count runs only).
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { call, itemsOf, messageOf } from '../api.ts';
import { Link } from '../router.tsx';
import type { Batch, Pipeline } from '../types.ts';

const DAY = 86_400_000;
const DAILY_SERIES: uPlot.Series[] = [
  { label: 'All runs', stroke: '#3b82f6', width: 2 },
  { label: 'Completed', stroke: '#16a34a', width: 2 },
  { label: 'Failed', stroke: '#dc2626', width: 2 },
];
const DURATION_SERIES: uPlot.Series[] = [
  { label: 'Duration (s)', stroke: '#9333ea', width: 0, points: { show: true, size: 6 } },
];
const STARTED_SERIES: uPlot.Series[] = [{ label: 'Runs started', stroke: '#0ea5e9', width: 2 }];

/**
 * A time chart over the chosen period: the x axis always spans the whole period (seconds), so a
 * single run does not stretch it into years.
 */
function Chart({
  title,
  data,
  series,
  period,
}: {
  title: string;
  data: uPlot.AlignedData;
  series: uPlot.Series[];
  period: readonly [number, number];
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const width = Math.max(300, Math.min(900, host.current.clientWidth || 600));
    const plot = new uPlot(
      {
        width,
        height: 240,
        series: [{}, ...series],
        scales: { x: { time: true, range: [period[0], period[1]] } },
      },
      data,
      host.current,
    );
    return () => plot.destroy();
  }, [data, series, period]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={host} role="img" aria-label={title} />
    </figure>
  );
}

export default function Dashboard() {
  const [days, setDays] = useState(14);
  const [end] = useState(() => new Date());
  const start = new Date(end.getTime() - days * DAY);
  const range = { startDate: start.toISOString(), endDate: end.toISOString() };
  const period = useMemo(
    () => [Math.floor((end.getTime() - days * DAY) / 1000), Math.ceil(end.getTime() / 1000)] as const,
    [days, end],
  );
  const totals = useQuery({
    queryKey: ['stats', 'totals', days],
    queryFn: () =>
      call<{ totalCount: number; completedCount: number; failedCount: number }>(
        'GET',
        '/api/v1/stats/executions',
        {
          query: range,
        },
      ),
  });
  const perDay = useQuery({
    queryKey: ['stats', 'interval', days],
    queryFn: () =>
      call<{ result: { totalCount: number; startDate: string }[] }>(
        'GET',
        '/api/v1/stats/executions-interval',
        {
          query: range,
        },
      ),
  });
  const times = useQuery({
    queryKey: ['stats', 'times', days],
    queryFn: () =>
      call<{ result: { time: number; value: number }[] }>('GET', '/api/v1/stats/executions-times', {
        query: range,
      }),
  });
  const pipelines = useQuery({
    queryKey: ['pipelines'],
    queryFn: async () => {
      const answer = await call<{ items?: Record<string, string> } | Pipeline[]>('GET', '/api/v1/pipelines', {
        query: { limit: 1000 },
      });
      return Array.isArray(answer) ? answer : itemsOf<Pipeline>(answer);
    },
  });
  const ids = (pipelines.data ?? []).slice(0, 25).map((p) => p.id);
  const batches = useQuery({
    queryKey: ['batches', ids.join(',')],
    enabled: ids.length > 0,
    queryFn: async () =>
      (
        await Promise.all(
          ids.map(async (id) =>
            itemsOf<Batch>(await call('GET', `/api/v1/batches/${id}/`, { query: { limit: 100 } })),
          ),
        )
      ).flat(),
  });

  const error = totals.error ?? perDay.error ?? times.error ?? batches.error;
  const since = start.getTime();
  const runs = (batches.data ?? []).filter((b) => Date.parse(b.started_at ?? b.created_at ?? '') >= since);
  const dayOf = (iso: string) => new Date(iso).toDateString();
  const byDay = new Map<string, { completed: number; failed: number }>();
  for (const b of runs) {
    const day = dayOf(b.started_at ?? b.created_at ?? '');
    const entry = byDay.get(day) ?? { completed: 0, failed: 0 };
    if (b.status === 'completed') entry.completed++;
    if (b.status === 'failed') entry.failed++;
    byDay.set(day, entry);
  }
  const daily = perDay.data?.result ?? [];
  const dailyData: uPlot.AlignedData = [
    daily.map((d) => Date.parse(d.startDate) / 1000),
    daily.map((d) => d.totalCount),
    daily.map((d) => byDay.get(dayOf(d.startDate))?.completed ?? 0),
    daily.map((d) => byDay.get(dayOf(d.startDate))?.failed ?? 0),
  ];
  const finished = runs
    .filter((b) => b.started_at && b.finished_at)
    .map((b) => {
      const endMs = Date.parse(b.finished_at as string);
      return [endMs / 1000, (endMs - Date.parse(b.started_at as string)) / 1000] as const;
    })
    .sort((a, b) => a[0] - b[0]);
  const durationData: uPlot.AlignedData = [finished.map((f) => f[0]), finished.map((f) => f[1])];
  const timeData: uPlot.AlignedData = [
    (times.data?.result ?? []).map((t) => t.time / 1000),
    (times.data?.result ?? []).map((t) => t.value),
  ];
  const failures = runs
    .filter((b) => b.status === 'failed')
    .sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)))
    .slice(0, 10);
  const names = new Map(pipelines.data?.map((p) => [p.id, p.name]));

  return (
    <section className="view">
      <div className="row">
        <h1>Dashboard</h1>
        <label>
          Period{' '}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={30}>30 days</option>
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="error">
          {messageOf(error)}
        </p>
      )}
      <dl className="stats">
        <div>
          <dt>Runs</dt>
          <dd>{totals.data?.totalCount ?? '…'}</dd>
        </div>
        <div>
          <dt>Completed</dt>
          <dd>{totals.data?.completedCount ?? '…'}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd className={totals.data?.failedCount ? 'bad' : ''}>{totals.data?.failedCount ?? '…'}</dd>
        </div>
      </dl>
      {perDay.data && (
        <Chart title="Runs per day by status" data={dailyData} series={DAILY_SERIES} period={period} />
      )}
      {batches.data && (
        <Chart title="Run durations (seconds)" data={durationData} series={DURATION_SERIES} period={period} />
      )}
      {times.data && <Chart title="Runs started" data={timeData} series={STARTED_SERIES} period={period} />}
      <h2>Recent failures</h2>
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Batch</th>
            <th scope="col">Pipeline</th>
            <th scope="col">Started</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {failures.map((b) => (
            <tr key={b.id}>
              <td>
                <Link to={`/pipelines/${b.pipeline_id}/batches/${b.id}`}>{b.id}</Link>
              </td>
              <td>{names.get(b.pipeline_id) ?? b.pipeline_id}</td>
              <td>{b.started_at ? new Date(b.started_at).toLocaleString() : '—'}</td>
              <td>{b.error ?? ''}</td>
            </tr>
          ))}
          {failures.length === 0 && (
            <tr>
              <td colSpan={4}>No failed runs in this period.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

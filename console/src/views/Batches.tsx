/** Batches across pipelines, filtered by state, pipeline and start time; the filters live in the URL. */
import { useQuery } from '@tanstack/react-query';
import { call, itemsOf, messageOf } from '../api.ts';
import { Link, setSearch, useLocation } from '../router.tsx';
import type { Batch, Pipeline } from '../types.ts';
import { StateBadge } from './Pipelines.tsx';

const STATES = ['pending', 'scheduled', 'running', 'stop', 'completed', 'failed'];
const SINCE: Record<string, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

export function BatchList() {
  const { search } = useLocation();
  const state = search.get('state') ?? '';
  const pipelineId = search.get('pipeline') ?? '';
  const since = search.get('since') ?? '';
  const pipelines = useQuery({
    queryKey: ['pipelines'],
    queryFn: async () => {
      const answer = await call<{ items?: Record<string, string> } | Pipeline[]>('GET', '/api/v1/pipelines', {
        query: { limit: 1000 },
      });
      return Array.isArray(answer) ? answer : itemsOf<Pipeline>(answer);
    },
  });
  const ids = pipelineId ? [pipelineId] : (pipelines.data ?? []).slice(0, 25).map((p) => p.id);
  const batches = useQuery({
    queryKey: ['batches', ids.join(',')],
    enabled: ids.length > 0,
    refetchInterval: 5_000,
    queryFn: async () =>
      (
        await Promise.all(
          ids.map(async (id) =>
            itemsOf<Batch>(await call('GET', `/api/v1/batches/${id}/`, { query: { limit: 100 } })),
          ),
        )
      )
        .flat()
        .sort((a, b) =>
          String(b.created_at ?? b.started_at).localeCompare(String(a.created_at ?? a.started_at)),
        ),
  });
  const names = new Map(pipelines.data?.map((p) => [p.id, p.name]));
  const cutoff = since && SINCE[since] ? Date.now() - (SINCE[since] as number) : 0;
  const shown = (batches.data ?? []).filter(
    (b) =>
      (!state || b.status === state) && (!cutoff || Date.parse(b.started_at ?? b.created_at ?? '') >= cutoff),
  );
  return (
    <section className="view">
      <h1>Batches</h1>
      <form className="row filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{' '}
          <select value={state} onChange={(e) => setSearch({ state: e.target.value })}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Pipeline{' '}
          <select value={pipelineId} onChange={(e) => setSearch({ pipeline: e.target.value })}>
            <option value="">any (25 most recent pipelines)</option>
            {pipelines.data?.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started{' '}
          <select value={since} onChange={(e) => setSearch({ since: e.target.value })}>
            <option value="">any time</option>
            <option value="1h">last hour</option>
            <option value="24h">last 24 hours</option>
            <option value="7d">last 7 days</option>
            <option value="30d">last 30 days</option>
          </select>
        </label>
      </form>
      {batches.error && (
        <p role="alert" className="error">
          {messageOf(batches.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Batch</th>
            <th scope="col">Pipeline</th>
            <th scope="col">State</th>
            <th scope="col">Started</th>
            <th scope="col">Finished</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((b) => (
            <tr key={b.id}>
              <td>
                <Link to={`/pipelines/${b.pipeline_id}/batches/${b.id}`}>{b.id}</Link>
              </td>
              <td>{names.get(b.pipeline_id) ?? b.pipeline_id}</td>
              <td>
                <StateBadge state={b.status} />
              </td>
              <td>{b.started_at ? new Date(b.started_at).toLocaleString() : '—'}</td>
              <td>{b.finished_at ? new Date(b.finished_at).toLocaleString() : '—'}</td>
            </tr>
          ))}
          {batches.data && shown.length === 0 && (
            <tr>
              <td colSpan={5}>No batches match.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

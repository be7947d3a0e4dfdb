/** Pipelines: each with its version, validity, last run and its few most recent runs. */
import { useQuery } from '@tanstack/react-query';
import { call, itemsOf, messageOf } from '../api.ts';
import { useSession } from '../auth.tsx';
import { Link } from '../router.tsx';
import type { Batch, Job, Pipeline } from '../types.ts';

export function StateBadge({ state }: { state: string | null | undefined }) {
  const s = (state ?? 'none').toLowerCase();
  return <span className={`badge state-${s}`}>{s}</span>;
}

function RecentRuns({ pipelineId }: { pipelineId: string }) {
  const runs = useQuery({
    queryKey: ['recent-batches', pipelineId],
    queryFn: async () =>
      itemsOf<Batch>(await call('GET', `/api/v1/batches/${pipelineId}/`, { query: { limit: 5 } })).sort(
        (a, b) => String(b.created_at ?? b.started_at).localeCompare(String(a.created_at ?? a.started_at)),
      ),
  });
  return (
    <span className="recent">
      {runs.data?.slice(0, 5).map((b) => (
        <Link
          key={b.id}
          to={`/pipelines/${pipelineId}/batches/${b.id}`}
          className={`dot state-${b.status}`}
          title={`${b.status} ${b.started_at ?? ''}`}
          aria-label={`Run ${b.id}: ${b.status}`}
        />
      ))}
    </span>
  );
}

export function PipelineList() {
  const { canWrite } = useSession();
  const pipelines = useQuery({
    queryKey: ['pipelines'],
    queryFn: async () => {
      const answer = await call<{ items?: Record<string, string> } | Pipeline[]>('GET', '/api/v1/pipelines', {
        query: { limit: 1000 },
      });
      return Array.isArray(answer) ? answer : itemsOf<Pipeline>(answer);
    },
  });
  // The Data Flow view of the same store carries each one's last run.
  const jobs = useQuery({
    queryKey: ['jobs'],
    queryFn: () => call<{ list: Job[] }>('GET', '/api/v1/jobs', { query: { limit: 1000 } }),
  });
  const lastRun = new Map(jobs.data?.list.map((j) => [j.jobId, j]));
  return (
    <section className="view">
      <div className="row">
        <h1>Pipelines</h1>
        {canWrite && (
          <Link to="/pipelines/new" className="button">
            New pipeline
          </Link>
        )}
      </div>
      {pipelines.error && (
        <p role="alert" className="error">
          {messageOf(pipelines.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Last run</th>
            <th scope="col">Recent runs</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {pipelines.data?.map((p) => {
            const job = lastRun.get(p.id);
            return (
              <tr key={p.id}>
                <td>
                  <Link to={`/pipelines/${p.id}`}>{p.name}</Link>
                </td>
                <td>v{p.version}</td>
                <td>
                  <StateBadge state={p.status} />
                </td>
                <td>
                  {job?.lastExecutionStatus ? <StateBadge state={job.lastExecutionStatus} /> : '—'}{' '}
                  {job?.lastExecutionDate ? new Date(job.lastExecutionDate).toLocaleString() : ''}
                </td>
                <td>
                  <RecentRuns pipelineId={p.id} />
                </td>
                <td>{new Date(p.updated_at).toLocaleString()}</td>
              </tr>
            );
          })}
          {pipelines.data?.length === 0 && (
            <tr>
              <td colSpan={6}>No pipelines yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/**
 * Data Flow: jobs (the same records as pipelines: edited in the pipeline editor), workflows,
 * triggers (rule in words, enable/disable, delete) and executions of a job.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { call, messageOf } from '../api.ts';
import { useSession } from '../auth.tsx';
import { Link, setSearch, useLocation } from '../router.tsx';
import type { Job } from '../types.ts';
import { StateBadge } from './Pipelines.tsx';

const WorkflowGraph = lazy(() => import('./WorkflowGraph.tsx'));

interface Trigger {
  triggerId: string;
  name: string;
  type: string;
  triggerRule?: {
    type: string;
    interval?: string;
    time?: string;
    dayOfWeek?: string[];
    dateOfMonth?: string;
    executionDate?: string;
  };
  cron?: string | null;
  timezone?: string;
  scheduleExpression?: string;
  event?: Record<string, unknown>;
  target?: { type: string; jobId?: string; workflowId?: string } | null;
  enabled?: boolean;
  nextRunDate?: string | null;
  lastFiredDate?: string | null;
  createdDate: string;
}
interface Workflow {
  workflowId?: string;
  id?: string;
  name: string;
  status?: string;
  nodes?: { id: string; name: string; type: string; parentNodeIds?: string[] }[];
  updatedDate?: string;
  lastExecutionStatus?: string | null;
}
interface Execution {
  jobExecutionId: string;
  jobName: string;
  status: string;
  startDate: string | null;
  endDate: string | null;
  runningTime?: number;
  triggerName?: string;
  type: string;
}

/** A trigger's rule in words. */
function ruleInWords(t: Pick<Trigger, 'type' | 'triggerRule' | 'cron' | 'event'>): string {
  if (t.cron) return `on the schedule ${t.cron}`;
  if (t.event)
    return `when ${Object.values(t.event)
      .filter((v) => typeof v === 'string')
      .join(' ')}`;
  const r = t.triggerRule;
  if (!r || r.type === 'NONE') return t.type === 'EVENT' ? 'on an event' : 'manually';
  if (r.type === 'ONE_TIME') return `once at ${r.executionDate ?? r.time ?? '?'}`;
  const at = r.time ? ` at ${r.time}` : '';
  switch (r.interval) {
    case 'HOUR':
      return `every hour${r.time ? ` at minute ${r.time.split(':').at(-1)}` : ''}`;
    case 'DAY':
      return `every day${at}`;
    case 'WEEK':
      return `every week on ${(r.dayOfWeek ?? []).join(', ') || '?'}${at}`;
    case 'MONTH':
      return `every month on day ${r.dateOfMonth === '-1' ? 'last' : (r.dateOfMonth ?? '?')}${at}`;
    default:
      return `${r.type.toLowerCase()} ${r.interval ?? ''}`.trim();
  }
}

const TABS = ['jobs', 'workflows', 'triggers', 'executions'] as const;

export function DataFlow() {
  const { search } = useLocation();
  const tab = (TABS as readonly string[]).includes(search.get('tab') ?? '')
    ? (search.get('tab') as (typeof TABS)[number])
    : 'jobs';
  return (
    <section className="view">
      <h1>Data Flow</h1>
      <div role="tablist" aria-label="Data Flow views" className="tabs">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            onClick={() => setSearch({ tab: t, job: undefined })}
          >
            {t.charAt(0).toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'jobs' && <Jobs />}
        {tab === 'workflows' && <Workflows />}
        {tab === 'triggers' && <Triggers />}
        {tab === 'executions' && <Executions jobId={search.get('job') ?? ''} />}
      </div>
    </section>
  );
}

function useJobs() {
  return useQuery({
    queryKey: ['jobs'],
    queryFn: () => call<{ list: Job[] }>('GET', '/api/v1/jobs', { query: { limit: 1000 } }),
  });
}

function Jobs() {
  const jobs = useJobs();
  return (
    <>
      {jobs.error && (
        <p role="alert" className="error">
          {messageOf(jobs.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Last execution</th>
            <th scope="col">Updated</th>
            <th scope="col">Executions</th>
          </tr>
        </thead>
        <tbody>
          {jobs.data?.list.map((j) => (
            <tr key={j.jobId}>
              <td>
                <Link to={`/pipelines/${j.jobId}`}>{j.name}</Link>
              </td>
              <td>
                <StateBadge state={j.status} />
              </td>
              <td>
                {j.lastExecutionStatus ? <StateBadge state={j.lastExecutionStatus} /> : '—'}{' '}
                {j.lastExecutionDate ? new Date(j.lastExecutionDate).toLocaleString() : ''}
              </td>
              <td>{new Date(j.updatedDate).toLocaleString()}</td>
              <td>
                <Link to={`/dataflow?tab=executions&job=${j.jobId}`}>Executions</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Workflows() {
  const [shown, setShown] = useState<string | null>(null);
  const workflows = useQuery({
    queryKey: ['workflows'],
    queryFn: () =>
      call<{ list?: Workflow[] } | Workflow[]>('GET', '/api/v1/workflows', { query: { limit: 1000 } }),
    select: (w) => (Array.isArray(w) ? w : (w.list ?? [])),
  });
  const selected = workflows.data?.find((w) => (w.workflowId ?? w.id) === shown);
  return (
    <>
      {workflows.error && (
        <p role="alert" className="error">
          {messageOf(workflows.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Workflow</th>
            <th scope="col">Status</th>
            <th scope="col">Last execution</th>
            <th scope="col">Steps</th>
          </tr>
        </thead>
        <tbody>
          {workflows.data?.map((w) => {
            const id = w.workflowId ?? w.id ?? w.name;
            return (
              <tr key={id}>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-pressed={id === shown}
                    onClick={() => setShown(id)}
                  >
                    {w.name}
                  </button>
                </td>
                <td>
                  <StateBadge state={w.status} />
                </td>
                <td>{w.lastExecutionStatus ? <StateBadge state={w.lastExecutionStatus} /> : '—'}</td>
                <td>
                  {(w.nodes ?? []).filter((n) => n.type === 'TRIGGER').length} trigger(s),{' '}
                  {(w.nodes ?? []).filter((n) => n.type !== 'TRIGGER').length} job(s)
                </td>
              </tr>
            );
          })}
          {workflows.data?.length === 0 && (
            <tr>
              <td colSpan={4}>No workflows.</td>
            </tr>
          )}
        </tbody>
      </table>
      {selected && (
        <section aria-label={`Workflow ${selected.name}`}>
          <h2>{selected.name}</h2>
          <Suspense fallback={<p className="loading">Loading…</p>}>
            <WorkflowGraph nodes={(selected.nodes ?? []) as never} />
          </Suspense>
        </section>
      )}
    </>
  );
}

function Triggers() {
  const { canWrite } = useSession();
  const qc = useQueryClient();
  const triggers = useQuery({
    queryKey: ['triggers'],
    queryFn: () =>
      call<{ list?: Trigger[] } | Trigger[]>('GET', '/api/v1/triggers', { query: { limit: 1000 } }),
    select: (t) => (Array.isArray(t) ? t : (t.list ?? [])),
  });
  const remove = useMutation({
    mutationFn: (id: string) => call('DELETE', `/api/v1/triggers/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['triggers'] }),
  });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) =>
      call('PATCH', `/api/v1/triggers/${id}`, { body: { enabled } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['triggers'] }),
  });
  return (
    <>
      {(triggers.error || remove.error || toggle.error) && (
        <p role="alert" className="error">
          {messageOf(triggers.error ?? remove.error ?? toggle.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Trigger</th>
            <th scope="col">Type</th>
            <th scope="col">Runs</th>
            <th scope="col">Starts</th>
            <th scope="col">Enabled</th>
            <th scope="col">Next run</th>
            <th scope="col">Last fired</th>
            {canWrite && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {triggers.data?.map((t) => (
            <tr key={t.triggerId}>
              <td>{t.name}</td>
              <td>{t.type}</td>
              <td>
                {ruleInWords(t)}
                {t.timezone ? ` (${t.timezone})` : ''}
              </td>
              <td>
                {t.target?.jobId ? (
                  <Link to={`/pipelines/${t.target.jobId}`}>job {t.target.jobId}</Link>
                ) : t.target?.workflowId ? (
                  `workflow ${t.target.workflowId}`
                ) : (
                  'its workflows'
                )}
              </td>
              <td>{t.enabled === false ? 'no' : 'yes'}</td>
              <td>{t.nextRunDate ? new Date(t.nextRunDate).toLocaleString() : '—'}</td>
              <td>{t.lastFiredDate ? new Date(t.lastFiredDate).toLocaleString() : '—'}</td>
              {canWrite && (
                <td>
                  <button
                    type="button"
                    className="small"
                    aria-label={`${t.enabled === false ? 'Enable' : 'Disable'} trigger ${t.name}`}
                    disabled={toggle.isPending}
                    onClick={() => toggle.mutate({ id: t.triggerId, enabled: t.enabled === false })}
                  >
                    {t.enabled === false ? 'Enable' : 'Disable'}
                  </button>{' '}
                  <button
                    type="button"
                    className="danger small"
                    aria-label={`Delete trigger ${t.name}`}
                    onClick={() => window.confirm(`Delete trigger ${t.name}?`) && remove.mutate(t.triggerId)}
                  >
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
          {triggers.data?.length === 0 && (
            <tr>
              <td colSpan={8}>No triggers.</td>
            </tr>
          )}
        </tbody>
      </table>
    </>
  );
}

function Executions({ jobId }: { jobId: string }) {
  const jobs = useJobs();
  const executions = useQuery({
    queryKey: ['executions', jobId],
    enabled: !!jobId,
    refetchInterval: 3_000,
    queryFn: () =>
      call<{ list?: Execution[] } | Execution[]>('GET', `/api/v1/jobs/${jobId}/executions`, {
        query: { limit: 100 },
      }),
    select: (e) => (Array.isArray(e) ? e : (e.list ?? [])),
  });
  return (
    <>
      <label>
        Job{' '}
        <select value={jobId} onChange={(e) => setSearch({ job: e.target.value })}>
          <option value="">Choose…</option>
          {jobs.data?.list.map((j) => (
            <option key={j.jobId} value={j.jobId}>
              {j.name}
            </option>
          ))}
        </select>
      </label>
      {executions.error && (
        <p role="alert" className="error">
          {messageOf(executions.error)}
        </p>
      )}
      <table className="simple">
        <thead>
          <tr>
            <th scope="col">Execution</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Ended</th>
            <th scope="col">Trigger</th>
          </tr>
        </thead>
        <tbody>
          {executions.data?.map((x) => (
            <tr key={x.jobExecutionId}>
              <td>
                <Link to={`/pipelines/${jobId}/batches/${x.jobExecutionId}`}>{x.jobExecutionId}</Link>
              </td>
              <td>
                <StateBadge state={x.status} />
              </td>
              <td>{x.startDate ? new Date(x.startDate).toLocaleString() : '—'}</td>
              <td>{x.endDate ? new Date(x.endDate).toLocaleString() : '—'}</td>
              <td>{x.triggerName ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

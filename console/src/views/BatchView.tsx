/**
 * One batch: the pipeline version's DAG colored by each step's live state (polled until the
 * batch ends), per-partition offsets, and per node its trace (rows in/out, timings, error, the
 * sample rows); stop, delete and rerun.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Background, Controls, type Edge, type Node, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import { call, messageOf } from '../api.ts';
import { useSession } from '../auth.tsx';
import { DataGrid } from '../components/DataGrid.tsx';
import { FLOW_NODE_TYPES, type FlowNodeData } from '../pipeline/FlowNode.tsx';
import { nodesToGraph } from '../pipeline/graph.ts';
import { Link, navigate } from '../router.tsx';
import type { Batch, PipelineVersion, Traces } from '../types.ts';
import { StateBadge } from './Pipelines.tsx';

const TERMINAL = ['completed', 'failed', 'stop'];

function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export default function BatchView({ pipelineId, batchId }: { pipelineId: string; batchId: string }) {
  const { canWrite } = useSession();
  const qc = useQueryClient();
  const [selected, setSelected] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const batch = useQuery({
    queryKey: ['batch', pipelineId, batchId],
    queryFn: () => call<Batch>('GET', `/api/v1/batches/${pipelineId}/${batchId}`),
    refetchInterval: (q) => (q.state.data && TERMINAL.includes(q.state.data.status) ? false : 1_000),
  });
  const done = batch.data ? TERMINAL.includes(batch.data.status) : false;
  // A finished run may have published datasets (targets): the catalog's lists are out of date.
  useEffect(() => {
    if (!done) return;
    void qc.invalidateQueries({ queryKey: ['datasets'] });
    // The last polls may have come before the final traces were written: read them once more.
    void qc.invalidateQueries({ queryKey: ['traces', pipelineId, batchId] });
  }, [done, qc, pipelineId, batchId]);
  const traces = useQuery({
    queryKey: ['traces', pipelineId, batchId],
    queryFn: () =>
      call<Traces>('GET', '/api/v1/traces', { query: { pipeline_id: pipelineId, batch_id: batchId } }),
    refetchInterval: done ? false : 1_500,
  });
  const version = useQuery({
    queryKey: ['pipeline-version', pipelineId, batch.data?.pipeline_version],
    enabled: batch.data?.pipeline_version !== undefined,
    queryFn: () =>
      call<PipelineVersion>(
        'GET',
        `/api/v1/pipelines/${pipelineId}/versions/${batch.data?.pipeline_version}`,
      ),
  });

  const graph = useMemo(() => nodesToGraph(version.data?.nodes ?? []), [version.data]);
  const steps = batch.data?.state.steps ?? {};
  const nodes: Node<FlowNodeData>[] = graph.nodes.map((n) => {
    const step = steps[n.data.node.name];
    const offsets = Object.values(step?.offsets ?? {});
    return {
      ...n,
      selected: n.id === selected,
      data: {
        node: n.data.node,
        state: step?.state ?? 'none',
        ...(offsets.length > 0
          ? {
              progress: `${offsets.reduce((a, b) => a + b, 0).toLocaleString()} rows in ${offsets.length} part${offsets.length > 1 ? 's' : ''}`,
            }
          : {}),
      },
    };
  });
  const edges: Edge[] = graph.edges.map((e) => ({ ...e, animated: !done }));
  const trace = traces.data?.traces.find((t) => String(t.node_id) === selected);
  const selectedNode = graph.nodes.find((n) => n.id === selected)?.data.node;
  const step = selectedNode ? steps[selectedNode.name] : undefined;

  async function act(kind: 'stop' | 'delete' | 'rerun') {
    setMessage(null);
    try {
      if (kind === 'stop') await call('PUT', `/api/v1/batches/${pipelineId}/${batchId}/stop`);
      if (kind === 'delete') {
        if (!window.confirm(`Delete batch ${batchId}?`)) return;
        await call('DELETE', `/api/v1/batches/${pipelineId}/${batchId}`);
        navigate(`/batches?pipeline=${pipelineId}`);
        return;
      }
      if (kind === 'rerun') {
        const answer = await call<{ id?: string; batch_id?: string; item?: string }>(
          'POST',
          `/api/v1/batches/${pipelineId}/${batchId}/rerun`,
        );
        const next = answer.batch_id ?? answer.id ?? answer.item;
        if (next) navigate(`/pipelines/${pipelineId}/batches/${next}`);
        return;
      }
      await qc.invalidateQueries({ queryKey: ['batch', pipelineId, batchId] });
    } catch (err) {
      setMessage(messageOf(err));
    }
  }

  return (
    <section className="view batch">
      <div className="row">
        <h1>
          Batch <code>{batchId}</code>
        </h1>
        {batch.data && <StateBadge state={batch.data.status} />}
        <span className="muted">
          <Link to={`/pipelines/${pipelineId}`}>{batch.data?.name ?? pipelineId}</Link> v
          {batch.data?.pipeline_version}
          {batch.data?.started_at ? ` · started ${new Date(batch.data.started_at).toLocaleString()}` : ''}
          {batch.data?.finished_at ? ` · finished ${new Date(batch.data.finished_at).toLocaleString()}` : ''}
        </span>
        {canWrite && (
          <>
            <button type="button" onClick={() => void act('stop')} disabled={done}>
              Stop
            </button>
            <button
              type="button"
              onClick={() => void act('rerun')}
              disabled={batch.data?.status !== 'failed'}
            >
              Rerun from failure
            </button>
            <button type="button" className="danger" onClick={() => void act('delete')}>
              Delete
            </button>
          </>
        )}
      </div>
      {(batch.error || message) && (
        <p role="alert" className="error">
          {message ?? messageOf(batch.error)}
        </p>
      )}
      {batch.data?.error && (
        <p role="alert" className="error">
          {batch.data.error}
        </p>
      )}
      <div className="batch-body">
        <div className="canvas small-canvas" role="application" aria-label="Batch graph">
          <ReactFlowProvider>
            <ReactFlow
              nodes={nodes}
              edges={edges}
              nodeTypes={FLOW_NODE_TYPES}
              nodesDraggable={false}
              nodesConnectable={false}
              onNodeClick={(_, n) => setSelected(n.id)}
              fitView
              fitViewOptions={{ maxZoom: 1 }}
            >
              <Background />
              <Controls showInteractive={false} />
            </ReactFlow>
          </ReactFlowProvider>
        </div>
        <aside className="inspector" aria-label="Step trace">
          <h2>Steps</h2>
          <ul className="picklist">
            {graph.nodes.map((n) => (
              <li key={n.id}>
                <button
                  type="button"
                  className="link"
                  onClick={() => setSelected(n.id)}
                  aria-pressed={n.id === selected}
                >
                  {n.data.node.name} <StateBadge state={steps[n.data.node.name]?.state} />
                </button>
              </li>
            ))}
          </ul>
          {selectedNode && (
            <section aria-label={`Trace of ${selectedNode.name}`}>
              <h2>{selectedNode.name}</h2>
              <dl className="facts">
                <dt>State</dt>
                <dd>{trace?.state ?? step?.state ?? 'none'}</dd>
                <dt>Rows in</dt>
                <dd>{trace?.rows_in?.toLocaleString() ?? '—'}</dd>
                <dt>Rows out</dt>
                <dd>{trace?.rows_out?.toLocaleString() ?? '—'}</dd>
                <dt>Started</dt>
                <dd>{trace?.started_at ? new Date(trace.started_at).toLocaleTimeString() : '—'}</dd>
                <dt>Duration</dt>
                <dd>{duration(trace?.duration_ms)}</dd>
              </dl>
              {step?.offsets && Object.keys(step.offsets).length > 0 && (
                <table className="simple">
                  <caption>Offsets per partition</caption>
                  <tbody>
                    {Object.entries(step.offsets).map(([part, rows]) => (
                      <tr key={part}>
                        <th scope="row">{part}</th>
                        <td>{rows.toLocaleString()} rows</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {trace?.error && (
                <p role="alert" className="error">
                  {trace.error}
                </p>
              )}
              {trace?.logs && trace.logs.length > 0 && (
                <details>
                  <summary>Log ({trace.logs.length} lines)</summary>
                  <pre className="log">{trace.logs.join('\n')}</pre>
                </details>
              )}
              {trace?.sample && (
                <DataGrid
                  label={`Sample rows of ${selectedNode.name}`}
                  columns={trace.sample.columns.map((name) => ({ name }))}
                  rows={trace.sample.rows}
                  height={260}
                />
              )}
            </section>
          )}
        </aside>
      </div>
    </section>
  );
}

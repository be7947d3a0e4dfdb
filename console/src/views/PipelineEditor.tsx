/**
 * The visual pipeline editor: a palette of the registry's node types (drag onto the canvas, or
 * press to add after the selected node), edges drawn between handles (or chosen as a node's
 * inputs in its form), a form per node from its schema, live verification (POST /jobs/verify,
 * which checks unsaved nodes) marking problems on nodes and fields, save as a new version, the
 * version list, the plan's stages on the graph, and run.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  addEdge,
  Background,
  type Connection,
  Controls,
  type Edge,
  MiniMap,
  type Node,
  ReactFlow,
  ReactFlowProvider,
  useEdgesState,
  useNodesState,
  useReactFlow,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { type DragEvent, useCallback, useEffect, useMemo, useState } from 'react';
import { call, itemsOf, messageOf } from '../api.ts';
import { useSession } from '../auth.tsx';
import { FLOW_NODE_TYPES, type FlowNodeData } from '../pipeline/FlowNode.tsx';
import { initialValues, type Problem, problemsByNode } from '../pipeline/fields.ts';
import {
  createsCycle,
  edgeId,
  graphToNodes,
  layout,
  NODE_WIDTH,
  nextNodeId,
  nodesToGraph,
  type PipelineNode,
  uniqueName,
} from '../pipeline/graph.ts';
import { NodeForm } from '../pipeline/NodeForm.tsx';
import { formOf, NODE_TYPES, typeInfo, typeLabel } from '../pipeline/nodeTypes.ts';
import { Link, navigate } from '../router.tsx';
import type { Collection, Dataset, Pipeline, PipelineVersion, TableSchema } from '../types.ts';

type FlowNode = Node<FlowNodeData>;

interface Stage {
  id: string;
  engine: string;
  nodes: { id: string; name: string; type: string }[];
  boundaries: { reason: string; detail: string }[];
}

const DRAG_TYPE = 'application/x-sluice-node-type';

function toFlow(nodes: PipelineNode[]): { nodes: FlowNode[]; edges: Edge[] } {
  const graph = nodesToGraph(nodes);
  return { nodes: graph.nodes as FlowNode[], edges: graph.edges };
}

export default function PipelineEditorPage({ pipelineId }: { pipelineId?: string | undefined }) {
  return (
    <ReactFlowProvider>
      <PipelineEditor key={pipelineId ?? 'new'} pipelineId={pipelineId} />
    </ReactFlowProvider>
  );
}

function PipelineEditor({ pipelineId }: { pipelineId?: string | undefined }) {
  const { canWrite } = useSession();
  const qc = useQueryClient();
  const flow = useReactFlow();
  const [nodes, setNodes, onNodesChange] = useNodesState<FlowNode>([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [version, setVersion] = useState<number | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [verifying, setVerifying] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [stages, setStages] = useState<Stage[] | null>(null);
  const [name, setName] = useState('');
  const [collectionId, setCollectionId] = useState('');
  const [busy, setBusy] = useState(false);
  /** The engine to save with the next version ('' keeps the pipeline's). */
  const [engine, setEngine] = useState('');

  const pipeline = useQuery({
    queryKey: ['pipeline', pipelineId],
    enabled: !!pipelineId,
    queryFn: () => call<Pipeline>('GET', `/api/v1/pipelines/${pipelineId}`),
  });
  const versions = useQuery({
    queryKey: ['pipeline-versions', pipelineId],
    enabled: !!pipelineId,
    queryFn: () =>
      call<PipelineVersion[] | { items?: PipelineVersion[] }>(
        'GET',
        `/api/v1/pipelines/${pipelineId}/versions`,
      ),
    select: (v) => (Array.isArray(v) ? v : (v.items ?? [])),
  });
  const collections = useQuery({
    queryKey: ['collections'],
    queryFn: async () =>
      itemsOf<Collection>(
        await call<{ items?: Record<string, string> }>('GET', '/api/v1/collections', {
          query: { limit: 1000 },
        }),
      ),
  });
  const shown = version ?? pipeline.data?.version ?? null;
  const versionData = useQuery({
    queryKey: ['pipeline-version', pipelineId, shown],
    enabled: !!pipelineId && shown !== null,
    queryFn: () => call<PipelineVersion>('GET', `/api/v1/pipelines/${pipelineId}/versions/${shown}`),
  });

  // Load a saved version into the canvas.
  useEffect(() => {
    if (!versionData.data) return;
    const graph = toFlow(versionData.data.nodes ?? []);
    setNodes(graph.nodes);
    setEdges(graph.edges);
    setProblems(versionData.data.problems ?? []);
    setSelected(null);
    setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1 }), 0);
  }, [versionData.data, setNodes, setEdges, flow]);

  useEffect(() => {
    if (pipeline.data) {
      setName(pipeline.data.name);
      setCollectionId(pipeline.data.collection_id ?? '');
    }
  }, [pipeline.data]);

  // The plan of the shown version (valid versions only).
  useEffect(() => {
    setStages(null);
    if (!pipelineId || shown === null || versionData.data?.status !== 'valid') return;
    let live = true;
    call<{ stages: Stage[] }>('GET', `/api/v1/pipelines/${pipelineId}/versions/${shown}/plan`)
      .then((plan) => live && setStages(plan.stages))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [pipelineId, shown, versionData.data?.status]);

  const pipelineNodes = useMemo(() => graphToNodes(nodes, edges), [nodes, edges]);
  const nodesKey = JSON.stringify(pipelineNodes);

  // Live verification of what is on the canvas, a moment after the last change.
  useEffect(() => {
    const current = JSON.parse(nodesKey) as PipelineNode[];
    if (current.length === 0) {
      setProblems([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setVerifying(true);
      call<{ valid: boolean; problems: Problem[] }>('POST', '/api/v1/jobs/verify', {
        body: { name: 'console_verify', nodes: current },
        signal: controller.signal,
      })
        .then((result) => setProblems(result.problems))
        .catch((err) => {
          if (!controller.signal.aborted)
            setMessage({ kind: 'error', text: `Verify failed: ${messageOf(err)}` });
        })
        .finally(() => setVerifying(false));
    }, 500);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [nodesKey]);

  const byNode = useMemo(() => problemsByNode(problems), [problems]);
  const stageOf = useMemo(() => {
    const map = new Map<string, string>();
    stages?.forEach((s, i) => {
      for (const n of s.nodes) map.set(String(n.id), `S${i + 1} ${s.engine}`);
    });
    return map;
  }, [stages]);

  const displayed = useMemo(
    () =>
      nodes.map((n) => {
        const count = byNode.get(n.id)?.length ?? 0;
        const stage = stageOf.get(n.id);
        return {
          ...n,
          selected: n.id === selected,
          data: { ...n.data, problems: count, ...(stage ? { stage } : {}) },
        };
      }),
    [nodes, byNode, stageOf, selected],
  );

  const addNode = useCallback(
    (type: string, position?: { x: number; y: number }) => {
      const info = typeInfo(type);
      if (!info) return;
      const all = nodes.map((n) => n.data.node);
      const id = String(nextNodeId(all));
      const parent = selected ? nodes.find((n) => n.id === selected) : undefined;
      const node: PipelineNode = {
        id: Number(id),
        name: uniqueName(typeLabel(type), all),
        type,
        parentNodeIds: [],
        ...initialValues(formOf(type)),
      };
      const at =
        position ??
        (parent
          ? { x: parent.position.x + NODE_WIDTH + 80, y: parent.position.y }
          : { x: 40 + nodes.length * 30, y: 40 + nodes.length * 30 });
      setNodes((ns) => [...ns, { id, type: 'pipeline', position: at, data: { node } }]);
      // Added from the palette (not dropped at a spot) after a selected node that has an output,
      // the new node takes it as its input.
      if (
        !position &&
        parent &&
        info.kind !== 'source' &&
        typeInfo(parent.data.node.type)?.kind !== 'target'
      ) {
        setEdges((es) => [...es, { id: edgeId(parent.id, id), source: parent.id, target: id }]);
      }
      setSelected(id);
      if (!position) setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 }), 50);
    },
    [nodes, selected, setNodes, setEdges, flow],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (!c.source || !c.target) return;
      if (createsCycle(edges, c.source, c.target)) {
        setMessage({ kind: 'error', text: 'That edge would make a cycle.' });
        return;
      }
      setEdges((es) => addEdge({ ...c, id: edgeId(c.source, c.target) }, es));
    },
    [edges, setEdges],
  );

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    const type = e.dataTransfer.getData(DRAG_TYPE);
    if (!type) return;
    addNode(type, flow.screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };

  const selectedNode = nodes.find((n) => n.id === selected);
  const updateNode = (next: PipelineNode) =>
    setNodes((ns) => ns.map((n) => (n.id === selected ? { ...n, data: { ...n.data, node: next } } : n)));
  const setParents = (id: string, parents: string[]) =>
    setEdges((es) => [
      ...es.filter((e) => e.target !== id),
      ...parents
        .filter(
          (p) =>
            !createsCycle(
              es.filter((e) => e.target !== id),
              p,
              id,
            ),
        )
        .map((p) => ({ id: edgeId(p, id), source: p, target: id })),
    ]);
  const removeNode = (id: string) => {
    setNodes((ns) => ns.filter((n) => n.id !== id));
    setEdges((es) => es.filter((e) => e.source !== id && e.target !== id));
    setSelected(null);
  };

  // Suggestions: collection and dataset names for catalog nodes, columns of the source datasets.
  const datasets = useQuery({
    queryKey: ['all-datasets', collections.data?.map((c) => c.id).join(',')],
    enabled: !!collections.data,
    queryFn: async () =>
      (
        await Promise.all(
          (collections.data ?? []).slice(0, 50).map(async (c) =>
            itemsOf<Dataset>(
              await call('GET', '/api/v1/datasets', { query: { collection_id: c.id, limit: 1000 } }),
            ).map((d) => ({
              ...d,
              collection: c,
            })),
          ),
        )
      ).flat(),
  });
  // The catalog sources upstream of the selected node feed its column suggestions.
  const upstream = useMemo(() => {
    const seen = new Set<string>();
    const stack = selected ? [selected] : [];
    while (stack.length > 0) {
      const at = stack.pop() as string;
      for (const e of edges) {
        if (e.target === at && !seen.has(e.source)) {
          seen.add(e.source);
          stack.push(e.source);
        }
      }
    }
    return seen;
  }, [edges, selected]);
  const sourceDatasets = useMemo(() => {
    const ids: string[] = [];
    for (const n of pipelineNodes) {
      if (n.type !== 'SOURCE_CATALOG' || !upstream.has(String(n.id))) continue;
      const found = datasets.data?.find(
        (d) =>
          (d.collection.name === n.database || d.collection.id === n.database) &&
          (d.name === n.table || d.id === n.table),
      );
      if (found && found.current_version > 0) ids.push(found.id);
    }
    return ids;
  }, [pipelineNodes, datasets.data, upstream]);
  const columns = useQuery({
    queryKey: ['source-columns', sourceDatasets.join(',')],
    enabled: sourceDatasets.length > 0,
    queryFn: async () => [
      ...new Set(
        (
          await Promise.all(
            sourceDatasets.map((id) => call<TableSchema>('GET', `/api/v1/tables/${id}/schema`)),
          )
        ).flatMap((s) => s.columns.map((c) => c.name)),
      ),
    ],
  });
  const suggestions = useMemo(() => {
    const db = String(selectedNode?.data.node.database ?? '');
    return {
      database: collections.data?.map((c) => c.name) ?? [],
      table:
        datasets.data?.filter((d) => d.collection.name === db || d.collection.id === db).map((d) => d.name) ??
        [],
    };
  }, [collections.data, datasets.data, selectedNode]);

  async function save(): Promise<string | undefined> {
    setBusy(true);
    setMessage(null);
    try {
      let id = pipelineId;
      let saved: Pipeline;
      if (!id) {
        saved = await call<Pipeline>('POST', '/api/v1/pipelines', {
          body: { name, collection_id: collectionId, nodes: pipelineNodes, ...(engine ? { engine } : {}) },
        });
        id = saved.id;
      } else {
        saved = await call<Pipeline>('PUT', `/api/v1/pipelines/${id}`, {
          body: {
            ...(name && name !== pipeline.data?.name ? { name } : {}),
            nodes: pipelineNodes,
            ...(engine ? { engine } : {}),
          },
        });
      }
      setMessage({
        kind: saved.status === 'valid' ? 'ok' : 'error',
        text: `Saved version ${saved.version}${saved.status === 'valid' ? '' : ' as a draft: it has problems to fix before it runs'}.`,
      });
      setVersion(null);
      await qc.invalidateQueries({ queryKey: ['pipeline', id] });
      await qc.invalidateQueries({ queryKey: ['pipeline-versions', id] });
      await qc.invalidateQueries({ queryKey: ['pipelines'] });
      if (!pipelineId) navigate(`/pipelines/${id}`);
      return id;
    } catch (err) {
      setMessage({ kind: 'error', text: messageOf(err) });
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  async function run() {
    if (!pipelineId) return;
    setBusy(true);
    try {
      const started = await call<{ batch_id: string }>('POST', `/api/v1/pipelines/${pipelineId}/run`, {
        body: version !== null ? { pipeline_version: version } : {},
      });
      navigate(`/pipelines/${pipelineId}/batches/${started.batch_id}`);
    } catch (err) {
      setMessage({ kind: 'error', text: messageOf(err) });
    } finally {
      setBusy(false);
    }
  }

  const palette = (['source', 'transform', 'target'] as const).map((kind) => ({
    kind,
    types: NODE_TYPES.filter((t) => t.kind === kind),
  }));
  const readOnly = !canWrite;
  const others = nodes.filter((n) => n.id !== selected);
  const generalProblems = byNode.get('') ?? [];
  const totalProblems = problems.length;

  return (
    <section className="view editor">
      <div className="row editor-head">
        <h1>{pipelineId ? (pipeline.data?.name ?? 'Pipeline') : 'New pipeline'}</h1>
        {!pipelineId && (
          <>
            <label>
              Name{' '}
              <input
                value={name}
                onChange={(e) => setName(e.target.value)}
                required
                aria-label="Pipeline name"
              />
            </label>
            <label>
              Collection{' '}
              <select
                value={collectionId}
                onChange={(e) => setCollectionId(e.target.value)}
                aria-label="Collection"
              >
                <option value="">Choose…</option>
                {collections.data?.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
          </>
        )}
        {pipelineId && (
          <label>
            Version{' '}
            <select
              value={shown ?? ''}
              onChange={(e) => setVersion(Number(e.target.value))}
              aria-label="Version"
            >
              {(versions.data ?? []).map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version} · {v.status} · {new Date(v.created_at).toLocaleString()}
                </option>
              ))}
            </select>
          </label>
        )}
        {canWrite && (
          <label>
            Engine{' '}
            <select value={engine} onChange={(e) => setEngine(e.target.value)} aria-label="Engine">
              <option value="">
                {pipeline.data?.engine ? `${pipeline.data.engine} (current)` : 'default'}
              </option>
              <option value="AUTO">AUTO (by input size)</option>
              <option value="DUCKDB">DUCKDB</option>
              <option value="ATHENA">ATHENA</option>
            </select>
          </label>
        )}
        <span
          className={`verify-state ${totalProblems ? 'bad' : 'good'}`}
          aria-live="polite"
          data-testid="verify-state"
        >
          {verifying
            ? 'Verifying…'
            : nodes.length === 0
              ? 'Empty'
              : totalProblems
                ? `${totalProblems} problem${totalProblems > 1 ? 's' : ''}`
                : 'Valid'}
        </span>
        {canWrite && (
          <>
            <button
              type="button"
              onClick={() => void save()}
              disabled={busy || (!pipelineId && (!name || !collectionId))}
            >
              Save version
            </button>
            {pipelineId && (
              <button
                type="button"
                onClick={() => void run()}
                disabled={busy || versionData.data?.status !== 'valid'}
              >
                Run{version !== null ? ` v${version}` : ''}
              </button>
            )}
          </>
        )}
        <button
          type="button"
          onClick={() => {
            const positions = layout(
              nodes.map((n) => n.id),
              edges,
            );
            setNodes((ns) => ns.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position })));
            setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1, duration: 200 }), 50);
          }}
          disabled={nodes.length === 0}
        >
          Arrange
        </button>
        {pipelineId && <Link to={`/batches?pipeline=${pipelineId}`}>Batches</Link>}
      </div>
      {message && (
        <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>
          {message.text}
        </p>
      )}
      {generalProblems.length > 0 && (
        <ul className="error" aria-label="Pipeline problems">
          {generalProblems.map((p) => (
            <li key={p.message}>{p.message}</li>
          ))}
        </ul>
      )}
      <div className="editor-body">
        {canWrite && (
          <aside className="palette" aria-label="Node types">
            {palette.map((group) => (
              <section key={group.kind}>
                <h2>
                  {group.kind === 'source' ? 'Sources' : group.kind === 'target' ? 'Targets' : 'Transforms'}
                </h2>
                <ul>
                  {group.types.map((t) => (
                    <li key={t.type}>
                      <button
                        type="button"
                        draggable
                        className={`palette-item kind-${t.kind}`}
                        onDragStart={(e) => {
                          e.dataTransfer.setData(DRAG_TYPE, t.type);
                          e.dataTransfer.effectAllowed = 'move';
                        }}
                        onClick={() => addNode(t.type)}
                        aria-label={`Add ${typeLabel(t.type)}`}
                        title={`${t.type}: drag onto the canvas, or press to add after the selected node`}
                      >
                        {typeLabel(t.type)}
                      </button>
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </aside>
        )}
        <div
          className="canvas"
          onDrop={onDrop}
          onDragOver={(e) => e.preventDefault()}
          role="application"
          aria-label="Pipeline graph"
        >
          <ReactFlow
            nodes={displayed}
            edges={edges}
            nodeTypes={FLOW_NODE_TYPES}
            onNodesChange={readOnly ? undefined : onNodesChange}
            onEdgesChange={readOnly ? undefined : onEdgesChange}
            onConnect={readOnly ? undefined : onConnect}
            onNodeClick={(_, n) => setSelected(n.id)}
            onPaneClick={() => setSelected(null)}
            nodesConnectable={!readOnly}
            nodesDraggable={!readOnly}
            deleteKeyCode={readOnly ? null : ['Delete']}
            onNodesDelete={() => setSelected(null)}
            fitView
            fitViewOptions={{ maxZoom: 1 }}
          >
            <Background />
            <Controls />
            <MiniMap pannable zoomable ariaLabel="Overview of the graph" />
          </ReactFlow>
        </div>
        <aside className="inspector" aria-label="Selected node">
          {selectedNode ? (
            <>
              <div className="row">
                <h2>{typeLabel(selectedNode.data.node.type)}</h2>
                {canWrite && (
                  <button type="button" className="danger small" onClick={() => removeNode(selectedNode.id)}>
                    Delete node
                  </button>
                )}
              </div>
              {typeInfo(selectedNode.data.node.type)?.kind !== 'source' && (
                <fieldset className="inputs">
                  <legend>Inputs</legend>
                  {others.length === 0 && <p className="empty">No other nodes.</p>}
                  {others.map((o) => {
                    const checked = edges.some((e) => e.source === o.id && e.target === selectedNode.id);
                    return (
                      <label key={o.id} className="inline">
                        <input
                          type="checkbox"
                          checked={checked}
                          disabled={readOnly || typeInfo(o.data.node.type)?.kind === 'target'}
                          onChange={(e) => {
                            const current = edges
                              .filter((x) => x.target === selectedNode.id)
                              .map((x) => x.source);
                            setParents(
                              selectedNode.id,
                              e.target.checked ? [...current, o.id] : current.filter((p) => p !== o.id),
                            );
                          }}
                        />{' '}
                        {o.data.node.name}
                      </label>
                    );
                  })}
                </fieldset>
              )}
              <NodeForm
                node={selectedNode.data.node}
                fields={formOf(selectedNode.data.node.type)}
                problems={byNode.get(selectedNode.id) ?? []}
                columns={columns.data ?? []}
                suggestions={suggestions}
                parents={edges
                  .filter((e) => e.target === selectedNode.id)
                  .map((e) => nodes.find((n) => n.id === e.source)?.data.node)
                  .filter((n): n is PipelineNode => n !== undefined)}
                readOnly={readOnly}
                onChange={updateNode}
              />
            </>
          ) : (
            <>
              <h2>Nodes</h2>
              <p className="empty">
                {canWrite
                  ? 'Add nodes from the palette, then select one to edit it.'
                  : 'Select a node to see it.'}
              </p>
              <ul className="picklist">
                {nodes.map((n) => (
                  <li key={n.id}>
                    <button type="button" className="link" onClick={() => setSelected(n.id)}>
                      {n.data.node.name}
                      {byNode.get(n.id)?.length ? ` (${byNode.get(n.id)?.length} problems)` : ''}
                    </button>
                  </li>
                ))}
              </ul>
              {stages && (
                <section aria-label="Plan">
                  <h2>Plan</h2>
                  <ol className="stages">
                    {stages.map((s, i) => (
                      <li key={s.id}>
                        <strong>
                          S{i + 1} on {s.engine}
                        </strong>
                        : {s.nodes.map((n) => n.name).join(' → ')}
                        {s.boundaries.length > 0 && (
                          <div className="muted">{s.boundaries.map((b) => b.detail).join('; ')}</div>
                        )}
                      </li>
                    ))}
                  </ol>
                </section>
              )}
            </>
          )}
        </aside>
      </div>
    </section>
  );
}

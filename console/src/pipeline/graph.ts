/**
 * Pipeline nodes (the API's ETLJobNode list) ↔ the editor's graph (React Flow nodes and edges).
 * Pure: no DOM, no React, so it is unit-tested in node (test/unit/console-graph.test.ts).
 *
 * - A node's `parentNodeIds` are its incoming edges; their order matters (a join's left and
 *   right, a union's inputs), so an edge list keeps the parents' order and new edges go last.
 * - Positions come from a dagre layout (left to right) unless the editor already has some.
 */
import dagre from '@dagrejs/dagre';

export type NodeId = number | string;

export interface PipelineNode {
  id: NodeId;
  name: string;
  type: string;
  parentNodeIds?: NodeId[];
  [field: string]: unknown;
}

export interface GraphNode {
  id: string;
  type: 'pipeline';
  position: { x: number; y: number };
  data: { node: PipelineNode };
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 72;

export const edgeId = (source: string, target: string) => `${source}->${target}`;

/** Left-to-right positions for the nodes, from dagre. */
export function layout(
  ids: readonly string[],
  edges: readonly Pick<GraphEdge, 'source' | 'target'>[],
): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 80, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of edges) if (ids.includes(e.source) && ids.includes(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const positions = new Map<string, { x: number; y: number }>();
  for (const id of ids) {
    const n = g.node(id);
    // dagre gives centres; React Flow places nodes by their top-left corner.
    positions.set(id, { x: (n?.x ?? 0) - NODE_WIDTH / 2, y: (n?.y ?? 0) - NODE_HEIGHT / 2 });
  }
  return positions;
}

/** The editor's graph of a pipeline's nodes, laid out with dagre. */
export function nodesToGraph(nodes: readonly PipelineNode[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const ids = new Set(nodes.map((n) => String(n.id)));
  const edges: GraphEdge[] = [];
  for (const node of nodes) {
    for (const parent of node.parentNodeIds ?? []) {
      const source = String(parent);
      if (!ids.has(source)) continue;
      edges.push({ id: edgeId(source, String(node.id)), source, target: String(node.id) });
    }
  }
  const positions = layout([...ids], edges);
  return {
    nodes: nodes.map((node) => ({
      id: String(node.id),
      type: 'pipeline',
      position: positions.get(String(node.id)) ?? { x: 0, y: 0 },
      data: { node },
    })),
    edges,
  };
}

/** The id as the API had it: numbers stay numbers (Data Flow's ids are Longs). */
function apiId(id: string): NodeId {
  return /^\d+$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id;
}

/**
 * The pipeline's nodes from the graph: each node's parents from the edges into it, in the order
 * its `parentNodeIds` had them, then new edges in the order they were drawn. Edges to or from a
 * node that is gone are dropped.
 */
export function graphToNodes(
  graphNodes: readonly Pick<GraphNode, 'id' | 'data'>[],
  edges: readonly Pick<GraphEdge, 'source' | 'target'>[],
): PipelineNode[] {
  const ids = new Set(graphNodes.map((n) => n.id));
  return graphNodes.map(({ id, data }) => {
    const incoming = edges.filter((e) => e.target === id && ids.has(e.source)).map((e) => e.source);
    const before = (data.node.parentNodeIds ?? []).map(String).filter((p) => incoming.includes(p));
    const parents = [...new Set([...before, ...incoming])];
    return { ...data.node, id: apiId(id), parentNodeIds: parents.map(apiId) };
  });
}

/** The next free numeric node id. */
export function nextNodeId(nodes: readonly { id: NodeId }[]): number {
  let max = 0;
  for (const n of nodes) {
    const value = Number(n.id);
    if (Number.isFinite(value) && value > max) max = value;
  }
  return max + 1;
}

/** `base`, or `base (2)`, `base (3)`, ... whichever no node has. */
export function uniqueName(base: string, nodes: readonly { name: string }[]): string {
  const taken = new Set(nodes.map((n) => n.name));
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base} (${i})`)) return `${base} (${i})`;
}

/** Whether an edge source → target would close a cycle (or is a self loop). */
export function createsCycle(
  edges: readonly Pick<GraphEdge, 'source' | 'target'>[],
  source: string,
  target: string,
): boolean {
  if (source === target) return true;
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length > 0) {
    const at = stack.pop() as string;
    if (at === source) return true;
    if (seen.has(at)) continue;
    seen.add(at);
    for (const e of edges) if (e.source === at) stack.push(e.target);
  }
  return false;
}

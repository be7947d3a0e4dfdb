/** The pipeline editor's graph ↔ nodes conversion, layout and edge rules. */
import { describe, expect, it } from 'vitest';
import {
  createsCycle,
  graphToNodes,
  NODE_WIDTH,
  nextNodeId,
  nodesToGraph,
  type PipelineNode,
  uniqueName,
} from '../../console/src/pipeline/graph.ts';

const NODES: PipelineNode[] = [
  { id: 1, name: 'orders', type: 'SOURCE_CATALOG', parentNodeIds: [], database: 'shop', table: 'orders' },
  {
    id: 2,
    name: 'customers',
    type: 'SOURCE_CATALOG',
    parentNodeIds: [],
    database: 'shop',
    table: 'customers',
  },
  { id: 3, name: 'join', type: 'TRANSFORM_JOIN', parentNodeIds: [2, 1], joinType: 'INNER' },
  { id: 4, name: 'out', type: 'TARGET_CATALOG', parentNodeIds: [3], database: 'shop', table: 'joined' },
];

describe('nodes → graph', () => {
  it('makes one graph node per pipeline node and one edge per parent', () => {
    const graph = nodesToGraph(NODES);

    expect(graph.nodes.map((n) => n.id)).toEqual(['1', '2', '3', '4']);
    expect(graph.edges.map((e) => `${e.source}->${e.target}`)).toEqual(['2->3', '1->3', '3->4']);
  });

  it('lays the DAG out left to right: every node starts right of its parents', () => {
    const graph = nodesToGraph(NODES);
    const x = new Map(graph.nodes.map((n) => [n.id, n.position.x]));

    for (const e of graph.edges) {
      expect(x.get(e.target) as number).toBeGreaterThanOrEqual((x.get(e.source) as number) + NODE_WIDTH);
    }
    expect(graph.edges).toHaveLength(3);
  });

  it('ignores parents that name no node', () => {
    const graph = nodesToGraph([{ id: 1, name: 'f', type: 'TRANSFORM_FILTER', parentNodeIds: [99] }]);

    expect(graph.edges).toEqual([]);
  });
});

describe('graph → nodes', () => {
  it('round-trips: the same nodes, ids and parent order come back', () => {
    const graph = nodesToGraph(NODES);

    expect(graphToNodes(graph.nodes, graph.edges)).toEqual(NODES);
  });

  it('keeps the existing parent order and appends new edges in drawing order', () => {
    const graph = nodesToGraph(NODES);
    const edges = [{ source: '4', target: '3' }, ...graph.edges.filter((e) => e.source !== '1')];

    const nodes = graphToNodes(graph.nodes, edges);

    expect(nodes.find((n) => n.id === 3)?.parentNodeIds).toEqual([2, 4]);
  });

  it('drops edges of removed nodes and keeps non-numeric ids as strings', () => {
    const graph = nodesToGraph([
      { id: 'a', name: 'a', type: 'SOURCE_OBS' },
      { id: 'b', name: 'b', type: 'TRANSFORM_FILTER', parentNodeIds: ['a'] },
    ]);

    const nodes = graphToNodes(
      graph.nodes.filter((n) => n.id === 'b'),
      graph.edges,
    );

    expect(nodes).toEqual([{ id: 'b', name: 'b', type: 'TRANSFORM_FILTER', parentNodeIds: [] }]);
  });
});

describe('edge and naming rules', () => {
  const edges = [
    { source: '1', target: '3' },
    { source: '3', target: '4' },
  ];

  it('refuses an edge that closes a cycle or loops on itself', () => {
    expect(createsCycle(edges, '4', '1')).toBe(true);
    expect(createsCycle(edges, '3', '3')).toBe(true);
    expect(createsCycle(edges, '2', '3')).toBe(false);
  });

  it('numbers new nodes after the highest id and names them uniquely', () => {
    expect(nextNodeId(NODES)).toBe(5);
    expect(nextNodeId([])).toBe(1);
    expect(uniqueName('Filter', [{ name: 'Filter' }, { name: 'Filter (2)' }])).toBe('Filter (3)');
    expect(uniqueName('Join', [{ name: 'Filter' }])).toBe('Join');
  });
});

/** A workflow's DAG of triggers and jobs (read-only), laid out like a pipeline. */
import { Background, Controls, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { FLOW_NODE_TYPES } from '../pipeline/FlowNode.tsx';
import { nodesToGraph, type PipelineNode } from '../pipeline/graph.ts';

export default function WorkflowGraph({ nodes }: { nodes: PipelineNode[] }) {
  const graph = useMemo(() => nodesToGraph(nodes), [nodes]);
  return (
    <div className="canvas workflow-canvas" role="application" aria-label="Workflow graph">
      <ReactFlowProvider>
        <ReactFlow
          nodes={graph.nodes}
          edges={graph.edges}
          nodeTypes={FLOW_NODE_TYPES}
          nodesDraggable={false}
          nodesConnectable={false}
          fitView
          fitViewOptions={{ maxZoom: 1 }}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}

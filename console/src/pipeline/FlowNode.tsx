/** A pipeline node on the graph: name, type, live state and problem count, with its handles. */
import { Handle, type NodeProps, Position } from '@xyflow/react';
import { memo } from 'react';
import type { PipelineNode } from './graph.ts';
import { typeInfo, typeLabel } from './nodeTypes.ts';

export interface FlowNodeData extends Record<string, unknown> {
  node: PipelineNode;
  state?: string;
  problems?: number;
  stage?: string;
  progress?: string;
}

function FlowNodeView({ data, selected }: NodeProps & { data: FlowNodeData }) {
  const info = typeInfo(data.node.type);
  const state = data.state ?? 'none';
  const label = `${data.node.name}, ${typeLabel(data.node.type)}${data.state ? `, ${state}` : ''}${
    data.problems ? `, ${data.problems} problem${data.problems > 1 ? 's' : ''}` : ''
  }`;
  return (
    <div
      className={`flow-node kind-${info?.kind ?? 'unknown'} state-${state}${data.problems ? ' has-problems' : ''}${
        selected ? ' selected' : ''
      }`}
      data-node-name={data.node.name}
      data-state={state}
      title={label}
    >
      {info?.kind !== 'source' && (
        <Handle type="target" position={Position.Left} aria-label={`Input of ${data.node.name}`} />
      )}
      <div className="flow-node-name">{data.node.name}</div>
      <div className="flow-node-type">
        {typeLabel(data.node.type)}
        {data.stage && <span className="stage-badge">{data.stage}</span>}
      </div>
      {data.state && (
        <div className="flow-node-state">
          {state}
          {data.progress ? ` · ${data.progress}` : ''}
        </div>
      )}
      {!!data.problems && (
        <div className="problem-badge" role="img" aria-label={`${data.problems} problems`}>
          ⚠ {data.problems}
        </div>
      )}
      {info?.kind !== 'target' && (
        <Handle type="source" position={Position.Right} aria-label={`Output of ${data.node.name}`} />
      )}
    </div>
  );
}

export const FlowNode = memo(FlowNodeView);
export const FLOW_NODE_TYPES = { pipeline: FlowNode };

/**
 * The workflow model and its validation, free of stores so that unit tests can run it. A
 * workflow is a DAG of JOB nodes (each runs one job, i.e. one pipeline) and TRIGGER nodes
 * (they only say how the workflow starts). Validation lists every problem, each naming its
 * node and field, like a pipeline's.
 */
import { failureReason } from '../engine/failure.ts';
import { isId } from '../ids.ts';
import type { Problem } from '../pipelines/model.ts';

export const NODE_TYPES = ['TRIGGER', 'JOB'] as const;
export type WorkflowNodeType = (typeof NODE_TYPES)[number];

/** A node as stored and answered. `id` is a Long in Data Flow: a number, or a string. */
export interface WorkflowNode {
  id: number | string;
  name: string;
  type: WorkflowNodeType;
  parentNodeIds: Array<number | string>;
  /** JOB nodes: the job (pipeline) to run. */
  jobId?: string;
  /** TRIGGER nodes: the trigger that starts the workflow. */
  triggerId?: string;
}

/** What validation needs to know about a job. */
export interface JobInfo {
  id: string;
  name: string;
}

export type FindJob = (jobId: string) => Promise<JobInfo | undefined>;

/** A pipeline-style problem, plus the position of the node in the request when it has one. */
export interface WorkflowProblem extends Problem {
  index?: number;
}

export interface WorkflowValidation {
  valid: boolean;
  problems: WorkflowProblem[];
  /** The nodes normalised (only the known fields), in the order given; only meaningful when valid. */
  nodes: WorkflowNode[];
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAME = 100;

export const nodeKeyOf = (id: number | string): string => String(id);

interface Parsed {
  index: number;
  key?: string;
  name?: string;
  type?: string;
  parents: string[];
  node: WorkflowNode;
}

/** Checks every node and the graph; unknown jobs are looked up with `findJob`. */
export async function validateWorkflow(raw: unknown[], findJob: FindJob): Promise<WorkflowValidation> {
  const problems: WorkflowProblem[] = [];
  const parsed: Parsed[] = [];
  const seen = new Set<string>();

  for (const [index, value] of raw.entries()) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ nodeId: null, index, field: `nodes.${index}`, message: 'must be an object' });
      continue;
    }
    const input = value as Record<string, unknown>;
    const at = (field: string, message: string, key?: string) =>
      problems.push({
        nodeId: key ?? null,
        ...(typeof input.name === 'string' ? { nodeName: input.name } : {}),
        index,
        field,
        message,
      });

    let key: string | undefined;
    const id = input.id;
    if (
      (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
      (typeof id === 'string' && ID_PATTERN.test(id))
    ) {
      key = nodeKeyOf(id);
      if (seen.has(key)) {
        at('id', `is used by more than one node`, key);
        key = undefined;
      } else seen.add(key);
    } else {
      at('id', 'must be a non-negative integer or 1 to 64 letters, digits, _ or -');
    }

    const name = typeof input.name === 'string' ? input.name.trim() : undefined;
    if (!name) at('name', 'is required', key);
    else if (name.length > MAX_NAME) at('name', `must be at most ${MAX_NAME} characters`, key);

    const type = typeof input.type === 'string' ? input.type : undefined;
    if (type === undefined) at('type', `is required (one of ${NODE_TYPES.join(', ')})`, key);
    else if (!(NODE_TYPES as readonly string[]).includes(type)) {
      at('type', `"${type}" is not a node type; use one of ${NODE_TYPES.join(', ')}`, key);
    }

    const parents: string[] = [];
    const rawParents = input.parentNodeIds ?? [];
    if (!Array.isArray(rawParents)) at('parentNodeIds', 'must be a list of node ids', key);
    else {
      for (const [i, parent] of rawParents.entries()) {
        if ((typeof parent === 'number' && Number.isSafeInteger(parent)) || typeof parent === 'string') {
          parents.push(nodeKeyOf(parent));
        } else at(`parentNodeIds.${i}`, 'must be a node id', key);
      }
    }

    const node: WorkflowNode = {
      id: id as number | string,
      name: name ?? '',
      type: type as WorkflowNodeType,
      parentNodeIds: Array.isArray(rawParents) ? (rawParents as Array<number | string>) : [],
    };
    if (type === 'JOB') {
      const jobId = input.jobId;
      if (typeof jobId !== 'string' || jobId === '') at('jobId', 'is required for a JOB node', key);
      else {
        const job = isId('pipeline', jobId) ? await findJob(jobId) : undefined;
        if (!job) at('jobId', `job ${jobId} does not exist`, key);
        node.jobId = jobId;
      }
    }
    if (type === 'TRIGGER') {
      const triggerId = input.triggerId;
      if (typeof triggerId !== 'string' || triggerId === '')
        at('triggerId', 'is required for a TRIGGER node', key);
      else node.triggerId = triggerId;
      if (parents.length > 0) at('parentNodeIds', 'must be empty: a TRIGGER node starts the workflow', key);
    }
    parsed.push({
      index,
      ...(key ? { key } : {}),
      ...(name ? { name } : {}),
      ...(type ? { type } : {}),
      parents,
      node,
    });
  }

  const byKey = new Map<string, Parsed>();
  for (const p of parsed) if (p.key) byKey.set(p.key, p);
  for (const p of parsed) {
    if (!p.key) continue;
    const at = (message: string) =>
      problems.push({
        nodeId: p.key ?? null,
        ...(p.name ? { nodeName: p.name } : {}),
        index: p.index,
        field: 'parentNodeIds',
        message,
      });
    for (const parentKey of p.parents) {
      const parent = byKey.get(parentKey);
      if (!parent) at(`parent ${parentKey} does not exist`);
      else if (p.type === 'JOB' && parent.type !== 'JOB' && parent.type !== 'TRIGGER') {
        at(`parent ${parentKey} is not a JOB or TRIGGER node`);
      }
    }
  }
  for (const cycle of cycles(byKey)) {
    for (const key of cycle) {
      const p = byKey.get(key);
      problems.push({
        nodeId: key,
        ...(p?.name ? { nodeName: p.name } : {}),
        ...(p ? { index: p.index } : {}),
        field: 'parentNodeIds',
        message: `is part of a cycle through nodes ${cycle.join(', ')}`,
      });
    }
  }
  if (!parsed.some((p) => p.type === 'JOB')) {
    problems.push({ nodeId: null, field: 'nodes', message: 'must contain at least one JOB node' });
  }

  return { valid: problems.length === 0, problems, nodes: parsed.map((p) => p.node) };
}

/** Strongly connected components that form a cycle (two or more nodes, or a node its own parent). */
function cycles(byKey: Map<string, Parsed>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (key: string) => {
    index.set(key, counter);
    low.set(key, counter);
    counter++;
    stack.push(key);
    onStack.add(key);
    for (const parent of byKey.get(key)?.parents ?? []) {
      if (!byKey.has(parent)) continue;
      if (!index.has(parent)) {
        visit(parent);
        low.set(key, Math.min(low.get(key) ?? 0, low.get(parent) ?? 0));
      } else if (onStack.has(parent)) {
        low.set(key, Math.min(low.get(key) ?? 0, index.get(parent) ?? 0));
      }
    }
    if (low.get(key) === index.get(key)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== key);
      const selfLoop = component.length === 1 && (byKey.get(key)?.parents ?? []).includes(key);
      if (component.length > 1 || selfLoop) found.push(component.reverse());
    }
  };
  for (const key of byKey.keys()) if (!index.has(key)) visit(key);
  return found;
}

/** JOB nodes with their JOB parents (TRIGGER parents only mark the start), for the compiler. */
export function jobNodes(
  nodes: WorkflowNode[],
): Array<{ key: string; jobId: string; name: string; parents: string[] }> {
  const types = new Map(nodes.map((n) => [nodeKeyOf(n.id), n.type]));
  return nodes
    .filter((n) => n.type === 'JOB' && n.jobId)
    .map((n) => ({
      key: nodeKeyOf(n.id),
      jobId: n.jobId as string,
      name: n.name,
      parents: n.parentNodeIds.map(nodeKeyOf).filter((p) => types.get(p) === 'JOB'),
    }));
}

/**
 * Why a job failed, from what the Catch caught: the job's own execution (a `.sync:2` Task
 * fails with States.TaskFailed and the child's DescribeExecution as its cause), a timeout of
 * the waiting Task, or the record step (a Lambda error, whose cause is a JSON error object on
 * AWS and the plain message locally).
 */
export function reasonOf(error: { Error?: string; Cause?: string } | undefined): string {
  const name = error?.Error;
  const cause = error?.Cause ?? '';
  if (name === 'States.Timeout') return 'The job did not finish within its timeout.';
  if (name === 'States.TaskFailed') {
    const child = parseJson(cause);
    const status = String(child?.Status ?? child?.status ?? 'FAILED');
    if (status === 'ABORTED') return 'The run was stopped.';
    return failureReason({
      status,
      error: stringOr(child?.Error ?? child?.error),
      cause: stringOr(child?.Cause ?? child?.cause),
    });
  }
  if (name?.startsWith('Sluice.')) {
    const message = parseJson(cause)?.errorMessage;
    return typeof message === 'string' ? message : cause || name;
  }
  return `The job could not run (${name ?? 'unknown error'}).`;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const stringOr = (value: unknown): string | null => (typeof value === 'string' ? value : null);

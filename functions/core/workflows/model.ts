/**
 * The workflow model and its validation, free of stores so that unit tests can run it. A
 * workflow is a DAG of JOB nodes (each runs one job, i.e. one pipeline) and TRIGGER nodes
 * (each names a trigger that starts the workflow). Two forms of a node are taken: Data Flow's,
 * whose `id` IS the job's or trigger's id (`parentNodeIds` then list those ids), and Sluice's,
 * with any node id and the job or trigger in `jobId` / `triggerId`. Validation lists every
 * problem, each naming its node and field, like a pipeline's.
 */
import type { JobCondition } from '../dataflow/job-condition.ts';
import { SLUICE_ERROR_PREFIX, STATES_ERRORS } from '../engine/contract.ts';
import { failureReason } from '../engine/failure.ts';
import { isId } from '../ids.ts';
import type { Problem } from '../pipelines/model.ts';

export const NODE_TYPES = ['TRIGGER', 'JOB'] as const;
export type WorkflowNodeType = (typeof NODE_TYPES)[number];

/** A node as stored. `id` is a Long in Data Flow: a number, or a string. */
export interface WorkflowNode {
  id: number | string;
  name: string;
  type: WorkflowNodeType;
  parentNodeIds: Array<number | string>;
  /**
   * JOB nodes: the job (pipeline) to run. Given as `jobId` (Sluice's form, any node id) or as the
   * node's own `id` (Data Flow's form: a JOB node's id IS its job's id); always stored resolved.
   */
  jobId?: string;
  /** TRIGGER nodes: the trigger that starts the workflow, given as `triggerId` or as the node's `id`. */
  triggerId?: string;
  /** JOB nodes: run settings of this job's runs inside the workflow, as given (see JobCondition). */
  jobCondition?: JobCondition;
}

/**
 * Data Flow's jobCondition on a JOB node, as stored (the fields given): the settings this job's
 * runs get inside the workflow, over the job's own runCondition. `workerType`, `numWorker` and
 * `timeout` change the run and `parameters` are its parameters; `nrn`, `scriptPath` and `logPath`
 * name NAVER Cloud resources that Sluice has no use for: they are kept and echoed, nothing more.
 * Checked with the jobs' own schema (dataflow/jobs.ts), handed in as `parseJobCondition`.
 */
export type { JobCondition };

/** Parses a node's jobCondition: the stored form, or problems (fields relative to jobCondition). */
export type ParseJobCondition = (
  value: unknown,
) => { condition: JobCondition } | { problems: Array<{ field: string; message: string }> };

/** What a TRIGGER node's `triggerRule` may say (informational: the trigger's own rule decides). */
export const NODE_RULE_TYPES = ['RECURRING', 'ONE_TIME', 'NONE'] as const;

/** What validation needs to know about a job or a trigger. */
export interface JobInfo {
  id: string;
  name: string;
}

export type FindJob = (jobId: string) => Promise<JobInfo | undefined>;
export type FindTrigger = (triggerId: string) => Promise<JobInfo | undefined>;

/** A pipeline-style problem, plus the position of the node in the request when it has one. */
export interface WorkflowProblem extends Problem {
  index?: number;
}

export interface WorkflowValidation {
  valid: boolean;
  problems: WorkflowProblem[];
  /**
   * The nodes normalised (only the known fields), in the order given. When not valid, they are
   * what a draft stores: every field that had the right type, the rest left out or empty.
   */
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

type Report = (field: string, message: string) => void;

/** The job or trigger a node names: its `jobId`/`triggerId`, else its own string `id`. */
function referenceOf(
  input: Record<string, unknown>,
  kind: 'job' | 'trigger',
  at: Report,
): { ref: string; field: string } | undefined {
  const field = kind === 'job' ? 'jobId' : 'triggerId';
  const given = input[field];
  if (given !== undefined && given !== null) {
    if (typeof given === 'string' && given !== '') return { ref: given, field };
    at(field, 'must be a non-empty string');
    return undefined;
  }
  if (typeof input.id === 'string' && ID_PATTERN.test(input.id)) return { ref: input.id, field: 'id' };
  const label = kind === 'job' ? 'JOB' : 'TRIGGER';
  at(field, `is required for a ${label} node (or give the ${kind}'s id as the node's id)`);
  return undefined;
}

function checkNodeRule(value: unknown, at: Report): void {
  if (value === undefined || value === null) return;
  const type =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>).type
        : undefined;
  if (typeof type !== 'string' || !(NODE_RULE_TYPES as readonly string[]).includes(type.toUpperCase())) {
    at('triggerRule', `must be one of ${NODE_RULE_TYPES.join(', ')}`);
  }
}

/**
 * Checks every node and the graph; the jobs and triggers nodes name are looked up with
 * `findJob` and `findTrigger` (triggers are not checked without it), JOB nodes' jobCondition
 * is parsed with `parseJobCondition` (left out without it).
 */
export async function validateWorkflow(
  raw: unknown[],
  findJob: FindJob,
  options: { findTrigger?: FindTrigger; parseJobCondition?: ParseJobCondition } = {},
): Promise<WorkflowValidation> {
  const { findTrigger, parseJobCondition } = options;
  const problems: WorkflowProblem[] = [];
  const parsed: Parsed[] = [];
  const seen = new Set<string>();

  for (const [index, value] of raw.entries()) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ nodeId: null, index, field: `nodes.${index}`, message: 'must be an object' });
      continue;
    }
    const input = value as Record<string, unknown>;
    let key: string | undefined;
    // Problems name the node by its key once it has one.
    const at: Report = (field, message) =>
      problems.push({
        nodeId: key ?? null,
        ...(typeof input.name === 'string' ? { nodeName: input.name } : {}),
        index,
        field,
        message,
      });

    const id = input.id;
    if (
      (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) ||
      (typeof id === 'string' && ID_PATTERN.test(id))
    ) {
      key = nodeKeyOf(id);
      if (seen.has(key)) {
        at('id', `is used by more than one node`);
        key = undefined;
      } else seen.add(key);
    } else {
      at('id', 'must be a non-negative integer or 1 to 64 letters, digits, _ or -');
    }

    const name = typeof input.name === 'string' ? input.name.trim() : undefined;
    if (!name) at('name', 'is required');
    else if (name.length > MAX_NAME) at('name', `must be at most ${MAX_NAME} characters`);

    const type = typeof input.type === 'string' ? input.type : undefined;
    if (type === undefined) at('type', `is required (one of ${NODE_TYPES.join(', ')})`);
    else if (!(NODE_TYPES as readonly string[]).includes(type)) {
      at('type', `"${type}" is not a node type; use one of ${NODE_TYPES.join(', ')}`);
    }

    const parents: string[] = [];
    const rawParents = input.parentNodeIds ?? [];
    if (!Array.isArray(rawParents)) at('parentNodeIds', 'must be a list of node ids');
    else {
      for (const [i, parent] of rawParents.entries()) {
        if ((typeof parent === 'number' && Number.isSafeInteger(parent)) || typeof parent === 'string') {
          parents.push(nodeKeyOf(parent));
        } else at(`parentNodeIds.${i}`, 'must be a node id');
      }
    }

    const node: WorkflowNode = {
      id: id as number | string,
      name: name ?? '',
      type: type as WorkflowNodeType,
      parentNodeIds: Array.isArray(rawParents) ? (rawParents as Array<number | string>) : [],
    };
    if (type === 'JOB') {
      const named = referenceOf(input, 'job', at);
      if (named) {
        const job = isId('pipeline', named.ref) ? await findJob(named.ref) : undefined;
        if (!job) {
          at(
            named.field,
            named.field === 'id'
              ? `job ${named.ref} does not exist (a JOB node without jobId names its job by its id)`
              : `job ${named.ref} does not exist`,
          );
        }
        node.jobId = named.ref;
      }
      if (parseJobCondition && input.jobCondition !== undefined && input.jobCondition !== null) {
        const parsed = parseJobCondition(input.jobCondition);
        if ('condition' in parsed) node.jobCondition = parsed.condition;
        else for (const p of parsed.problems) at(`jobCondition${p.field ? `.${p.field}` : ''}`, p.message);
      }
    }
    if (type === 'TRIGGER') {
      const named = referenceOf(input, 'trigger', at);
      if (named) {
        if (findTrigger && !(isId('trigger', named.ref) && (await findTrigger(named.ref)))) {
          at(
            named.field,
            named.field === 'id'
              ? `trigger ${named.ref} does not exist (a TRIGGER node without triggerId names its trigger by its id)`
              : `trigger ${named.ref} does not exist`,
          );
        }
        node.triggerId = named.ref;
      }
      checkNodeRule(input.triggerRule, at);
      if (parents.length > 0) at('parentNodeIds', 'must be empty: a TRIGGER node starts the workflow');
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
export function jobNodes(nodes: WorkflowNode[]): Array<{
  key: string;
  jobId: string;
  name: string;
  parents: string[];
  jobCondition?: JobCondition;
}> {
  const types = new Map(nodes.map((n) => [nodeKeyOf(n.id), n.type]));
  return nodes
    .filter((n) => n.type === 'JOB' && n.jobId)
    .map((n) => ({
      key: nodeKeyOf(n.id),
      jobId: n.jobId as string,
      name: n.name,
      parents: n.parentNodeIds.map(nodeKeyOf).filter((p) => types.get(p) === 'JOB'),
      ...(n.jobCondition ? { jobCondition: n.jobCondition } : {}),
    }));
}

/** The triggers the TRIGGER nodes name. */
export function triggerIdsOf(nodes: WorkflowNode[]): string[] {
  return [...new Set(nodes.flatMap((n) => (n.type === 'TRIGGER' && n.triggerId ? [n.triggerId] : [])))];
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
  if (name === STATES_ERRORS.timeout) return 'The job did not finish within its timeout.';
  if (name === STATES_ERRORS.taskFailed) {
    const child = parseJson(cause);
    const status = String(child?.Status ?? child?.status ?? 'FAILED');
    if (status === 'ABORTED') return 'The run was stopped.';
    return failureReason({
      status,
      error: stringOr(child?.Error ?? child?.error),
      cause: stringOr(child?.Cause ?? child?.cause),
    });
  }
  if (name?.startsWith(SLUICE_ERROR_PREFIX)) {
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

/**
 * Pipeline validation: parses every node against its type's schema, checks the graph (ids,
 * parents, arity, cycles), resolves catalog references and allowed buckets, and works out each
 * node's output columns in topological order so references and types are checked against real
 * inputs. Every problem is reported at once, each naming its node and field; a node whose input
 * is unknown is not checked further, so one mistake never shows up as a cascade of others.
 */
import type { z } from 'zod';
import { RESERVED_KEYS } from '../json-limits.ts';
import { type Field, nodeKey, type Problem } from './model.ts';
import {
  commonNodeSchema,
  isId,
  NODE_TYPES,
  type NodeTypeDef,
  nodeType,
  type ParsedNode,
} from './nodes/index.ts';

export interface ValidationEnv {
  allowedBuckets: readonly string[];
  /** A collection by name or id, or undefined. */
  resolveCollection(database: string): Promise<{ collectionId: string } | undefined>;
  /** A dataset by name or id inside a collection, with its columns, or undefined. */
  resolveDataset(
    collectionId: string,
    table: string,
  ): Promise<{ datasetId: string; fields: Field[] } | undefined>;
}

export interface ValidationResult {
  valid: boolean;
  problems: Problem[];
  /** Node keys in topological order (ties by position in the request); [] if there is a cycle. */
  order: string[];
  /** Output columns per node key; null when unknown before running. */
  outputs: Record<string, Field[] | null>;
  /** Node names made unique in request order: "Object Storage", "Object Storage (2)". */
  stepNames: Record<string, string>;
  /** Normalised nodes by key (only those that parsed). */
  nodes: Record<string, ParsedNode>;
  /** Resolved catalog references per node key; no datasetId when a target will create it. */
  datasets: Record<string, { collectionId: string; datasetId?: string }>;
}

/** One element of the request's node list. */
interface Entry {
  position: number;
  raw: Record<string, unknown> | undefined;
  /** The node's key, when its id is valid. */
  key: string | undefined;
  name: string | undefined;
  def: NodeTypeDef | undefined;
  node: ParsedNode | undefined;
  /** Parent keys, each once (read leniently from a node that did not parse). */
  parents: string[];
  /** Another node before this one has the same id: it takes no further part. */
  duplicate: boolean;
  /** Parents missing or the wrong number of them: outputs are not worked out. */
  blocked: boolean;
}

interface Reported extends Problem {
  position: number;
  seq: number;
}

class Problems {
  readonly list: Reported[] = [];

  add(entry: Pick<Entry, 'position' | 'key' | 'name'> | null, field: string, message: string): void {
    const position = entry?.position ?? Number.POSITIVE_INFINITY;
    // A node without a valid id is located by its position in the list.
    const located = entry && !entry.key ? `nodes.${entry.position}${field ? `.${field}` : ''}` : field;
    const problem: Reported = {
      nodeId: entry?.key ?? null,
      field: located,
      message,
      position,
      seq: this.list.length,
    };
    if (entry?.name !== undefined) problem.nodeName = entry.name;
    this.list.push(problem);
  }

  /** By node position, then field (numeric path segments compared as numbers), then as reported. */
  sorted(): Problem[] {
    return [...this.list]
      .sort((a, b) => a.position - b.position || compareFields(a.field, b.field) || a.seq - b.seq)
      .map(({ position: _p, seq: _s, ...problem }) => problem);
  }
}

function compareFields(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as string;
    const q = y[i] as string;
    if (p === q) continue;
    const numeric = /^[0-9]+$/.test(p) && /^[0-9]+$/.test(q);
    if (numeric) return Number(p) - Number(q);
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

const pathOf = (issue: z.core.$ZodIssue) => issue.path.map(String).join('.');

function parseEntry(raw: unknown, position: number, problems: Problems): Entry {
  const entry: Entry = {
    position,
    raw: undefined,
    key: undefined,
    name: undefined,
    def: undefined,
    node: undefined,
    parents: [],
    duplicate: false,
    blocked: false,
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.add(entry, '', 'must be an object');
    return entry;
  }
  const obj = raw as Record<string, unknown>;
  entry.raw = obj;
  if (isId(obj.id)) entry.key = nodeKey(obj.id);
  if (typeof obj.name === 'string') entry.name = obj.name;
  if (obj.type === undefined) problems.add(entry, 'type', 'is required');
  else if (typeof obj.type !== 'string') problems.add(entry, 'type', 'must be a string');
  else {
    entry.def = nodeType(obj.type);
    if (!entry.def) {
      const known = Object.keys(NODE_TYPES).join(', ');
      problems.add(entry, 'type', `unknown node type "${obj.type}"; expected one of ${known}`);
    }
  }
  // Without a known type the common fields are still checked.
  const parsed = (entry.def?.schema ?? commonNodeSchema).safeParse(obj);
  if (parsed.success && entry.def) entry.node = parsed.data as ParsedNode;
  if (!parsed.success)
    for (const issue of parsed.error.issues) problems.add(entry, pathOf(issue), issue.message);
  const listed = entry.node
    ? entry.node.parentNodeIds
    : Array.isArray(obj.parentNodeIds)
      ? obj.parentNodeIds
      : [];
  const parents = listed.filter(isId).map(nodeKey);
  entry.parents = [...new Set(parents)];
  for (const p of entry.parents) {
    if (parents.indexOf(p) !== parents.lastIndexOf(p))
      problems.add(entry, 'parentNodeIds', `lists node ${p} more than once`);
  }
  return entry;
}

function arityMessage(def: NodeTypeDef, count: number): string | undefined {
  const { min, max } = def.arity;
  if (count >= min && count <= max) return undefined;
  const inputs = (n: number) => `${n} input${n === 1 ? '' : 's'}`;
  if (max === 0) return `${def.type} is a source and takes no inputs, got ${count}`;
  const wanted = min === max ? `exactly ${inputs(min)}` : `${min} to ${max} inputs`;
  return `${def.type} takes ${wanted}, got ${count}`;
}

const describeNode = (e: Entry) => (e.name !== undefined ? `${e.key} "${e.name}"` : String(e.key));

/** Strongly connected components (Tarjan) of the nodes left over by the topological sort. */
function components(keys: readonly string[], children: ReadonlyMap<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const inside = new Set(keys);
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v) as number);
    stack.push(v);
    onStack.add(v);
    for (const w of children.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (;;) {
        const w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      out.push(component);
    }
  };
  for (const k of keys) if (!index.has(k)) visit(k);
  return out;
}

/**
 * Step names: node names made unique. They key a batch's `steps` map, so a name that cannot be a
 * stored property name (`constructor`, `__proto__`) is numbered like a repeated one.
 */
function uniqueNames(members: readonly Entry[]): Record<string, string> {
  const taken = new Set<string>(RESERVED_KEYS);
  const names: Record<string, string> = {};
  for (const e of members) {
    const base = e.name?.trim() || String(e.key);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} (${n})`;
    taken.add(name);
    names[e.key as string] = name;
  }
  return names;
}

const stringField = (obj: Record<string, unknown> | undefined, field: string) => {
  const v = obj?.[field];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

function checkBucket(entry: Entry, allowed: readonly string[], problems: Problems): void {
  const bucket = stringField(entry.raw, 'bucketName');
  if (bucket === undefined || allowed.includes(bucket)) return;
  const message =
    allowed.length === 0
      ? `bucket "${bucket}" is not allowed: no external buckets are configured (set SLUICE_BUCKETS)`
      : `bucket "${bucket}" is not allowed; allowed buckets: ${allowed.join(', ')}`;
  problems.add(entry, 'bucketName', message);
}

interface Resolved {
  collectionId?: string;
  datasetId?: string;
  fields?: Field[];
}

async function resolveCatalog(entry: Entry, env: ValidationEnv, problems: Problems): Promise<Resolved> {
  const database = stringField(entry.raw, 'database');
  const table = stringField(entry.raw, 'table');
  if (database === undefined) return {};
  const collection = await env.resolveCollection(database);
  if (!collection) {
    problems.add(entry, 'database', `collection "${database}" does not exist`);
    return {};
  }
  if (table === undefined) return { collectionId: collection.collectionId };
  const dataset = await env.resolveDataset(collection.collectionId, table);
  if (!dataset) {
    // A target creates its dataset; a source needs it to exist.
    if (entry.def?.kind === 'source') {
      problems.add(entry, 'table', `dataset "${table}" does not exist in collection "${database}"`);
    }
    return { collectionId: collection.collectionId };
  }
  return { collectionId: collection.collectionId, datasetId: dataset.datasetId, fields: dataset.fields };
}

export async function validatePipeline(nodes: unknown, env: ValidationEnv): Promise<ValidationResult> {
  const result: ValidationResult = {
    valid: false,
    problems: [],
    order: [],
    outputs: {},
    stepNames: {},
    nodes: {},
    datasets: {},
  };
  const problems = new Problems();
  if (!Array.isArray(nodes)) {
    problems.add(null, 'nodes', 'must be an array of nodes');
    result.problems = problems.sorted();
    return result;
  }

  // Nodes, one by one.
  const entries = nodes.map((raw, position) => parseEntry(raw, position, problems));
  const byKey = new Map<string, Entry>();
  for (const e of entries) {
    if (e.key === undefined) continue;
    const first = byKey.get(e.key);
    if (first) {
      e.duplicate = true;
      problems.add(
        e,
        'id',
        `duplicate node id ${e.key}: nodes.${first.position}${first.name !== undefined ? ` ("${first.name}")` : ''} has it too`,
      );
    } else byKey.set(e.key, e);
  }
  const members = entries.filter((e): e is Entry & { key: string } => e.key !== undefined && !e.duplicate);

  // The graph: parents that exist, and the number of inputs.
  const children = new Map<string, string[]>();
  for (const e of members) {
    for (const p of e.parents) {
      if (!byKey.has(p)) {
        problems.add(e, 'parentNodeIds', `parent node ${p} does not exist`);
        e.blocked = true;
      } else children.set(p, [...(children.get(p) ?? []), e.key]);
    }
    if (e.def) {
      // A node that did not parse is still counted by what it lists.
      const listed =
        e.node?.parentNodeIds ?? (Array.isArray(e.raw?.parentNodeIds) ? e.raw.parentNodeIds : []);
      const arity = arityMessage(e.def, listed.length);
      if (arity) {
        problems.add(e, 'parentNodeIds', arity);
        e.blocked = true;
      }
    }
  }

  // Topological order, the earliest-listed ready node first.
  const waiting = new Map(members.map((e) => [e.key, e.parents.filter((p) => byKey.has(p)).length]));
  const order: string[] = [];
  const ready = members.filter((e) => waiting.get(e.key) === 0);
  while (ready.length > 0) {
    ready.sort((a, b) => a.position - b.position);
    const next = ready.shift() as Entry & { key: string };
    order.push(next.key);
    for (const child of children.get(next.key) ?? []) {
      const left = (waiting.get(child) ?? 0) - 1;
      waiting.set(child, left);
      if (left === 0) ready.push(byKey.get(child) as Entry & { key: string });
    }
  }
  if (order.length < members.length) {
    const done = new Set(order);
    const rest = members.filter((e) => !done.has(e.key)).map((e) => e.key);
    for (const component of components(rest, children)) {
      const inCycle = component.map((k) => byKey.get(k) as Entry).sort((a, b) => a.position - b.position);
      const head = inCycle[0] as Entry;
      if (inCycle.length === 1 && !head.parents.includes(head.key as string)) continue;
      const message =
        inCycle.length === 1
          ? 'lists the node itself as a parent, which makes a cycle'
          : `nodes form a cycle: ${inCycle.map(describeNode).join(', ')}`;
      problems.add(head, 'parentNodeIds', message);
    }
  }

  // External references: buckets and catalog entries.
  const catalogs = new Map<string, Resolved>();
  await Promise.all(
    members.map(async (e) => {
      const location = e.def?.location;
      if (location === 'bucket') checkBucket(e, env.allowedBuckets, problems);
      if (location === 'dataset') catalogs.set(e.key, await resolveCatalog(e, env, problems));
    }),
  );
  for (const e of members) {
    const catalog = catalogs.get(e.key);
    // A source counts as resolved only with its dataset; a target may create one.
    const resolved = e.def?.kind === 'source' ? catalog?.datasetId : catalog?.collectionId;
    if (catalog?.collectionId && resolved) {
      result.datasets[e.key] = {
        collectionId: catalog.collectionId,
        ...(catalog.datasetId ? { datasetId: catalog.datasetId } : {}),
      };
    }
  }

  // Output columns, in order; a node with an unknown input is not checked.
  for (const e of members) result.outputs[e.key] = null;
  for (const key of order) {
    const e = byKey.get(key) as Entry;
    if (!e.node || !e.def || e.blocked) continue;
    // A dataset source's one input is the dataset's columns.
    const inputs =
      e.def.location === 'dataset' && e.def.kind === 'source'
        ? [catalogs.get(key)?.fields ?? null]
        : e.node.parentNodeIds.map((p) => result.outputs[nodeKey(p)] ?? null);
    if (inputs.some((i) => i === null)) continue;
    result.outputs[key] = e.def.output(e.node, inputs, {
      problem: (field, message) => problems.add(e, field, message),
    });
  }

  for (const e of members) if (e.node) result.nodes[e.key] = e.node;
  result.stepNames = uniqueNames(members);
  result.order = order.length === members.length ? order : [];
  result.problems = problems.sorted();
  result.valid = result.problems.length === 0;
  return result;
}

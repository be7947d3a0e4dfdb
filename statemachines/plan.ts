/**
 * The planner: a validated pipeline DAG -> stages. A stage is a connected set of nodes run as one
 * SQL program on one engine; only a stage's outputs (what later stages read) and its targets are
 * written, every other node is a view inside it. Pure and deterministic: the same nodes in any
 * order give the same plan.
 *
 * Boundaries, the only reasons two connected nodes land in different stages:
 * - `partitions`: a source fans out over its partitions (objects of a prefix, parts of a dataset
 *   version). Nodes that work row by row and read only that source's partition stage run inside it,
 *   once per partition; a node that needs all rows (aggregate, join, union, drop-duplication, SQL)
 *   or a target reads the partitions' outputs together from a later stage.
 * - `engine`: a node whose engine differs from its parent's (a pipeline's AUTO is resolved per
 *   node when a batch starts, see functions/core/pipelines/engine-choice.ts). A source on ATHENA
 *   does not fan out: Athena reads all its objects at once, so its stage is whole-input.
 * - `materialize`: a node the user marked `materialize: true` is written; its children read it.
 *
 * Everything else fuses: independent branches that meet again share one stage, so a DAG without
 * boundaries is one stage after its sources.
 */

/** Where a stage runs. AUTO is decided per stage when a batch starts, from the size of its inputs. */
export type EngineChoice = 'AUTO' | 'DUCKDB' | 'ATHENA';

/** How a node can be fused with the nodes around it. */
export type NodeRole =
  /** Reads outside data; every source fans out over partitions. */
  | 'source'
  /** Works one row at a time (filter, define, select, rename, drop-null, fill-missing). */
  | 'row'
  /** Needs every row of its inputs at once (aggregate, join, union, drop-duplication, SQL). */
  | 'all'
  /** Writes outside (a bucket prefix, a dataset version). */
  | 'target';

export interface PlanInputNode {
  key: string;
  parents: string[];
  role: NodeRole;
  /** Written, and read from storage by its children. */
  materialize?: boolean;
  /** Overrides the pipeline's engine for this node. */
  engine?: EngineChoice;
}

/** Why a stage starts where it does. */
export type StageReason =
  /** A source and the row-wise nodes after it, run once per partition. */
  | 'partitions'
  /** Its first nodes need every partition of a source's output at once. */
  | 'all-rows'
  /** It reads a target's input that was run per partition. */
  | 'target'
  /** Its first nodes run on another engine than their parents. */
  | 'engine'
  /** It reads a node the user asked to materialize. */
  | 'materialize';

export interface Stage {
  /** `s1`, `s2`, ... in topological order. */
  id: string;
  /** Its nodes, in topological order. */
  nodes: string[];
  engine: EngineChoice;
  /** Runs once per partition of `source` (a Map over the partitions). */
  partitioned: boolean;
  /** The source whose partitions a partitioned stage runs over. */
  source?: string;
  /** Stages whose outputs it reads. */
  after: string[];
  /** Its nodes read by later stages: each is written when the stage ends. */
  outputs: string[];
  /** Its targets (they write outside). */
  targets: string[];
  reasons: StageReason[];
}

export interface Plan {
  stages: Stage[];
  /** The stage of each node. */
  stageOf: Record<string, string>;
}

export function planStages(nodes: readonly PlanInputNode[], engine: EngineChoice = 'AUTO'): Plan {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const order = topologicalOrder(nodes);
  const engineOf = (n: PlanInputNode) => n.engine ?? engine;

  // Union-find over provisional stages, each with its properties.
  interface Draft {
    id: number;
    partitioned: boolean;
    source?: string;
    engine: EngineChoice;
    reasons: Set<StageReason>;
  }
  const drafts: Draft[] = [];
  const parent: number[] = [];
  const find = (i: number): number => {
    let root = i;
    while (parent[root] !== root) root = parent[root] as number;
    return root;
  };
  const draftOf = new Map<string, number>();
  /** Edges between provisional stages (from reader to what it reads), for the cycle check. */
  const reads = new Map<number, Set<number>>();
  const dependsOn = (a: number, b: number): boolean => {
    // Does stage a (transitively) read stage b?
    const seen = new Set<number>();
    const stack = [find(a)];
    while (stack.length > 0) {
      const s = stack.pop() as number;
      if (seen.has(s)) continue;
      seen.add(s);
      for (const r of reads.get(s) ?? []) {
        const root = find(r);
        if (root === find(b)) return true;
        stack.push(root);
      }
    }
    return false;
  };
  const newDraft = (props: Omit<Draft, 'id'>): number => {
    const id = drafts.length;
    drafts.push({ id, ...props });
    parent.push(id);
    return id;
  };
  const merge = (into: number, other: number): number => {
    const a = find(into);
    const b = find(other);
    if (a === b) return a;
    parent[b] = a;
    const target = drafts[a] as Draft;
    for (const r of (drafts[b] as Draft).reasons) target.reasons.add(r);
    const merged = new Set([...(reads.get(a) ?? []), ...(reads.get(b) ?? [])]);
    reads.set(a, merged);
    return a;
  };

  for (const key of order) {
    const node = byKey.get(key) as PlanInputNode;
    const mine = engineOf(node);
    if (node.role === 'source') {
      // Athena reads a source whole (an external table over its objects): no fan-out, so the
      // nodes after it fuse with it like any whole-input nodes.
      draftOf.set(
        key,
        mine === 'ATHENA'
          ? newDraft({ partitioned: false, engine: mine, reasons: new Set() })
          : newDraft({ partitioned: true, source: key, engine: mine, reasons: new Set(['partitions']) }),
      );
      continue;
    }
    const parents = node.parents.map((p) => byKey.get(p) as PlanInputNode);
    const parentDrafts = node.parents.map((p) => find(draftOf.get(p) as number));
    const open = (p: PlanInputNode, d: number) =>
      !p.materialize && engineOf(p) === mine && (drafts[d] as Draft).engine === mine;

    // A row-wise node whose only parent runs per partition runs in that partition stage.
    const [onlyParent] = parents;
    const [onlyDraft] = parentDrafts;
    if (
      node.role === 'row' &&
      parents.length === 1 &&
      onlyParent &&
      onlyDraft !== undefined &&
      (drafts[onlyDraft] as Draft).partitioned &&
      open(onlyParent, onlyDraft)
    ) {
      draftOf.set(key, onlyDraft);
      continue;
    }

    // Otherwise it joins the parents' whole-input stages it can (same engine, no materialized
    // parent between), all of them merged; a stage another candidate reads stays apart.
    let candidates = [
      ...new Set(
        parents
          .map((p, i) => [p, parentDrafts[i] as number] as const)
          .filter(([p, d]) => open(p, d) && !(drafts[d] as Draft).partitioned)
          .map(([, d]) => d),
      ),
    ];
    candidates = candidates.filter((c) => !candidates.some((other) => other !== c && dependsOn(other, c)));
    const reasons = new Set<StageReason>();
    parents.forEach((p, i) => {
      const d = drafts[parentDrafts[i] as number] as Draft;
      if (candidates.includes(find(d.id))) return;
      if (p.materialize) reasons.add('materialize');
      else if (engineOf(p) !== mine || d.engine !== mine) reasons.add('engine');
      else if (d.partitioned) reasons.add(node.role === 'target' ? 'target' : 'all-rows');
    });
    let stage: number;
    if (candidates.length === 0) {
      stage = newDraft({ partitioned: false, engine: mine, reasons });
    } else {
      stage = candidates.reduce((acc, c) => merge(acc, c));
      for (const r of reasons) (drafts[stage] as Draft).reasons.add(r);
    }
    const readsOf = reads.get(stage) ?? new Set<number>();
    for (const d of parentDrafts) if (find(d) !== stage) readsOf.add(find(d));
    reads.set(stage, readsOf);
    draftOf.set(key, stage);
  }

  // Number the stages in the order their first node comes.
  const idOf = new Map<number, string>();
  const stages: Stage[] = [];
  for (const key of order) {
    const root = find(draftOf.get(key) as number);
    let id = idOf.get(root);
    if (!id) {
      id = `s${stages.length + 1}`;
      idOf.set(root, id);
      const d = drafts[root] as Draft;
      stages.push({
        id,
        nodes: [],
        engine: d.engine,
        partitioned: d.partitioned,
        ...(d.source ? { source: d.source } : {}),
        after: [],
        outputs: [],
        targets: [],
        reasons: [...d.reasons].sort(),
      });
    }
  }
  const stageOf: Record<string, string> = {};
  for (const key of order) stageOf[key] = idOf.get(find(draftOf.get(key) as number)) as string;
  const byId = new Map(stages.map((s) => [s.id, s]));
  for (const key of order) {
    const node = byKey.get(key) as PlanInputNode;
    const stage = byId.get(stageOf[key] as string) as Stage;
    stage.nodes.push(key);
    if (node.role === 'target') stage.targets.push(key);
    for (const p of node.parents) {
      const from = stageOf[p] as string;
      if (from === stage.id) continue;
      if (!stage.after.includes(from)) stage.after.push(from);
      const source = byId.get(from) as Stage;
      if (!source.outputs.includes(p)) source.outputs.push(p);
    }
  }
  for (const stage of stages) {
    stage.after.sort(byStageNumber);
    const position = new Map(stage.nodes.map((n, i) => [n, i]));
    stage.outputs.sort((a, b) => (position.get(a) as number) - (position.get(b) as number));
  }
  return { stages, stageOf };
}

const byStageNumber = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1));

/**
 * Kahn's algorithm, ready nodes taken in key order (numeric keys numerically), so the order and
 * with it the plan do not depend on the order the nodes were given in.
 */
export function topologicalOrder(nodes: readonly Pick<PlanInputNode, 'key' | 'parents'>[]): string[] {
  const children = new Map<string, string[]>();
  const waiting = new Map<string, number>();
  for (const n of nodes) {
    waiting.set(n.key, new Set(n.parents).size);
    for (const p of new Set(n.parents)) children.set(p, [...(children.get(p) ?? []), n.key]);
  }
  const ready = nodes.filter((n) => n.parents.length === 0).map((n) => n.key);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort(compareKeys);
    const key = ready.shift() as string;
    order.push(key);
    for (const child of children.get(key) ?? []) {
      const left = (waiting.get(child) as number) - 1;
      waiting.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  if (order.length !== nodes.length) throw new Error('planStages: the pipeline has a cycle');
  return order;
}

function compareKeys(a: string, b: string): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b)) {
    return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

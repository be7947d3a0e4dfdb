/**
 * The JSON shape of a node list (pipelines, jobs and workflows), checked with the request body.
 * A list that breaks it is structural garbage and answers 400 naming the field: more than 200
 * nodes, a node that is not an object, a common field of the wrong JSON type (an `id` that is a
 * list, `parentNodeIds` that is an object) or longer than it can be, more than 20 parents.
 * Everything else is semantics, left to validation (validate.ts, workflows/model.ts): an unknown
 * type, a dangling parent, a wrong number of inputs or a bad type-specific field makes a
 * pipeline a DRAFT that is saved with its problems. A common field may be absent here
 * (validation then says it is required); when present it has the right JSON type.
 */
import * as z from 'zod';

export const NODE_LIMITS = {
  /** Nodes of a pipeline or job. */
  maxNodes: 200,
  /** Nodes of a workflow. */
  maxWorkflowNodes: 100,
  /** Parents of one node. */
  maxParents: 20,
  /** Characters of a node id given as a string (Data Flow's Long is at most 19 digits). */
  maxIdLength: 64,
  maxNameLength: 200,
  maxTypeLength: 100,
} as const;

const ID_MESSAGE = `must be a node id: a number or a string of at most ${NODE_LIMITS.maxIdLength} characters`;

const nodeIdShape = z.custom<number | string>(
  (v) => typeof v === 'number' || (typeof v === 'string' && v.length <= NODE_LIMITS.maxIdLength),
  { error: ID_MESSAGE },
);

const textShape = (max: number) =>
  z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);

const nodeShape = z.looseObject(
  {
    id: nodeIdShape.optional(),
    name: textShape(NODE_LIMITS.maxNameLength).optional(),
    type: textShape(NODE_LIMITS.maxTypeLength).optional(),
    parentNodeIds: z
      .array(nodeIdShape, { error: 'must be a list of node ids' })
      .max(NODE_LIMITS.maxParents, `must list at most ${NODE_LIMITS.maxParents} parents`)
      .optional(),
  },
  { error: 'must be an object' },
);

function nodeListShape(max: number) {
  // Checked, not rewritten: validation and drafts see the nodes exactly as sent.
  return z
    .array(z.unknown(), { error: 'must be a list of nodes' })
    .max(max, `must have at most ${max} nodes`)
    .superRefine((nodes, ctx) => {
      nodes.forEach((node, i) => {
        const result = nodeShape.safeParse(node);
        if (result.success) return;
        for (const issue of result.error.issues) {
          ctx.addIssue({ code: 'custom', message: issue.message, path: [i, ...issue.path] });
        }
      });
    });
}

/** A pipeline's or job's `nodes`. */
export const pipelineNodesSchema = nodeListShape(NODE_LIMITS.maxNodes);

/** A workflow's `nodes`. */
export const workflowNodesSchema = nodeListShape(NODE_LIMITS.maxWorkflowNodes);

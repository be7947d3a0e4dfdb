/**
 * Prints the node-type registry as JSON for the console's pipeline editor: per type its kind,
 * arity and the JSON Schema of its fields (zod's output form, so enums and defaults show). The
 * console bundle imports this as `virtual:sluice-node-types` (see ../vite.config.ts), so the
 * palette and the node forms always match the registry the API validates with, without pulling
 * zod and the SQL generators into the browser.
 */
import * as z from 'zod';
import { NODE_TYPES } from '#core/pipelines/nodes/index';

export function nodeTypeCatalog() {
  return Object.values(NODE_TYPES).map((def) => ({
    type: def.type,
    kind: def.kind,
    arity: def.arity,
    location: def.location ?? null,
    schema: z.toJSONSchema(def.schema, { io: 'output', unrepresentable: 'any' }),
  }));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  process.stdout.write(JSON.stringify(nodeTypeCatalog()));
}

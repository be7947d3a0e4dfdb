/**
 * Every operation's success responses, by area and operation name: the response half of the
 * OpenAPI document (bin/openapi-document.ts) and what the API tests check each answer against
 * (bin/openapi/conformance.ts). Lambda entries never import this: their bundles stay as small
 * as their requests need.
 */
import * as z from 'zod';
import type { Area, OperationName } from '#core/routes';
import { catalog, ingest, tables } from './catalog.ts';
import { jobs, triggers, workflows } from './dataflow.ts';
import { docs } from './docs.ts';
import { listedPipelineSchemas, pipelines } from './pipelines.ts';
import { query } from './query.ts';
import { gatewayMessageSchema, json, type OperationResponses, problemSchema } from './shapes.ts';
import { auth, health, listedSchemas, users } from './sluice.ts';

/** One entry per operation of each area: a route without documented responses does not compile. */
export type ResponseTable = {
  readonly [A in Area]: Readonly<Record<OperationName<A>, OperationResponses>>;
};

export const RESPONSES: ResponseTable = {
  health,
  auth,
  users,
  catalog,
  tables,
  ingest,
  pipelines,
  query,
  jobs,
  workflows,
  triggers,
  docs,
  fallback: {},
};

/**
 * The trailing-slash catch-all answers as the route its path names without the slash (the
 * checker follows it there); the document can only say so.
 */
export const TRAILING_SLASH_RESPONSES: OperationResponses = {
  '200': json('The answer of the route the path names without its trailing slash', z.unknown()),
  '201': json('The answer of the create route the path names without its trailing slash', z.unknown()),
};

/** Schemas that only appear serialised inside D.Hub lists, registered so `contentSchema` can name them. */
export const LISTED_SCHEMAS = { ...listedSchemas, ...listedPipelineSchemas };

export { gatewayMessageSchema as GATEWAY_MESSAGE, problemSchema };

/**
 * The OpenAPI 3.1 document of the API, built from the route table (`functions/core/routes.ts`)
 * and each route's operation: its path, query and body zod schemas (zod-openapi documents what a
 * client sends, before transforms). Every route of the table is one operation of the document,
 * named by the route's operation (Data Flow's and Data Query's own names: `createJob`, ...);
 * public routes need no credentials, the others take any of the three schemes.
 *
 * Responses: each operation's success responses come from bin/openapi/responses.ts (every 2xx
 * it answers, with its media type), and its errors are problem+json.
 */
import * as z from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { Operation } from '#core/http';
import { type Area, ROUTES, type RouteDef } from '#core/routes';
import {
  GATEWAY_MESSAGE,
  LISTED_SCHEMAS,
  problemSchema,
  RESPONSES,
  TRAILING_SLASH_RESPONSES,
} from './openapi/responses.ts';
import type { OperationResponses, ResponseDoc } from './openapi/shapes.ts';

export type OperationsByArea = { readonly [A in Area]: Readonly<Record<string, Operation>> };

/** Every error: problem+json from Sluice, or API Gateway's own `{message}`. */
export const errorResponse = (description: string): ResponseDoc => ({
  description,
  content: {
    'application/problem+json': { schema: problemSchema },
    // Answers API Gateway gives itself (throttling, a refused authorization, a body too large).
    'application/json': { schema: GATEWAY_MESSAGE },
  },
});

/** The three ways to authenticate (any one of them). */
const SECURITY: Array<Record<string, string[]>> = [
  { bearerJwt: [] },
  { serviceToken: [] },
  { credentialId: [], credentialSecret: [] },
];

/** The product a route belongs to, as a tag. */
function tagOf(route: RouteDef): string {
  if (route.path.startsWith('/v1/data-query')) return 'Data Query';
  if (route.area === 'jobs' || route.area === 'workflows' || route.area === 'triggers') return 'Data Flow';
  if (route.area === 'health' || route.area === 'auth' || route.area === 'users' || route.area === 'docs')
    return 'Sluice';
  return 'D.Hub';
}

/** OpenAPI has no greedy parameter: `{proxy+}` is documented as `{proxy}` (slashes allowed). */
const openApiPath = (path: string) => path.replace(/\{([a-z_]+)\+\}/g, '{$1}');

/** The path parameters a template names, as strings (for operations without a params schema). */
function templateParams(path: string): z.ZodObject | undefined {
  const names = [...path.matchAll(/\{([a-z_]+)\+?\}/g)].map((m) => m[1] as string);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((n) => [n, z.string()])));
}

/** The documented success responses of a route. */
export function successResponses(route: RouteDef): OperationResponses {
  if (route.trailingSlash) return TRAILING_SLASH_RESPONSES;
  const byOperation: Readonly<Record<string, OperationResponses>> = RESPONSES[route.area];
  const responses = byOperation[route.operation];
  if (!responses) throw new Error(`No responses documented for ${route.area}.${route.operation}`);
  return responses;
}

function operationObject(
  route: RouteDef,
  op: Operation | undefined,
  operationId: string,
): ZodOpenApiOperationObject {
  const path = op?.params instanceof z.ZodObject ? op.params : templateParams(route.path);
  const query = op?.query instanceof z.ZodObject ? op.query : undefined;
  const greedy = /\+\}/.test(route.path);
  return {
    operationId,
    tags: [tagOf(route)],
    summary: route.trailingSlash
      ? 'The route the path names without its trailing slash'
      : `${route.operation}${greedy ? ' (the last path parameter may hold slashes)' : ''}`,
    ...(route.access === 'public' ? { security: [] } : { security: SECURITY }),
    ...(path || query ? { requestParams: { ...(path ? { path } : {}), ...(query ? { query } : {}) } } : {}),
    ...(op?.body ? { requestBody: { content: { 'application/json': { schema: op.body } } } } : {}),
    responses: {
      ...successResponses(route),
      '4XX': errorResponse('The request was refused; `errors` names each offending field'),
      '5XX': errorResponse('Sluice failed; the detail names the request id, never an internal message'),
    },
  };
}

/** The document for these operations; the same input gives the same document. */
export function openApiDocument(operations: OperationsByArea, version: string) {
  const paths: ZodOpenApiPathsObject = {};
  const seen = new Map<string, number>();
  for (const route of ROUTES) {
    const count = (seen.get(route.operation) ?? 0) + 1;
    seen.set(route.operation, count);
    // Several routes may serve one operation (an alias path): each needs its own id.
    const operationId = count === 1 ? route.operation : `${route.operation}${count}`;
    const op = route.trailingSlash ? undefined : operations[route.area][route.operation];
    const key = openApiPath(route.path);
    paths[key] = {
      ...paths[key],
      [route.method.toLowerCase()]: operationObject(route, op, operationId),
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Sluice',
      version,
      description:
        'Collections, datasets and tables (D.Hub), jobs, workflows and triggers (Data Flow) and SQL (Data Query), served by the local host and by the AWS deployment.',
    },
    tags: [
      { name: 'D.Hub', description: 'Collections, datasets, tables, pipelines, batches and traces' },
      { name: 'Data Flow', description: 'Jobs, workflows, triggers and the dashboard' },
      { name: 'Data Query', description: 'Asynchronous SQL over the datasets' },
      { name: 'Sluice', description: 'Health, sign-in, credentials, users and this description' },
    ],
    servers: [{ url: '/', description: 'The host serving this document' }],
    components: {
      schemas: LISTED_SCHEMAS,
      securitySchemes: {
        bearerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from POST /api/v1/auth/login',
        },
        serviceToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A service credential as `<credential_id>.<secret>`',
        },
        credentialId: { type: 'apiKey', in: 'header', name: 'Credential-ID' },
        credentialSecret: { type: 'apiKey', in: 'header', name: 'Credential-Secret' },
      },
    },
    paths,
  });
}

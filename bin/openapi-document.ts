/**
 * The OpenAPI 3.1 document of the API, built from the route table (`functions/core/routes.ts`)
 * and each route's operation: its path, query and body zod schemas (zod-openapi documents what a
 * client sends, before transforms). Every route of the table is one operation of the document,
 * named by the route's operation (Data Flow's and Data Query's own names: `createJob`, ...);
 * public routes need no credentials, the others take any of the three schemes.
 *
 * Responses: every operation documents its errors as problem+json. Its success responses are
 * documented as JSON of any shape until the operations carry response schemas (issue 14).
 */
import * as z from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { Operation } from '#core/http';
import { type Area, ROUTES, type RouteDef } from '#core/routes';

export type OperationsByArea = { readonly [A in Area]: Readonly<Record<string, Operation>> };

const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    errorType: z.string().meta({
      description:
        'bad-parameter, bad-state, resource-not-found/<KIND>, unauthorized, forbidden, conflict, payload-too-large, internal',
    }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Each offending field of a request that did not validate' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem, in the shape of Data Flow’s errors' });

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
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
  if (route.area === 'health' || route.area === 'auth' || route.area === 'users') return 'Sluice';
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
      '2XX': { description: 'Success', content: { 'application/json': { schema: z.unknown() } } },
      '4XX': problem('The request was refused; `errors` names each offending field'),
      '5XX': problem('Sluice failed; the detail names the request id, never an internal message'),
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
      { name: 'Sluice', description: 'Health, sign-in, credentials and users' },
    ],
    components: {
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

/**
 * The HTTP side of every area Lambda: route by `event.routeKey`, enforce the route's access
 * level, validate params/query/body with the operation's zod schemas, call the operation and
 * shape the JSON answer. Errors of any kind leave through one middleware as problem+json.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { z } from 'zod';
import { parseCookies } from './auth/cookies.ts';
import { type AuthContext, contextToPrincipal, hasRole, type Principal } from './auth/principal.ts';
import {
  type FieldProblem,
  ForbiddenError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  toProblem,
  UnauthorizedError,
  ValidationError,
} from './errors.ts';
import { BODY_LIMITS, jsonShapeProblems } from './json-limits.ts';
import { logger, publishMetrics, tracer } from './observability.ts';
import './schemas.ts';
import {
  type Area,
  findRoute,
  matchRoute,
  type OperationName,
  type RouteDef,
  type RouteMatch,
} from './routes.ts';

export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<AuthContext>;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface Reply {
  readonly kind: 'reply';
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** Set-Cookie values (payload 2.0 `cookies`: one Set-Cookie header each). */
  cookies: string[];
}

export function reply(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  cookies: string[] = [],
): Reply {
  return { kind: 'reply', status, body, headers, cookies };
}

/** A response that is not JSON (a CSV download): the text is sent as is, UTF-8. */
export interface TextReply {
  readonly kind: 'text';
  status: number;
  body: string;
  headers: Record<string, string>;
}

export function textReply(status: number, body: string, headers: Record<string, string>): TextReply {
  return { kind: 'text', status, body, headers };
}

export interface OperationContext<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal;
  event: HttpEvent;
  requestId: string;
  /** Raw request body bytes, for operations that read their own body (multipart uploads). */
  rawBody(): Buffer;
  header(name: string): string | undefined;
  /** A request cookie by name (from payload 2.0's `cookies`). */
  cookie(name: string): string | undefined;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface OperationDef<
  BS extends Schema | undefined,
  QS extends Schema | undefined,
  PS extends Schema | undefined,
> {
  body?: BS;
  query?: QS;
  params?: PS;
  run(ctx: OperationContext<Out<BS>, Out<QS>, Out<PS>>): Promise<unknown>;
}

export interface Operation {
  body?: Schema;
  query?: Schema;
  params?: Schema;
  run(ctx: OperationContext<unknown, unknown, unknown>): Promise<unknown>;
}

/** Declares an operation; the generic parameters give `run` typed inputs. */
export function operation<
  BS extends Schema | undefined = undefined,
  QS extends Schema | undefined = undefined,
  PS extends Schema | undefined = undefined,
>(def: OperationDef<BS, QS, PS>): Operation {
  return def as unknown as Operation;
}

/** Operations of public routes get a placeholder principal; they must not rely on it. */
const ANONYMOUS: Principal = { kind: 'user', userId: '', username: '', role: 'viewer' };

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function jsonResult(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  cookies: string[] = [],
): HttpResult {
  return {
    statusCode: status,
    headers: { ...JSON_HEADERS, ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
    ...(cookies.length > 0 ? { cookies } : {}),
  };
}

/** Turns any error into problem+json. Registered first so it also sees other middlewares' errors. */
export function problemJson(): MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: async (request) => {
      const event = request.event;
      const instance = event?.rawPath ?? event?.requestContext?.http?.path ?? '';
      const requestId = request.context?.awsRequestId;
      const { problem, headers } = toProblem(request.error, instance, requestId);
      if (problem.status >= 500) {
        logger.error('request failed', { error: request.error as Error, route: event?.routeKey });
      } else {
        logger.info('request rejected', { status: problem.status, errorType: problem.errorType });
      }
      request.response = {
        statusCode: problem.status,
        headers: {
          ...JSON_HEADERS,
          'content-type': 'application/problem+json; charset=utf-8',
          ...headers,
        },
        body: JSON.stringify(problem),
      };
    },
  };
}

function parseWith(schema: Schema | undefined, value: unknown, prefix: string): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems: FieldProblem[] = result.error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw ValidationError.of(problems);
}

/** Query parameters from the raw query string, so repeated keys (`states=A&states=B`) survive. */
export function parseQuery(raw: string | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(raw ?? '')) {
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function rawBody(event: HttpEvent): Buffer {
  if (!event.body) return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

/**
 * The request's JSON body, structurally sound (see json-limits.ts): within the size limit (413),
 * then parseable and within the depth, size, number and text limits (400 naming each field).
 */
function parseJsonBody(event: HttpEvent): unknown {
  const bytes = rawBody(event);
  if (bytes.length > BODY_LIMITS.maxBytes) {
    throw PayloadTooLargeError.field(
      'body',
      `is ${bytes.length} bytes; JSON bodies are limited to ${BODY_LIMITS.maxBytes} bytes`,
    );
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('Malformed JSON body.', [{ field: 'body', message: 'is not valid JSON' }]);
  }
  const problems = jsonShapeProblems(value, 'body');
  if (problems.length > 0) throw ValidationError.of(problems);
  return value;
}

function authenticate(event: HttpEvent, route: RouteDef): Principal {
  if (route.access === 'public') return ANONYMOUS;
  const ctx = event.requestContext.authorizer?.lambda;
  const principal = contextToPrincipal(ctx);
  if (!principal) throw new UnauthorizedError(ctx?.denied ?? 'Authentication is required.');
  if (!hasRole(principal, route.access)) {
    throw new ForbiddenError(`This operation needs the ${route.access} role; you have ${principal.role}.`);
  }
  return principal;
}

/**
 * The route a request is for, with its path parameters. API Gateway names it in `routeKey`;
 * `$default` requests and the trailing-slash catch-all are matched here: the catch-all stands
 * for the route its path names without the slash, anything else answers 404, or 405 with the
 * methods the path does have.
 */
export function resolveRoute(event: HttpEvent): RouteMatch {
  const declared = findRoute(event.routeKey);
  if (declared && !declared.trailingSlash) {
    return { route: declared, params: (event.pathParameters ?? {}) as Record<string, string> };
  }
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  const bare = declared && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : undefined;
  if (bare !== undefined) {
    const target = matchRoute(method, bare, { withoutCatchAll: true });
    if (target && 'route' in target) return target;
  }
  const match = matchRoute(method, path, { withoutCatchAll: true });
  if (match && 'allowed' in match) throw new MethodNotAllowedError(method, path, match.allowed);
  if (match) return match;
  throw new RouteNotFoundError(method, path);
}

/**
 * Builds an area's Lambda handler from its operations (one per route of the area). `borrowed`
 * holds operations of other areas this function also serves, reached only through the
 * trailing-slash catch-all (e.g. `POST /api/v1/datasets/` on the pipelines function).
 */
/** The operations of an area's routes, by name (routes.ts). */
export type AreaOperations<A extends Area> = Record<OperationName<A>, Operation>;

/** `O` with any key that is not an operation of area `A` turned into an error. */
type OnlyOperationsOf<A extends Area, O> = O & Record<Exclude<keyof O, OperationName<A>>, never>;

/** Operations of other areas a function also serves: any subset of each area's operations. */
export type BorrowedOperations = { [B in Area]?: Partial<AreaOperations<B>> };

export function areaHandler<A extends Area, O extends AreaOperations<A>>(
  area: A,
  operations: OnlyOperationsOf<A, O>,
  borrowed: BorrowedOperations = {},
) {
  const own: Partial<Record<string, Operation>> = operations;
  const others: Partial<Record<Area, Partial<Record<string, Operation>>>> = borrowed;
  const dispatch = async (event: HttpEvent, context: Context): Promise<HttpResult> => {
    const { route, params: pathParams } = resolveRoute(event);
    const op = route.area === area ? own[route.operation] : others[route.area]?.[route.operation];
    if (!op) throw new RouteNotFoundError(event.requestContext.http.method, event.rawPath);
    logger.appendKeys({ route: event.routeKey });
    const principal = authenticate(event, route);
    const params = parseWith(op.params, pathParams, 'path');
    const query = parseWith(op.query, parseQuery(event.rawQueryString), 'query');
    const body = op.body ? parseWith(op.body, parseJsonBody(event), 'body') : undefined;
    let cookies: Map<string, string> | undefined;
    const result = await op.run({
      body,
      query,
      params,
      principal,
      event,
      requestId: context.awsRequestId,
      rawBody: () => rawBody(event),
      header: (name) => event.headers?.[name.toLowerCase()],
      cookie: (name) => {
        cookies ??= parseCookies(event.cookies);
        return cookies.get(name);
      },
    });
    if (result && typeof result === 'object' && (result as Reply).kind === 'reply') {
      const r = result as Reply;
      return jsonResult(r.status, r.body, r.headers, r.cookies);
    }
    if (result && typeof result === 'object' && (result as TextReply).kind === 'text') {
      const r = result as TextReply;
      return {
        statusCode: r.status,
        headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...r.headers },
        body: r.body,
      };
    }
    return jsonResult(200, result);
  };
  return middy<HttpEvent, HttpResult>(dispatch)
    .use(problemJson())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics());
}

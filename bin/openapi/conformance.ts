/**
 * Whether an answer of the API is what the OpenAPI document says: the route is found the way the
 * hosts find it (the route table the document is generated from), then the status must be one
 * the operation documents (an error: problem+json, or API Gateway's own `{message}`), the media
 * type one of that status's, and the body must parse with its schema. The API tests run every
 * answer through `conformanceProblems`; a non-empty list fails the test, naming the route, the
 * status and each mismatching field.
 */
import type * as z from 'zod';
import { matchRoute, type RouteDef } from '#core/routes';
import { errorResponse, successResponses } from '../openapi-document.ts';
import type { ResponseDoc } from './shapes.ts';

export interface ObservedResponse {
  method: string;
  /** The request path, without the query string. */
  path: string;
  status: number;
  contentType: string | null;
  text: string;
  /** The response headers, to check those the document marks required. */
  headers?: Headers;
}

/** Paths the API serves; others (the console at `/`) are not part of the document. */
const API_PATHS = /^\/(api\/|v1\/|health$|openapi\.json$|docs($|\/))/;

const ERRORS = errorResponse('An error');

/** The route whose operation answered: a trailing-slash path is answered by its bare route. */
export function answeringRoute(method: string, path: string): RouteDef | undefined {
  const match = matchRoute(method, path);
  if (!match || !('route' in match)) return undefined;
  if (!match.route.trailingSlash) return match.route;
  const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : undefined;
  const target = bare === undefined ? undefined : matchRoute(method, bare, { withoutCatchAll: true });
  return target && 'route' in target ? target.route : undefined;
}

function responseFor(route: RouteDef | undefined, status: number): ResponseDoc | undefined {
  const documented = route ? successResponses(route) : {};
  const exact = documented[`${status}` as `${number}`];
  if (exact) return exact;
  return status >= 400 && status < 600 ? ERRORS : undefined;
}

/** Each issue as `field: message`; of a union's branches, the one that came closest. */
function describe(issues: readonly z.core.$ZodIssue[], prefix: string[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      if (closest.length > 0) return describe(closest, path);
    }
    const field = path.length > 0 ? `body.${path.join('.')}` : 'body';
    return [`${field}: ${issue.message}`];
  });
}

/** What the answer does differently from the document; empty when it conforms. */
export function conformanceProblems(observed: ObservedResponse): string[] {
  const { method, path, status } = observed;
  const route = answeringRoute(method, path);
  if (!route && !API_PATHS.test(path)) return [];
  const where = route
    ? `${method} ${route.path} (${route.operation}) answered ${status}`
    : `${method} ${path} answered ${status}`;
  const doc = responseFor(route, status);
  if (!doc) {
    return [
      `${where}: the document has no ${status} response ${route ? 'for this operation' : 'for an unknown route'}`,
    ];
  }
  const mediaType = observed.contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!doc.content) {
    return observed.text === ''
      ? []
      : [`${where}: the document says no body; got ${observed.text.length} bytes`];
  }
  const media = doc.content[mediaType];
  if (!media) {
    return [
      `${where}: content type ${mediaType || '(none)'} is not documented (${Object.keys(doc.content).join(', ')})`,
    ];
  }
  let body: unknown = observed.text;
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      body = JSON.parse(observed.text);
    } catch {
      return [`${where}: the body is not JSON`];
    }
  }
  const result = media.schema.safeParse(body);
  const problems = result.success
    ? []
    : describe(result.error.issues).map((problem) => `${where}: ${problem}`);
  return [...problems, ...headerProblems(doc, observed.headers).map((problem) => `${where}: ${problem}`)];
}

/** The documented headers the answer lacks or sends in another shape. */
function headerProblems(doc: ResponseDoc, headers: Headers | undefined): string[] {
  if (!doc.headers || !headers) return [];
  const sent: Record<string, string> = {};
  for (const name of Object.keys(doc.headers.shape)) {
    const value = headers.get(name);
    if (value !== null) sent[name] = value;
  }
  const result = doc.headers.safeParse(sent);
  if (result.success) return [];
  return result.error.issues.map((issue) => `header ${issue.path.join('.')}: ${issue.message}`);
}

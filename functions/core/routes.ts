/**
 * The route table: the single source for API Gateway routes (lib/api.ts) and for the local
 * host's dispatcher (local/server.ts). Pure data, so CDK can import it without pulling in
 * handler code. Each area is one Lambda function, `functions/<area>.ts`, whose handler routes
 * by `event.routeKey` to the named operation.
 */

export const ROLES = ['viewer', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** `public` needs no credentials; a role means "authenticated with at least this role". */
export type Access = 'public' | Role;

export const AREAS = [
  'health',
  'auth',
  'users',
  'catalog',
  'tables',
  'ingest',
  'pipelines',
  'query',
  'jobs',
  'workflows',
  'triggers',
  'docs',
  'fallback',
] as const;
export type Area = (typeof AREAS)[number];

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface RouteDef {
  method: Method;
  /**
   * API Gateway path template, e.g. `/api/v1/collections/{collection_id}`. A last segment
   * `{proxy+}` is greedy: it matches the rest of the path, slashes included.
   */
  path: string;
  area: Area;
  operation: string;
  access: Access;
  /**
   * A catch-all (`/api/v1/{proxy+}`) for paths with a trailing slash: API Gateway refuses
   * templates that end in `/`, so `POST /api/v1/datasets/` matches no other route. Its handler
   * serves the route the path names without the slash, with that route's access; any other
   * path answers 404/405 as the `$default` route would. Never listed in an `Allow` header.
   */
  trailingSlash?: true;
}

const V1 = '/api/v1';
const DQ = '/v1/data-query';

const ROUTE_TABLE = [
  { method: 'GET', path: '/health', area: 'health', operation: 'health', access: 'public' },

  // The API's own description and the Swagger UI page over it: public, as the products' docs are.
  { method: 'GET', path: '/openapi.json', area: 'docs', operation: 'getOpenApiDocument', access: 'public' },
  { method: 'GET', path: '/docs', area: 'docs', operation: 'getDocsPage', access: 'public' },
  {
    // The page's scripts and style sheet (Swagger UI from swagger-ui-dist, and its initializer).
    method: 'GET',
    path: '/docs/{proxy+}',
    area: 'docs',
    operation: 'getDocsAsset',
    access: 'public',
  },

  { method: 'POST', path: `${V1}/auth/login`, area: 'auth', operation: 'login', access: 'public' },
  { method: 'POST', path: `${V1}/auth/refresh`, area: 'auth', operation: 'refresh', access: 'public' },
  // Public: the refresh token (body or cookie) is the credential; a browser whose access token
  // is gone must still be able to end its session.
  { method: 'POST', path: `${V1}/auth/logout`, area: 'auth', operation: 'logout', access: 'public' },
  { method: 'GET', path: `${V1}/auth/me`, area: 'auth', operation: 'me', access: 'viewer' },
  {
    method: 'POST',
    path: `${V1}/auth/credentials`,
    area: 'auth',
    operation: 'createCredential',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/auth/credentials`,
    area: 'auth',
    operation: 'listCredentials',
    access: 'viewer',
  },
  {
    method: 'DELETE',
    path: `${V1}/auth/credentials/{credential_id}`,
    area: 'auth',
    operation: 'deleteCredential',
    access: 'viewer',
  },

  { method: 'POST', path: `${V1}/users`, area: 'users', operation: 'createUser', access: 'admin' },
  { method: 'GET', path: `${V1}/users`, area: 'users', operation: 'listUsers', access: 'admin' },
  { method: 'GET', path: `${V1}/users/{user_id}`, area: 'users', operation: 'getUser', access: 'admin' },
  {
    method: 'DELETE',
    path: `${V1}/users/{user_id}`,
    area: 'users',
    operation: 'deleteUser',
    access: 'admin',
  },

  {
    method: 'POST',
    path: `${V1}/collections`,
    area: 'catalog',
    operation: 'createCollection',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/collections`,
    area: 'catalog',
    operation: 'listCollections',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/collections/{collection_id}`,
    area: 'catalog',
    operation: 'getCollection',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/collections/{collection_id}`,
    area: 'catalog',
    operation: 'updateCollection',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/collections/{collection_id}`,
    area: 'catalog',
    operation: 'deleteCollection',
    access: 'editor',
  },
  { method: 'POST', path: `${V1}/datasets`, area: 'catalog', operation: 'createDataset', access: 'editor' },
  { method: 'GET', path: `${V1}/datasets`, area: 'catalog', operation: 'listDatasets', access: 'viewer' },
  {
    method: 'GET',
    path: `${V1}/datasets/{dataset_id}`,
    area: 'catalog',
    operation: 'getDataset',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/datasets/{dataset_id}`,
    area: 'catalog',
    operation: 'updateDataset',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/datasets/{dataset_id}`,
    area: 'catalog',
    operation: 'deleteDataset',
    access: 'editor',
  },
  {
    // The D.Hub client page's upload (multipart field `files`): the tables upload under another path.
    method: 'POST',
    path: `${V1}/datasets/{dataset_id}/upload`,
    area: 'ingest',
    operation: 'uploadTable',
    access: 'editor',
  },

  {
    method: 'GET',
    path: `${V1}/tables/{dataset_id}`,
    area: 'tables',
    operation: 'getTablePage',
    access: 'viewer',
  },
  {
    // Infers the schema of a posted file (multipart `files`) without storing anything.
    method: 'POST',
    path: `${V1}/tables/schema`,
    area: 'tables',
    operation: 'inferSchema',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/tables/{dataset_id}/schema`,
    area: 'tables',
    operation: 'getTableSchema',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/tables/{dataset_id}/versions`,
    area: 'tables',
    operation: 'listTableVersions',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${V1}/tables/{dataset_id}/upload-url`,
    area: 'tables',
    operation: 'createUploadUrl',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/tables/{dataset_id}/uploads/{upload_id}`,
    area: 'tables',
    operation: 'getUpload',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${V1}/tables/{dataset_id}/upload`,
    area: 'ingest',
    operation: 'uploadTable',
    access: 'editor',
  },
  {
    method: 'POST',
    path: `${V1}/pipelines`,
    area: 'pipelines',
    operation: 'createPipeline',
    access: 'editor',
  },
  { method: 'GET', path: `${V1}/pipelines`, area: 'pipelines', operation: 'listPipelines', access: 'viewer' },
  {
    method: 'GET',
    path: `${V1}/pipelines/{pipeline_id}`,
    area: 'pipelines',
    operation: 'getPipeline',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/pipelines/{pipeline_id}`,
    area: 'pipelines',
    operation: 'updatePipeline',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/pipelines/{pipeline_id}`,
    area: 'pipelines',
    operation: 'deletePipeline',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/pipelines/{pipeline_id}/versions`,
    area: 'pipelines',
    operation: 'listPipelineVersions',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/pipelines/{pipeline_id}/versions/{version}`,
    area: 'pipelines',
    operation: 'getPipelineVersion',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/pipelines/{pipeline_id}/versions/{version}/plan`,
    area: 'pipelines',
    operation: 'getPipelineVersionPlan',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${V1}/pipelines/{pipeline_id}/verify`,
    area: 'pipelines',
    operation: 'verifyPipeline',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${V1}/pipelines/{pipeline_id}/run`,
    area: 'pipelines',
    operation: 'runPipeline',
    access: 'editor',
  },
  {
    method: 'POST',
    path: `${V1}/batches/{pipeline_id}`,
    area: 'pipelines',
    operation: 'createBatch',
    access: 'editor',
  },
  {
    // `pl-…` answers the pipeline's latest batch, `batch-…` the batch itself (tutorial form).
    method: 'GET',
    path: `${V1}/batches/{batch_ref}`,
    area: 'pipelines',
    operation: 'getBatchByRef',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/batches/{pipeline_id}/{batch_id}`,
    area: 'pipelines',
    operation: 'getBatch',
    access: 'viewer',
  },
  {
    // Paths with a trailing slash (`/batches/{pipeline_id}/`, the list) match no template
    // above, on API Gateway as here; the operation tells the forms apart.
    method: 'GET',
    path: `${V1}/batches/{proxy+}`,
    area: 'pipelines',
    operation: 'batchesProxy',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/batches/{pipeline_id}/{batch_id}/stop`,
    area: 'pipelines',
    operation: 'stopBatch',
    access: 'editor',
  },
  {
    method: 'POST',
    path: `${V1}/batches/{pipeline_id}/{batch_id}/rerun`,
    area: 'pipelines',
    operation: 'rerunBatch',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/batches/{pipeline_id}/{batch_id}`,
    area: 'pipelines',
    operation: 'deleteBatch',
    access: 'editor',
  },
  { method: 'GET', path: `${V1}/traces`, area: 'pipelines', operation: 'listTraces', access: 'viewer' },
  {
    method: 'GET',
    path: `${V1}/traces/pipelines/{pipeline_id}`,
    area: 'pipelines',
    operation: 'getLatestTrace',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/traces/pipelines/{pipeline_id}/{batch_id}`,
    area: 'pipelines',
    operation: 'getBatchTrace',
    access: 'viewer',
  },
  {
    // `/traces/pipelines/{pipeline_id}/` (the history) ends in a slash: the batches' greedy form.
    method: 'GET',
    path: `${V1}/traces/pipelines/{proxy+}`,
    area: 'pipelines',
    operation: 'tracesProxy',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/traces/steps/{batch_id}`,
    area: 'pipelines',
    operation: 'getStepTraces',
    access: 'viewer',
  },

  // Data Flow (NAVER Cloud Data Flow compatible): jobs are pipelines, executions are batches
  { method: 'GET', path: `${V1}/jobs`, area: 'jobs', operation: 'getJobs', access: 'viewer' },
  { method: 'POST', path: `${V1}/jobs`, area: 'jobs', operation: 'createJob', access: 'editor' },
  { method: 'POST', path: `${V1}/jobs/verify`, area: 'jobs', operation: 'verifyJob', access: 'viewer' },
  { method: 'GET', path: `${V1}/jobs/{job_id}`, area: 'jobs', operation: 'getJobById', access: 'viewer' },
  { method: 'PUT', path: `${V1}/jobs/{job_id}`, area: 'jobs', operation: 'updateJob', access: 'editor' },
  { method: 'DELETE', path: `${V1}/jobs/{job_id}`, area: 'jobs', operation: 'deleteJob', access: 'editor' },
  {
    method: 'POST',
    path: `${V1}/jobs/{job_id}/executions`,
    area: 'jobs',
    operation: 'executeJob',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/jobs/{job_id}/executions`,
    area: 'jobs',
    operation: 'getJobExecutions',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/jobs/{job_id}/executions`,
    area: 'jobs',
    operation: 'updateJobExecuteConfig',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/jobs/{job_id}/executions/{execution_id}`,
    area: 'jobs',
    operation: 'getJobExecutionById',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/stats/executions`,
    area: 'jobs',
    operation: 'getExecutionResult',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/stats/executions-interval`,
    area: 'jobs',
    operation: 'getExecutionCount',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${V1}/stats/executions-times`,
    area: 'jobs',
    operation: 'getExecutionTimes',
    access: 'viewer',
  },
  // The older reference pages' spelling of the same route.
  {
    method: 'GET',
    path: `${V1}/stats/execution-times`,
    area: 'jobs',
    operation: 'getExecutionTimes',
    access: 'viewer',
  },
  { method: 'GET', path: `${V1}/workflows`, area: 'workflows', operation: 'getWorkflows', access: 'viewer' },
  {
    method: 'POST',
    path: `${V1}/workflows`,
    area: 'workflows',
    operation: 'createWorkflow',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/workflows/{workflow_id}`,
    area: 'workflows',
    operation: 'getWorkflowById',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${V1}/workflows/{workflow_id}`,
    area: 'workflows',
    operation: 'updateWorkflow',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/workflows/{workflow_id}`,
    area: 'workflows',
    operation: 'deleteWorkflow',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/workflows/{workflow_id}/executions`,
    area: 'workflows',
    operation: 'getWorkflowExecutions',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${V1}/workflows/{workflow_id}/executions`,
    area: 'workflows',
    operation: 'executeWorkflow',
    access: 'editor',
  },
  {
    method: 'GET',
    path: `${V1}/workflows/{workflow_id}/executions/{execution_id}`,
    area: 'workflows',
    operation: 'getWorkflowExecutionById',
    access: 'viewer',
  },
  { method: 'GET', path: `${V1}/triggers`, area: 'triggers', operation: 'getTriggers', access: 'viewer' },
  { method: 'POST', path: `${V1}/triggers`, area: 'triggers', operation: 'createTrigger', access: 'editor' },
  {
    method: 'GET',
    path: `${V1}/triggers/{trigger_id}`,
    area: 'triggers',
    operation: 'getTriggerById',
    access: 'viewer',
  },
  {
    method: 'PATCH',
    path: `${V1}/triggers/{trigger_id}`,
    area: 'triggers',
    operation: 'updateTrigger',
    access: 'editor',
  },
  {
    method: 'DELETE',
    path: `${V1}/triggers/{trigger_id}`,
    area: 'triggers',
    operation: 'deleteTrigger',
    access: 'editor',
  },

  // Data Query (Kakao Cloud Data Query compatible)
  { method: 'POST', path: `${DQ}/query`, area: 'query', operation: 'submitQuery', access: 'viewer' },
  { method: 'GET', path: `${DQ}/query`, area: 'query', operation: 'listQueries', access: 'viewer' },
  { method: 'GET', path: `${DQ}/query/{query_id}`, area: 'query', operation: 'getQuery', access: 'viewer' },
  {
    // Sluice extension: a presigned URL of the whole result file (the pages stop at 1,000 rows).
    method: 'GET',
    path: `${DQ}/query/{query_id}/download`,
    area: 'query',
    operation: 'downloadQuery',
    access: 'viewer',
  },
  {
    method: 'PUT',
    path: `${DQ}/query/{query_id}/abort`,
    area: 'query',
    operation: 'abortQuery',
    access: 'viewer',
  },
  {
    // The seed's abort example calls the query's own path; it aborts too.
    method: 'PUT',
    path: `${DQ}/query/{query_id}`,
    area: 'query',
    operation: 'abortQuery',
    access: 'viewer',
  },
  {
    method: 'GET',
    path: `${DQ}/data-source`,
    area: 'query',
    operation: 'listDataSources',
    access: 'viewer',
  },
  {
    method: 'POST',
    path: `${DQ}/data-source`,
    area: 'query',
    operation: 'registerDataSource',
    access: 'editor',
  },

  // Trailing-slash forms of the D.Hub collection routes (`POST /api/v1/datasets/`, `GET
  // /api/v1/pipelines/`). The pipelines area serves them: its function may also write the
  // catalog's records (see functions/pipelines.ts).
  {
    method: 'GET',
    path: `${V1}/{proxy+}`,
    area: 'pipelines',
    operation: 'trailingSlash',
    access: 'viewer',
    trailingSlash: true,
  },
  {
    method: 'POST',
    path: `${V1}/{proxy+}`,
    area: 'pipelines',
    operation: 'trailingSlash',
    access: 'viewer',
    trailingSlash: true,
  },
] as const satisfies readonly RouteDef[];

/** Every route, in the table's order. */
export const ROUTES: readonly RouteDef[] = ROUTE_TABLE;

/** One route of the table, with its literal types. */
type Route = (typeof ROUTE_TABLE)[number];

/**
 * The operations an area's handler must serve: one per route of the area, the trailing-slash
 * catch-alls aside (they stand for other routes' operations). `areaHandler` takes exactly these,
 * so a route without an operation, or an operation without a route, does not compile.
 */
export type OperationName<A extends Area> =
  Extract<Route, { area: A }> extends infer R
    ? R extends { trailingSlash: true }
      ? never
      : R extends { operation: infer O extends string }
        ? O
        : never
    : never;

/** Routes that answer without credentials. Everything else goes through the authorizer. */
export const PUBLIC_ROUTES = ROUTES.filter((r) => r.access === 'public');

export function routeKey(route: Pick<RouteDef, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

export interface RouteMatch {
  route: RouteDef;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: RouteDef;
  pattern: RegExp;
  names: string[];
  greedy: boolean;
  /** Literal segments: among greedy templates, the longest literal prefix wins. */
  literals: number;
}

const COMPILED: CompiledRoute[] = ROUTES.map((route) => {
  const names: string[] = [];
  let greedy = false;
  let literals = 0;
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{([a-z_]+)(\+?)\}$/.exec(segment);
      if (!param?.[1]) {
        literals++;
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      names.push(param[1]);
      if (param[2]) greedy = true;
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names, greedy, literals };
});

export interface MatchOptions {
  /** Leave out the trailing-slash catch-alls (to find what they stand in for). */
  withoutCatchAll?: boolean;
}

/**
 * Matches a request path against the table the way API Gateway does: literal segments
 * first, then templates, greedy ones last (the one with the longest literal prefix first).
 * Returns the route for the method, or the methods the path allows; a trailing-slash
 * catch-all never counts as allowing its method.
 */
export function matchRoute(
  method: string,
  path: string,
  options: MatchOptions = {},
): RouteMatch | { allowed: Method[] } | undefined {
  const candidates: Array<RouteMatch & { greedy: boolean; literals: number }> = [];
  for (const { route, pattern, names, greedy, literals } of COMPILED) {
    if (options.withoutCatchAll && route.trailingSlash) continue;
    const m = pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((name, i) => {
      params[name] = safeDecode(m[i + 1] ?? '');
    });
    candidates.push({ route, params, greedy, literals });
  }
  // Prefer the most literal template (fewest parameters, greedy ones last), as API Gateway does.
  candidates.sort(
    (a, b) =>
      Number(a.greedy) - Number(b.greedy) ||
      (a.greedy ? b.literals - a.literals : 0) ||
      Object.keys(a.params).length - Object.keys(b.params).length,
  );
  const best = candidates.filter((c) => c.route.method === method);
  if (best[0]) return { route: best[0].route, params: best[0].params };
  const allowed = [...new Set(candidates.filter((c) => !c.route.trailingSlash).map((c) => c.route.method))];
  return allowed.length > 0 ? { allowed } : undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function findRoute(key: string): RouteDef | undefined {
  return ROUTES.find((r) => routeKey(r) === key);
}

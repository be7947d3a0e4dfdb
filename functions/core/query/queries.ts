/**
 * Data Query: submit, read (state, stats and result pages), list and abort queries. The
 * record is written (QUEUED) before anything runs; catalog statements finish at once, queries
 * go to the engine, which reports back through records.ts.
 */
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { hasRole } from '../auth/principal.ts';
import { AppError, BadStateError, NotFoundError, ValidationError } from '../errors.ts';
import { isPlainKey, PLAIN_KEY_MESSAGE } from '../object-keys.ts';
import { logger, metrics } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { requireSetting, SETTING } from '../settings.ts';
import { getJson } from '../storage.ts';
import { PAGE_ROWS, PREVIEW_ROWS, previewKey } from './engine.ts';
import {
  formatBytes,
  formatDuration,
  newQueryId,
  QUERY_ID_PATTERN,
  QUERY_STATES,
  type QueryItem,
  type QueryState,
  resultKey,
  storageUrlOf,
  timeLimitReason,
} from './model.ts';
import {
  allQueries,
  endQuery,
  findQuery,
  forgetUnfinished,
  isFinal,
  queryItem,
  saveNewQuery,
  unfinishedQueryIds,
  updateQuery,
} from './records.ts';
import {
  type Defaults,
  parseStatement,
  QueryFailure,
  requireStatementRole,
  resolveTables,
  runCatalogStatement,
} from './resolve.ts';

const MAX_PAGES = PREVIEW_ROWS / PAGE_ROWS;

// ---------------------------------------------------------------------------------------------
// Submit

const resultConfig = z.object({
  bucketName: z.string().min(3, 'must be 3 to 63 characters').max(63, 'must be 3 to 63 characters'),
  path: z.string().max(900, 'must be at most 900 characters').optional(),
});

export const submitQuerySchema = z
  .object({
    query: z
      .string()
      .trim()
      .min(1, 'is required')
      .max(256 * 1024, 'must be at most 256 KiB'),
    bucketName: z.string().max(63, 'must be 3 to 63 characters').optional(),
    path: z.string().max(900, 'must be at most 900 characters').optional(),
    resultConfig: resultConfig.optional(),
  })
  .transform((body, ctx) => {
    const bucket = body.resultConfig?.bucketName ?? body.bucketName;
    const path = body.resultConfig?.path ?? body.path ?? '';
    if (!bucket) {
      ctx.addIssue({
        code: 'custom',
        path: ['bucketName'],
        message: 'is required (or resultConfig.bucketName)',
      });
      return z.NEVER;
    }
    return { query: body.query, bucket, path };
  });

/** `a/b/` and `/a//b` are both `a/b`; `..` and control characters are refused. */
function normalisePath(raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '');
  if (!isPlainKey(raw)) throw ValidationError.field('body.path', PLAIN_KEY_MESSAGE);
  return parts.join('/');
}

/** 499: the bucket exists but this deployment has no permission on it. */
class BucketNotGrantedError extends AppError {
  constructor(bucket: string) {
    super(
      499,
      'bucket-not-granted',
      'Bucket Not Granted',
      `The service has no permission on bucket "${bucket}"; use the results bucket or one listed in SLUICE_BUCKETS.`,
    );
  }
}

/** The deployment's own results bucket (every function that runs queries gets it). */
const resultsBucket = () => requireSetting(platform().settings.query.resultsBucket, SETTING.resultsBucket);

export function resultBuckets(): string[] {
  return [resultsBucket(), ...platform().settings.pipelines.buckets];
}

/** Where Athena stages results in the results bucket (expired after 7 days): not a result path. */
const STAGING = 'athena-staging';

async function checkBucket(bucket: string, path: string): Promise<void> {
  if (bucket === resultsBucket() && (path === STAGING || path.startsWith(`${STAGING}/`))) {
    throw ValidationError.field('body.path', `must not be under ${STAGING}/ (the engine's own staging area)`);
  }
  if (resultBuckets().includes(bucket)) return;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw ValidationError.field('body.bucketName', 'is not a valid bucket name');
  }
  try {
    await platform().stores.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) throw new NotFoundError('BUCKET', bucket);
  }
  throw new BucketNotGrantedError(bucket);
}

export interface Submitted {
  queryId: string;
  state: QueryState;
  storageUrl: string;
}

export async function submitQuery(
  body: z.output<typeof submitQuerySchema>,
  defaults: Defaults,
  principal: Principal,
): Promise<Submitted> {
  const { sql, statement } = parseStatement(body.query);
  requireStatementRole(statement, principal);
  const path = normalisePath(body.path);
  await checkBucket(body.bucket, path);

  const now = Date.now();
  const id = newQueryId(now);
  const item = queryItem({
    query_id: id,
    state: 'QUEUED',
    query_text: body.query,
    creator_id: principal.userId,
    creator_name: principal.username,
    bucket: body.bucket,
    path,
    storage_url: storageUrlOf(path, now),
    created_at: now,
    progress: 0,
  });
  await saveNewQuery(item);
  metrics.addMetric('QueriesSubmitted', 'Count', 1);
  logger.info('query submitted', { queryId: id, kind: statement.kind });

  const started = Date.now();
  let state: QueryState = 'QUEUED';
  try {
    if (statement.kind === 'query') {
      const tables = await resolveTables(sql, defaults);
      const planning = Date.now() - started;
      const engine = platform().queryEngine;
      const ref = await engine.start({
        item: { ...item, planning_ms: planning },
        sql,
        tables,
        timeoutMs: platform().settings.query.timeoutSeconds * 1000,
      });
      await updateQuery(id, {
        planning_ms: planning,
        input_rows: tables.reduce((n, t) => n + t.manifest.rows, 0),
        input_bytes: tables.reduce((n, t) => n + t.manifest.bytes, 0),
        ...(ref ? { engine_ref: ref } : {}),
      });
    } else {
      const answer = await runCatalogStatement(statement, defaults, principal);
      const done = await endQuery(id, 'FINISHED', {
        started_at: started,
        planning_ms: Date.now() - started,
        store_type: answer.rows.length > 0 ? 'TEXT' : 'BASIC',
        is_stored: false,
        columns: answer.columns,
        text_rows: answer.rows.slice(0, PREVIEW_ROWS),
        output_rows: answer.rows.length,
      });
      state = done?.state ?? state;
    }
  } catch (error) {
    const message =
      error instanceof QueryFailure ? error.message : 'The query could not be started; try again later.';
    if (!(error instanceof QueryFailure))
      logger.error('query start failed', { queryId: id, error: error as Error });
    const done = await endQuery(id, 'FAILED', { error_message: message, started_at: started });
    state = done?.state ?? 'FAILED';
  }
  return { queryId: id, state, storageUrl: item.storage_url };
}

// ---------------------------------------------------------------------------------------------
// Read

/** The query if the caller may see it (its creator, or an admin); 404 otherwise. */
async function visibleQuery(id: string, principal: Principal): Promise<QueryItem> {
  const item = QUERY_ID_PATTERN.test(id) ? await findQuery(id) : undefined;
  if (!item || !canSee(item, principal)) throw new NotFoundError('QUERY', id);
  return item;
}

const canSee = (item: QueryItem, principal: Principal) =>
  hasRole(principal, 'admin') || item.creator_id === principal.userId;

/** A query past the time limit is aborted; a polled engine brings the record up to date. */
async function current(item: QueryItem): Promise<QueryItem> {
  if (isFinal(item.state)) return item;
  const engine = platform().queryEngine;
  const limit = platform().settings.query.timeoutSeconds * 1000;
  if (Date.now() - item.created_at > limit + 60_000) {
    const reason = timeLimitReason(limit);
    await engine.abort(item, reason);
    return (await endQuery(item.query_id, 'ABORTED', { error_message: reason })) ?? (await reread(item));
  }
  return engine.refresh ? engine.refresh(item) : item;
}

async function reread(item: QueryItem): Promise<QueryItem> {
  return (await findQuery(item.query_id)) ?? item;
}

export const getQuerySchema = z.object({
  page: z.coerce.number().int('must be an integer').min(0, 'must be 0 or more').default(0),
});

export async function getQuery(id: string, page: number, principal: Principal) {
  if (page >= MAX_PAGES) {
    throw ValidationError.field(
      'query.page',
      `only pages 0 to ${MAX_PAGES - 1} (the first ${PREVIEW_ROWS} rows) are served; download the whole result, its .csv file, through GET /v1/data-query/query/${id}/download`,
    );
  }
  const item = await current(await visibleQuery(id, principal));
  const rows = await resultRows(item);
  const total = item.state === 'FINISHED' ? (item.output_rows ?? rows.length) : 0;
  const served = Math.min(total, PREVIEW_ROWS);
  const data = rows.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS);
  return {
    queryInfo: queryInfo(item),
    columnData: (item.columns ?? []).map((c, i) => ({ name: c.name, index: i + 1, type: c.type })),
    queryData: data,
    totalPages: Math.ceil(served / PAGE_ROWS),
    totalElements: total,
    number: page,
    size: PAGE_ROWS,
    numberOfElements: data.length,
  };
}

async function resultRows(item: QueryItem): Promise<Array<Array<string | null>>> {
  if (item.state !== 'FINISHED') return [];
  if (item.text_rows) return item.text_rows;
  if (!item.is_stored) return [];
  try {
    return await getJson<Array<Array<string | null>>>(previewKey(item.query_id));
  } catch (error) {
    logger.warn('query preview missing', { queryId: item.query_id, error: error as Error });
    return [];
  }
}

function elapsed(item: QueryItem): number {
  return (item.completed_at ?? Date.now()) - item.created_at;
}

function queryInfo(item: QueryItem) {
  const queued = (item.started_at ?? item.completed_at ?? Date.now()) - item.created_at;
  const execution = item.started_at ? (item.completed_at ?? Date.now()) - item.started_at : 0;
  return {
    queryId: item.query_id,
    state: item.state,
    queryStats: {
      progressPercentage: item.state === 'FINISHED' ? 100 : (item.progress ?? 0),
      inputDataPositions: item.input_rows ?? 0,
      inputDataSize: formatBytes(item.input_bytes),
      outputPositions: item.output_rows ?? 0,
      outputDataSize: formatBytes(item.output_bytes),
      createdAt: item.created_at,
      completedAt: item.completed_at ?? null,
      queryExecutionTime: formatDuration(execution),
      elapsedTime: formatDuration(elapsed(item)),
      queuedTime: formatDuration(queued),
      planningTime: formatDuration(item.planning_ms),
    },
    queryTextPreview: item.query_text.slice(0, 300),
    storageUrl: item.storage_url,
    storeType: item.store_type ?? 'BASIC',
    isStored: item.is_stored ?? false,
    ...(item.error_message ? { errorMessage: item.error_message } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Download (a Sluice extension: the whole result, past the 1,000 rows the pages serve)

/** How long a download URL stays valid. */
export const DOWNLOAD_URL_TTL_SECONDS = 300;

/**
 * A presigned GET URL of the finished query's `<id>.csv` in its bucket, valid a few minutes,
 * that makes a browser save the file (Content-Disposition: attachment). Signed by the stores'
 * presigner, so on the local host it points at the public S3 endpoint, as upload URLs do.
 * 404 for a query the caller may not see, 409 while it has not finished or when it stored no
 * file (a catalog statement's answer lives in the record: read the result pages).
 */
export async function downloadQuery(id: string, principal: Principal) {
  const item = await current(await visibleQuery(id, principal));
  if (item.state !== 'FINISHED') {
    throw new BadStateError(
      `Query ${id} is ${item.state}; only a FINISHED query's result can be downloaded.`,
    );
  }
  if (!item.is_stored) {
    throw new BadStateError(
      `Query ${id} stored no result file (its rows are in the result pages: GET /v1/data-query/query/${id}?page=0).`,
    );
  }
  const key = resultKey(item);
  const { stores } = platform();
  let size: number | undefined;
  try {
    const head = await stores.s3.send(new HeadObjectCommand({ Bucket: item.bucket, Key: key }));
    size = head.ContentLength;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) {
      throw new AppError(
        410,
        'resource-gone/QUERY_RESULT',
        'Gone',
        `The result file of query ${id} (s3://${item.bucket}/${key}) is no longer in its bucket.`,
      );
    }
    throw error;
  }
  const fileName = `${item.query_id}.csv`;
  const expiresAt = Date.now() + DOWNLOAD_URL_TTL_SECONDS * 1000;
  const url = await getSignedUrl(
    stores.s3Presigner,
    new GetObjectCommand({
      Bucket: item.bucket,
      Key: key,
      ResponseContentDisposition: `attachment; filename="${fileName}"`,
      ResponseContentType: 'text/csv; charset=utf-8',
    }),
    { expiresIn: DOWNLOAD_URL_TTL_SECONDS },
  );
  return {
    queryId: item.query_id,
    method: 'GET' as const,
    url,
    expiresAt,
    fileName,
    size: size ?? item.output_bytes ?? 0,
    rows: item.output_rows ?? 0,
    location: `s3://${item.bucket}/${key}`,
  };
}

// ---------------------------------------------------------------------------------------------
// List

const SORT_FIELDS = {
  queryId: (q: QueryItem) => q.query_id,
  queryTextPreview: (q: QueryItem) => q.query_text.slice(0, 300),
  state: (q: QueryItem) => q.state,
  createdAt: (q: QueryItem) => q.created_at,
  elapsedTime: (q: QueryItem) => elapsed(q),
  inputDataSize: (q: QueryItem) => q.input_bytes ?? 0,
  creatorName: (q: QueryItem) => q.creator_name,
  storageUrl: (q: QueryItem) => `${q.bucket}/${q.storage_url}`,
} as const;
type SortField = keyof typeof SORT_FIELDS;

const one = (v: unknown) => (Array.isArray(v) ? v[v.length - 1] : v);
const many = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export const listQueriesSchema = z.object({
  queryId: z.preprocess(one, z.string().max(64).optional()),
  creatorName: z.preprocess(one, z.string().max(256).optional()),
  states: z.preprocess(
    (v) =>
      many(v)
        .flatMap((s) => String(s).split(','))
        .filter((s) => s !== ''),
    z.array(z.enum(QUERY_STATES, { message: `must be one of ${QUERY_STATES.join(', ')}` })),
  ),
  page: z.preprocess(one, z.coerce.number().int().min(0, 'must be 0 or more').default(0)),
  size: z.preprocess(
    one,
    z.coerce.number().int().min(1, 'must be 1 or more').max(1000, 'must be at most 1000').default(20),
  ),
  sort: z.preprocess(
    (v) => many(v),
    z.array(
      z.string().refine(
        (s) => {
          const [field, dir] = s.split(',');
          return (
            field !== undefined && field in SORT_FIELDS && (dir === undefined || /^(asc|desc)$/i.test(dir))
          );
        },
        { message: `must be field[,asc|desc] with field one of ${Object.keys(SORT_FIELDS).join(', ')}` },
      ),
    ),
  ),
});

export async function listQueries(q: z.output<typeof listQueriesSchema>, principal: Principal) {
  const admin = hasRole(principal, 'admin');
  let items = await allQueries(admin ? undefined : principal.userId);
  if (q.queryId) items = items.filter((i) => i.query_id.includes(q.queryId as string));
  if (q.creatorName) items = items.filter((i) => i.creator_name === q.creatorName);
  if (q.states.length > 0) items = items.filter((i) => q.states.includes(i.state));
  const orders = q.sort.map((s) => {
    const [field, dir] = s.split(',');
    return { field: field as SortField, desc: (dir ?? 'asc').toLowerCase() === 'desc' };
  });
  const sorted = orders.length > 0;
  items.sort((a, b) => {
    for (const { field, desc } of orders.length > 0
      ? orders
      : [{ field: 'createdAt' as SortField, desc: true }]) {
      const x = SORT_FIELDS[field](a);
      const y = SORT_FIELDS[field](b);
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return 0;
  });
  const content = items.slice(q.page * q.size, (q.page + 1) * q.size).map((i) => ({
    queryId: i.query_id,
    queryTextPreview: i.query_text.slice(0, 300),
    state: i.state,
    createdAt: i.created_at,
    elapsedTime: formatDuration(elapsed(i)),
    inputDataSize: formatBytes(i.input_bytes),
    creatorName: i.creator_name,
    storageUrl: `${i.bucket}/${i.storage_url}`,
    errorMessage: i.error_message ?? null,
  }));
  const sort = { sorted, unsorted: !sorted, empty: !sorted };
  const totalPages = Math.ceil(items.length / q.size);
  return {
    content,
    pageable: {
      pageNumber: q.page,
      pageSize: q.size,
      sort,
      offset: q.page * q.size,
      paged: true,
      unpaged: false,
    },
    totalElements: items.length,
    totalPages,
    last: q.page >= totalPages - 1,
    numberOfElements: content.length,
    first: q.page === 0,
    size: q.size,
    number: q.page,
    sort,
    empty: content.length === 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Abort

export async function abortQuery(id: string, principal: Principal): Promise<void> {
  const item = await visibleQuery(id, principal);
  if (isFinal(item.state)) throw new BadStateError(`Query ${id} has already ended (${item.state}).`);
  const reason = `Aborted by ${principal.username}.`;
  const ended = await endQuery(id, 'ABORTED', { error_message: reason });
  if (!ended) {
    const now = await findQuery(id);
    throw new BadStateError(`Query ${id} has already ended (${now?.state ?? 'unknown'}).`);
  }
  await platform().queryEngine.abort(item, reason);
  metrics.addMetric('QueriesAborted', 'Count', 1);
}

/** Local host start: queries left running by the last stop are ended as FAILED. */
export async function failInterruptedQueries(): Promise<number> {
  let count = 0;
  for (const id of await unfinishedQueryIds()) {
    const done = await endQuery(id, 'FAILED', {
      error_message: 'The local host stopped while this query ran; run it again.',
    });
    if (done) count += 1;
    // A marker whose query had ended (or was never written) is dropped by endQuery or here.
    else await forgetUnfinished(id);
  }
  return count;
}

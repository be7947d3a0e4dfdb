/** Responses of Data Query: queries, their result pages and history, data sources. */
import * as z from 'zod';
import { int, type OperationResponses, object, ok } from './shapes.ts';

const state = z.enum(['QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'ABORTED']);
const epochMs = () => int().meta({ description: 'Epoch milliseconds' });
const size = () => z.string().meta({ description: 'Human-readable bytes, e.g. `1.2KB`' });
const duration = () => z.string().meta({ description: 'Human-readable duration, e.g. `350ms`, `1.5s`' });

const queryInfo = object({
  queryId: z.string(),
  state,
  queryStats: object({
    progressPercentage: z.number(),
    inputDataPositions: int(),
    inputDataSize: size(),
    outputPositions: int(),
    outputDataSize: size(),
    createdAt: epochMs(),
    completedAt: epochMs().nullable(),
    queryExecutionTime: duration(),
    elapsedTime: duration(),
    queuedTime: duration(),
    planningTime: duration(),
  }),
  queryTextPreview: z.string().meta({ description: 'The first 300 characters of the SQL' }),
  storageUrl: z.string(),
  storeType: z.enum(['BASIC', 'TEXT']),
  isStored: z.boolean().meta({ description: 'Whether a result file was written' }),
  errorMessage: z.string().optional(),
});

const sortSchema = object({ sorted: z.boolean(), unsorted: z.boolean(), empty: z.boolean() });

const dataSourceSchema = object({
  name: z.string(),
  dataSourceType: z.enum(['DATA_CATALOG', 'MYSQL']),
  description: z.string().optional(),
}).meta({ id: 'DataSource' });

const aborted = ok(
  object({ queryId: z.string(), state: z.literal('ABORTED') }),
  'The query is aborted (409 when it had already ended)',
);

export const query = {
  submitQuery: ok(
    object({
      queryId: z.string(),
      state: state.meta({ description: 'QUEUED, or where a statement answered at once ended' }),
      storageUrl: z.string().meta({ description: '`<path>/YYYY/MM/DD`' }),
    }),
    'The query is recorded and started',
  ),
  getQuery: ok(
    object({
      queryInfo,
      columnData: z.array(
        object({ name: z.string(), index: int().meta({ description: '1-based' }), type: z.string() }),
      ),
      queryData: z.array(z.array(z.string().nullable())).meta({ description: 'The page’s rows, as text' }),
      totalPages: int(),
      totalElements: int(),
      number: int().meta({ description: 'The page, 0-based' }),
      size: int(),
      numberOfElements: int(),
    }),
    'The query and one page (100 rows) of its result',
  ),
  listQueries: ok(
    object({
      content: z.array(
        object({
          queryId: z.string(),
          queryTextPreview: z.string(),
          state,
          createdAt: epochMs(),
          elapsedTime: duration(),
          inputDataSize: size(),
          creatorName: z.string(),
          storageUrl: z.string().meta({ description: '`<bucket>/<path>/YYYY/MM/DD`' }),
          errorMessage: z.string().nullable(),
        }),
      ),
      pageable: object({
        pageNumber: int(),
        pageSize: int(),
        sort: sortSchema,
        offset: int(),
        paged: z.boolean(),
        unpaged: z.boolean(),
      }),
      totalElements: int(),
      totalPages: int(),
      last: z.boolean(),
      numberOfElements: int(),
      first: z.boolean(),
      size: int(),
      number: int(),
      sort: sortSchema,
      empty: z.boolean(),
    }),
    'The caller’s queries (everyone’s for an admin), as a Spring page',
  ),
  downloadQuery: ok(
    object({
      queryId: z.string(),
      method: z.literal('GET'),
      url: z
        .string()
        .meta({ description: 'Presigned GET URL of the result `.csv`; answers it as an attachment' }),
      expiresAt: epochMs().meta({ description: 'When the URL stops working (epoch milliseconds)' }),
      fileName: z.string().meta({ description: '`<queryId>.csv`' }),
      size: int().meta({ description: 'Bytes of the file' }),
      rows: int().meta({ description: 'Result rows (the file has one header line more)' }),
      location: z.string().meta({ description: '`s3://<bucket>/<storageUrl>/<queryId>.csv`' }),
    }),
    'Sluice extension: where to download the whole result of a FINISHED query (409 while it has not finished or when it stored no file; 410 when the file is gone)',
  ),
  abortQuery: aborted,
  listDataSources: ok(z.array(dataSourceSchema), 'The built-in catalog first, then the registered sources'),
  registerDataSource: ok(dataSourceSchema, 'The data source is registered'),
} satisfies Record<string, OperationResponses>;

/** Data Query area: asynchronous SQL over datasets, result pages, history, abort, data sources. */
import * as z from 'zod';
import { type AreaOperations, areaHandler, operation } from '#core/http';
import { glueCatalog } from '#core/platform/aws/catalog';
import { athenaQueryEngine } from '#core/platform/aws/query';
import { secretsManager } from '#core/platform/aws/secrets';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { listDataSources, registerDataSource, registerDataSourceSchema } from '#core/query/data-sources';
import {
  abortQuery,
  downloadQuery,
  getQuery,
  getQuerySchema,
  listQueries,
  listQueriesSchema,
  submitQuery,
  submitQuerySchema,
} from '#core/query/queries';

const queryParams = z.object({ query_id: z.string().max(64) });

/**
 * A header value as text. HTTP carries header bytes and servers hand them over as Latin-1, so
 * `X-Database: 서울시 교통 분석` sent as UTF-8 (as curl does) arrives as mojibake: decode it back.
 */
export function headerText(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (![...value].some((c) => c.charCodeAt(0) > 0x7f) || [...value].some((c) => c.charCodeAt(0) > 0xff)) {
    return value;
  }
  const decoded = Buffer.from(value, 'latin1').toString('utf8');
  return decoded.includes('\uFFFD') ? value : decoded;
}

/** The operations of the query routes (the OpenAPI document reads their schemas). */
export const operations = {
  submitQuery: operation({
    body: submitQuerySchema,
    run: ({ body, principal, header }) =>
      submitQuery(
        body,
        { source: headerText(header('x-data-source')), database: headerText(header('x-database')) },
        principal,
      ),
  }),
  getQuery: operation({
    params: queryParams,
    query: getQuerySchema,
    run: ({ params, query, principal }) => getQuery(params.query_id, query.page, principal),
  }),
  downloadQuery: operation({
    params: queryParams,
    run: ({ params, principal }) => downloadQuery(params.query_id, principal),
  }),
  listQueries: operation({
    query: listQueriesSchema,
    run: ({ query, principal }) => listQueries(query, principal),
  }),
  abortQuery: operation({
    params: queryParams,
    async run({ params, principal }) {
      await abortQuery(params.query_id, principal);
      return { queryId: params.query_id, state: 'ABORTED' };
    },
  }),
  listDataSources: operation({ run: () => listDataSources() }),
  registerDataSource: operation({
    body: registerDataSourceSchema,
    run: ({ body, principal }) => registerDataSource(body, principal),
  }),
} satisfies AreaOperations<'query'>;

export const handler = onAws(
  { stores: awsStores, queryEngine: athenaQueryEngine, catalog: glueCatalog, secrets: secretsManager },
  areaHandler('query', operations),
);

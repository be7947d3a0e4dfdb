/**
 * Tables area: browse pages and downloads, schema, versions, schema inference of a posted file,
 * and presigned upload URLs with their status.
 */
import * as z from 'zod';
import { requireDataset } from '#core/catalog/datasets';
import { type AreaOperations, areaHandler, operation, reply, textReply } from '#core/http';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { platform } from '#core/platform/platform';
import { attachmentHeader, downloadTable } from '#core/tables/export';
import { inferQuerySchema, inferSchema } from '#core/tables/infer';
import { FILE_FIELDS, parseMultipartFile } from '#core/tables/multipart';
import { readTablePage } from '#core/tables/reader';
import { createUploadUrl, getUpload, uploadUrlSchema } from '#core/tables/uploads';
import { historyEntry, listVersions } from '#core/tables/versions';

const datasetParams = z.object({ dataset_id: z.string() });

/**
 * Without `format`: the tutorial's page, `{columns, data, total_rows, ...}` (page 1 of 10 rows
 * by default). With `format=csv|json`: a download of the page when `page` or `page_size` is
 * given, else of the whole table (the D.Hub Tables API). Parquet and Arrow are not served.
 */
const tableQuery = z.object({
  page: z.coerce.number().int().min(1).max(100_000_000).optional(),
  page_size: z.coerce.number().int().min(1).max(1000).optional(),
  format: z
    .string()
    .optional()
    .refine(
      (f) => f === undefined || ['csv', 'json'].includes(f.toLowerCase()),
      'must be csv or json (parquet and arrow are not served: use Data Query to export)',
    )
    .transform((f) => f?.toLowerCase() as 'csv' | 'json' | undefined),
});

/** The operations of the tables routes (the OpenAPI document reads their schemas). */
export const operations = {
  getTablePage: operation({
    params: datasetParams,
    query: tableQuery,
    async run({ params, query }) {
      const dataset = await requireDataset(params.dataset_id);
      if (!query.format) return readTablePage(dataset, query.page ?? 1, query.page_size ?? 10);
      const paged = query.page !== undefined || query.page_size !== undefined;
      const download = await downloadTable(dataset, {
        format: query.format,
        ...(paged ? { page: { page: query.page ?? 1, pageSize: query.page_size ?? 10 } } : {}),
      });
      const headers = { 'x-total-rows': String(download.totalRows) };
      if (query.format === 'json') {
        return textReply(200, download.body, { ...headers, 'content-type': download.contentType });
      }
      return textReply(200, download.body, {
        ...headers,
        'content-type': download.contentType,
        'content-disposition': attachmentHeader(dataset.name, 'csv'),
      });
    },
  }),
  getTableSchema: operation({
    params: datasetParams,
    async run({ params }) {
      const dataset = await requireDataset(params.dataset_id);
      return {
        dataset_id: dataset.id,
        version: dataset.current_version,
        total_rows: dataset.total_rows,
        columns: dataset.columns,
      };
    },
  }),
  inferSchema: operation({
    query: inferQuerySchema,
    async run({ query, rawBody, header }) {
      const file = await parseMultipartFile(
        rawBody(),
        header('content-type'),
        [...FILE_FIELDS].reverse(),
        platform().settings.tables.directUploadMaxBytes,
        'Send the first rows of the file instead: the schema is inferred from what is sent.',
      );
      return inferSchema(file, query);
    },
  }),
  listTableVersions: operation({
    params: datasetParams,
    async run({ params }) {
      const dataset = await requireDataset(params.dataset_id);
      return (await listVersions(dataset)).map(historyEntry);
    },
  }),
  createUploadUrl: operation({
    params: datasetParams,
    body: uploadUrlSchema,
    run: async ({ params, body, principal }) =>
      reply(201, await createUploadUrl(params.dataset_id, body, principal)),
  }),
  getUpload: operation({
    params: z.object({ dataset_id: z.string(), upload_id: z.string() }),
    run: ({ params }) => getUpload(params.dataset_id, params.upload_id),
  }),
} satisfies AreaOperations<'tables'>;

export const handler = onAws({ stores: awsStores }, areaHandler('tables', operations));

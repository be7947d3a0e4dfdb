/** Responses of collections and datasets, tables (pages, downloads, schemas, versions, uploads) and ingest. */
import * as z from 'zod';
import { created, dhubList, done, int, isoTime, type OperationResponses, object, ok } from './shapes.ts';

export const collectionSchema = object({
  id: z.string().meta({ description: '`col-…`' }),
  name: z.string(),
  description: z.string(),
  created_at: isoTime(),
  updated_at: isoTime(),
  created_by: z.string(),
}).meta({ id: 'Collection' });

export const datasetSchema = object({
  id: z.string().meta({ description: '`ds-…`' }),
  name: z.string(),
  description: z.string(),
  collection_id: z.string(),
  created_at: isoTime(),
  updated_at: isoTime(),
  created_by: z.string(),
  current_version: int().meta({ description: '0 until the first upload is published' }),
  total_rows: int(),
  column_count: int(),
}).meta({ id: 'Dataset' });

export const catalog = {
  createCollection: created(collectionSchema),
  listCollections: ok(dhubList(collectionSchema, 'Collection')),
  getCollection: ok(collectionSchema),
  updateCollection: ok(collectionSchema),
  deleteCollection: done('The collection is deleted (with its datasets when `force`)'),
  createDataset: created(datasetSchema),
  listDatasets: ok(dhubList(datasetSchema, 'Dataset')),
  getDataset: ok(datasetSchema),
  updateDataset: ok(datasetSchema),
  deleteDataset: done('The dataset and its data are deleted'),
} satisfies Record<string, OperationResponses>;

const columnType = z.enum(['integer', 'double', 'boolean', 'date', 'timestamp', 'string']);

const tablePageSchema = object({
  columns: z.array(z.string()).meta({ description: 'Column names, in order' }),
  data: z.array(z.array(z.unknown())).meta({ description: 'The page’s rows, values in column order' }),
  total_rows: int(),
  page: int().meta({ description: '1-based' }),
  page_size: int(),
  version: int().meta({ description: 'The dataset version read (0: no data yet)' }),
}).meta({ id: 'TablePage' });

const downloadHeaders = z.object({
  'x-total-rows': z.string().meta({ description: 'Rows of the whole table' }),
});

const ingestResult = {
  version: int().meta({ description: 'The version this upload published' }),
  rows: int().meta({ description: 'Rows in this upload' }),
  columns: int(),
  total_rows: int(),
  encoding: z.enum(['utf-8', 'utf-8-bom', 'cp949']),
  delimiter: z.string(),
  header: z.boolean(),
  timings_ms: z.record(z.string(), z.number()).meta({ description: 'Milliseconds per ingest stage' }),
};

const uploadSchema = object({
  upload_id: z.string(),
  dataset_id: z.string(),
  status: z.enum(['pending', 'processing', 'succeeded', 'failed']),
  mode: z.enum(['overwrite', 'append']),
  filename: z.string().optional(),
  created_at: isoTime(),
  updated_at: isoTime(),
  url_expires_at: isoTime(),
  started_at: isoTime().optional(),
  finished_at: isoTime().optional(),
  result: object(ingestResult).optional().meta({ description: 'Once succeeded' }),
  error: object({
    status: int(),
    title: z.string(),
    detail: z.string(),
    line: int().optional().meta({ description: 'The CSV line at fault, when one is' }),
  })
    .optional()
    .meta({ description: 'Once failed' }),
}).meta({ id: 'Upload' });

export const tables = {
  getTablePage: {
    '200': {
      description:
        'Without `format`: a page (`TablePage`). With `format=json`: the rows as objects by column name; with `format=csv`: CSV with a header line (one page when `page` or `page_size` is given, else the whole table)',
      content: {
        'application/json': {
          schema: z.union([tablePageSchema, z.array(z.record(z.string(), z.unknown()))]),
        },
        'text/csv': { schema: z.string() },
      },
      headers: downloadHeaders.partial(),
    },
  },
  getTableSchema: ok(
    object({
      dataset_id: z.string(),
      version: int(),
      total_rows: int(),
      columns: z.array(object({ name: z.string(), type: columnType })),
    }),
  ),
  inferSchema: ok(
    object({
      fields: z.array(
        object({
          name: z.string(),
          type: z
            .string()
            .meta({ description: 'Arrow type name: int64, double, bool, date32, timestamp, string, …' }),
          nullable: z.boolean(),
          sluice_type: columnType,
        }),
      ),
      format: z.enum(['csv', 'parquet']),
      rows: int().meta({ description: 'Data rows (the header not counted)' }),
      delimiter: z.string().optional(),
      header: z.boolean().optional(),
      encoding: z.enum(['utf-8', 'utf-8-bom', 'cp949']).optional(),
    }),
    'The inferred schema; nothing is stored',
  ),
  listTableVersions: ok(
    z.array(
      object({
        version: int(),
        timestamp: isoTime(),
        operation: z.literal('WRITE'),
        operationParameters: object({ mode: z.enum(['Append', 'Overwrite']) }),
        readVersion: int()
          .nullable()
          .meta({ description: 'The version this one was written over; null for the first' }),
        mode: z.enum(['overwrite', 'append']),
        rows: int(),
        added_rows: int(),
        columns: int(),
        bytes: int(),
        parts: int(),
        created_at: isoTime(),
        created_by: z.string(),
        current: z.boolean(),
      }),
    ),
    'The readable versions, newest first (Delta Lake history fields, then Sluice’s)',
  ),
  createUploadUrl: created(
    object({
      upload_id: z.string(),
      dataset_id: z.string(),
      method: z.literal('PUT'),
      url: z.string().meta({ description: 'Presigned: PUT the CSV file here' }),
      expires_at: isoTime(),
      max_bytes: int(),
      status_url: z.string().meta({ description: 'Poll it for the ingest’s status (getUpload)' }),
    }),
    'A presigned upload URL',
  ),
  getUpload: ok(uploadSchema),
} satisfies Record<string, OperationResponses>;

export const ingest = {
  uploadTable: ok(
    object({ message: z.literal('Upload successful'), ...ingestResult }),
    'The file is ingested and published as a new version',
  ),
} satisfies Record<string, OperationResponses>;

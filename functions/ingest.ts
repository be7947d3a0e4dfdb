/**
 * Ingest: the direct upload route (multipart field `file` or `files`, up to the Lambda payload
 * limit; also at `/datasets/{id}/upload`, the D.Hub client page's path) and the handler
 * for objects landing under `uploads/` (EventBridge "Object Created"; locally the host calls it
 * when s3rver stores an upload). Both run the same CSV → Parquet ingest; this is the one
 * function (with query and pipeline workers later) that carries DuckDB. An event that does not
 * parse (objectCreatedSchema) is logged and dropped: a retry would bring the same event.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { warmUp } from '#core/duckdb';
import { dropMalformed, type ObjectCreated, objectCreatedSchema } from '#core/event-schemas';
import { type AreaOperations, areaHandler, operation } from '#core/http';
import { logger, publishMetrics, tracer } from '#core/observability';
import { glueCatalog } from '#core/platform/aws/catalog';
import { eventBridgeEvents } from '#core/platform/aws/events';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { platform } from '#core/platform/platform';
import { ingestCsv, withWorkDir } from '#core/tables/ingest';
import { FILE_FIELDS, parseMultipartFile } from '#core/tables/multipart';
import { processUploadedObject } from '#core/tables/upload-events';
import { csvOptions, uploadOptionsSchema } from '#core/tables/uploads';

// Start DuckDB in the function's init phase rather than inside the first upload.
warmUp().catch((error: unknown) =>
  logger.warn('DuckDB did not start at init; retrying on first use', { error: error as Error }),
);

/** The operations of the ingest routes (the OpenAPI document reads their schemas). */
export const operations = {
  uploadTable: operation({
    params: z.object({ dataset_id: z.string() }),
    query: uploadOptionsSchema,
    async run({ params, query, principal, rawBody, header }) {
      const file = await parseMultipartFile(
        rawBody(),
        header('content-type'),
        FILE_FIELDS,
        platform().settings.tables.directUploadMaxBytes,
        `For larger files, use POST /api/v1/tables/${params.dataset_id}/upload-url.`,
      );
      const result = await withWorkDir(async (dir) => {
        const csvPath = join(dir, 'upload.csv');
        await writeFile(csvPath, file.data);
        return ingestCsv(
          {
            datasetId: params.dataset_id,
            csvPath,
            mode: query.mode,
            options: csvOptions(query),
            principal,
          },
          dir,
        );
      });
      return { message: 'Upload successful', ...result };
    },
  }),
} satisfies AreaOperations<'ingest'>;

export const handler = onAws(
  { stores: awsStores, catalog: glueCatalog, events: eventBridgeEvents },
  areaHandler('ingest', operations),
);

async function objectCreated(event: ObjectCreated): Promise<void> {
  const { bucket, object } = event.detail;
  await processUploadedObject(
    bucket.name,
    decodeURIComponent(object.key.replace(/\+/g, ' ')),
    object.size ?? 0,
  );
}

export const onObjectCreated = onAws(
  { stores: awsStores, catalog: glueCatalog, events: eventBridgeEvents },
  middy(objectCreated)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics())
    .use(parser({ schema: objectCreatedSchema, errorHandler: dropMalformed('ingest', null) })),
);

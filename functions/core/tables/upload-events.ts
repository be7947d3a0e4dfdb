/**
 * The object-created side of presigned uploads: claim the upload, download the object, run
 * the ingest and record the outcome. Kept apart from uploads.ts so that only the ingest
 * function (which carries DuckDB) imports it.
 */
import { updateItem } from '../db.ts';
import { PayloadTooLargeError } from '../errors.ts';
import { logger } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { deleteObject, downloadToFile } from '../storage.ts';
import { ingestCsv, timed, withWorkDir } from './ingest.ts';
import { finishUpload, problemOf, type UploadItem, uploadKey } from './uploads.ts';

/** An upload still `processing` after this long was abandoned by a worker that died. */
const STALE_PROCESSING_MS = 16 * 60 * 1000;

/**
 * Handles an object landing under `uploads/`. Events can arrive twice: only the first claims
 * the upload (pending → processing) and the others are ignored, unless the claim has gone
 * stale (its worker died; the event source's retry then takes over). The raw object is
 * removed once it has been ingested or rejected.
 */
export async function processUploadedObject(bucket: string, key: string, size: number): Promise<void> {
  const match = /^uploads\/([^/]+)\/(upl-[0-9a-z]+)\.csv$/.exec(key);
  if (bucket !== platform().stores.dataBucket || !match?.[2]) {
    logger.warn('ignoring an object outside the upload layout', { key });
    return;
  }
  const uploadId = match[2];
  const claimed = await updateItem<UploadItem>(uploadKey(uploadId), 'META', {
    UpdateExpression: 'SET #status = :processing, updated_at = :now, started_at = :now',
    ConditionExpression: '#status = :pending OR (#status = :processing AND updated_at < :stale)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':processing': 'processing',
      ':pending': 'pending',
      ':now': new Date().toISOString(),
      ':stale': new Date(Date.now() - STALE_PROCESSING_MS).toISOString(),
    },
  });
  if (!claimed) {
    logger.info('upload already handled or unknown; ignoring the event', { uploadId });
    return;
  }
  logger.appendKeys({ uploadId, datasetId: claimed.dataset_id });
  const instance = `/api/v1/tables/${claimed.dataset_id}/uploads/${uploadId}`;
  try {
    const { maxUploadBytes } = platform().settings.tables;
    if (size > maxUploadBytes) {
      throw new PayloadTooLargeError(
        `The file is ${size} bytes; uploads are limited to ${maxUploadBytes} bytes.`,
      );
    }
    await withWorkDir(async (dir) => {
      const csvPath = `${dir}/upload.csv`;
      const timings: Record<string, number> = {};
      await timed(timings, 'download', () => downloadToFile(key, csvPath));
      const result = await ingestCsv(
        {
          datasetId: claimed.dataset_id,
          csvPath,
          mode: claimed.mode,
          options: claimed.options,
          principal: { username: claimed.created_by },
        },
        dir,
        timings,
      );
      // Record the outcome before the scratch files go: the client is polling for it.
      await finishUpload(claimed, { result });
      logger.info('upload ingested', { rows: result.rows, version: result.version });
    });
  } catch (error) {
    const problem = problemOf(error, instance);
    if (problem.status >= 500) logger.error('upload ingest failed', { error: error as Error });
    await finishUpload(claimed, { error: problem });
  } finally {
    await deleteObject(key).catch((error: unknown) =>
      logger.warn('could not remove the raw upload', { key, error: error as Error }),
    );
  }
}

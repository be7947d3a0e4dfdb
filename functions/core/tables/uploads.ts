/**
 * Large uploads: the API hands out a presigned S3 PUT URL under `uploads/{dataset}/{upload}.csv`
 * and records the upload; the object-created event then runs the same ingest as a direct
 * upload. The upload record shows the status (pending → processing → succeeded | failed) with
 * the result or the problem, so the client can poll it.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import * as z from 'zod';
import type { Principal } from '../auth/principal.ts';
import { requireDataset } from '../catalog/datasets.ts';
import { getItem, type Item, putItem, queryAll, updateItem } from '../db.ts';
import { NotFoundError, PayloadTooLargeError, toProblem } from '../errors.ts';
import { isId, newId } from '../ids.ts';
import { platform } from '../platform/platform.ts';
import type { CsvOptions } from './convert.ts';
import type { IngestResult } from './ingest.ts';
import type { WriteMode } from './manifest.ts';

const DELIMITERS: Record<string, CsvOptions['delimiter']> = {
  ',': ',',
  comma: ',',
  ';': ';',
  semicolon: ';',
  '\t': '\t',
  tab: '\t',
  '|': '|',
  pipe: '|',
};

const ENCODINGS: Record<string, CsvOptions['encoding']> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  cp949: 'cp949',
  'euc-kr': 'cp949',
  euckr: 'cp949',
};

/** Upload options, accepted as query parameters (direct upload) or JSON fields (upload URL). */
export const uploadOptionsSchema = z.object({
  mode: z.enum(['overwrite', 'append']).default('overwrite'),
  delimiter: z
    .string()
    .optional()
    .refine(
      (d) => d === undefined || Object.hasOwn(DELIMITERS, d),
      'must be one of , ; | tab (or comma, semicolon, tab, pipe)',
    )
    .transform((d) => (d === undefined ? undefined : DELIMITERS[d])),
  header: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .optional()
    .transform((h) => (h === undefined ? undefined : h === true || h === 'true')),
  encoding: z
    .string()
    .optional()
    .refine(
      (e) => e === undefined || Object.hasOwn(ENCODINGS, e.toLowerCase()),
      'must be utf-8 or cp949 (euc-kr)',
    )
    .transform((e) => (e === undefined ? undefined : ENCODINGS[e.toLowerCase()])),
});

export type UploadOptions = z.output<typeof uploadOptionsSchema>;

export const uploadUrlSchema = uploadOptionsSchema.extend({
  /** Declared file size in bytes; when given it is checked now and signed into the URL. */
  size: z.number().int().min(1).optional(),
  filename: z.string().max(255).optional(),
});

export function csvOptions(o: UploadOptions): Pick<CsvOptions, 'delimiter' | 'header' | 'encoding'> {
  return {
    ...(o.delimiter ? { delimiter: o.delimiter } : {}),
    ...(o.header !== undefined ? { header: o.header } : {}),
    ...(o.encoding ? { encoding: o.encoding } : {}),
  };
}

type UploadStatus = 'pending' | 'processing' | 'succeeded' | 'failed';

interface UploadProblem {
  status: number;
  title: string;
  detail: string;
  line?: number;
}

export interface UploadItem extends Item {
  id: string;
  dataset_id: string;
  key: string;
  mode: WriteMode;
  options: ReturnType<typeof csvOptions>;
  status: UploadStatus;
  filename?: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  expires_at: string;
  started_at?: string;
  finished_at?: string;
  result?: IngestResult;
  error?: UploadProblem;
}

export const uploadKey = (id: string) => `UPLOAD#${id}`;
const ACTIVE = 'UPLOADS#ACTIVE';

function view(u: UploadItem) {
  return {
    upload_id: u.id,
    dataset_id: u.dataset_id,
    status: u.status,
    mode: u.mode,
    ...(u.filename ? { filename: u.filename } : {}),
    created_at: u.created_at,
    updated_at: u.updated_at,
    url_expires_at: u.expires_at,
    ...(u.started_at ? { started_at: u.started_at } : {}),
    ...(u.finished_at ? { finished_at: u.finished_at } : {}),
    ...(u.result ? { result: u.result } : {}),
    ...(u.error ? { error: u.error } : {}),
  };
}

export async function createUploadUrl(
  datasetId: string,
  input: z.output<typeof uploadUrlSchema>,
  principal: Principal,
) {
  const { maxUploadBytes, uploadUrlTtlSeconds } = platform().settings.tables;
  await requireDataset(datasetId);
  if (input.size !== undefined && input.size > maxUploadBytes) {
    throw new PayloadTooLargeError(
      `The file is ${input.size} bytes; uploads are limited to ${maxUploadBytes} bytes.`,
    );
  }
  const id = newId('upload');
  const key = `uploads/${datasetId}/${id}.csv`;
  const now = new Date();
  const expiresAt = new Date(now.getTime() + uploadUrlTtlSeconds * 1000);
  const url = await getSignedUrl(
    platform().stores.s3Presigner,
    new PutObjectCommand({
      Bucket: platform().stores.dataBucket,
      Key: key,
      ...(input.size !== undefined ? { ContentLength: input.size } : {}),
    }),
    { expiresIn: uploadUrlTtlSeconds },
  );
  const item: UploadItem = {
    pk: uploadKey(id),
    sk: 'META',
    gsi1pk: ACTIVE,
    gsi1sk: id,
    id,
    dataset_id: datasetId,
    key,
    mode: input.mode,
    options: csvOptions(input),
    status: 'pending',
    ...(input.filename ? { filename: input.filename } : {}),
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    created_by: principal.username,
    expires_at: expiresAt.toISOString(),
    ttl: Math.floor(now.getTime() / 1000) + 30 * 86_400,
  };
  await putItem(item);
  return {
    upload_id: id,
    dataset_id: datasetId,
    method: 'PUT',
    url,
    expires_at: item.expires_at,
    max_bytes: maxUploadBytes,
    status_url: `/api/v1/tables/${datasetId}/uploads/${id}`,
  };
}

export async function getUpload(datasetId: string, uploadId: string) {
  const item = isId('upload', uploadId) ? await getItem<UploadItem>(uploadKey(uploadId)) : undefined;
  if (!item || item.dataset_id !== datasetId) throw new NotFoundError('UPLOAD', uploadId);
  return view(item);
}

export async function finishUpload(
  item: UploadItem,
  outcome: { result: IngestResult } | { error: UploadProblem },
) {
  const failed = 'error' in outcome;
  await updateItem(uploadKey(item.id), 'META', {
    UpdateExpression: `SET #status = :status, updated_at = :now, finished_at = :now, ${failed ? '#error = :outcome' : '#result = :outcome'} REMOVE gsi1pk, gsi1sk`,
    ExpressionAttributeNames: {
      '#status': 'status',
      ...(failed ? { '#error': 'error' } : { '#result': 'result' }),
    },
    ExpressionAttributeValues: {
      ':status': failed ? 'failed' : 'succeeded',
      ':now': new Date().toISOString(),
      ':outcome': failed ? outcome.error : outcome.result,
    },
  });
}

export function problemOf(error: unknown, instance: string): UploadProblem {
  const { problem } = toProblem(error, instance);
  return {
    status: problem.status,
    title: problem.title,
    detail: problem.detail,
    ...(typeof problem.line === 'number' ? { line: problem.line } : {}),
  };
}

/**
 * Uploads left `processing` by a local host that stopped mid-ingest are marked failed at its
 * next start, so nobody waits on them forever. (In AWS the event source retries a Lambda that
 * died, and the stale claim is taken over.)
 */
export async function failInterruptedUploads(): Promise<number> {
  const active = await queryAll<UploadItem>({ index: 'gsi1', partition: ACTIVE });
  let failed = 0;
  for (const item of active.filter((u) => u.status === 'processing')) {
    await finishUpload(item, {
      error: {
        status: 500,
        title: 'Interrupted',
        detail: 'The server stopped while this upload was being processed; upload the file again.',
      },
    });
    failed++;
  }
  return failed;
}

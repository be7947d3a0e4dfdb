/**
 * `upload <dataset> <file.csv>`: small files go to the direct upload route (multipart, answered
 * once the new version is published); larger ones to a presigned S3 URL, after which the upload's
 * status is polled until the ingest succeeds or fails. Either way the bytes are counted as they
 * are sent.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { SluiceProblem } from '../../problem.ts';
import { action, type Ctx, positiveInteger, sleep } from '../context.ts';
import { byteBar, liveBlock } from '../live.ts';
import { formatBytes, UsageError } from '../output.ts';
import { datasetId } from '../refs.ts';
import { answer, type UploadResult } from '../shapes.ts';
import {
  type BodyPart,
  multipartFile,
  partSize,
  problemOf,
  type SentResponse,
  sendBody,
} from '../transfer.ts';

/**
 * Files up to this size take the direct route: the API's default limit (4 MiB,
 * SLUICE_DIRECT_UPLOAD_MAX_BYTES) less room for the form around the file. A deployment with a
 * lower limit answers 413, and the upload then goes through a presigned URL.
 */
export const DIRECT_UPLOAD_MAX_BYTES = 4 * 1024 * 1024 - 64 * 1024;

interface UploadOptions {
  collection?: string;
  mode: 'overwrite' | 'append';
  delimiter?: string;
  encoding?: string;
  via?: 'direct' | 'presigned';
  interval: number;
}

/** The headers that authenticate a request sent outside openapi-fetch. */
async function authHeaders(ctx: Ctx, renew = false): Promise<Record<string, string>> {
  const session = ctx.session();
  if (session.credentials) {
    return { 'credential-id': session.credentials.id, 'credential-secret': session.credentials.secret };
  }
  if (renew || session.client.accessToken() === undefined) await session.client.refresh();
  return { authorization: `Bearer ${session.client.accessToken()}` };
}

function progress(ctx: Ctx, label: string, total: number) {
  if (!ctx.out.interactive) return undefined;
  return byteBar(label, total);
}

async function sendWithProgress(
  ctx: Ctx,
  request: { url: string; method: 'POST' | 'PUT'; headers: Record<string, string>; parts: BodyPart[] },
  label: string,
  waiting: string,
): Promise<SentResponse> {
  const total = request.parts.reduce((sum, p) => sum + partSize(p), 0);
  const bar = progress(ctx, label, total);
  let ticker: ReturnType<typeof setInterval> | undefined;
  const sentAll = () => {
    // The rate is the sending's: the bar stops with the last byte, then the wait for the answer shows.
    bar?.stop();
    if (!ctx.out.interactive) return;
    const block = liveBlock();
    const started = Date.now();
    const draw = () => block.draw(`${waiting} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    draw();
    ticker = setInterval(draw, 200);
  };
  try {
    return await sendBody({
      ...request,
      onProgress: (sent) => {
        bar?.update(sent);
        if (sent === total) sentAll();
      },
    });
  } finally {
    if (ticker) clearInterval(ticker);
    else bar?.stop();
  }
}

async function direct(ctx: Ctx, id: string, file: { path: string; size: number }, options: UploadOptions) {
  const url = new URL(`${ctx.session().endpoint}/api/v1/tables/${encodeURIComponent(id)}/upload`);
  url.searchParams.set('mode', options.mode);
  if (options.delimiter) url.searchParams.set('delimiter', options.delimiter);
  if (options.encoding) url.searchParams.set('encoding', options.encoding);
  const form = multipartFile('file', basename(file.path), file);
  const send = async (renew: boolean) =>
    sendWithProgress(
      ctx,
      {
        url: url.toString(),
        method: 'POST',
        headers: { ...(await authHeaders(ctx, renew)), 'content-type': form.contentType },
        parts: form.parts,
      },
      'Sending',
      'Ingesting: reading, typing and publishing the table',
    );
  let response = await send(false);
  if (response.status === 401 && ctx.session().via === 'login') response = await send(true);
  if (response.status < 200 || response.status > 299) throw await problemOf(response);
  return JSON.parse(response.text) as UploadResult;
}

async function presigned(ctx: Ctx, id: string, file: { path: string; size: number }, options: UploadOptions) {
  const client = ctx.client();
  const target = answer(
    await client.api.POST('/api/v1/tables/{dataset_id}/upload-url', {
      params: { path: { dataset_id: id } },
      body: {
        mode: options.mode,
        size: file.size,
        filename: basename(file.path),
        ...(options.delimiter ? { delimiter: options.delimiter } : {}),
        ...(options.encoding ? { encoding: options.encoding } : {}),
      },
    }),
  );
  const response = await sendWithProgress(
    ctx,
    { url: target.url, method: target.method, headers: {}, parts: [file] },
    'Sending',
    'Storing',
  );
  if (response.status < 200 || response.status > 299) throw await problemOf(response);

  const block = ctx.out.interactive ? liveBlock() : undefined;
  let last = '';
  const started = Date.now();
  for (;;) {
    const status = answer(
      await client.api.GET('/api/v1/tables/{dataset_id}/uploads/{upload_id}', {
        params: { path: { dataset_id: id, upload_id: target.upload_id } },
      }),
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (block) block.draw(`Ingest ${target.upload_id}: ${status.status} (${seconds}s)`);
    else if (status.status !== last) ctx.out.note(`Ingest ${target.upload_id}: ${status.status}`);
    last = status.status;
    if (status.status === 'succeeded' && status.result)
      return { ...status.result, upload_id: target.upload_id };
    if (status.status === 'failed') {
      const error = status.error ?? { status: 500, title: 'Upload failed', detail: '' };
      throw new SluiceProblem({
        status: error.status,
        errorType: 'upload-failed',
        title: error.title,
        detail: error.line ? `${error.detail} (line ${error.line})` : error.detail,
        body: { ...error },
      });
    }
    await sleep(options.interval);
  }
}

export function registerUpload(program: Command): void {
  program
    .command('upload <dataset> <file>')
    .description(
      `Upload a CSV file as the dataset's next version: directly up to ${formatBytes(DIRECT_UPLOAD_MAX_BYTES)}, ` +
        'through a presigned URL above, with progress while sending and the ingest status until the version is published',
    )
    .option('-c, --collection <collection>', 'collection of a dataset given by name')
    .option('--mode <mode>', 'overwrite (a new table) or append (rows added to it)', 'overwrite')
    .option('--delimiter <d>', ', ; | or tab (detected when left out)')
    .option('--encoding <e>', 'utf-8 or cp949 (detected when left out)')
    .option('--via <route>', 'direct or presigned (chosen by the file size when left out)')
    .option('--interval <ms>', 'how often to poll the ingest status', positiveInteger('--interval'), 250)
    .action(
      action(async (ctx, dataset: string, path: string, options: UploadOptions) => {
        if (options.mode !== 'overwrite' && options.mode !== 'append') {
          throw new UsageError(`--mode must be overwrite or append, not "${options.mode}"`);
        }
        if (options.via !== undefined && options.via !== 'direct' && options.via !== 'presigned') {
          throw new UsageError(`--via must be direct or presigned, not "${options.via}"`);
        }
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) throw new UsageError(`No such file: ${path}`);
        const file = { path, size: info.size };
        const id = await datasetId(ctx.client(), dataset, options.collection);
        let via = options.via ?? (file.size <= DIRECT_UPLOAD_MAX_BYTES ? 'direct' : 'presigned');
        let result: Pick<UploadResult, 'version' | 'rows' | 'columns'> & { upload_id?: string };
        try {
          result =
            via === 'direct' ? await direct(ctx, id, file, options) : await presigned(ctx, id, file, options);
        } catch (error) {
          const tooLarge = error instanceof SluiceProblem && error.status === 413;
          if (!tooLarge || via !== 'direct' || options.via !== undefined) throw error;
          ctx.out.note('Too large for a direct upload here; sending it through a presigned URL.');
          via = 'presigned';
          result = await presigned(ctx, id, file, options);
        }
        ctx.out.result({ dataset_id: id, via, bytes: file.size, ...result }, () =>
          ctx.out.line(
            `${ctx.out.paint('green', '✔')} Published version ${result.version} of ${id}: ` +
              `${result.rows} rows, ${result.columns} columns (${formatBytes(file.size)} sent ${via === 'direct' ? 'directly' : 'through a presigned URL'}).`,
          ),
        );
      }),
    );
}

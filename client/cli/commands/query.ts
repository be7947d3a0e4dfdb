/**
 * `query "<sql>"`: submits the statement, shows its progressPercentage until it ends, then prints
 * the first page as a table, or with `--out file.csv` writes the whole result. The API serves
 * the first 1,000 rows; a larger result is read from its `.csv` in the bucket through the S3 API
 * (AWS credentials from the environment; `--s3-endpoint` / SLUICE_S3_ENDPOINT for the local host).
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import type { SluiceClient } from '../../index.ts';
import { action, type Ctx, positiveInteger, sleep } from '../context.ts';
import { percentBar } from '../live.ts';
import { csvLine, UnsuccessfulEnd } from '../output.ts';
import { answer, type QueryPage } from '../shapes.ts';

/** The local host's results bucket (`npm start`); a deployment names its own. */
export const DEFAULT_RESULTS_BUCKET = 'sluice-results';
const API_ROWS = 1000;
const TERMINAL = ['FINISHED', 'FAILED', 'ABORTED'];

interface QueryOptions {
  database?: string;
  source?: string;
  bucket: string;
  path: string;
  out?: string;
  interval: number;
  s3Endpoint?: string;
}

/** HTTP carries header bytes; the API reads non-ASCII header values back as UTF-8. */
const headerValue = (text: string) => String.fromCharCode(...new TextEncoder().encode(text));

async function page(client: SluiceClient, queryId: string, n: number): Promise<QueryPage> {
  return answer(
    await client.api.GET('/v1/data-query/query/{query_id}', {
      params: { path: { query_id: queryId }, query: { page: n } },
    }),
  );
}

async function waitForQuery(ctx: Ctx, queryId: string, intervalMs: number): Promise<QueryPage> {
  const client = ctx.client();
  const bar = ctx.out.interactive ? percentBar('Query') : undefined;
  try {
    for (;;) {
      const current = await page(client, queryId, 0);
      const { state, queryStats } = current.queryInfo;
      bar?.update(queryStats.progressPercentage, state, queryStats.elapsedTime);
      if (TERMINAL.includes(state)) return current;
      await sleep(intervalMs);
    }
  } finally {
    bar?.stop();
  }
}

/** Rows 1..1,000 through the API, as CSV lines (values are text; nulls stay empty). */
async function writeFromPages(client: SluiceClient, first: QueryPage, file: string): Promise<number> {
  const out = createWriteStream(file);
  out.write(`${csvLine(first.columnData.map((c) => c.name))}\n`);
  let rows = 0;
  for (let n = 0; n < first.totalPages; n++) {
    const current = n === 0 ? first : await page(client, first.queryInfo.queryId, n);
    for (const row of current.queryData) out.write(`${csvLine(row)}\n`);
    rows += current.queryData.length;
  }
  out.end();
  await finished(out);
  return rows;
}

/**
 * The local host's S3 (s3rver) takes only its fixed key pair; against a local endpoint with no
 * AWS credentials in the environment, that pair is used.
 */
function localCredentials(endpoint: string | undefined) {
  if (!endpoint || process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE) return {};
  const host = new URL(endpoint).hostname;
  if (host !== 'localhost' && host !== '127.0.0.1' && host !== '::1') return {};
  return { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
}

/** The result's own `.csv` from the bucket, when it holds more rows than the API serves. */
async function writeFromBucket(bucket: string, key: string, file: string, endpoint?: string): Promise<void> {
  // The SDK's notice about future Node versions is no business of a CLI user's.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const s3 = new S3Client({
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...localCredentials(endpoint),
  });
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = object.Body as NodeJS.ReadableStream | undefined;
  if (!body) throw new Error(`s3://${bucket}/${key} is empty`);
  const out = createWriteStream(file);
  body.pipe(out);
  await finished(out);
}

export function registerQuery(program: Command): void {
  program
    .command('query <sql>')
    .description(
      'Run a SQL statement (Data Query) and print the first page of its result, or save it all as CSV',
    )
    .option('--database <collection>', 'database (collection) for table names that leave it out')
    .option('--source <name>', 'data source for table names that leave it out (default: the catalog)')
    .option(
      '--bucket <bucket>',
      'bucket for the result',
      process.env.SLUICE_RESULTS_BUCKET ?? DEFAULT_RESULTS_BUCKET,
    )
    .option('--path <prefix>', 'prefix in the bucket for the result', 'sluice-cli')
    .option('--out <file.csv>', 'write the whole result to this file')
    .option('--interval <ms>', 'how often to poll', positiveInteger('--interval'), 300)
    .option('--s3-endpoint <url>', 'S3 endpoint for results over 1,000 rows (default: SLUICE_S3_ENDPOINT)')
    .action(
      action(async (ctx, sql: string, options: QueryOptions) => {
        const client = ctx.client();
        const headers: Record<string, string> = {};
        if (options.database) headers['x-database'] = headerValue(options.database);
        if (options.source) headers['x-data-source'] = headerValue(options.source);
        const { queryId } = answer(
          await client.api.POST('/v1/data-query/query', {
            body: { query: sql, bucketName: options.bucket, path: options.path },
            headers,
          }),
        );
        const result = await waitForQuery(ctx, queryId, options.interval);
        const info = result.queryInfo;
        if (info.state !== 'FINISHED') {
          if (ctx.out.json) ctx.out.line(JSON.stringify(result, null, 2));
          throw new UnsuccessfulEnd(
            `Query ${queryId} ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`,
          );
        }
        const location = `s3://${options.bucket}/${info.storageUrl ? `${info.storageUrl}/` : ''}${queryId}.csv`;
        if (options.out) {
          let rows = result.totalElements;
          if (result.totalElements <= API_ROWS || !info.isStored) {
            rows = await writeFromPages(client, result, options.out);
          } else {
            const key = `${info.storageUrl ? `${info.storageUrl}/` : ''}${queryId}.csv`;
            await writeFromBucket(
              options.bucket,
              key,
              options.out,
              options.s3Endpoint ?? process.env.SLUICE_S3_ENDPOINT,
            );
          }
          ctx.out.result({ queryId, state: info.state, rows, file: options.out, result: location }, () =>
            ctx.out.line(`Wrote ${rows} rows to ${options.out} (query ${queryId}).`),
          );
          return;
        }
        ctx.out.result(result, () => {
          ctx.out.table(
            result.columnData.map((c) => c.name),
            result.queryData,
          );
          const more = result.totalElements > result.queryData.length ? ` of ${result.totalElements}` : '';
          ctx.out.line(
            ctx.out.paint(
              'gray',
              `${result.queryData.length} rows${more} · ${info.queryStats.elapsedTime ?? ''} · query ${queryId}` +
                `${info.isStored ? ` · ${location}` : ''}`,
            ),
          );
        });
      }),
    );
}

/**
 * `query "<sql>"`: submits the statement, shows its progressPercentage until it ends, then prints
 * the first page as a table, or with `--out file.csv` writes the whole result: the stored `.csv`
 * through the API's download route (a presigned URL; no AWS credentials needed), or, for a
 * statement that stored no file (SHOW, DESCRIBE ...), its rows from the result pages.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import type { SluiceClient } from '../../index.ts';
import { action, type Ctx, positiveInteger, sleep } from '../context.ts';
import { percentBar } from '../live.ts';
import { csvLine, UnsuccessfulEnd } from '../output.ts';
import { answer, type QueryPage } from '../shapes.ts';

/** The local host's results bucket (`npm start`); a deployment names its own. */
export const DEFAULT_RESULTS_BUCKET = 'sluice-results';
const TERMINAL = ['FINISHED', 'FAILED', 'ABORTED'];

interface QueryOptions {
  database?: string;
  source?: string;
  bucket: string;
  path: string;
  out?: string;
  interval: number;
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
 * The whole stored result: the API answers a presigned URL of its `.csv` (valid a few minutes),
 * fetched here without the API's credentials. Answers the file's rows and where it is stored.
 */
async function writeFromDownload(
  client: SluiceClient,
  queryId: string,
  file: string,
): Promise<{ rows: number; location: string }> {
  const link = answer(
    await client.api.GET('/v1/data-query/query/{query_id}/download', {
      params: { path: { query_id: queryId } },
    }),
  );
  const res = await fetch(link.url);
  if (!res.ok || !res.body) {
    throw new Error(
      `Downloading the result of query ${queryId} failed: HTTP ${res.status} ${res.statusText}`,
    );
  }
  await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), createWriteStream(file));
  return { rows: link.rows, location: link.location };
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
          let rows: number;
          let stored = location;
          if (info.isStored) {
            ({ rows, location: stored } = await writeFromDownload(client, queryId, options.out));
          } else {
            rows = await writeFromPages(client, result, options.out);
          }
          ctx.out.result({ queryId, state: info.state, rows, file: options.out, result: stored }, () =>
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

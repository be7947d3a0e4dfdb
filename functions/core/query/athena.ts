/**
 * The query engine on AWS: Athena over the datasets' Glue tables (glue.ts).
 *
 * start() points each resolved name at its dataset's Glue table, starts the execution in the
 * deployment's workgroup and leaves a pointer (`QEXEC#{execution id}`) so that Athena's state
 * change events find the query again. The workgroup enforces its own settings (result location
 * in the results bucket, encryption, the per-query scan limit), so Athena writes
 * `<execution id>.csv` and `.csv.metadata` to that staging location, whatever the caller asked;
 * when the execution succeeds the two files are copied to `{bucket}/{storage_url}/{query_id}.csv`
 * (+ `.csv.metadata`) and the staged originals removed. The first rows go to the data bucket for
 * the result pages, like the local engine does.
 *
 * The record is brought up to date from two sides: the query-events Lambda (an EventBridge rule
 * on the workgroup's state changes, syncQueryExecution) and any read of an unfinished query
 * (refresh). Both may run at once: copies are idempotent, and the record moves to its final
 * state by one conditional update (records.ts), so exactly one of them settles it.
 */
import {
  type AthenaClient,
  type ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetQueryRuntimeStatisticsCommand,
  type QueryExecution,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { getItem, type Item, putItem } from '../db.ts';
import { logger, metrics } from '../observability.ts';
import { platform } from '../platform/platform.ts';
import { copyAnySize, type S3Location } from '../s3-copy.ts';
import { requireSetting, SETTING, type Settings } from '../settings.ts';
import { deleteObject, putJson } from '../storage.ts';
import {
  PREVIEW_ROWS,
  previewKey,
  type QueryEngine,
  type QueryJob,
  quoteIdent,
  rewriteStatement,
} from './engine.ts';
import { ATHENA_CATALOG, glueDatabaseName, glueTableName, syncDatasetTable } from './glue.ts';
import { metadataKey, type QueryItem, type ResultColumn, resultKey } from './model.ts';
import { endQuery, findQuery, isFinal, markRunning } from './records.ts';

export interface AthenaEngineConfig {
  workgroup: string;
  glueDatabasePrefix: string;
  /** Wait before looking for a pointer once more when an event arrives first. @default 1000 */
  pointerRetryMs?: number;
}

/** The engine's settings; a missing one stops the function when the engine is created. */
export function athenaEngineConfig(settings: Settings): AthenaEngineConfig {
  const { workgroup, glueDatabasePrefix } = settings.athena;
  return {
    workgroup: requireSetting(workgroup, SETTING.athenaWorkgroup),
    glueDatabasePrefix: requireSetting(glueDatabasePrefix, SETTING.glueDatabasePrefix),
  };
}

/** Athena wants a 32-128 character idempotency token; query ids are 26 characters long. */
export const requestToken = (queryId: string) => `sluice-query-${queryId}`;

export const executionKey = (executionId: string) => `QEXEC#${executionId}`;

/** Maps an Athena execution back to its query. */
interface ExecutionPointer extends Item {
  query_id: string;
  /** `"db"."table"` as Athena knows it -> `database.table` as the user wrote it. */
  names: Record<string, string>;
}

/** Keep pointers a week: longer than any query may run. */
const POINTER_TTL_SECONDS = 7 * 86_400;

const MAX_ERROR_LENGTH = 4000;

const errorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;

const isNotFound = (error: unknown) => {
  const name = errorName(error);
  return (
    name === 'NotFound' ||
    name === 'NoSuchKey' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
  );
};

export function parseS3Url(url: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return match ? { bucket: match[1] as string, key: match[2] as string } : undefined;
}

/** Result column types as the API shows them (Athena's names, lower case, decimals with precision). */
export function columnOf(info: ColumnInfo): ResultColumn {
  const type = (info.Type ?? 'varchar').toLowerCase();
  const precise = type === 'decimal' && info.Precision !== undefined;
  return {
    name: info.Name ?? info.Label ?? '',
    type: precise ? `decimal(${info.Precision},${info.Scale ?? 0})` : type,
  };
}

interface ResultPreview {
  columns: ResultColumn[];
  rows: Array<Array<string | null>>;
  /** True when `rows` holds the whole result. */
  complete: boolean;
}

export class AthenaQueryEngine implements QueryEngine {
  constructor(
    private readonly client: AthenaClient,
    private readonly config: AthenaEngineConfig,
  ) {}

  /** `"<prefix>_col_..."."ds_..."`: where a resolved table lives in the Glue catalog. */
  private tableRef(collectionId: string, datasetId: string): string {
    return `${quoteIdent(glueDatabaseName(collectionId, this.config.glueDatabasePrefix))}.${quoteIdent(glueTableName(datasetId))}`;
  }

  async start(job: QueryJob): Promise<string> {
    const { item } = job;
    // Each table must point at the version the names resolved to; a registration that failed
    // or lags behind (or a dataset older than the Glue catalog) is made good here.
    const seen = new Set<string>();
    for (const t of job.tables) {
      if (seen.has(t.dataset.id)) continue;
      seen.add(t.dataset.id);
      await syncDatasetTable(t.dataset, t.manifest);
    }
    const names: Record<string, string> = {};
    const sql = rewriteStatement(job, (t) => {
      const ref = this.tableRef(t.dataset.collection_id, t.dataset.id);
      names[ref] = `${t.database}.${t.table}`;
      return ref;
    });

    const out = await this.client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        ClientRequestToken: requestToken(item.query_id),
        // Every table name is written out in full; the database only keeps Athena from falling
        // back to `default`, which this deployment may not read.
        QueryExecutionContext: {
          Catalog: ATHENA_CATALOG,
          ...(job.tables[0]
            ? {
                Database: glueDatabaseName(
                  job.tables[0].dataset.collection_id,
                  this.config.glueDatabasePrefix,
                ),
              }
            : {}),
        },
        WorkGroup: this.config.workgroup,
      }),
    );
    const executionId = out.QueryExecutionId;
    if (!executionId) throw new Error(`Athena returned no execution id for query ${item.query_id}`);

    try {
      const pointer: ExecutionPointer = {
        pk: executionKey(executionId),
        sk: 'META',
        entity: 'query-execution',
        query_id: item.query_id,
        names,
        ttl: Math.floor(Date.now() / 1000) + POINTER_TTL_SECONDS,
      };
      await putItem(pointer);
      const running = await markRunning(item.query_id, {
        started_at: Date.now(),
        progress: 0,
        engine_ref: executionId,
      });
      // Aborted (or failed) while it was being started: stop what was just started.
      if (!running) await this.stop(executionId);
    } catch (error) {
      await this.stop(executionId).catch(() => undefined);
      throw error;
    }
    return executionId;
  }

  async refresh(item: QueryItem): Promise<QueryItem> {
    if (isFinal(item.state) || !item.engine_ref) return item;
    try {
      return await this.sync(item, item.engine_ref);
    } catch (error) {
      // A read shows the record as it is; the state change event will settle it.
      logger.warn('could not bring the query up to date from Athena', {
        queryId: item.query_id,
        error: error as Error,
      });
      return item;
    }
  }

  /** Athena keeps no reason with a stop; the record already holds it (queries.ts). */
  async abort(item: QueryItem, _reason?: string): Promise<void> {
    if (item.engine_ref) await this.stop(item.engine_ref);
  }

  /** Brings the query of an execution up to date (the state change handler); throws to be retried. */
  async syncExecution(executionId: string): Promise<QueryItem | undefined> {
    let pointer = await getItem<ExecutionPointer>(executionKey(executionId));
    if (!pointer) {
      // The event can overtake the pointer written right after the start: look once more.
      await new Promise((resolve) => setTimeout(resolve, this.config.pointerRetryMs ?? 1000));
      pointer = await getItem<ExecutionPointer>(executionKey(executionId));
    }
    if (!pointer) {
      logger.warn('no query for this Athena execution', { executionId });
      return undefined;
    }
    const item = await findQuery(pointer.query_id);
    if (!item || isFinal(item.state)) return item;
    return this.sync(item, executionId, pointer);
  }

  private async stop(executionId: string): Promise<void> {
    try {
      await this.client.send(new StopQueryExecutionCommand({ QueryExecutionId: executionId }));
    } catch (error) {
      // Stopping one that has already ended is not an error; one still running is.
      const state = await this.client
        .send(new GetQueryExecutionCommand({ QueryExecutionId: executionId }))
        .then((out) => out.QueryExecution?.Status?.State)
        .catch(() => undefined);
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') return;
      throw error;
    }
  }

  private async sync(item: QueryItem, executionId: string, pointer?: ExecutionPointer): Promise<QueryItem> {
    const out = await this.client.send(new GetQueryExecutionCommand({ QueryExecutionId: executionId }));
    const execution = out.QueryExecution ?? {};
    switch (execution.Status?.State) {
      case 'QUEUED':
      case 'RUNNING':
        if (item.state !== 'QUEUED') return item;
        return (
          (await markRunning(item.query_id, {
            started_at: Date.now(),
            progress: 0,
            engine_ref: executionId,
          })) ?? reread(item)
        );
      case 'SUCCEEDED':
        return this.finish(item, executionId, execution);
      case 'FAILED': {
        const names = (pointer ?? (await getItem<ExecutionPointer>(executionKey(executionId))))?.names ?? {};
        const failed = await endQuery(item.query_id, 'FAILED', {
          ...statsOf(item, execution),
          error_message: failureMessage(execution, names),
        });
        if (failed) metrics.addMetric('QueriesFailed', 'Count', 1);
        return failed ?? reread(item);
      }
      case 'CANCELLED':
        // By a stop (the abort is on the record already), or by Athena, e.g. at the scan limit.
        return (
          (await endQuery(item.query_id, 'ABORTED', {
            ...statsOf(item, execution),
            error_message: execution.Status?.StateChangeReason ?? 'The query was cancelled.',
          })) ?? reread(item)
        );
      default:
        return item;
    }
  }

  private async finish(item: QueryItem, executionId: string, execution: QueryExecution): Promise<QueryItem> {
    const preview = await this.readResults(executionId, execution.StatementType);
    const staged = parseS3Url(execution.ResultConfiguration?.OutputLocation ?? '');
    const result = { bucket: item.bucket, key: resultKey(item) };
    const metadata = { bucket: item.bucket, key: metadataKey(item) };
    // Only a SELECT-like result (`.csv` + `.csv.metadata`) is stored for the caller.
    const copies: Array<[S3Location, S3Location]> = [];
    let bytes: number | undefined;
    if (staged?.key.endsWith('.csv')) {
      bytes = await copyObject(staged, result);
      copies.push([staged, result]);
      const stagedMetadata = { bucket: staged.bucket, key: `${staged.key}.metadata` };
      if (bytes !== undefined && (await copyObject(stagedMetadata, metadata)) !== undefined) {
        copies.push([stagedMetadata, metadata]);
      }
    }
    const stored = bytes !== undefined;
    await putJson(previewKey(item.query_id), preview.rows);

    const runtime = preview.complete ? undefined : await this.runtimeRows(executionId);
    const stats = statsOf(item, execution);
    const done = await endQuery(item.query_id, 'FINISHED', {
      ...stats,
      store_type: 'BASIC',
      is_stored: stored,
      columns: preview.columns,
      output_rows: preview.complete ? preview.rows.length : runtime?.OutputRows,
      output_bytes: bytes ?? runtime?.OutputBytes,
    });
    if (done) {
      metrics.addMetric('QueriesFinished', 'Count', 1);
      if (stats.input_bytes !== undefined) metrics.addMetric('QueryBytesScanned', 'Bytes', stats.input_bytes);
      await Promise.all(
        copies
          .filter(([from, to]) => from.bucket !== to.bucket || from.key !== to.key)
          .map(([from]) =>
            deleteObject(from.key, from.bucket).catch((error: unknown) =>
              logger.warn('could not remove a staged Athena result', {
                key: from.key,
                error: error as Error,
              }),
            ),
          ),
      );
      return done;
    }
    const now = await reread(item);
    if (now.state !== 'FINISHED') {
      // Aborted while the files were copied: the record does not claim them, so neither does S3.
      await Promise.all([
        deleteObject(previewKey(item.query_id)),
        ...(stored
          ? [deleteObject(result.key, result.bucket), deleteObject(metadata.key, metadata.bucket)]
          : []),
      ]);
    }
    return now;
  }

  /** Columns and the first rows; Athena's first row of a SELECT result repeats the column names. */
  private async readResults(executionId: string, statementType: string | undefined): Promise<ResultPreview> {
    let columns: ResultColumn[] = [];
    const rows: Array<Array<string | null>> = [];
    let token: string | undefined;
    let first = true;
    let truncated = false;
    do {
      const header = first && statementType === 'DML' ? 1 : 0;
      const page = await this.client.send(
        new GetQueryResultsCommand({
          QueryExecutionId: executionId,
          MaxResults: Math.min(1000, PREVIEW_ROWS - rows.length + header),
          ...(token ? { NextToken: token } : {}),
        }),
      );
      if (first) columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map(columnOf);
      for (const row of (page.ResultSet?.Rows ?? []).slice(header)) {
        if (rows.length >= PREVIEW_ROWS) {
          truncated = true;
          break;
        }
        rows.push((row.Data ?? []).map((d) => d.VarCharValue ?? null));
      }
      first = false;
      token = page.NextToken;
    } while (token && rows.length < PREVIEW_ROWS);
    return { columns, rows, complete: !token && !truncated };
  }

  /** Row and byte counts of a result larger than its preview (unknown if Athena has none). */
  private async runtimeRows(executionId: string) {
    try {
      const out = await this.client.send(
        new GetQueryRuntimeStatisticsCommand({ QueryExecutionId: executionId }),
      );
      return out.QueryRuntimeStatistics?.Rows;
    } catch (error) {
      logger.warn('no runtime statistics for the Athena execution', { executionId, error: error as Error });
      return undefined;
    }
  }
}

async function reread(item: QueryItem): Promise<QueryItem> {
  return (await findQuery(item.query_id)) ?? item;
}

/** Times and bytes of an ended execution, in the record's terms. */
function statsOf(item: QueryItem, execution: QueryExecution): Partial<QueryItem> {
  const s = execution.Statistics ?? {};
  const completed = execution.Status?.CompletionDateTime?.getTime() ?? Date.now();
  const patch: Partial<QueryItem> = { completed_at: completed };
  if (s.DataScannedInBytes !== undefined) patch.input_bytes = s.DataScannedInBytes;
  // Name resolution (recorded at submit) plus Athena's own planning.
  if (s.QueryPlanningTimeInMillis !== undefined)
    patch.planning_ms = (item.planning_ms ?? 0) + s.QueryPlanningTimeInMillis;
  const running =
    s.EngineExecutionTimeInMillis ??
    (s.TotalExecutionTimeInMillis !== undefined
      ? s.TotalExecutionTimeInMillis - (s.QueryQueueTimeInMillis ?? 0)
      : undefined);
  // The run began when it left Athena's queue: execution time = engine time, queued time = the rest.
  if (running !== undefined) patch.started_at = Math.max(item.created_at, completed - running);
  return patch;
}

/** Athena's reason, with the Glue names put back as the user wrote them. */
export function failureMessage(execution: QueryExecution, names: Record<string, string>): string {
  let message =
    execution.Status?.StateChangeReason ??
    execution.Status?.AthenaError?.ErrorMessage ??
    'The query failed in Athena without a reason.';
  for (const [ref, written] of Object.entries(names)) {
    const [db, table] = ref.split('.').map((part) => part.slice(1, -1).replaceAll('""', '"'));
    for (const form of [`${ATHENA_CATALOG.toLowerCase()}.${db}.${table}`, ref, `${db}.${table}`]) {
      message = message.split(form).join(written);
    }
  }
  return message.slice(0, MAX_ERROR_LENGTH);
}

/**
 * Copies one object server side; answers its size, or undefined when there is nothing to copy.
 * A source already gone while the target exists means another caller copied (and removed) it.
 */
async function copyObject(from: S3Location, to: S3Location): Promise<number | undefined> {
  let size: number;
  try {
    size =
      (await platform().stores.s3.send(new HeadObjectCommand({ Bucket: from.bucket, Key: from.key })))
        .ContentLength ?? 0;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      return (
        (await platform().stores.s3.send(new HeadObjectCommand({ Bucket: to.bucket, Key: to.key })))
          .ContentLength ?? 0
      );
    } catch (inner) {
      if (isNotFound(inner)) return undefined;
      throw inner;
    }
  }
  if (from.bucket === to.bucket && from.key === to.key) return size;
  await copyAnySize(from, to, size, { contentType: 'text/csv; charset=utf-8' });
  return size;
}

export function createAthenaEngine(client: AthenaClient, config: AthenaEngineConfig): AthenaQueryEngine {
  return new AthenaQueryEngine(client, config);
}

/**
 * Brings the query of an Athena execution up to date: the query-events Lambda calls it for each
 * state change of the workgroup. Answers the record, or undefined for an execution that is not
 * a Sluice query. Errors propagate, so EventBridge retries the event.
 */
export function syncQueryExecution(
  executionId: string,
  engine = platform().queryEngine as AthenaQueryEngine,
): Promise<QueryItem | undefined> {
  return engine.syncExecution(executionId);
}

/**
 * `batches ls|show|watch|stop|rerun`. A batch is named by its id (`batch-…`), or by its
 * pipeline and id, or by its pipeline alone for the latest one. `watch` redraws the steps with
 * their state and per-partition row offsets until the batch ends; only `completed` exits 0.
 */
import type { Command } from 'commander';
import type { SluiceClient } from '../../index.ts';
import { action, type Ctx, positiveInteger, sleep } from '../context.ts';
import { liveBlock } from '../live.ts';
import { type Colour, type Output, UnsuccessfulEnd } from '../output.ts';
import { pipelineId } from '../refs.ts';
import { answer, type Batch, type DhubList, itemsOf, type Step } from '../shapes.ts';

export const TERMINAL = ['completed', 'failed', 'stop'];

/** The batch a `<ref> [batch]` pair names. */
export async function findBatch(client: SluiceClient, ref: string, batch?: string): Promise<Batch> {
  if (batch !== undefined) {
    const pipeline = await pipelineId(client, ref);
    return answer(
      await client.api.GET('/api/v1/batches/{pipeline_id}/{batch_id}', {
        params: { path: { pipeline_id: pipeline, batch_id: batch } },
      }),
    );
  }
  const batchRef = /^batch-/.test(ref) ? ref : await pipelineId(client, ref);
  return answer(
    await client.api.GET('/api/v1/batches/{batch_ref}', { params: { path: { batch_ref: batchRef } } }),
  );
}

async function readBatch(client: SluiceClient, pipeline: string, batch: string): Promise<Batch> {
  return answer(
    await client.api.GET('/api/v1/batches/{pipeline_id}/{batch_id}', {
      params: { path: { pipeline_id: pipeline, batch_id: batch } },
    }),
  );
}

const STEP_COLOURS: Record<string, Colour> = {
  success: 'green',
  completed: 'green',
  failed: 'red',
  running: 'yellow',
  stop: 'red',
  pending: 'gray',
  none: 'gray',
};
const STEP_MARKS: Record<string, string> = {
  success: '✔',
  completed: '✔',
  failed: '✖',
  stop: '■',
  running: '▶',
  pending: '○',
  scheduled: '○',
  none: '·',
};

export function offsetsText(step: Step): string {
  const entries = Object.entries(step.offsets ?? {}).sort(([a], [b]) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  if (entries.length === 0) return '';
  const rows = entries.reduce((sum, [, n]) => sum + n, 0);
  const parts = entries.map(
    ([partition, n]) => `${partition.replace(/^partition_/, 'p')}=${n.toLocaleString('en-US')}`,
  );
  return `${rows.toLocaleString('en-US')} rows (${parts.join(' ')})`;
}

function elapsed(batch: Batch): string {
  if (!batch.started_at) return '';
  const end = batch.finished_at ? Date.parse(batch.finished_at) : Date.now();
  const seconds = Math.max(0, Math.round((end - Date.parse(batch.started_at)) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The batch as the terminal shows it: a header line and one line per step. */
export function renderBatch(out: Output, batch: Batch): string {
  const steps = Object.entries(batch.state?.steps ?? {});
  const width = Math.max(4, ...steps.map(([name]) => name.length));
  const header =
    `Batch ${batch.id} of ${batch.name ?? batch.pipeline_id}` +
    `${batch.pipeline_version ? ` v${batch.pipeline_version}` : ''}: ` +
    `${out.paint(STEP_COLOURS[batch.status] ?? 'cyan', batch.status)}  ${elapsed(batch)}`;
  const lines = steps.map(([name, step]) => {
    const colour = STEP_COLOURS[step.state] ?? 'cyan';
    const mark = out.paint(colour, STEP_MARKS[step.state] ?? '?');
    return `  ${mark} ${name.padEnd(width)}  ${out.paint(colour, step.state.padEnd(8))}  ${offsetsText(step)}`;
  });
  return [header, ...(lines.length ? lines : ['  (no steps)'])].join('\n');
}

function ended(out: Output, batch: Batch): void {
  if (batch.status !== 'completed') {
    const detail = batch.error
      ? `: ${typeof batch.error === 'string' ? batch.error : JSON.stringify(batch.error)}`
      : '';
    throw new UnsuccessfulEnd(`Batch ${batch.id} ended ${batch.status}${detail}`);
  }
  out.note(`Batch ${batch.id} completed.`);
}

/** Polls the batch until it ends, showing its steps; throws unless it completed. */
export async function watchBatch(ctx: Ctx, first: Batch, intervalMs: number): Promise<Batch> {
  const client = ctx.client();
  const block = ctx.out.interactive ? liveBlock() : undefined;
  const seen = new Map<string, string>();
  let batch = first;
  for (;;) {
    if (block) block.draw(renderBatch(ctx.out, batch));
    else if (!ctx.out.json) {
      // One line per change, for logs: the batch's state and each step's state and rows.
      const lines = [
        [`batch`, batch.status] as const,
        ...Object.entries(batch.state?.steps ?? {}).map(
          ([name, step]) => [name, `${step.state} ${offsetsText(step)}`.trim()] as const,
        ),
      ];
      for (const [name, text] of lines) {
        if (seen.get(name) !== text) {
          seen.set(name, text);
          ctx.out.line(name === 'batch' ? `${batch.id}: ${text}` : `  ${name}: ${text}`);
        }
      }
    }
    if (TERMINAL.includes(batch.status)) break;
    await sleep(intervalMs);
    batch = await readBatch(client, batch.pipeline_id, batch.id);
  }
  if (ctx.out.json) ctx.out.line(JSON.stringify(batch, null, 2));
  ended(ctx.out, batch);
  return batch;
}

function showBatch(ctx: Ctx, batch: Batch): void {
  ctx.out.result(batch, () => ctx.out.line(renderBatch(ctx.out, batch)));
}

export function registerBatches(program: Command): void {
  const batches = program
    .command('batches')
    .description(
      'Batches (D.Hub): runs of pipelines. <ref> is a batch id, or a pipeline (id or name) for its latest batch',
    );

  batches
    .command('ls <pipeline>')
    .description("List a pipeline's batches, newest first")
    .option('--limit <n>', 'how many', positiveInteger('--limit'), 20)
    .action(
      action(async (ctx, pipeline: string, options: { limit: number }) => {
        const client = ctx.client();
        const id = await pipelineId(client, pipeline);
        const { data } = await client.api.GET('/api/v1/batches/{proxy}', {
          params: { path: { proxy: id }, query: { limit: options.limit } },
          // The list is the pipeline's path with a trailing slash, which a path parameter cannot carry.
          pathSerializer: (path: string) => path.replace('{proxy}', `${encodeURIComponent(id)}/`),
        });
        const list = itemsOf<Batch>(data as DhubList);
        ctx.out.result(list, () =>
          ctx.out.table(
            ['id', 'status', 'version', 'started_at', 'finished_at'],
            list.map((b) => [
              b.id,
              ctx.out.paint(STEP_COLOURS[b.status] ?? 'cyan', b.status),
              b.pipeline_version,
              b.started_at,
              b.finished_at,
            ]),
          ),
        );
      }),
    );

  batches
    .command('show <ref> [batch]')
    .description('Show a batch with its steps')
    .action(
      action(async (ctx, ref: string, batch: string | undefined) => {
        showBatch(ctx, await findBatch(ctx.client(), ref, batch));
      }),
    );

  batches
    .command('watch <ref> [batch]')
    .description('Follow a batch until it ends; exit code 0 only when it completed')
    .option('--interval <ms>', 'how often to poll', positiveInteger('--interval'), 500)
    .action(
      action(async (ctx, ref: string, batch: string | undefined, options: { interval: number }) => {
        await watchBatch(ctx, await findBatch(ctx.client(), ref, batch), options.interval);
      }),
    );

  batches
    .command('stop <ref> [batch]')
    .description('Stop a running batch')
    .action(
      action(async (ctx, ref: string, batchArg: string | undefined) => {
        const client = ctx.client();
        const batch = await findBatch(client, ref, batchArg);
        const { data } = await client.api.PUT('/api/v1/batches/{pipeline_id}/{batch_id}/stop', {
          params: { path: { pipeline_id: batch.pipeline_id, batch_id: batch.id } },
        });
        ctx.out.result(data, () => ctx.out.line(`Stopped batch ${batch.id}.`));
      }),
    );

  batches
    .command('rerun <ref> [batch]')
    .description('Run a failed batch again, reusing its succeeded stages that are unchanged')
    .option('--version <n>', 'pipeline version to run (default: the latest)', positiveInteger('--version'))
    .option('--watch', 'follow the new batch until it ends')
    .option('--interval <ms>', 'how often to poll with --watch', positiveInteger('--interval'), 500)
    .action(
      action(
        async (
          ctx,
          ref: string,
          batchArg: string | undefined,
          options: { version?: number; watch?: boolean; interval: number },
        ) => {
          const client = ctx.client();
          const batch = await findBatch(client, ref, batchArg);
          const rerun = answer(
            await client.api.POST('/api/v1/batches/{pipeline_id}/{batch_id}/rerun', {
              params: {
                path: { pipeline_id: batch.pipeline_id, batch_id: batch.id },
                query: options.version ? { pipeline_version: options.version } : {},
              },
            }),
          );
          if (options.watch) {
            await watchBatch(ctx, rerun, options.interval);
            return;
          }
          ctx.out.result(rerun, () => ctx.out.line(`Started batch ${rerun.id} (rerun of ${batch.id}).`));
        },
      ),
    );
}

/** `pipelines ls|show|create|run|plan`. */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { action, positiveInteger } from '../context.ts';
import { UsageError } from '../output.ts';
import { collectionId, listPipelines, pipelineId } from '../refs.ts';
import { answer } from '../shapes.ts';
import { watchBatch } from './batches.ts';

/** `--param key=value`, repeatable, into the run's parameters. */
function collectParam(raw: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('--param takes key=value.');
  return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readNodes(path: string): Promise<unknown[]> {
  const text =
    path === '-'
      ? await readStdin()
      : await readFile(path, 'utf8').catch(() => {
          throw new UsageError(`Cannot read ${path}`);
        });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
  const nodes = Array.isArray(parsed) ? parsed : (parsed as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes)) throw new UsageError(`${path} must hold a list of nodes or {"nodes": [...]}`);
  return nodes;
}

export function registerPipelines(program: Command): void {
  const pipelines = program
    .command('pipelines')
    .description('Pipelines (D.Hub): DAGs of nodes run as batches');

  pipelines
    .command('ls')
    .description('List the pipelines')
    .action(
      action(async (ctx) => {
        const all = await listPipelines(ctx.client());
        ctx.out.result(all, () =>
          ctx.out.table(
            ['id', 'name', 'version', 'status', 'collection_id', 'updated_at'],
            all.map((p) => [p.id, p.name, p.version, p.status, p.collection_id, p.updated_at]),
          ),
        );
      }),
    );

  pipelines
    .command('show <pipeline>')
    .description('Show a pipeline and its nodes (id or name)')
    .action(
      action(async (ctx, pipeline: string) => {
        const client = ctx.client();
        const p = answer(
          await client.api.GET('/api/v1/pipelines/{pipeline_id}', {
            params: { path: { pipeline_id: await pipelineId(client, pipeline) } },
          }),
        );
        ctx.out.result(p, () => {
          ctx.out.record([
            ['id', p.id],
            ['name', p.name],
            ['version', p.version],
            ['status', p.status],
            ['collection_id', p.collection_id],
            ['updated_at', p.updated_at],
          ]);
          ctx.out.table(
            ['node', 'name', 'type', 'after'],
            (p.nodes ?? []).map((n) => [n.id, n.name, n.type, (n.parentNodeIds ?? []).join(', ')]),
          );
          for (const problem of p.problems ?? [])
            ctx.out.line(ctx.out.paint('red', `problem: ${problem.message}`));
        });
      }),
    );

  pipelines
    .command('create <name>')
    .description('Create a pipeline in a collection, with nodes from a JSON file (or none)')
    .requiredOption('-c, --collection <collection>', 'collection id or name')
    .option('--nodes <file>', 'JSON file with the nodes (a list, or {"nodes": [...]}); - reads stdin')
    .option('-d, --description <text>', 'what it does')
    .action(
      action(
        async (ctx, name: string, options: { collection: string; nodes?: string; description?: string }) => {
          const client = ctx.client();
          const nodes = options.nodes ? await readNodes(options.nodes) : [];
          const p = answer(
            await client.api.POST('/api/v1/pipelines', {
              body: {
                name,
                collection_id: await collectionId(client, options.collection),
                nodes,
                ...(options.description !== undefined ? { description: options.description } : {}),
              },
            }),
          );
          ctx.out.result(p, () => {
            ctx.out.line(`Created pipeline ${p.id} (${p.name}) version ${p.version}: ${p.status}`);
            for (const problem of p.problems ?? [])
              ctx.out.line(ctx.out.paint('red', `problem: ${problem.message}`));
          });
        },
      ),
    );

  pipelines
    .command('run <pipeline>')
    .description('Start a batch of a pipeline (id or name)')
    .option('--version <n>', 'pipeline version (default: the latest)', positiveInteger('--version'))
    .option('--param <key=value>', 'a run parameter (repeatable)', collectParam)
    .option('--watch', 'follow the batch until it ends (exit code 0 only when it completed)')
    .option('--interval <ms>', 'how often to poll with --watch', positiveInteger('--interval'), 500)
    .action(
      action(
        async (
          ctx,
          pipeline: string,
          options: { version?: number; param?: Record<string, string>; watch?: boolean; interval: number },
        ) => {
          const client = ctx.client();
          const id = await pipelineId(client, pipeline);
          const started = answer(
            await client.api.POST('/api/v1/pipelines/{pipeline_id}/run', {
              params: { path: { pipeline_id: id } },
              body: {
                ...(options.param ? { parameters: options.param } : {}),
                ...(options.version ? { pipeline_version: options.version } : {}),
              },
            }),
          );
          if (options.watch) {
            const batch = answer(
              await client.api.GET('/api/v1/batches/{pipeline_id}/{batch_id}', {
                params: { path: { pipeline_id: id, batch_id: started.batch_id } },
              }),
            );
            await watchBatch(ctx, batch, options.interval);
            return;
          }
          ctx.out.result(started, () =>
            ctx.out.line(
              `Started batch ${started.batch_id}; follow it with: sluice batches watch ${started.batch_id}`,
            ),
          );
        },
      ),
    );

  pipelines
    .command('plan <pipeline>')
    .description(
      "Show how a pipeline version runs: its stages, each stage's nodes and engine, and why stages split",
    )
    .option('--version <n>', 'pipeline version (default: the latest)', positiveInteger('--version'))
    .action(
      action(async (ctx, pipeline: string, options: { version?: number }) => {
        const client = ctx.client();
        const id = await pipelineId(client, pipeline);
        let version = options.version;
        if (version === undefined) {
          version = answer(
            await client.api.GET('/api/v1/pipelines/{pipeline_id}', {
              params: { path: { pipeline_id: id } },
            }),
          ).version;
        }
        const plan = answer(
          await client.api.GET('/api/v1/pipelines/{pipeline_id}/versions/{version}/plan', {
            params: { path: { pipeline_id: id, version } },
          }),
        );
        ctx.out.result(plan, () => {
          ctx.out.line(`Plan of ${plan.pipeline_id} version ${plan.version}:`);
          ctx.out.table(
            ['stage', 'engine', 'after', 'nodes', 'why it is a stage'],
            plan.stages.map((s) => [
              s.id,
              s.engine,
              s.after.join(', '),
              s.nodes.map((n) => `${n.name} (${n.type})`).join('\n'),
              (s.boundaries ?? []).map((b) => b.reason).join(', '),
            ]),
          );
        });
      }),
    );
}

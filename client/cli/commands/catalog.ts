/** `collections ls|create`, `datasets ls|create` and `table`. */
import type { Command } from 'commander';
import { action, positiveInteger } from '../context.ts';
import { collectionId, datasetId, listCollections, listDatasets } from '../refs.ts';
import { answer, type TablePage } from '../shapes.ts';

export function registerCatalog(program: Command): void {
  const collections = program.command('collections').description('Collections (D.Hub): groups of datasets');
  collections
    .command('ls')
    .description('List the collections')
    .action(
      action(async (ctx) => {
        const all = await listCollections(ctx.client());
        ctx.out.result(all, () =>
          ctx.out.table(
            ['id', 'name', 'description', 'created_at'],
            all.map((c) => [c.id, c.name, c.description, c.created_at]),
          ),
        );
      }),
    );
  collections
    .command('create <name>')
    .description('Create a collection')
    .option('-d, --description <text>', 'what it holds')
    .action(
      action(async (ctx, name: string, options: { description?: string }) => {
        const created = answer(
          await ctx.client().api.POST('/api/v1/collections', {
            body: {
              name,
              ...(options.description !== undefined ? { description: options.description } : {}),
            },
          }),
        );
        ctx.out.result(created, () =>
          ctx.out.record([
            ['id', created.id],
            ['name', created.name],
            ['description', created.description],
            ['created_at', created.created_at],
          ]),
        );
      }),
    );

  const datasets = program.command('datasets').description('Datasets (D.Hub): typed, versioned tables');
  datasets
    .command('ls')
    .description('List the datasets, of one collection or all')
    .option('-c, --collection <collection>', 'collection id or name')
    .action(
      action(async (ctx, options: { collection?: string }) => {
        const client = ctx.client();
        const inCollection = options.collection ? await collectionId(client, options.collection) : undefined;
        const all = await listDatasets(client, inCollection);
        ctx.out.result(all, () =>
          ctx.out.table(
            ['id', 'name', 'collection_id', 'version', 'rows', 'columns'],
            all.map((d) => [d.id, d.name, d.collection_id, d.current_version, d.total_rows, d.column_count]),
          ),
        );
      }),
    );
  datasets
    .command('create <name>')
    .description('Create a dataset in a collection')
    .requiredOption('-c, --collection <collection>', 'collection id or name')
    .option('-d, --description <text>', 'what it holds')
    .action(
      action(async (ctx, name: string, options: { collection: string; description?: string }) => {
        const client = ctx.client();
        const created = answer(
          await client.api.POST('/api/v1/datasets', {
            body: {
              name,
              collection_id: await collectionId(client, options.collection),
              ...(options.description !== undefined ? { description: options.description } : {}),
            },
          }),
        );
        ctx.out.result(created, () =>
          ctx.out.record([
            ['id', created.id],
            ['name', created.name],
            ['collection_id', created.collection_id],
            ['created_at', created.created_at],
          ]),
        );
      }),
    );

  program
    .command('table <dataset>')
    .description("Show a page of a dataset's current version, or download it as CSV")
    .option('-c, --collection <collection>', 'collection of a dataset given by name')
    .option('--page <n>', 'page number, from 1', positiveInteger('--page'))
    .option('--page-size <n>', 'rows per page (at most 1000)', positiveInteger('--page-size'))
    .option('--csv', 'print CSV: the whole table, or the page given with --page')
    .action(
      action(
        async (
          ctx,
          dataset: string,
          options: { collection?: string; page?: number; pageSize?: number; csv?: boolean },
        ) => {
          const client = ctx.client();
          const id = await datasetId(client, dataset, options.collection);
          const paged = options.page !== undefined || options.pageSize !== undefined;
          if (options.csv) {
            const { data } = await client.api.GET('/api/v1/tables/{dataset_id}', {
              params: {
                path: { dataset_id: id },
                query: {
                  format: 'csv',
                  ...(paged ? { page: options.page ?? 1, page_size: options.pageSize ?? 10 } : {}),
                },
              },
              parseAs: 'text',
            });
            process.stdout.write(String(data ?? ''));
            return;
          }
          const page = options.page ?? 1;
          const pageSize = options.pageSize ?? 20;
          const table = answer(
            await client.api.GET('/api/v1/tables/{dataset_id}', {
              params: { path: { dataset_id: id }, query: { page, page_size: pageSize } },
            }),
          ) as TablePage;
          ctx.out.result(table, () => {
            ctx.out.table(table.columns, table.data);
            const pages = Math.max(1, Math.ceil(table.total_rows / pageSize));
            ctx.out.line(
              ctx.out.paint(
                'gray',
                `page ${page} of ${pages} · ${table.total_rows} rows${table.version ? ` · version ${table.version}` : ''}`,
              ),
            );
          });
        },
      ),
    );
}

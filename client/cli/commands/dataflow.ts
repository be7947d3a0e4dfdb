/** `jobs ls`, `workflows ls`, `triggers ls`: the Data Flow family's lists. */
import type { Command } from 'commander';
import { action } from '../context.ts';
import { answer } from '../shapes.ts';

export function registerDataFlow(program: Command): void {
  program
    .command('jobs')
    .description('Jobs (Data Flow): pipelines seen as jobs')
    .command('ls')
    .description('List the jobs')
    .option('--name <name>', 'only jobs whose name contains this')
    .action(
      action(async (ctx, options: { name?: string }) => {
        const { list } = answer(
          await ctx.client().api.GET('/api/v1/jobs', {
            params: { query: { page: 0, limit: 1000, ...(options.name ? { name: options.name } : {}) } },
          }),
        );
        ctx.out.result(list, () =>
          ctx.out.table(
            ['jobId', 'name', 'status', 'last run', 'last run at'],
            list.map((j) => [j.jobId, j.name, j.status, j.lastExecutionStatus, j.lastExecutionDate]),
          ),
        );
      }),
    );

  program
    .command('workflows')
    .description('Workflows (Data Flow): DAGs of jobs and triggers')
    .command('ls')
    .description('List the workflows')
    .action(
      action(async (ctx) => {
        const { list } = answer(
          await ctx.client().api.GET('/api/v1/workflows', { params: { query: { page: 0, limit: 1000 } } }),
        );
        ctx.out.result(list, () =>
          ctx.out.table(
            ['workflowId', 'name', 'status', 'nodes', 'updated'],
            list.map((w) => [w.workflowId, w.name, w.status, w.nodes?.length, w.updatedDate]),
          ),
        );
      }),
    );

  program
    .command('triggers')
    .description('Triggers (Data Flow): schedules and event rules')
    .command('ls')
    .description('List the triggers')
    .action(
      action(async (ctx) => {
        const { list } = answer(
          await ctx.client().api.GET('/api/v1/triggers', { params: { query: { page: 0, limit: 1000 } } }),
        );
        ctx.out.result(list, () =>
          ctx.out.table(
            ['triggerId', 'name', 'type', 'enabled', 'schedule', 'next run'],
            list.map((t) => [t.triggerId, t.name, t.type, t.enabled, t.scheduleExpression, t.nextRunDate]),
          ),
        );
      }),
    );
}

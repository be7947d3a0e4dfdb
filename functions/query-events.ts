/**
 * The query-events Lambda: an EventBridge rule sends it the state changes of the deployment's
 * Athena workgroup, and it brings the matching query's record up to date (state, stats, result
 * files, preview). Reading a query does the same, so a lost event only delays the update; an
 * event that does not parse (queryStateChangeSchema) is logged and dropped, as a retry would
 * bring the same event.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { dropMalformed, type QueryStateChange, queryStateChangeSchema } from '#core/event-schemas';
import { logger, publishMetrics, tracer } from '#core/observability';
import { athenaQueryEngine } from '#core/platform/aws/query';
import { awsStores } from '#core/platform/aws/stores';
import { onAws } from '#core/platform/lambda';
import { syncQueryExecution } from '#core/query/athena';

export type QueryStateChangeEvent = QueryStateChange;

export const handler = onAws(
  { stores: awsStores, queryEngine: athenaQueryEngine },
  middy(async (event: QueryStateChangeEvent) => {
    const { queryExecutionId, currentState } = event.detail;
    logger.appendKeys({ executionId: queryExecutionId });
    const item = await syncQueryExecution(queryExecutionId);
    if (item)
      logger.info('query updated from Athena', {
        queryId: item.query_id,
        athenaState: currentState,
        state: item.state,
      });
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .use(publishMetrics())
    .use(parser({ schema: queryStateChangeSchema, errorHandler: dropMalformed('query-events', null) })),
);

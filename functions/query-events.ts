/**
 * The query-events Lambda: an EventBridge rule sends it the state changes of the deployment's
 * Athena workgroup, and it brings the matching query's record up to date (state, stats, result
 * files, preview). Reading a query does the same, so a lost event only delays the update.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { logger, publishMetrics, tracer } from '#core/observability';
import { onAws } from '#core/platform/lambda';
import { syncQueryExecution } from '#core/query/athena';

/** The `detail` of an "Athena Query State Change" event. */
export interface QueryStateChangeDetail {
  queryExecutionId: string;
  currentState: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  previousState?: string;
  workgroupName: string;
  statementType?: string;
  sequenceNumber?: string;
  versionId?: string;
}

export type QueryStateChangeEvent = EventBridgeEvent<'Athena Query State Change', QueryStateChangeDetail>;

export const handler = onAws(
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
    .use(publishMetrics()),
);

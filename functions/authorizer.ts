/**
 * API Gateway Lambda authorizer (HTTP API, payload 2.0, simple responses). It authenticates
 * and always lets the request through with its verdict in the context; the area handler then
 * answers 401/403 as problem+json. HTTP APIs cannot reshape an authorizer's own denial (it
 * would be a bare 403 `{"message":"Forbidden"}`), and this keeps both hosts identical.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { authenticate } from '#core/auth/authenticate';
import type { AuthContext } from '#core/auth/principal';
import { logger } from '#core/observability';
import { secretsManager } from '#core/platform/aws/secrets';
import { awsTable } from '#core/platform/aws/table';
import { onAws } from '#core/platform/lambda';
import { requireJwtKey } from '#core/settings';

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<AuthContext>;

async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  const context = await authenticate(event.headers ?? {});
  if (context.denied) logger.info('request not authenticated', { route: event.routeKey });
  return { isAuthorized: true, context };
}

export const handler = onAws(
  { stores: awsTable, secrets: secretsManager },
  (on) => requireJwtKey(on.settings.auth),
  middy(authorize).use(injectLambdaContext(logger, { resetKeys: true })),
);

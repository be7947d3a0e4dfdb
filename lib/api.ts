/**
 * The public HTTP API, built from the route table (`functions/core/routes.ts`): one Lambda
 * per area with one integration each, one route per table entry, the Lambda authorizer on
 * every route but the public ones, and a `$default` route that answers 404/405.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SWAGGER_UI_PACKAGE_FILES } from '#core/docs/assets';
import { AREAS, type Area, ROUTES, type RouteDef, routeKey } from '#core/routes';
import { SETTING } from '#core/setting-names';
import { type AccessResources, grantAccess } from './access.ts';
import { functionEntry, SluiceFunction } from './function.ts';

interface AreaSettings {
  readonly description: string;
  readonly memorySize: number;
  /** At most 29 s: API Gateway stops waiting for an integration after 30 s. */
  readonly timeout: Duration;
  readonly nativeDuckDb?: boolean;
  /** Installed package files the handler reads at run time (SluiceFunction `packageFiles`). */
  readonly packageFiles?: Readonly<Record<string, readonly string[]>>;
}

/** Sizing per area; everything else comes from SluiceFunction. */
export const AREA_SETTINGS: Readonly<Record<Area, AreaSettings>> = {
  health: { description: 'GET /health', memorySize: 256, timeout: Duration.seconds(10) },
  // Password checks (scrypt) are CPU bound: memory buys CPU.
  auth: {
    description: 'Login, tokens, service credentials',
    memorySize: 1024,
    timeout: Duration.seconds(15),
  },
  users: { description: 'User administration', memorySize: 1024, timeout: Duration.seconds(15) },
  catalog: { description: 'Collections and datasets', memorySize: 512, timeout: Duration.seconds(29) },
  tables: {
    description: 'Table pages, schemas, versions, upload URLs',
    memorySize: 1024,
    timeout: Duration.seconds(29),
  },
  ingest: {
    description: 'Direct (multipart) table uploads',
    memorySize: 2048,
    timeout: Duration.seconds(29),
    nativeDuckDb: true,
  },
  // Compiles pipelines to ASL and calls Step Functions; no DuckDB (the step worker runs nodes).
  pipelines: {
    description: 'Pipelines, batches and traces',
    memorySize: 1024,
    timeout: Duration.seconds(29),
  },
  // Queries run on Athena; the function submits them and serves results (no DuckDB).
  query: {
    description: 'Data Query: SQL over datasets, results, history, data sources',
    memorySize: 1024,
    timeout: Duration.seconds(29),
  },
  // Data Flow views of the pipeline store: same stores and engine rights as `pipelines`.
  jobs: {
    description: 'Data Flow jobs, executions and dashboard stats',
    memorySize: 1024,
    timeout: Duration.seconds(29),
  },
  workflows: {
    description: 'Data Flow workflows and their executions',
    memorySize: 1024,
    timeout: Duration.seconds(29),
  },
  triggers: {
    description: 'Data Flow triggers (schedules and event rules)',
    memorySize: 512,
    timeout: Duration.seconds(29),
  },
  // The bundled OpenAPI document, and Swagger UI's style sheet and bundle read from the copy of
  // swagger-ui-dist shipped beside the function's bundle (no CDN).
  docs: {
    description: 'OpenAPI document and Swagger UI',
    memorySize: 256,
    timeout: Duration.seconds(10),
    packageFiles: { 'swagger-ui-dist': SWAGGER_UI_PACKAGE_FILES },
  },
  fallback: {
    description: 'Unmatched requests: 404/405 problem+json',
    memorySize: 128,
    timeout: Duration.seconds(5),
  },
};

/**
 * JSON access log lines with HTTP API context variables: who, which route, what status and
 * how long; never headers, query strings or payloads. (`AccessLogFormat.jsonWithStandardFields()`
 * is built for REST APIs: its `$context.resourcePath` does not exist on HTTP APIs.)
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    requestTime: '$context.requestTime',
    httpMethod: '$context.httpMethod',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationLatency: '$context.integrationLatency',
    authorizerError: '$context.authorizer.error',
  }),
);

export interface SluiceApiProps {
  readonly resources: AccessResources;
  /** Steady-state requests per second for the whole stage. */
  readonly throttlingRateLimit: number;
  /** Burst capacity for the whole stage. */
  readonly throttlingBurstLimit: number;
  readonly logRetention: RetentionDays;
}

export class SluiceApi extends Construct {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  public readonly authorizerFunction: SluiceFunction;
  public readonly areaFunctions: Readonly<Record<Area, SluiceFunction>>;
  /** Routes by route key (`GET /health`), plus `$default`. */
  public readonly routes: ReadonlyMap<string, HttpRoute>;
  /** Base URL of the API (the `$default` stage), ending in `/`. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: SluiceApiProps) {
    super(scope, id);

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Sluice data hub API',
      createDefaultStage: false,
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttlingRateLimit, burstLimit: props.throttlingBurstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });
    this.url = this.stage.url;

    this.authorizerFunction = new SluiceFunction(this, 'AuthorizerFunction', {
      entry: functionEntry('authorizer'),
      description: 'Sluice: API authorizer (JWT or service credentials)',
      memorySize: 512,
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
    });
    grantAccess('authorizer', this.authorizerFunction, props.resources);
    // No identity source and no cache: credentials come either as Authorization or as
    // Credential-ID/Credential-Secret, and a required identity source would make API Gateway
    // reject the other form before the authorizer runs.
    const authorizer = new HttpLambdaAuthorizer('Authorizer', this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [],
      resultsCacheTtl: Duration.seconds(0),
    });

    const areaFunctions = {} as Record<Area, SluiceFunction>;
    const integrations = {} as Record<Area, HttpLambdaIntegration>;
    for (const area of AREAS) {
      const settings = AREA_SETTINGS[area];
      const fn = new SluiceFunction(this, `${pascal(area)}Function`, {
        entry: functionEntry(area),
        description: `Sluice ${area}: ${settings.description}`,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        nativeDuckDb: settings.nativeDuckDb ?? false,
        ...(settings.packageFiles ? { packageFiles: settings.packageFiles } : {}),
        logRetention: props.logRetention,
      });
      grantAccess(area, fn, props.resources);
      areaFunctions[area] = fn;
      integrations[area] = new HttpLambdaIntegration(`${pascal(area)}Integration`, fn);
    }
    this.areaFunctions = areaFunctions;
    // The API is HTTPS only: the refresh cookie is always Secure.
    areaFunctions.auth.addEnvironment(SETTING.secureCookies, 'true');

    for (const fn of [this.authorizerFunction, ...Object.values(areaFunctions)]) {
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously by API Gateway: a failure is returned to the caller as a problem+json ' +
          'response, and Lambda dead-letter queues only apply to asynchronous invocations.',
      });
    }

    const routes = new Map<string, HttpRoute>();
    for (const route of ROUTES) {
      const key = routeKey(route);
      if (routes.has(key)) throw new Error(`Duplicate route in the route table: ${key}`);
      const isPublic = route.access === 'public';
      const httpRoute = new HttpRoute(this, routeConstructId(route), {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: integrations[route.area],
        ...(isPublic ? {} : { authorizer }),
      });
      if (isPublic) {
        Validations.of(httpRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${key} is public by design (${route.operation}): it is how a caller obtains or gives up credentials (a refresh token it presents), checks liveness, or reads the API's description (the OpenAPI document and its Swagger UI page hold no data); every other route goes through the Lambda authorizer.`,
        });
      }
      routes.set(key, httpRoute);
    }
    // Unmatched requests reach the fallback area, which answers 404 or 405 as problem+json.
    routes.set(
      HttpRouteKey.DEFAULT.key,
      new HttpRoute(this, 'DefaultRoute', {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.DEFAULT,
        integration: integrations.fallback,
        authorizer,
      }),
    );
    this.routes = routes;
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * `GET /api/v1/collections/{collection_id}` becomes `Route-GET-api-v1-collections-collection_id`,
 * and a greedy `GET /api/v1/batches/{proxy+}` becomes `Route-GET-api-v1-batches-proxy`.
 */
function routeConstructId(route: RouteDef): string {
  const path = route.path
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9_]+/g, '-')
    .replace(/^-|-$/g, '');
  return `Route-${route.method}-${path}`;
}

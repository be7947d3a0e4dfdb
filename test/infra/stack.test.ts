import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES, routeKey } from '#core/routes';
import { TABLE_KEYS } from '#core/table-schema';
import {
  asArray,
  environmentOf,
  policyDocument,
  policyStatements,
  resourcesOfType,
  type Statement,
  synthesize,
  synthesizeBeforeAll,
} from './synth.ts';

const synth = synthesizeBeforeAll();

const PUBLIC_ROUTE_KEYS = [
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/logout',
  'GET /health',
  // The API's description: the OpenAPI document and the Swagger UI page over it hold no data.
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/{proxy+}',
];

function routesByKey(): Map<string, Record<string, unknown>[]> {
  const byKey = new Map<string, Record<string, unknown>[]>();
  for (const route of Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route'))) {
    const props = route.Properties ?? {};
    const key = props.RouteKey as string;
    byKey.set(key, [...(byKey.get(key) ?? []), props]);
  }
  return byKey;
}

describe('HTTP API routes', () => {
  it('has every route of the route table exactly once, plus $default', () => {
    const byKey = routesByKey();
    for (const route of ROUTES) expect(byKey.get(routeKey(route))?.length, routeKey(route)).toBe(1);
    expect(byKey.get('$default')?.length).toBe(1);
    expect(byKey.size).toBe(ROUTES.length + 1);
  });

  it('treats exactly login, refresh, logout, health and the API description as public', () => {
    const expected = ROUTES.filter((r) => r.access === 'public').map(routeKey);
    expect(expected.sort()).toEqual([...PUBLIC_ROUTE_KEYS].sort());
  });

  it('puts the Lambda authorizer on every other route, $default included', () => {
    const [authorizerId] = Object.keys(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Authorizer'));
    for (const [key, [props]] of routesByKey()) {
      if (PUBLIC_ROUTE_KEYS.includes(key)) {
        expect(props?.AuthorizationType ?? 'NONE', key).toBe('NONE');
      } else {
        expect(props?.AuthorizationType, key).toBe('CUSTOM');
        expect(props?.AuthorizerId, key).toEqual({ Ref: authorizerId });
      }
    }
  });

  it('uses a simple-response authorizer without identity sources or caching', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: [],
    });
  });

  it('has one Lambda integration per area', () => {
    const areas = new Set(ROUTES.map((r) => r.area));
    // The route-table areas plus the fallback area behind $default.
    expect(Object.keys(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Integration'))).toHaveLength(
      areas.add('fallback').size,
    );
  });

  it('serves the D.Hub reference routes: traces, schema inference, dataset upload, trailing slashes', () => {
    const byKey = routesByKey();
    const target = (key: string) => byKey.get(key)?.[0]?.Target;
    for (const key of [
      'GET /api/v1/traces/pipelines/{pipeline_id}',
      'GET /api/v1/traces/pipelines/{pipeline_id}/{batch_id}',
      'GET /api/v1/traces/pipelines/{proxy+}',
      'GET /api/v1/traces/steps/{batch_id}',
      'POST /api/v1/tables/schema',
      'POST /api/v1/datasets/{dataset_id}/upload',
      'GET /api/v1/{proxy+}',
      'POST /api/v1/{proxy+}',
    ]) {
      expect(target(key), key).toBeDefined();
    }
    // The dataset upload is the tables upload (the ingest function) under another path.
    expect(target('POST /api/v1/datasets/{dataset_id}/upload')).toEqual(
      target('POST /api/v1/tables/{dataset_id}/upload'),
    );
    // Trailing-slash collection routes are served by the pipelines function.
    expect(target('POST /api/v1/{proxy+}')).toEqual(target('POST /api/v1/pipelines'));
    expect(target('GET /api/v1/traces/pipelines/{proxy+}')).toEqual(target('GET /api/v1/batches/{proxy+}'));
  });
});

describe('API stage', () => {
  it('is the only stage, $default, auto-deployed and throttled', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('writes JSON access logs without payloads to a log group with retention', () => {
    const [stage] = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Stage'));
    const settings = stage?.Properties?.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const fields = JSON.parse(settings.Format) as Record<string, string>;
    expect(fields.requestId).toBe('$context.requestId');
    expect(fields.routeKey).toBe('$context.routeKey');
    expect(settings.Format).not.toMatch(/requestBody|responseBody|\$input|header/i);
    const [logGroupId] = (settings.DestinationArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    expect(
      resourcesOfType(synth.template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays,
    ).toBe(30);
  });

  it('takes throttling from the stack props', () => {
    const custom = synthesize({ props: { throttlingRateLimit: 7, throttlingBurstLimit: 9 } }).template;
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
  });
});

describe('table', () => {
  it('is on demand, with PITR, encryption, TTL and deletion protection', () => {
    synth.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    synth.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
      }),
    });
  });

  it('has the indexes of TABLE_KEYS with ALL projection', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    });
  });
});

describe('buckets', () => {
  const buckets = () => Object.entries(resourcesOfType(synth.template, 'AWS::S3::Bucket'));

  it('block public access, encrypt at rest and are retained', () => {
    // Access logs, data, query results, the console's files and CloudFront's access logs.
    expect(buckets()).toHaveLength(5);
    for (const [id, bucket] of buckets()) {
      expect(bucket, id).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
        },
      });
    }
  });

  it('deny every request that is not TLS', () => {
    const policies = Object.values(resourcesOfType(synth.template, 'AWS::S3::BucketPolicy'));
    for (const [id] of buckets()) {
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }),
      );
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)
        ?.Statement;
      expect(
        statements?.some(
          (s) =>
            s.Effect === 'Deny' &&
            (s.Condition as { Bool?: Record<string, string> } | undefined)?.Bool?.['aws:SecureTransport'] ===
              'false',
        ),
        id,
      ).toBe(true);
    }
  });

  it('versions the data bucket, logs its access and expires what it should', () => {
    synth.template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue() },
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 7, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 30, Status: 'Enabled' }),
        ]),
      },
    });
  });

  it('turns EventBridge on without the notifications custom resource', () => {
    synth.template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });
});

describe('IAM', () => {
  const isWildcardAction = (action: string) => action === '*' || /^[a-z0-9-]+:\*$/i.test(action);

  it('allows no wildcard actions in any policy', () => {
    const documents = [
      ...policyStatements(synth.template).map(({ policy, statement }) => ({ where: policy, statement })),
      ...['AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy'].flatMap((type) =>
        Object.entries(resourcesOfType(synth.template, type)).flatMap(([id, resource]) =>
          policyDocument(resource).Statement.map((statement) => ({
            where: id,
            statement,
          })),
        ),
      ),
    ];
    for (const { where, statement } of documents) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action))
        expect(isWildcardAction(action), `${where}: ${action}`).toBe(false);
    }
  });

  it('grants "*" resources only for the X-Ray and log-delivery actions that have no resource ARNs', () => {
    for (const { policy, statement } of policyStatements(synth.template)) {
      if (!asArray(statement.Resource).includes('*')) continue;
      // The state machines' roles (pipelines, workflows) also sample traces and set up vended-log delivery.
      const expected = /^(EngineStatesRole|WorkflowsStatesRole)/.test(policy)
        ? [
            'logs:CreateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:DescribeLogGroups',
            'logs:DescribeResourcePolicies',
            'logs:GetLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:UpdateLogDelivery',
            'xray:GetSamplingRules',
            'xray:GetSamplingTargets',
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ]
        : ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
      expect(asArray(statement.Action).sort(), policy).toEqual(expected);
    }
  });

  it('attaches no managed policies to function roles', () => {
    for (const [id, role] of Object.entries(resourcesOfType(synth.template, 'AWS::IAM::Role'))) {
      expect(role.Properties?.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('scopes data bucket object permissions to its prefixes, and results objects to the query functions', () => {
    const queryRoles = ['ApiQueryFunctionRole', 'QueryQueryEventsRole'];
    for (const { policy, statement } of policyStatements(synth.template)) {
      const objectActions = asArray(statement.Action).filter((a) => /^s3:.*Object$/.test(a));
      if (objectActions.length === 0) continue;
      for (const resource of asArray(statement.Resource)) {
        const [base, suffix] = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] as [
          { 'Fn::GetAtt': [string, string] },
          string,
        ];
        const bucket = base['Fn::GetAtt'][0];
        if (bucket.startsWith('StorageDataBucket')) {
          expect(
            ['/datasets/*', '/uploads/*', '/runs/*', '/queries/*', '/datasets/*/_symlink/*'],
            policy,
          ).toContain(suffix);
        } else {
          expect(bucket, policy).toMatch(/^QueryResultsBucket/);
          expect(
            queryRoles.some((role) => policy.startsWith(role)),
            policy,
          ).toBe(true);
          expect(['/*', '/athena-staging/*'], policy).toContain(suffix);
        }
      }
    }
  });
});

describe('functions', () => {
  const functions = () => Object.entries(resourcesOfType(synth.template, 'AWS::Lambda::Function'));
  const duckDbHandlers = (id: string) =>
    id.startsWith('ApiIngestFunction') ||
    id.startsWith('UploadIngestFunction') ||
    id.startsWith('EngineStepWorker') ||
    id.startsWith('EngineLargeStepWorker');

  it('run Node 24 with active tracing, explicit memory and timeout', () => {
    expect(functions().length).toBeGreaterThanOrEqual(9);
    for (const [id, fn] of functions()) {
      const props = fn.Properties ?? {};
      expect(props.Runtime, id).toBe('nodejs24.x');
      expect(props.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(props.MemorySize, id).toEqual(expect.any(Number));
      expect(props.Timeout, id).toEqual(expect.any(Number));
      expect(props.LoggingConfig, id).toEqual({ LogGroup: { Ref: expect.any(String) } });
    }
  });

  it('run on arm64, except the DuckDB functions on x86_64', () => {
    for (const [id, fn] of functions()) {
      expect(fn.Properties?.Architectures, id).toEqual([duckDbHandlers(id) ? 'x86_64' : 'arm64']);
    }
  });

  it('log to their own log groups with retention', () => {
    for (const [, logGroup] of Object.entries(resourcesOfType(synth.template, 'AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties?.RetentionInDays).toBe(30);
    }
  });

  it('get the Powertools and source-map environment', () => {
    for (const [id, fn] of functions()) {
      const env = environmentOf(fn);
      expect(env, id).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'sluice',
        POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
      });
    }
  });

  it('give the storage settings to every function but the fallback and the docs', () => {
    for (const [id, fn] of functions()) {
      const env = environmentOf(fn);
      // Neither touches a store: one answers from the route table, the other serves bundled files.
      if (id.startsWith('ApiFallbackFunction') || id.startsWith('ApiDocsFunction')) {
        expect(env.SLUICE_TABLE, id).toBeUndefined();
      } else {
        expect(env.SLUICE_TABLE, id).toEqual({ Ref: expect.stringMatching(/^StorageTable/) });
        expect(env.SLUICE_DATA_BUCKET, id).toEqual({ Ref: expect.stringMatching(/^StorageDataBucket/) });
      }
      if (duckDbHandlers(id)) expect(env.SLUICE_TMP_DIR, id).toBe('/tmp');
    }
  });

  it('give the Data Flow areas the default time zone, UTC unless sluice:defaultTimezone says', () => {
    const dataflow = ['ApiJobsFunction', 'ApiWorkflowsFunction', 'ApiTriggersFunction'];
    const zoneOf = (template: typeof synth.template) =>
      Object.fromEntries(
        Object.entries(resourcesOfType(template, 'AWS::Lambda::Function')).map(([id, fn]) => [
          id,
          environmentOf(fn).SLUICE_DEFAULT_TIMEZONE,
        ]),
      );
    const seoul = zoneOf(synthesize({ props: { defaultTimezone: 'Asia/Seoul' } }).template);
    let checked = 0;
    for (const [id, zone] of Object.entries(zoneOf(synth.template))) {
      const isDataflow = dataflow.some((prefix) => id.startsWith(prefix));
      expect(zone, id).toBe(isDataflow ? 'UTC' : undefined);
      expect(seoul[id], id).toBe(isDataflow ? 'Asia/Seoul' : undefined);
      if (isDataflow) checked += 1;
    }
    expect(checked).toBe(dataflow.length);
  });

  it('size the S3-event ingest function for large files', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.onObjectCreated',
      Timeout: 900,
      MemorySize: 2048,
      EphemeralStorage: { Size: 4096 },
      DeadLetterConfig: { TargetArn: Match.anyValue() },
    });
  });
});

describe('upload ingest events', () => {
  it('matches objects created under uploads/ in the data bucket', () => {
    synth.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: Match.stringLikeRegexp('^StorageDataBucket') }] },
          object: { key: [{ prefix: 'uploads/' }] },
        },
      },
    });
  });

  it('targets the ingest function with retries and a dead-letter queue', () => {
    for (const rule of Object.values(resourcesOfType(synth.template, 'AWS::Events::Rule'))) {
      for (const target of (rule.Properties?.Targets ?? []) as Record<string, unknown>[]) {
        expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } });
        expect(target.RetryPolicy).toEqual({
          MaximumRetryAttempts: expect.any(Number),
          MaximumEventAgeInSeconds: expect.any(Number),
        });
      }
    }
  });

  it('keeps dead letters encrypted and reachable over TLS only', () => {
    synth.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('outputs', () => {
  it('publishes the API URL, the data bucket, the state machine prefix and the admin secret name', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Description?: string }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'DataBucketName', 'StateMachinePrefix', 'AdminSecretName']),
    );
    expect(outputs.AdminSecretName?.Description).toContain('aws secretsmanager get-secret-value');
  });
});

describe('the refresh cookie', () => {
  it('is Secure on AWS: only the auth function is told so', () => {
    const marked = Object.entries(resourcesOfType(synth.template, 'AWS::Lambda::Function'))
      .filter(([, fn]) => environmentOf(fn).SLUICE_SECURE_COOKIES !== undefined)
      .map(([id, fn]) => [id.replace(/[0-9A-F]{8}$/, ''), environmentOf(fn).SLUICE_SECURE_COOKIES]);
    expect(marked).toEqual([['ApiAuthFunction', 'true']]);
  });
});

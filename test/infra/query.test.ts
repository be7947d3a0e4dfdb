import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { GLUE_PREFIX_PATTERN } from '#core/setting-names';
import { nagPacks } from '#lib/nag';
import { DEFAULT_BYTES_SCANNED_LIMIT, glueDatabasePrefix, QueryService } from '#lib/query';
import { Secrets } from '#lib/secrets';
import { Storage } from '#lib/storage';
import {
  asArray,
  cdkJsonContext,
  environmentOf,
  policyDocument,
  regionalArn,
  resource,
  resourcesOfType,
  type Statement,
  statementsOfRole,
  synthesize,
  synthesizeBeforeAll,
} from './synth.ts';

const EXTERNAL_BUCKETS = ['analytics-results'];

const synth = synthesizeBeforeAll();
const withBuckets = synthesizeBeforeAll({ props: { externalBuckets: EXTERNAL_BUCKETS } });

const withPrefix = (statements: Statement[], service: string) =>
  statements.filter((s) => asArray(s.Action).some((a) => a.startsWith(`${service}:`)));

const WORKGROUP_ARN = regionalArn('athena', ':workgroup/SluiceTest-queries');
const GLUE_CATALOG = regionalArn('glue', ':catalog');
const GLUE_DATABASES = regionalArn('glue', ':database/sluicetest_col_*');
const GLUE_TABLES = regionalArn('glue', ':table/sluicetest_col_*/*');
const GLUE_FUNCTIONS = regionalArn('glue', ':userDefinedFunction/sluicetest_col_*/*');

describe('Athena workgroup', () => {
  it('enforces its settings, encrypts results, caps bytes scanned and publishes metrics', () => {
    const [, workGroup] = resource(synth.template, 'AWS::Athena::WorkGroup', 'QueryWorkGroup');
    const [bucketId] = resource(synth.template, 'AWS::S3::Bucket', 'QueryResultsBucket');
    expect(workGroup.Properties).toMatchObject({
      Name: 'SluiceTest-queries',
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: DEFAULT_BYTES_SCANNED_LIMIT,
        ResultConfiguration: {
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/athena-staging/']] },
        },
      },
    });
    expect(DEFAULT_BYTES_SCANNED_LIMIT).toBe(100 * 1024 ** 3);
  });

  it('takes the bytes scanned limit from the stack props', () => {
    const custom = synthesize({ props: { queryBytesScannedLimit: 10 * 1024 ** 3 } }).template;
    custom.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 10 * 1024 ** 3 }),
    });
  });

  it('refuses a limit below Athena’s minimum', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Invalid');
    const resources = {
      storage: new Storage(stack, 'Storage'),
      secrets: new Secrets(stack, 'S', { adminUsername: 'a' }),
    };
    expect(
      () =>
        new QueryService(stack, 'Query', {
          resources,
          logRetention: RetentionDays.ONE_MONTH,
          bytesScannedCutoffPerQuery: 1024,
        }),
    ).toThrow(/bytes scanned limit/);
  });
});

describe('results bucket', () => {
  it('is encrypted, private, versioned, retained and logs its access', () => {
    const [id, bucket] = resource(synth.template, 'AWS::S3::Bucket', 'QueryResultsBucket');
    expect(bucket).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: expect.stringMatching(/^StorageAccessLogBucket/) },
          LogFilePrefix: 'results-bucket/',
        },
      },
    });
    expect(id).toMatch(/^QueryResultsBucket/);
  });

  it('expires what Athena staged and nothing a caller stored', () => {
    const [, bucket] = resource(synth.template, 'AWS::S3::Bucket', 'QueryResultsBucket');
    const lifecycle = bucket.Properties?.LifecycleConfiguration as
      | { Rules?: Record<string, unknown>[] }
      | undefined;
    const expiring = (lifecycle?.Rules ?? []).filter((r) => r.ExpirationInDays !== undefined);
    expect(expiring).toEqual([expect.objectContaining({ Prefix: 'athena-staging/', ExpirationInDays: 7 })]);
  });

  it('refuses every request that is not TLS', () => {
    const [bucketId] = resource(synth.template, 'AWS::S3::Bucket', 'QueryResultsBucket');
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('query state events', () => {
  it('match the end of executions in this workgroup only', () => {
    const [, rule] = resource(synth.template, 'AWS::Events::Rule', 'QueryQueryStateRule');
    expect(rule.Properties?.EventPattern).toEqual({
      source: ['aws.athena'],
      'detail-type': ['Athena Query State Change'],
      detail: { workgroupName: ['SluiceTest-queries'], currentState: ['SUCCEEDED', 'FAILED', 'CANCELLED'] },
    });
  });

  it('go to the query-events Lambda with retries and a dead-letter queue', () => {
    const [fnId, fn] = resource(synth.template, 'AWS::Lambda::Function', 'QueryQueryEvents');
    const [queueId] = resource(synth.template, 'AWS::SQS::Queue', 'QueryQueryEventsDeadLetterQueue');
    const [, rule] = resource(synth.template, 'AWS::Events::Rule', 'QueryQueryStateRule');
    expect(rule.Properties?.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
      }),
    ]);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_ATHENA_WORKGROUP: { Ref: expect.stringMatching(/^QueryWorkGroup/) },
      SLUICE_GLUE_DATABASE_PREFIX: 'sluicetest',
    });
  });

  it('may follow executions but not start or stop them', () => {
    const athena = withPrefix(statementsOfRole(synth.template, 'QueryQueryEventsRole'), 'athena');
    expect(athena).toEqual([
      expect.objectContaining({
        Action: ['athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:GetQueryRuntimeStatistics'],
        Resource: WORKGROUP_ARN,
      }),
    ]);
  });
});

describe('query area', () => {
  const statements = () => statementsOfRole(synth.template, 'ApiQueryFunctionRole');

  it('is sized like the other areas and gets the Data Query settings', () => {
    const [, fn] = resource(synth.template, 'AWS::Lambda::Function', 'ApiQueryFunction');
    expect(fn.Properties).toMatchObject({ MemorySize: 1024, Timeout: 29, Architectures: ['arm64'] });
    expect(environmentOf(fn)).toMatchObject({
      SLUICE_RESULTS_BUCKET: { Ref: expect.stringMatching(/^QueryResultsBucket/) },
      SLUICE_ATHENA_WORKGROUP: { Ref: expect.stringMatching(/^QueryWorkGroup/) },
      SLUICE_GLUE_DATABASE_PREFIX: 'sluicetest',
      SLUICE_DATA_SOURCE_SECRET_PREFIX: 'SluiceTest/data-sources/',
    });
    expect(environmentOf(fn).SLUICE_BUCKETS).toBeUndefined();
    const [, withExternal] = resource(withBuckets.template, 'AWS::Lambda::Function', 'ApiQueryFunction');
    expect(environmentOf(withExternal).SLUICE_BUCKETS).toBe(EXTERNAL_BUCKETS.join(','));
  });

  it('runs Athena queries in the deployment’s workgroup only', () => {
    const athena = withPrefix(statements(), 'athena');
    expect(athena.length).toBeGreaterThan(0);
    for (const s of athena) expect(s.Resource).toEqual(WORKGROUP_ARN);
    expect(athena.flatMap((s) => asArray(s.Action)).sort()).toEqual([
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:GetQueryRuntimeStatistics',
      'athena:StartQueryExecution',
      'athena:StopQueryExecution',
    ]);
  });

  it('reads (and registers) Glue tables under the deployment’s prefix only', () => {
    const glue = withPrefix(statements(), 'glue');
    const actions = glue.flatMap((s) => asArray(s.Action));
    expect(actions).toEqual(
      expect.arrayContaining(['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions']),
    );
    for (const s of glue) {
      for (const r of asArray(s.Resource)) {
        expect([GLUE_CATALOG, GLUE_DATABASES, GLUE_TABLES, GLUE_FUNCTIONS]).toContainEqual(r);
      }
    }
  });

  it('reads datasets and writes previews and symlink manifests in the data bucket', () => {
    const dataBucket = statements().filter((s) => JSON.stringify(s.Resource).includes('StorageDataBucket'));
    const suffixes = dataBucket.flatMap((s) =>
      asArray(s.Resource).flatMap((r) => {
        const join = (r as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
        return join ? [`${asArray(s.Action).sort().join(',')} ${join[1].at(-1)}`] : [];
      }),
    );
    expect(suffixes.sort()).toEqual([
      's3:DeleteObject,s3:GetObject /datasets/*',
      's3:DeleteObject,s3:GetObject,s3:PutObject /queries/*',
      's3:PutObject /datasets/*/_symlink/*',
    ]);
  });

  it('writes results to the results bucket and the external buckets, and nowhere else outside the stack', () => {
    const statementsWithBuckets = statementsOfRole(withBuckets.template, 'ApiQueryFunctionRole');
    const external = statementsWithBuckets.filter((s) => JSON.stringify(s.Resource).includes(':s3:::'));
    expect(external).toEqual([
      expect.objectContaining({
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
        Resource: expect.arrayContaining([
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::analytics-results/*']] },
          {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^QueryResultsBucket/), 'Arn'] }, '/*']],
          },
        ]),
      }),
      expect.objectContaining({
        Action: 's3:ListBucket',
        Resource: expect.arrayContaining([
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::analytics-results']] },
        ]),
      }),
    ]);
  });

  it('creates data source secrets under the deployment’s prefix only', () => {
    expect(withPrefix(statements(), 'secretsmanager')).toEqual([
      expect.objectContaining({
        Action: 'secretsmanager:CreateSecret',
        Resource: regionalArn('secretsmanager', ':secret:SluiceTest/data-sources/*'),
      }),
    ]);
  });
});

describe('Glue registration', () => {
  it.each([['ApiIngestFunctionRole'], ['UploadIngestFunctionRole'], ['EngineStepWorkerRole']])(
    'lets %s create and repoint tables under the prefix',
    (role) => {
      const glue = withPrefix(statementsOfRole(synth.template, role), 'glue');
      expect(glue).toEqual([
        expect.objectContaining({
          Action: ['glue:CreateDatabase', 'glue:CreateTable', 'glue:GetTable', 'glue:UpdateTable'],
          Resource: [GLUE_CATALOG, GLUE_DATABASES, GLUE_TABLES],
        }),
      ]);
    },
  );

  it('lets the catalog area drop tables and databases under the prefix', () => {
    expect(withPrefix(statementsOfRole(synth.template, 'ApiCatalogFunctionRole'), 'glue')).toEqual([
      expect.objectContaining({
        Action: ['glue:DeleteDatabase', 'glue:DeleteTable'],
        Resource: [GLUE_CATALOG, GLUE_DATABASES, GLUE_TABLES, GLUE_FUNCTIONS],
      }),
    ]);
  });

  it('gives every function that touches Glue the database prefix', () => {
    for (const prefix of [
      'ApiIngestFunction',
      'UploadIngestFunction',
      'EngineStepWorker',
      'ApiCatalogFunction',
    ]) {
      const [, fn] = resource(synth.template, 'AWS::Lambda::Function', `${prefix}`);
      expect(environmentOf(fn).SLUICE_GLUE_DATABASE_PREFIX, prefix).toBe('sluicetest');
    }
  });

  it('never grants Glue or Athena on "*"', () => {
    for (const t of [synth.template, withBuckets.template]) {
      for (const policy of Object.values(resourcesOfType(t, 'AWS::IAM::Policy'))) {
        for (const s of policyDocument(policy).Statement) {
          if (!asArray(s.Action).some((a) => /^(glue|athena):/.test(a))) continue;
          expect(asArray(s.Resource)).not.toContain('*');
          expect(asArray(s.Action).some((a) => a.endsWith(':*'))).toBe(false);
        }
      }
    }
  });

  it('uses a prefix the functions accept, distinct for sibling stacks', () => {
    for (const name of ['Sluice', 'SluiceTest', 'Sluice-Dev', `S${'x'.repeat(127)}`]) {
      expect(glueDatabasePrefix(name)).toMatch(GLUE_PREFIX_PATTERN);
    }
    expect(glueDatabasePrefix('Sluice-Dev')).toBe('sluice_dev');
    expect(glueDatabasePrefix('Sluice')).not.toBe(glueDatabasePrefix('Sluice-Dev'));
  });
});

describe('cdk-nag', () => {
  it('passes with external result buckets', () => {
    const violations = nagPacks().flatMap((pack) => pack.validateScope(withBuckets.app).violations);
    expect(
      violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });
});

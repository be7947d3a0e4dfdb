/**
 * Data Query on AWS: Athena over the Glue Data Catalog.
 *
 * - One workgroup per deployment. It enforces its settings on every query: results go,
 *   encrypted, to a staging prefix of the results bucket, and a query that would scan more than
 *   the limit is cancelled. The engine (functions/core/query/athena.ts) copies each finished
 *   result to the folder the caller asked for.
 * - One Glue database per collection (`<prefix>_col_...`) and one table per dataset, created at
 *   runtime when a dataset version is published (functions/core/query/glue.ts); this construct
 *   owns the prefix and grants Glue actions on names with it only.
 * - Athena announces state changes on the default EventBridge bus; a rule hands this
 *   workgroup's to the query-events Lambda, which brings the query's record up to date.
 *
 * Athena reads tables and writes results with the credentials of whoever starts the query, so
 * the query area's role holds the S3 and Glue permissions Athena needs (lib/access.ts).
 */
import { ArnFormat, Aws, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnWorkGroup } from 'aws-cdk-lib/aws-athena';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SETTING } from '#core/setting-names';
import { type AccessResources, grantAccess } from './access.ts';
import { bucketNameProblem } from './engine.ts';
import { functionEntry, SluiceFunction } from './function.ts';
import { acknowledgeWildcard } from './nag.ts';
import type { QueryAccess, QuerySetting } from './resources.ts';
import { hardenedBucketDefaults } from './storage.ts';

/** Default of `sluice:queryBytesScannedLimit`: a query may scan at most 100 GiB. */
export const DEFAULT_BYTES_SCANNED_LIMIT = 100 * 1024 ** 3;
/** Athena's smallest per-query scan limit (10 MB). */
export const MIN_BYTES_SCANNED_LIMIT = 10_000_000;

/** Where the workgroup stages results in the results bucket; staged files are removed or expire. */
export const ATHENA_STAGING_PREFIX = 'athena-staging/';
/** Days after which staged results (left behind by a query that never settled) are deleted. */
export const STAGING_EXPIRATION_DAYS = 7;

export interface QueryServiceProps {
  /** The stores and secrets (the query functions are granted through lib/access.ts). */
  readonly resources: AccessResources;
  readonly logRetention: RetentionDays;
  /** Buckets outside the stack that may receive query results. @default none */
  readonly externalBuckets?: readonly string[];
  /** Most bytes one query may scan before Athena cancels it. @default 100 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
}

export class QueryService extends Construct implements QueryAccess {
  /** The deployment's own bucket for query results (and Athena's staging prefix). */
  public readonly resultsBucket: Bucket;
  public readonly workGroup: CfnWorkGroup;
  public readonly workGroupName: string;
  public readonly workGroupArn: string;
  /** Glue databases are this prefix, `_` and a collection id. */
  public readonly glueDatabasePrefix: string;
  /** Registered data sources' passwords are secrets named this prefix plus the source name. */
  public readonly dataSourceSecretPrefix: string;
  public readonly externalBuckets: readonly string[];
  /** Brings a query's record up to date when its Athena execution changes state. */
  public readonly queryEvents: SluiceFunction;
  /** Dead letters of the query-events rule target and of the function. */
  public readonly queryEventsDeadLetterQueue: Queue;
  /** Fires when an execution of this workgroup ends. */
  public readonly queryStateRule: Rule;
  /** Settings for functions; pick what each needs in lib/access.ts. */
  public readonly environment: Readonly<Partial<Record<QuerySetting, string>>>;

  constructor(scope: Construct, id: string, props: QueryServiceProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.stackName))
      throw new Error('Data Query needs a stack name known at synth time');

    this.externalBuckets = [...new Set(props.externalBuckets ?? [])];
    for (const bucket of this.externalBuckets) {
      const problem = bucketNameProblem(bucket);
      if (problem) throw new Error(`${id}: external bucket "${bucket}" ${problem}`);
    }
    const limit = props.bytesScannedCutoffPerQuery ?? DEFAULT_BYTES_SCANNED_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < MIN_BYTES_SCANNED_LIMIT) {
      throw new Error(
        `${id}: the bytes scanned limit must be an integer of at least ${MIN_BYTES_SCANNED_LIMIT}`,
      );
    }

    this.glueDatabasePrefix = glueDatabasePrefix(stack.stackName);
    this.dataSourceSecretPrefix = `${stack.stackName}/data-sources/`;
    this.workGroupName = workGroupName(stack.stackName);
    this.workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: this.workGroupName,
    });

    const { storage } = props.resources;
    this.resultsBucket = new Bucket(this, 'ResultsBucket', {
      ...hardenedBucketDefaults(),
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      serverAccessLogsBucket: storage.accessLogBucket,
      serverAccessLogsPrefix: 'results-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        {
          id: 'expire-athena-staging',
          prefix: ATHENA_STAGING_PREFIX,
          expiration: Duration.days(STAGING_EXPIRATION_DAYS),
        },
      ],
    });

    this.workGroup = new CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Sluice Data Query: every query of this deployment runs here',
      state: 'ENABLED',
      // Deleting the stack deletes the workgroup with its query history (results stay in S3).
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: limit,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject(ATHENA_STAGING_PREFIX),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
          expectedBucketOwner: Aws.ACCOUNT_ID,
        },
      },
    });

    this.queryEventsDeadLetterQueue = new Queue(this, 'QueryEventsDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queryEventsDeadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the end of the line: it is the dead-letter queue of the query state rule target ' +
        'and of the query-events function; an operator inspects and replays its messages, nothing ' +
        'consumes them automatically.',
    });

    this.queryEvents = new SluiceFunction(this, 'QueryEvents', {
      entry: functionEntry('query-events'),
      description: 'Sluice query events: records the outcome of an Athena query and stores its result',
      memorySize: 1024,
      // Copying a result of many GiB, server side and in parts, takes minutes.
      timeout: Duration.minutes(5),
      deadLetterQueue: this.queryEventsDeadLetterQueue,
      logRetention: props.logRetention,
    });

    this.queryStateRule = new Rule(this, 'QueryStateRule', {
      description: 'Sluice: an Athena query of this deployment ended; query-events records it',
      eventPattern: {
        source: ['aws.athena'],
        detailType: ['Athena Query State Change'],
        detail: {
          workgroupName: [this.workGroupName],
          currentState: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
        },
      },
    });
    this.queryStateRule.addTarget(
      new LambdaFunction(this.queryEvents, {
        deadLetterQueue: this.queryEventsDeadLetterQueue,
        retryAttempts: 4,
        maxEventAge: Duration.hours(2),
      }),
    );

    this.environment = {
      [SETTING.resultsBucket]: this.resultsBucket.bucketName,
      // The reference (the same name) makes functions wait for the workgroup on the first deploy.
      [SETTING.athenaWorkgroup]: this.workGroup.ref,
      [SETTING.glueDatabasePrefix]: this.glueDatabasePrefix,
      [SETTING.dataSourceSecretPrefix]: this.dataSourceSecretPrefix,
      ...(this.externalBuckets.length > 0 ? { [SETTING.buckets]: this.externalBuckets.join(',') } : {}),
    };

    grantAccess('queryEvents', this.queryEvents, { ...props.resources, query: this });
  }

  /**
   * Start, stop and follow queries in this workgroup, and let Athena stage their results in the
   * results bucket with the function's credentials.
   */
  grantRunQueries(fn: SluiceFunction): void {
    this.grantAthena(fn, ['athena:StartQueryExecution', 'athena:StopQueryExecution']);
    this.grantFollowQueries(fn);
    // What Athena itself does in the output location: check the bucket, write (in parts).
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [this.resultsBucket.bucketArn],
      }),
    );
    this.grantStaging(fn, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']);
  }

  /**
   * Read the state, results and statistics of this workgroup's executions (no start or stop);
   * GetQueryResults reads the staged result with the function's credentials.
   */
  grantFollowQueries(fn: SluiceFunction): void {
    this.grantAthena(fn, [
      'athena:GetQueryExecution',
      'athena:GetQueryResults',
      'athena:GetQueryRuntimeStatistics',
    ]);
    this.grantStaging(fn, ['s3:GetObject']);
  }

  private grantStaging(fn: SluiceFunction, actions: string[]): void {
    const staging = this.resultsBucket.arnForObjects(`${ATHENA_STAGING_PREFIX}*`);
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [staging] }));
    acknowledgeWildcard(
      fn.executionRole,
      staging,
      `Athena stages each query's result under "${ATHENA_STAGING_PREFIX}" of the results bucket with the ` +
        'credentials of the function that started or reads it; the file names are execution ids.',
    );
  }

  /**
   * Objects of the result buckets (the results bucket and the external ones): read the staged
   * result, copy it to the caller's folder (in parts when large), remove what is left; and
   * s3:ListBucket, which HeadBucket needs and which makes a missing key answer 404, not 403.
   */
  grantResultObjects(fn: SluiceFunction): void {
    const buckets = [
      { arn: this.resultsBucket.bucketArn, label: 'the results bucket' },
      ...this.externalBuckets.map((name) => ({
        arn: Stack.of(this).formatArn({ service: 's3', region: '', account: '', resource: name }),
        label: `the external bucket "${name}" (sluice:buckets)`,
      })),
    ];
    const objects = buckets.map((b) => `${b.arn}/*`);
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: objects,
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: buckets.map((b) => b.arn) }),
    );
    for (const [i, bucket] of buckets.entries()) {
      acknowledgeWildcard(
        fn.executionRole,
        objects[i] as string,
        `Query results are written to ${bucket.label} under the folder each caller names, as ` +
          '<path>/YYYY/MM/DD/<query id>.csv; the keys are only known at runtime.',
      );
    }
  }

  /** What Athena needs from Glue to read the datasets' tables. */
  grantReadCatalog(fn: SluiceFunction): void {
    this.grantGlue(fn, ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'], false);
  }

  /** Register dataset versions: create the collection's database, create or repoint its tables. */
  grantWriteCatalog(fn: SluiceFunction): void {
    this.grantGlue(
      fn,
      ['glue:CreateDatabase', 'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'],
      false,
    );
  }

  /** Remove datasets' tables and collections' databases (deleting a database removes what it holds). */
  grantDeleteCatalog(fn: SluiceFunction): void {
    this.grantGlue(fn, ['glue:DeleteTable', 'glue:DeleteDatabase'], true);
  }

  /** Store the passwords of registered data sources as new secrets under the deployment's prefix. */
  grantCreateDataSourceSecrets(fn: SluiceFunction): void {
    const secrets = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.dataSourceSecretPrefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['secretsmanager:CreateSecret'], resources: [secrets] }),
    );
    acknowledgeWildcard(
      fn.executionRole,
      secrets,
      `CreateSecret only for names under "${this.dataSourceSecretPrefix}": one secret per data source ` +
        'registered at runtime, plus the random suffix Secrets Manager appends to every secret ARN.',
    );
  }

  private grantAthena(fn: SluiceFunction, actions: string[]): void {
    fn.addToRolePolicy(new PolicyStatement({ actions, resources: [this.workGroupArn] }));
  }

  private grantGlue(fn: SluiceFunction, actions: string[], withContents: boolean): void {
    const stack = Stack.of(this);
    const arn = (resource: string, resourceName?: string) =>
      stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
    const databases = `${this.glueDatabasePrefix}_col_*`;
    const resources = [arn('catalog'), arn('database', databases), arn('table', `${databases}/*`)];
    // DeleteDatabase also deletes the database's tables and functions.
    if (withContents) resources.push(arn('userDefinedFunction', `${databases}/*`));
    fn.addToRolePolicy(new PolicyStatement({ actions, resources }));
    for (const resource of resources.slice(1)) {
      acknowledgeWildcard(
        fn.executionRole,
        resource,
        `${actions.join(', ')} only on Glue databases named "${databases}" (one per collection, created ` +
          'at runtime) and on the tables (one per dataset) inside them.',
      );
    }
  }
}

/** Stack names are letters, digits and hyphens: lower case with `_` for `-`, at most 64 characters. */
export function glueDatabasePrefix(stackName: string): string {
  return stackName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 64);
}

/** A workgroup name is at most 128 letters, digits, `-` and `_`. */
export function workGroupName(stackName: string): string {
  return `${stackName.slice(0, 120)}-queries`;
}

/**
 * The two stores: the single DynamoDB table (keys from `TABLE_KEYS`, shared with the local
 * host) and the data bucket, plus the bucket that receives the data bucket's access logs.
 * Secure defaults live here, and so do the grants: each one gives a function exactly the
 * actions it names, on the narrowest resource (object actions only under one prefix).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SETTING } from '#core/setting-names';
import { TABLE_KEYS } from '#core/table-schema';
import type { SluiceFunction } from './function.ts';
import { acknowledgeWildcard } from './nag.ts';

/** Key prefixes of the data bucket that functions are granted on. */
export const DATA_PREFIXES = {
  /** Published dataset versions: `datasets/{id}/v{n}/...`. */
  datasets: 'datasets/',
  /** Raw files waiting for ingest (presigned PUTs land here); expire after 7 days. */
  uploads: 'uploads/',
  /**
   * Intermediate outputs of pipeline runs, `runs/{batch}/{node}/...`; expire after
   * `RUN_DATA_EXPIRATION_DAYS` (a run's results that matter are written to datasets or targets).
   */
  runs: 'runs/',
  /** Data Query's result pages: `queries/{query id}/preview.json` (the first 1,000 rows). */
  queries: 'queries/',
} as const;
export type DataPrefix = keyof typeof DATA_PREFIXES;

/** Days after which a run's intermediate outputs under `runs/` are deleted. */
export const RUN_DATA_EXPIRATION_DAYS = 30;

export type TableAccess =
  /** GetItem only (authorizer, health). */
  | 'getItem'
  /** GetItem, and Query on the table and its indexes. */
  | 'read'
  /** read plus PutItem, UpdateItem, DeleteItem. */
  | 'readWrite';

export type ObjectAction = 's3:GetObject' | 's3:PutObject' | 's3:DeleteObject';

export interface StorageProps {
  /** Days after which the data bucket's access logs are deleted. @default 90 */
  readonly accessLogExpirationDays?: number;
}

export class Storage extends Construct {
  public readonly table: Table;
  public readonly dataBucket: Bucket;
  public readonly accessLogBucket: Bucket;
  /** Environment every function that uses the stores receives (see functions/core/settings.ts). */
  public readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_KEYS.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }

    this.accessLogBucket = new Bucket(this, 'AccessLogBucket', {
      ...hardenedBucketDefaults(),
      // S3 server access log delivery supports SSE-S3 only on the target bucket.
      encryption: BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogExpirationDays ?? 90),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.dataBucket = new Bucket(this, 'DataBucket', {
      ...hardenedBucketDefaults(),
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        { id: 'expire-uploads', prefix: DATA_PREFIXES.uploads, expiration: Duration.days(7) },
        {
          id: 'expire-run-data',
          prefix: DATA_PREFIXES.runs,
          expiration: Duration.days(RUN_DATA_EXPIRATION_DAYS),
        },
      ],
    });
    // EventBridge delivery set on the L1 property: `eventBridgeEnabled: true` would add a
    // custom-resource Lambda to manage the bucket's notification configuration.
    (this.dataBucket.node.defaultChild as CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    this.environment = {
      [SETTING.table]: this.table.tableName,
      [SETTING.dataBucket]: this.dataBucket.bucketName,
    };
  }

  /**
   * Lets a browser on the given origins PUT files to presigned URLs of the data bucket (the
   * console's large uploads): CORS rule with PUT and the Content-Type header only. The URL's
   * signature, issued by the API for one `uploads/` key, stays the authorization; CORS only
   * decides which web pages may use one.
   */
  allowBrowserUploads(origins: readonly string[]): void {
    this.dataBucket.addCorsRule({
      id: 'console-uploads',
      allowedMethods: [HttpMethods.PUT],
      allowedOrigins: [...origins],
      allowedHeaders: ['content-type'],
      maxAge: 3000,
    });
  }

  /**
   * Grants item access on the table: the single-item operations the data layer uses
   * (functions/core/db.ts), Query also on each index. No Scan, no batch or transactional writes.
   */
  grantTable(fn: SluiceFunction, access: TableAccess): void {
    const itemActions =
      access === 'readWrite'
        ? ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']
        : ['dynamodb:GetItem'];
    fn.addToRolePolicy(new PolicyStatement({ actions: itemActions, resources: [this.table.tableArn] }));
    if (access === 'getItem') return;
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        // Each index by name: no `index/*` wildcard.
        resources: [
          this.table.tableArn,
          ...TABLE_KEYS.indexes.map((index) => `${this.table.tableArn}/index/${index.name}`),
        ],
      }),
    );
  }

  /** Grants object actions on keys under one prefix of the data bucket, nothing else. */
  grantObjects(fn: SluiceFunction, prefix: DataPrefix, actions: readonly ObjectAction[]): void {
    const objects = this.dataBucket.arnForObjects(`${DATA_PREFIXES[prefix]}*`);
    fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [objects] }));
    acknowledgeWildcard(
      fn.executionRole,
      objects,
      `Object actions (${actions.join(', ')}) are limited to keys under "${DATA_PREFIXES[prefix]}"; ` +
        'the keys below it are generated at runtime (ids, versions, parts), so the ARN ends in a wildcard.',
    );
  }

  /**
   * Grants s3:PutObject on the symlink manifests that register dataset versions in the Glue
   * catalog (`datasets/{id}/v{n}/_symlink/manifest`, see functions/core/query/glue.ts), for a
   * function that has no write access to `datasets/` otherwise.
   */
  grantSymlinkManifests(fn: SluiceFunction): void {
    const objects = this.dataBucket.arnForObjects(`${DATA_PREFIXES.datasets}*/_symlink/*`);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
    acknowledgeWildcard(
      fn.executionRole,
      objects,
      'PutObject only on the symlink manifests of dataset versions ("datasets/<id>/v<n>/_symlink/..."); ' +
        'dataset ids and versions are generated at runtime, so the ARN holds wildcards.',
    );
  }

  /**
   * Grants s3:GetBucketLocation on the data bucket: Athena asks where the bucket of a table
   * lives, with the credentials of the function that runs the query.
   */
  grantBucketLocation(fn: SluiceFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [this.dataBucket.bucketArn] }),
    );
  }

  /**
   * Grants s3:ListBucket on the data bucket (also what HeadBucket needs). With prefixes, only
   * listings under those prefixes are allowed.
   */
  grantList(fn: SluiceFunction, prefixes?: readonly DataPrefix[]): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.dataBucket.bucketArn],
        ...(prefixes
          ? {
              conditions: {
                StringLike: {
                  's3:prefix': prefixes.flatMap((p) => [DATA_PREFIXES[p], `${DATA_PREFIXES[p]}*`]),
                },
              },
            }
          : {}),
      }),
    );
  }
}

/** What every Sluice bucket gets: private, TLS only, ACLs off, kept when the stack goes. */
export function hardenedBucketDefaults() {
  return {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
  } as const;
}

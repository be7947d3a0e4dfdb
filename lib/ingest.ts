/**
 * Ingest of large uploads. Clients PUT files under `uploads/` with a presigned URL (the API
 * payload limit is 6 MB); S3 announces each new object on the default EventBridge bus and a
 * rule hands it to the `onObjectCreated` export of `functions/ingest.ts`, which parses the
 * file with DuckDB and publishes a dataset version. Events that cannot be delivered, and
 * invocations that still fail after Lambda's retries, land in a dead-letter queue.
 */
import { Duration, Size, Validations } from 'aws-cdk-lib';
import { Match, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type AccessResources, grantAccess } from './access.ts';
import { functionEntry, SluiceFunction } from './function.ts';
import { DATA_PREFIXES } from './storage.ts';

export interface UploadIngestProps {
  readonly resources: AccessResources;
  readonly logRetention: RetentionDays;
  /** @default 2048 */
  readonly memorySize?: number;
  /** Size of /tmp, where the upload and the Parquet parts are staged. @default 4096 */
  readonly ephemeralStorageMiB?: number;
}

export class UploadIngest extends Construct {
  public readonly function: SluiceFunction;
  public readonly deadLetterQueue: Queue;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: UploadIngestProps) {
    super(scope, id);
    const { dataBucket } = props.resources.storage;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the end of the line: it is the dead-letter queue of the ingest rule target and ' +
        'function; its messages are inspected and replayed by an operator, never consumed automatically.',
    });

    this.function = new SluiceFunction(this, 'Function', {
      entry: functionEntry('ingest'),
      handler: 'onObjectCreated',
      description: 'Sluice ingest: parses files uploaded under uploads/ into dataset versions',
      memorySize: props.memorySize ?? 2048,
      timeout: Duration.minutes(15),
      ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB ?? 4096),
      nativeDuckDb: true,
      deadLetterQueue: this.deadLetterQueue,
      logRetention: props.logRetention,
    });
    grantAccess('ingestEvents', this.function, props.resources);

    this.rule = new Rule(this, 'ObjectCreatedRule', {
      description: 'Sluice: objects created under uploads/ in the data bucket start an ingest',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [dataBucket.bucketName] },
          object: { key: Match.prefix(DATA_PREFIXES.uploads) },
        },
      },
    });
    this.rule.addTarget(
      new LambdaFunction(this.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 4,
        maxEventAge: Duration.hours(2),
      }),
    );
  }
}

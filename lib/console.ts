/**
 * The web console on AWS: its static files in a private S3 bucket, read by CloudFront through
 * Origin Access Control, with the HTTP API as a second origin for the API paths, so the console
 * and the API share one origin (no CORS; the refresh cookie stays same-site). Security headers
 * (CSP, HSTS, frame-ancestors none) on every answer, HTTPS only, TLS 1.2+ towards the API origin
 * (and towards viewers when a certificate for a custom domain is given), standard access logs.
 *
 * The built console (console/dist, `npm run build`) is deployed with a BucketDeployment. When it
 * is missing, a synth that bundles assets (`cdk deploy`) builds it first; a synth that skips
 * bundling (the infra tests) leaves the deployment out and says so in a warning.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Annotations, Duration, Fn, Lazy, Stack, Validations } from 'aws-cdk-lib';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  FunctionCode,
  FunctionEventType,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  type IOrigin,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  SSLMethod,
  Function as ViewerFunction,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { CfnPolicy, Policy } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from './function.ts';
import { hardenedBucketDefaults, type Storage } from './storage.ts';

/** Paths CloudFront sends to the HTTP API; everything else is the console. */
export const API_PATH_PATTERNS = ['/api/*', '/v1/*', '/health', '/openapi.json', '/docs', '/docs/*'] as const;

/**
 * The console's Content-Security-Policy (the local host sends the same: local/server.ts), with
 * `connect-src` opened to the data bucket's endpoint only, where large uploads are PUT.
 */
export function consoleCsp(uploadEndpoint?: string): string {
  const connect = uploadEndpoint ? `'self' ${uploadEndpoint}` : "'self'";
  return `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src ${connect}; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'`;
}

/** CDK context naming the console's origin for the data bucket's CORS rule (a custom front, say). */
export const CONSOLE_ORIGIN_CONTEXT = 'sluice:consoleOrigin';

export const DEFAULT_CONSOLE_DIR = path.join(PROJECT_ROOT, 'console', 'dist');

export interface ConsoleProps {
  /** The HTTP API's `$default` stage URL (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  readonly apiUrl: string;
  /** Where S3 server access logs of the console buckets go. */
  readonly accessLogBucket: Bucket;
  /** The built console. @default console/dist */
  readonly consoleDir?: string;
  /** A custom domain and its certificate (us-east-1): viewers then get TLS 1.2+ only. @default none */
  readonly domainName?: string;
  readonly certificate?: ICertificate;
  /**
   * The stores whose data bucket receives the console's large uploads (presigned PUTs): the
   * CSP lets the console connect to that bucket's endpoint, and the bucket gets a CORS rule for
   * the console's origin. Without it the console uploads only what fits a direct upload.
   */
  readonly storage?: Storage;
}

/**
 * Console routes are the single-page app's: a path without a file extension is answered with
 * /index.html (a CloudFront Function on the S3 behaviour only, so API 404s stay API 404s).
 */
const SPA_REWRITE = `function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}`;

export class Console extends Construct {
  public readonly bucket: Bucket;
  public readonly logBucket: Bucket;
  public readonly distribution: Distribution;
  public readonly deployment: BucketDeployment | undefined;
  /** `https://<distribution domain>` (or the custom domain). */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.bucket = new Bucket(this, 'SiteBucket', {
      ...hardenedBucketDefaults(),
      encryption: BucketEncryption.S3_MANAGED,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'console-bucket/',
    });

    // CloudFront standard logs are delivered with object ACLs: this bucket allows them (and
    // nothing public).
    this.logBucket = new Bucket(this, 'CdnLogBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      removalPolicy: hardenedBucketDefaults().removalPolicy,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'console-cdn-log-bucket/',
      lifecycleRules: [{ id: 'expire-cdn-logs', expiration: Duration.days(90) }],
    });

    const strictTransportSecurity = {
      accessControlMaxAge: Duration.days(730),
      includeSubdomains: true,
      preload: true,
      override: true,
    };
    // Large uploads go from the browser straight to the data bucket through a presigned URL
    // (`https://<bucket>.s3.<region>.amazonaws.com/uploads/...`, the SDK's virtual-hosted form):
    // the CSP allows that one bucket's endpoint. Because the policy refers to the bucket, the
    // bucket's CORS rule cannot refer to the distribution (a cycle): it names the custom domain,
    // or the `sluice:consoleOrigin` context, or else CloudFront's default domains.
    const storage = props.storage;
    const uploadEndpoint = storage ? `https://${storage.dataBucket.bucketRegionalDomainName}` : undefined;
    if (storage) storage.allowBrowserUploads(consoleOrigins(this, props.domainName));
    const siteHeaders = new ResponseHeadersPolicy(this, 'SiteHeaders', {
      comment: 'Sluice console: CSP, HSTS, no framing, no sniffing',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: consoleCsp(uploadEndpoint), override: true },
        strictTransportSecurity,
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.SAME_ORIGIN, override: true },
      },
    });
    // The API's answers keep their own content security (Swagger UI sets what it needs).
    const apiHeaders = new ResponseHeadersPolicy(this, 'ApiHeaders', {
      comment: 'Sluice API through the console origin: HSTS, no framing, no sniffing',
      securityHeadersBehavior: {
        strictTransportSecurity,
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.SAME_ORIGIN, override: true },
      },
    });

    const apiDomain = Fn.select(2, Fn.split('/', props.apiUrl));
    const apiOrigin: IOrigin = new HttpOrigin(apiDomain, {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [OriginSslPolicy.TLS_V1_2],
    });
    const apiBehavior = {
      origin: apiOrigin,
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      // Every header but Host (API Gateway routes by its own host name), all cookies and query strings.
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: apiHeaders,
    };

    const rewrite = new ViewerFunction(this, 'SpaRewrite', {
      code: FunctionCode.fromInline(SPA_REWRITE),
      comment: 'Serves /index.html for the console routes',
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Sluice console and API (${stack.stackName})`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
      ...(props.domainName && props.certificate
        ? { domainNames: [props.domainName], certificate: props.certificate, sslSupportMethod: SSLMethod.SNI }
        : {}),
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: siteHeaders,
        compress: true,
        functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(API_PATH_PATTERNS.map((pattern) => [pattern, apiBehavior])),
    });
    this.url = props.domainName
      ? `https://${props.domainName}`
      : `https://${this.distribution.distributionDomainName}`;

    // A synth that skips bundling (tests with `aws:cdk:bundling-stacks: []`) deploys the console
    // only when given its folder; one that bundles (`cdk deploy`) builds it when it is missing.
    const dir = props.consoleDir ?? DEFAULT_CONSOLE_DIR;
    const wanted = props.consoleDir !== undefined || stack.bundlingRequired;
    if (wanted && !existsSync(path.join(dir, 'index.html')) && dir === DEFAULT_CONSOLE_DIR) {
      execFileSync(
        process.execPath,
        [
          path.join(PROJECT_ROOT, 'node_modules/vite/bin/vite.js'),
          'build',
          '--config',
          'console/vite.config.ts',
          '--logLevel',
          'warn',
        ],
        { cwd: PROJECT_ROOT, stdio: 'inherit' },
      );
    }
    if (wanted && existsSync(path.join(dir, 'index.html'))) {
      this.deployment = new BucketDeployment(this, 'Deploy', {
        sources: [Source.asset(dir)],
        destinationBucket: this.bucket,
        distribution: this.distribution,
        distributionPaths: ['/*'],
        memoryLimit: 512,
      });
      this.acknowledgeDeploymentHandler();
    } else {
      this.deployment = undefined;
      Annotations.of(this).addWarningV2(
        'sluice:console-not-built',
        wanted
          ? `The web console is not built (${dir}): the distribution serves nothing at / until it is deployed. Run npm run build, then cdk deploy.`
          : 'Bundling is skipped for this stack: the web console files are not deployed by this synth.',
      );
    }

    if (!props.certificate) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          "Without a custom domain the distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer policy CloudFront fixes at TLSv1; pass domainName and certificate to serve TLS 1.2+ only.",
      });
    }
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'The console and API serve the deploying team wherever its members are; access is controlled by sign-in, not by country.',
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'No WAF web ACL by default (a per-request cost the operator chooses); the API stage is throttled and every API route but login, refresh and health needs a token.',
    });
  }

  /**
   * The BucketDeployment's provider function is CDK's own singleton, at stack level. Its role's
   * policy is CDK's too, granted with wildcard actions (`s3:GetObject*`, `s3:List*`, ...): they
   * are narrowed here to the actions the copy performs, and what is left is acknowledged.
   */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handlers = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    for (const handler of handlers) {
      const policy = handler.node.tryFindChild('ServiceRole')?.node.tryFindChild('DefaultPolicy') as
        | Policy
        | undefined;
      if (policy) {
        const cfn = policy.node.defaultChild as CfnPolicy;
        cfn.policyDocument = Lazy.any({
          produce: () => narrowActions(stack.resolve(policy.document.toJSON())),
        });
        Validations.of(policy).acknowledge(
          {
            id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
            reason:
              "CDK's BucketDeployment provider reads the console's zipped asset from the CDK assets bucket, whose object key is only known at deploy time.",
          },
          {
            id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`,
            reason:
              'The deployment writes and prunes every object of the console site bucket (the built files), so it needs object access across that one bucket.',
          },
          {
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'CloudFront invalidations (CreateInvalidation/GetInvalidation) that CDK grants the deployment provider do not support resource-level scoping in its policy.',
          },
        );
      }
      const reasons: Record<string, string> = {
        'AwsSolutions-L1':
          "The runtime of CDK's BucketDeployment provider is chosen by aws-cdk-lib, which pins the Python version its aws-cli layer is tested with.",
        'Serverless-LambdaLatestVersion':
          "The runtime of CDK's BucketDeployment provider is chosen by aws-cdk-lib, which pins the Python version its aws-cli layer is tested with.",
        'Serverless-LambdaDLQ':
          'CloudFormation invokes the BucketDeployment provider synchronously and rolls the deploy back when the copy fails: there is no asynchronous event to keep.',
        'Serverless-LambdaTracing':
          'The BucketDeployment provider only copies the console files once per deploy; CloudFormation events already record each of its runs and failures.',
      };
      for (const [id, reason] of Object.entries(reasons)) Validations.of(handler).acknowledge({ id, reason });
      const role = handler.node.tryFindChild('ServiceRole');
      if (role) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason:
            "CDK's BucketDeployment provider role (defined by aws-cdk-lib) uses the AWS managed basic execution policy only to write its own logs.",
        });
      }
    }
  }
}

/**
 * Origins the console is served from, for the data bucket's CORS rule: the
 * `sluice:consoleOrigin` context when set, else the custom domain, else `https://*.cloudfront.net`
 * (the distribution's own domain would make the bucket and the distribution depend on each other).
 */
function consoleOrigins(scope: Construct, domainName: string | undefined): string[] {
  const context = scope.node.tryGetContext(CONSOLE_ORIGIN_CONTEXT) as string | string[] | undefined;
  if (context !== undefined)
    return (Array.isArray(context) ? context : [context]).map((o) => o.replace(/\/+$/, ''));
  return domainName ? [`https://${domainName}`] : ['https://*.cloudfront.net'];
}

/** The S3 actions the deployment's copy uses, in place of CDK's wildcard grants. */
const NARROWED: Record<string, string[]> = {
  's3:GetObject*': ['s3:GetObject'],
  's3:GetBucket*': ['s3:GetBucketLocation'],
  's3:List*': ['s3:ListBucket'],
  's3:DeleteObject*': ['s3:DeleteObject'],
  's3:Abort*': ['s3:AbortMultipartUpload'],
};

function narrowActions(document: { Statement?: { Action?: string | string[] }[] }) {
  return {
    ...document,
    Statement: (document.Statement ?? []).map((statement) => {
      const actions = Array.isArray(statement.Action)
        ? statement.Action
        : statement.Action
          ? [statement.Action]
          : [];
      if (actions.length === 0) return statement;
      return { ...statement, Action: [...new Set(actions.flatMap((a) => NARROWED[a] ?? [a]))] };
    }),
  };
}

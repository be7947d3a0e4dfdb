/**
 * The console's AWS side: a private, encrypted, SSL-only bucket read by CloudFront through
 * Origin Access Control, the HTTP API as a second origin for the API paths, security headers,
 * access logs, the BucketDeployment of the built console, the ConsoleUrl output, and cdk-nag.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { API_PATH_PATTERNS } from '#lib/console';
import { nagPacks } from '#lib/nag';
import { SluiceStack } from '#lib/sluice-stack';
import { cdkJsonContext, synthesize, synthesizeBeforeAll } from './synth.ts';

const built = mkdtempSync(path.join(tmpdir(), 'sluice-console-dist-'));
writeFileSync(path.join(built, 'index.html'), '<!doctype html><div id="root"></div>');
afterAll(() => rmSync(built, { recursive: true, force: true }));

const synth = synthesizeBeforeAll({ props: { console: { consoleDir: built } } });

describe('console hosting', () => {
  it('keeps the site bucket private, encrypted and SSL-only, with access logs', () => {
    const buckets = synth.template.findResources('AWS::S3::Bucket', {
      Properties: { LoggingConfiguration: { LogFilePrefix: 'console-bucket/' } },
    });
    const [id, bucket] = Object.entries(buckets)[0] ?? [];

    expect(Object.keys(buckets)).toHaveLength(1);
    expect(bucket?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('reads the bucket through Origin Access Control and sends the API paths to the HTTP API', () => {
    synth.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    const [distribution] = Object.values(synth.template.findResources('AWS::CloudFront::Distribution'));
    const config = distribution?.Properties?.DistributionConfig as Record<string, any>;
    const behaviors = config.CacheBehaviors as {
      PathPattern: string;
      TargetOriginId: string;
      ViewerProtocolPolicy: string;
    }[];
    const apiOrigin = (config.Origins as any[]).find((o) => o.CustomOriginConfig);

    expect(config.Origins).toHaveLength(2);
    expect(apiOrigin.CustomOriginConfig).toMatchObject({
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
    });
    expect(behaviors.map((b) => b.PathPattern)).toEqual([...API_PATH_PATTERNS]);
    expect(new Set(behaviors.map((b) => b.TargetOriginId))).toEqual(new Set([apiOrigin.Id]));
    expect(behaviors.every((b) => b.ViewerProtocolPolicy === 'https-only')).toBe(true);
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.FunctionAssociations).toHaveLength(1);
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.Logging).toMatchObject({ Bucket: expect.anything(), Prefix: 'cloudfront/' });
    expect(config.CustomErrorResponses).toBeUndefined();
  });

  it('adds CSP, HSTS and frame-ancestors none to the console', () => {
    synth.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: {
            // A join: connect-src names the data bucket's endpoint (see the upload test below).
            ContentSecurityPolicy: {
              'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp("frame-ancestors 'none'")])],
            },
            Override: true,
          },
          StrictTransportSecurity: Match.objectLike({
            AccessControlMaxAgeSec: 63_072_000,
            IncludeSubdomains: true,
          }),
          FrameOptions: { FrameOption: 'DENY', Override: true },
        }),
      },
    });
  });

  it("lets the console PUT large uploads to the data bucket: a CORS rule and the bucket's endpoint in the CSP", () => {
    const dataBuckets = synth.template.findResources('AWS::S3::Bucket', {
      Properties: { LoggingConfiguration: { LogFilePrefix: 'data-bucket/' } },
    });
    const [dataId, dataBucket] = Object.entries(dataBuckets)[0] ?? [];
    const withCors = synth.template.findResources('AWS::S3::Bucket', {
      Properties: { CorsConfiguration: Match.anyValue() },
    });

    // Only the data bucket answers cross-origin requests, and only PUTs from CloudFront domains.
    expect(Object.keys(withCors)).toEqual([dataId]);
    expect(dataBucket?.Properties?.CorsConfiguration).toEqual({
      CorsRules: [
        {
          Id: 'console-uploads',
          AllowedMethods: ['PUT'],
          AllowedOrigins: ['https://*.cloudfront.net'],
          AllowedHeaders: ['content-type'],
          MaxAge: 3000,
        },
      ],
    });
    const [policy] = Object.values(
      synth.template.findResources('AWS::CloudFront::ResponseHeadersPolicy', {
        Properties: { ResponseHeadersPolicyConfig: { Comment: Match.stringLikeRegexp('CSP') } },
      }),
    );
    const csp = JSON.stringify(
      policy?.Properties?.ResponseHeadersPolicyConfig?.SecurityHeadersConfig?.ContentSecurityPolicy
        ?.ContentSecurityPolicy,
    );
    // connect-src: this origin and the one bucket's regional endpoint (the presigned URLs' host).
    expect(csp).toContain("connect-src 'self' https://");
    expect(csp).toContain(JSON.stringify({ 'Fn::GetAtt': [dataId, 'RegionalDomainName'] }));
    expect(csp).not.toMatch(/connect-src[^;]*\*/);
  });

  it('takes the CORS origin from the sluice:consoleOrigin context when given', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'sluice-cdk-origin-'));
    try {
      const app = new App({
        outdir,
        context: {
          ...cdkJsonContext(),
          'aws:cdk:bundling-stacks': [],
          'sluice:consoleOrigin': 'https://console.example.com/',
        },
      });
      const template = Template.fromStack(new SluiceStack(app, 'SluiceOrigin'));
      template.hasResourceProperties('AWS::S3::Bucket', {
        CorsConfiguration: {
          CorsRules: [Match.objectLike({ AllowedOrigins: ['https://console.example.com'] })],
        },
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('deploys the built console and outputs its URL', () => {
    synth.template.resourceCountIs('Custom::CDKBucketDeployment', 1);
    synth.template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DistributionPaths: ['/*'],
    });
    expect(Object.keys(synth.template.findOutputs('ConsoleUrl'))).toEqual(['ConsoleUrl']);
  });

  it('leaves the deployment out, with a warning, when the console is not built or bundling is skipped', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'sluice-console-empty-'));
    try {
      const bare = synthesize({ props: { console: { consoleDir: empty } } });

      bare.template.resourceCountIs('Custom::CDKBucketDeployment', 0);
      bare.template.resourceCountIs('AWS::CloudFront::Distribution', 1);
      const warnings = bare.stack.console.node.metadata.filter((m) => String(m.data).includes('not built'));
      const skipped = synthesize().stack.console.node.metadata.filter((m) =>
        String(m.data).includes('Bundling is skipped'),
      );
      expect(warnings).toHaveLength(1);
      expect(skipped).toHaveLength(1);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('narrows the deployment role to the S3 actions the copy uses', () => {
    const policies = synth.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('CustomCDKBucketDeployment') }] },
    });
    const actions = Object.values(policies).flatMap((p: any) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: any) =>
        Array.isArray(s.Action) ? s.Action : [s.Action],
      ),
    );

    expect(actions).toEqual(
      expect.arrayContaining(['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:DeleteObject']),
    );
    expect(actions.filter((a: string) => a.startsWith('s3:') && a.includes('*'))).toEqual([]);
  });

  it('raises no unacknowledged cdk-nag finding with the deployment in place', () => {
    const violations = nagPacks()
      .flatMap((pack) => pack.validateScope(synth.app).violations)
      .map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);

    expect(violations).toEqual([]);
  });
});

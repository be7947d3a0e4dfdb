/**
 * The console's AWS side: a private, encrypted, SSL-only bucket read by CloudFront through
 * Origin Access Control, the HTTP API as a second origin for the API paths, security headers,
 * access logs, the BucketDeployment of the built console, the ConsoleUrl output, and cdk-nag.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { API_PATH_PATTERNS } from '#lib/console';
import { nagPacks } from '#lib/nag';
import { synthesize, synthesizeBeforeAll } from './synth.ts';

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
            ContentSecurityPolicy: Match.stringLikeRegexp("frame-ancestors 'none'"),
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

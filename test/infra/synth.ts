/**
 * Synthesizes the Sluice stack the way `cdk synth` does (same feature flags from cdk.json),
 * into a temporary cloud assembly. Bundling is skipped unless asked for: about 50 ms a synth
 * instead of seconds, and the templates are the same apart from asset hashes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '#lib/function';
import { SluiceStack, type SluiceStackProps } from '#lib/sluice-stack';

export interface SynthOptions {
  /** Run esbuild and the command hooks for real. @default false */
  bundle?: boolean;
  props?: SluiceStackProps;
  /** @default 'SluiceTest' */
  stackName?: string;
}

export interface Synthesized {
  app: App;
  stack: SluiceStack;
  template: Template;
  outdir: string;
}

/** The context of cdk.json (feature flags, CLI settings). */
export const cdkJsonContext = (): Record<string, unknown> =>
  (
    JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
      context?: Record<string, unknown>;
    }
  ).context ?? {};

const outdirs: string[] = [];

/** Removes the cloud assemblies written so far (call from afterAll). */
export function removeAssemblies(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function synthesize(options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), 'sluice-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = new SluiceStack(app, options.stackName ?? 'SluiceTest', options.props);
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir };
}

type Resources = Record<
  string,
  {
    Type: string;
    Properties?: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  }
>;

/** Resources of one CloudFormation type, by logical id. */
export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** Every statement of every identity policy in the template. */
export function policyStatements(template: Template): { policy: string; statement: Statement }[] {
  return Object.entries(resourcesOfType(template, 'AWS::IAM::Policy')).flatMap(([policy, resource]) =>
    policyDocument(resource).Statement.map((statement) => ({
      policy,
      statement,
    })),
  );
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

export interface PolicyDocument {
  Statement: Statement[];
}

export function policyDocument(resource: Resources[string]): PolicyDocument {
  return (resource.Properties?.PolicyDocument as PolicyDocument | undefined) ?? { Statement: [] };
}

/** A function's environment variables. */
export function environmentOf(resource: Resources[string]): Record<string, unknown> {
  return (
    (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

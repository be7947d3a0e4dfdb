/**
 * Synthesizes the Sluice stack the way `cdk synth` does (same feature flags from cdk.json),
 * into a temporary cloud assembly. Bundling is skipped unless asked for: about 50 ms a synth
 * instead of seconds, and the templates are the same apart from asset hashes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll } from 'vitest';
import { PROJECT_ROOT, SluiceFunction } from '#lib/function';
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

/**
 * Synthesizes in a `beforeAll` of the calling test file and removes the assemblies in its
 * `afterAll`. The fields of the result are read through to that synth, so use them inside tests
 * and hooks only. The default timeout is generous: a synth takes about a second, but shares the
 * CPU with the bundling test.
 */
export function synthesizeBeforeAll(options: SynthOptions = {}, timeout = 60_000): Synthesized {
  let synthesized: Synthesized | undefined;
  const current = (): Synthesized => {
    if (!synthesized)
      throw new Error('the stack is synthesized in beforeAll: read it inside tests and hooks');
    return synthesized;
  };
  beforeAll(() => {
    synthesized = synthesize(options);
  }, timeout);
  afterAll(removeAssemblies);
  return {
    get app() {
      return current().app;
    },
    get stack() {
      return current().stack;
    },
    get template() {
      return current().template;
    },
    get outdir() {
      return current().outdir;
    },
  };
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

export type Resource = Resources[string];

/** Resources of one CloudFormation type, by logical id. */
export function resourcesOfType(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** The one resource of a type whose logical id starts with `prefix`, as `[logicalId, resource]`. */
export function resource(template: Template, type: string, prefix: string): [string, Resource] {
  const found = Object.entries(resourcesOfType(template, type)).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.length}`);
  return found[0] as [string, Resource];
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

export function policyDocument(resource: Resource): PolicyDocument {
  return (resource.Properties?.PolicyDocument as PolicyDocument | undefined) ?? { Statement: [] };
}

/** A function's environment variables. */
export function environmentOf(resource: Resource): Record<string, unknown> {
  return (
    (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}
  );
}

/** The statements of the identity policies attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const [roleId] = resource(template, 'AWS::IAM::Role', rolePrefix);
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => policyDocument(policy).Statement);
}

/** The statements that name `action` itself (not through a wildcard). */
export function statementsWith(statements: Statement[], action: string): Statement[] {
  return statements.filter((s) => asArray(s.Action).includes(action));
}

/** Every action the statements name. */
export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => asArray(s.Action));

/** `arn:${Partition}:<service>:${Region}:${AccountId}<rest>` as the template renders it. */
export const regionalArn = (service: string, rest: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      rest,
    ],
  ],
});

/** A function of the stack as Lambda would start it: its entry, its export and its environment. */
export interface StartedFunction {
  name: string;
  entry: string;
  /** The export Lambda calls (`index.<name>`): `handler`, or `onObjectCreated` for ingest events. */
  exportName: string;
  /** The environment the stack gives it, deploy-time tokens (Refs, ARNs) made literals. */
  env: Record<string, string>;
}

/** Every Sluice function of the stack; a token's literal is `<label>` (or an ARN when the name says one). */
export function functionsOf(stack: Stack, label: string): StartedFunction[] {
  const literal = (key: string, value: unknown): string => {
    if (typeof value === 'string') return value;
    if (/ARN$/.test(key)) return `arn:aws:lambda:us-east-1:123456789012:function:${label}`;
    return label;
  };
  return stack.node
    .findAll()
    .filter((c): c is SluiceFunction => c instanceof SluiceFunction)
    .map((fn) => {
      const cfn = fn.node.defaultChild as CfnFunction;
      const variables =
        (Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined)
          ?.variables ?? {};
      return {
        name: fn.node.path,
        entry: fn.entry,
        exportName: String(cfn.handler).replace(/^index\./, ''),
        env: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, literal(k, v)])),
      };
    });
}

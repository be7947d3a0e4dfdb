/**
 * The house Lambda function: every Sluice function is a `SluiceFunction`, so runtime,
 * architecture, tracing, logging, bundling and the execution role are decided once, here.
 * A function states only what differs: its entry, memory, timeout and environment.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy, type Size, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { SETTING } from '#core/setting-names';

/** The repository root: where package.json, package-lock.json and node_modules live. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The handler module of a function, `functions/<name>.ts`. */
export function functionEntry(name: string): string {
  return path.join(PROJECT_ROOT, 'functions', `${name}.ts`);
}

/**
 * DuckDB's Node API and its native binding. They stay out of the esbuild bundle (a `.node`
 * file cannot be bundled) and are copied as installed packages next to it. `detect-libc` is
 * the bindings' own dependency (it picks the glibc or musl build).
 */
export const DUCKDB_PACKAGES = [
  '@duckdb/node-api',
  '@duckdb/node-bindings',
  '@duckdb/node-bindings-linux-x64',
] as const;
const DUCKDB_SUPPORT_PACKAGES = ['detect-libc'] as const;

/**
 * ESM output still meets CommonJS dependencies that call `require` (Node built-ins, JSON);
 * esbuild's shim uses a `require` in scope when there is one.
 */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);";

export interface SluiceFunctionProps {
  /** Absolute path of the handler module (see `functionEntry`). */
  readonly entry: string;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  readonly description: string;
  /** Memory in MB: required, because it also sets the function's CPU share. */
  readonly memorySize: number;
  /** Required: the default 3 s is wrong for almost everything. */
  readonly timeout: Duration;
  /** Retention of the function's own log group. */
  readonly logRetention: RetentionDays;
  /**
   * @default Architecture.ARM_64, or X86_64 when `nativeDuckDb` is set (the installed binding
   * is linux-x64).
   */
  readonly architecture?: Architecture;
  /** Ship `@duckdb/node-api` and its linux-x64 native binding next to the bundle. */
  readonly nativeDuckDb?: boolean;
  readonly environment?: Record<string, string>;
  /** Size of `/tmp`. @default 512 MiB (the Lambda default) */
  readonly ephemeralStorageSize?: Size;
  /** Dead-letter queue for asynchronous invocations that still fail after Lambda's retries. */
  readonly deadLetterQueue?: IQueue;
  /**
   * Files of installed packages the handler reads at run time (not code esbuild can bundle),
   * copied beside the bundle under `node_modules/<package>/`, by package name.
   */
  readonly packageFiles?: Readonly<Record<string, readonly string[]>>;
}

export class SluiceFunction extends NodejsFunction {
  /** The execution role, owned by this function alone. */
  public readonly executionRole: Role;
  /** The handler module (`functions/<name>.ts`) the bundle is built from. */
  public readonly entry: string;

  constructor(scope: Construct, id: string, props: SluiceFunctionProps) {
    const nativeDuckDb = props.nativeDuckDb ?? false;
    const architecture = props.architecture ?? (nativeDuckDb ? Architecture.X86_64 : Architecture.ARM_64);
    if (nativeDuckDb && architecture !== Architecture.X86_64) {
      throw new Error(
        `${id}: nativeDuckDb functions must run on x86_64 (the installed binding is linux-x64)`,
      );
    }
    if (nativeDuckDb && props.packageFiles) {
      throw new Error(`${id}: packageFiles and nativeDuckDb each bring their own bundling hooks; use one`);
    }

    // Created next to the function (not inside it) because they must exist before super().
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });

    super(scope, id, {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      ...(props.ephemeralStorageSize ? { ephemeralStorageSize: props.ephemeralStorageSize } : {}),
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      awsSdkConnectionReuse: false,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [SETTING.serviceName]: 'sluice',
        [SETTING.metricsNamespace]: 'Sluice',
        // Leave DuckDB room below the function's memory for Node and its buffers.
        ...(nativeDuckDb ? { [SETTING.duckdbMemoryLimit]: `${Math.floor(props.memorySize * 0.6)}MB` } : {}),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: CREATE_REQUIRE_BANNER,
        minify: true,
        logLevel: LogLevel.WARNING,
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled (pinned, tree-shaken) instead of taken from the runtime.
        bundleAwsSDK: true,
        externalModules: nativeDuckDb ? [...DUCKDB_PACKAGES] : [],
        ...(nativeDuckDb
          ? { commandHooks: copyInstalledPackages([...DUCKDB_PACKAGES, ...DUCKDB_SUPPORT_PACKAGES]) }
          : {}),
        ...(props.packageFiles ? { commandHooks: copyPackageFiles(props.packageFiles) } : {}),
      },
    });
    this.executionRole = role;
    this.entry = props.entry;

    // Writes go to this function's own log group only (no AWSLambdaBasicExecutionRole).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
        'resource-level permissions; they are the only actions on this role granted on "*" (checked ' +
        'by test/infra).',
    });
  }
}

/**
 * Copies installed packages from the repository's node_modules into the bundle's
 * node_modules after esbuild ran: offline, no `npm install` during synth.
 */
function copyInstalledPackages(packages: readonly string[]) {
  return {
    beforeBundling: (): string[] => [],
    beforeInstall: (): string[] => [],
    afterBundling(inputDir: string, outputDir: string): string[] {
      return packages.map((name) => {
        const target = path.posix.join(outputDir, 'node_modules', path.posix.dirname(name));
        const source = path.posix.join(inputDir, 'node_modules', name);
        return `mkdir -p "${target}" && cp -R "${source}" "${target}/"`;
      });
    },
  };
}

/** Copies single files of installed packages into the bundle's node_modules after esbuild ran. */
function copyPackageFiles(packages: Readonly<Record<string, readonly string[]>>) {
  return {
    beforeBundling: (): string[] => [],
    beforeInstall: (): string[] => [],
    afterBundling(inputDir: string, outputDir: string): string[] {
      return Object.entries(packages).map(([name, files]) => {
        const source = path.posix.join(inputDir, 'node_modules', name);
        const target = path.posix.join(outputDir, 'node_modules', name);
        const copies = files.map((file) => `cp "${source}/${file}" "${target}/${file}"`);
        return [`mkdir -p "${target}"`, ...copies].join(' && ');
      });
    },
  };
}

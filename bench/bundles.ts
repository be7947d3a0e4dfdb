/**
 * Bundles: synthesizes the stack with real bundling (esbuild, as `cdk deploy` would), then for
 * every function prints its minified size and the median time a fresh Node process takes to
 * import it (the module init a cold start pays before the handler runs), against a baseline
 * bundle holding only the DynamoDB document client and the Powertools logger, built with the
 * same esbuild options and measured the same way, in the same run.
 *
 * Targets (API functions; the DuckDB workers are listed for information): at most 1 MB minified
 * and an init at most 1.5× the baseline's. `ratio` is the largest init ratio of an API function;
 * `floor_ratio` is that of the libraries alone (see floorBundle), the least an API function can reach.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { build } from 'esbuild';
import { PROJECT_ROOT, SluiceFunction } from '../lib/function.ts';
import { SluiceStack } from '../lib/sluice-stack.ts';
import { median, report, table } from './common.ts';

const run = promisify(execFile);
const RUNS = 7;
const MAX_BYTES = 1024 * 1024;
const TARGET = 1.5;

interface Bundle {
  name: string;
  file: string;
  /** The handler module it was built from (for the composition listing). */
  entry?: string;
  env: Record<string, string>;
  /** Carries DuckDB: not held to the API targets. */
  worker: boolean;
}

/** Every function of a stack synthesized with bundling, with its bundle file and environment. */
async function synthesizedBundles(outdir: string): Promise<Bundle[]> {
  // The feature flags of cdk.json, as `cdk synth` reads them.
  const cdkJson = JSON.parse(await readFile(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const app = new App({ outdir, context: cdkJson.context ?? {} });
  const stack = new SluiceStack(app, 'SluiceBench');
  app.synth();
  const functions = stack.node.findAll().filter((c): c is SluiceFunction => c instanceof SluiceFunction);
  const bundles: Bundle[] = [];
  for (const fn of functions) {
    const cfn = fn.node.defaultChild as CfnFunction & CfnResource;
    const code = Stack.of(fn).resolve(cfn.code) as { s3Key?: string };
    const hash = code.s3Key?.replace(/\.zip$/, '');
    if (!hash) continue;
    const dir = join(outdir, `asset.${hash}`);
    const entry = (await readdir(dir)).find((f) => f === 'index.mjs' || f === 'index.js');
    if (!entry) continue;
    const variables = (Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> })
      ?.variables;
    bundles.push({
      name: fn.node.path.replace(/^SluiceBench\//, ''),
      file: join(dir, entry),
      entry: fn.entry,
      env: placeholders(variables ?? {}),
      worker: Object.keys(variables ?? {}).includes('SLUICE_DUCKDB_MEMORY_LIMIT'),
    });
  }
  return bundles;
}

/** Deploy-time tokens (Refs, ARNs) become plausible literals: init only needs them present. */
function placeholders(variables: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(variables)) {
    if (typeof value === 'string') out[key] = value;
    else if (/ARN$/.test(key)) out[key] = 'arn:aws:lambda:us-east-1:123456789012:function:bench';
    else if (/URL$/.test(key)) out[key] = 'https://example.com/bench';
    else out[key] = 'bench';
  }
  return out;
}

/** The baseline: the DynamoDB document client and the Powertools logger, nothing else. */
async function baselineBundle(dir: string): Promise<Bundle> {
  const entry = join(dir, 'baseline.ts');
  await writeFile(
    entry,
    [
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      'const logger = new Logger();',
      'const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({}));',
      "export const handler = async () => { logger.info('get'); return ddb.send(new GetCommand({ TableName: 't', Key: { pk: 'x' } })); };",
    ].join('\n'),
  );
  const file = join(dir, 'baseline.mjs');
  await houseBuild(entry, file);
  return { name: 'baseline (DynamoDB document client + Logger)', file, env: {}, worker: false };
}

/**
 * The floor: what every API area imports before any Sluice code, built and measured the same way.
 * The baseline plus the libraries the stack prescribes for a request handler: the Powertools
 * tracer (X-Ray) and metrics, middy, zod and the S3 client. No project module is in it, so its
 * ratio is the least any API function can reach while it uses them.
 */
async function floorBundle(dir: string): Promise<Bundle> {
  const entry = join(dir, 'floor.ts');
  await writeFile(
    entry,
    [
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';",
      "import { S3Client } from '@aws-sdk/client-s3';",
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import { Metrics } from '@aws-lambda-powertools/metrics';",
      "import { Tracer } from '@aws-lambda-powertools/tracer';",
      "import middy from '@middy/core';",
      "import * as z from 'zod';",
      'const logger = new Logger();',
      "const metrics = new Metrics({ namespace: 'Sluice' });",
      'const tracer = new Tracer();',
      'const ddb = tracer.captureAWSv3Client(DynamoDBDocumentClient.from(new DynamoDBClient({})));',
      'const s3 = tracer.captureAWSv3Client(new S3Client({}));',
      'const body = z.object({ name: z.string().min(1), limit: z.number().int().optional() });',
      'export const handler = middy(async (event: unknown) => {',
      "  logger.info('get'); metrics.addMetric('Requests', 'Count', 1);",
      "  return { parsed: body.safeParse(event).success, item: await ddb.send(new GetCommand({ TableName: 't', Key: { pk: 'x' } })), s3: s3.config.region };",
      '});',
    ].join('\n'),
  );
  const file = join(dir, 'floor.mjs');
  await houseBuild(entry, file);
  return { name: 'floor (+ Tracer, Metrics, middy, zod, S3 client)', file, env: {}, worker: false };
}

/** esbuild with the options of the house function (lib/function.ts). */
function houseBuild(entry: string, outfile: string, metafile = false) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    metafile,
    absWorkingDir: process.cwd(),
    nodePaths: [join(process.cwd(), 'node_modules')],
    banner: {
      js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
}

/**
 * What weighs in a function's bundle: its entry built again the same way with a metafile, the
 * bytes of each input summed by package (or by project folder), heaviest first.
 */
async function heaviestInputs(bundle: Bundle, dir: string, count: number): Promise<string> {
  if (!bundle.entry) return '';
  const out = join(dir, `composition-${bundle.name.replace(/\W+/g, '-')}.mjs`);
  const { metafile } = await houseBuild(bundle.entry, out, true);
  const output = Object.values(metafile?.outputs ?? {}).find((o) => o.entryPoint);
  const kb = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, -1).join('/');
    kb.set(pkg, (kb.get(pkg) ?? 0) + input.bytesInOutput / 1024);
  }
  return [...kb]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, size]) => `${name} ${size.toFixed(0)}`)
    .join(', ');
}

const IMPORT_AND_TIME =
  'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t)); process.exit(0);';

/** Milliseconds one fresh process spends importing the bundle (its module init). */
async function initMs(bundle: Bundle): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', IMPORT_AND_TIME, pathToFileURL(bundle.file).href],
    {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_LAMBDA_FUNCTION_NAME: 'bench',
        POWERTOOLS_SERVICE_NAME: 'sluice',
        POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
        NODE_OPTIONS: '--enable-source-maps',
        ...bundle.env,
      },
      timeout: 60_000,
    },
  );
  return Number(stdout);
}

export async function main(): Promise<void> {
  const outdir = await mkdtemp(join(tmpdir(), 'sluice-bundles-'));
  try {
    console.log('synthesizing with bundling ...');
    const functions = await synthesizedBundles(outdir);
    const baseline = await baselineBundle(outdir);
    const floor = await floorBundle(outdir);
    const all = [baseline, floor, ...functions];
    const times = new Map<Bundle, number[]>(all.map((b) => [b, []]));
    /** Functions that did not load, with the thrown error's own line. */
    const failed = new Map<Bundle, string>();
    // Rounds alternate over every bundle, so drift on the machine hits all of them alike.
    for (let round = 0; round < RUNS; round++) {
      for (const bundle of all) {
        if (failed.has(bundle)) continue;
        try {
          times.get(bundle)?.push(await initMs(bundle));
        } catch (error) {
          // `ConfigError: Missing required setting …`, not the command line.
          const stderr = (error as { stderr?: string }).stderr ?? '';
          const reason = stderr.split('\n').find((line) => /^\w*Error: /.test(line));
          failed.set(bundle, reason ?? (error as Error).message.split('\n')[0] ?? 'unknown');
          if (bundle === baseline) throw new Error(`the baseline did not load: ${failed.get(bundle)}`);
        }
      }
    }
    const baseMs = median(times.get(baseline) ?? []);
    const rows = await Promise.all(
      all.map(async (b) => {
        const bytes = (await stat(b.file)).size;
        const ms = failed.has(b) ? Number.POSITIVE_INFINITY : median(times.get(b) ?? []);
        return { b, bytes, ms, ratio: ms / baseMs };
      }),
    );
    table([
      ['function', 'kind', 'minified KB', 'init ms (median)', '× baseline', 'meets'],
      ...rows.map(({ b, bytes, ms, ratio }) => [
        b.name,
        b === baseline
          ? 'baseline'
          : b === floor
            ? 'libraries only'
            : b.worker
              ? 'worker (DuckDB)'
              : 'api/event',
        (bytes / 1024).toFixed(0),
        failed.has(b) ? 'did not load' : ms.toFixed(0),
        failed.has(b) ? '-' : ratio.toFixed(2),
        b === baseline || b === floor || (b.worker && !failed.has(b))
          ? ''
          : bytes <= MAX_BYTES && ratio <= TARGET
            ? 'yes'
            : 'no',
      ]),
    ]);
    if (failed.size > 0) {
      console.log(
        '\ndid not load (as Lambda would load it at init, with its environment from the template):',
      );
      for (const [b, reason] of failed) console.log(`  ${b.name}: ${reason}`);
    }
    const held = rows.filter(({ b }) => b !== baseline && b !== floor && !b.worker);
    const floorRow = rows.find(({ b }) => b === floor);
    const missing = held.filter(({ bytes, ratio }) => bytes > MAX_BYTES || ratio > TARGET);
    if (missing.length > 0) {
      console.log('\nwhat weighs in the functions that miss a target (KB minified, heaviest first):');
      for (const { b } of missing) console.log(`  ${b.name}: ${await heaviestInputs(b, outdir, 8)}`);
    }
    const worst = held.reduce((a, r) => (r.ratio > a.ratio ? r : a), held[0] ?? rows[0]);
    const largest = held.reduce((a, r) => (r.bytes > a.bytes ? r : a), held[0] ?? rows[0]);
    // A function that does not start has no init time to compare: the bench fails, after the table.
    if (failed.size > 0) throw new Error(`${failed.size} function(s) did not load: see above`);
    report({
      bench: 'bundles',
      ratio: Number((worst?.ratio ?? 0).toFixed(3)),
      target: TARGET,
      baseline_ms: Math.round(baseMs),
      baseline_kb: Math.round((rows[0]?.bytes ?? 0) / 1024),
      floor_ratio: Number((floorRow?.ratio ?? 0).toFixed(3)),
      floor_kb: Math.round((floorRow?.bytes ?? 0) / 1024),
      worst: worst?.b.name,
      largest_kb: Math.round((largest?.bytes ?? 0) / 1024),
      largest: largest?.b.name,
      max_kb: MAX_BYTES / 1024,
      over_size: held.filter((r) => r.bytes > MAX_BYTES).length,
      functions: held.length,
    });
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

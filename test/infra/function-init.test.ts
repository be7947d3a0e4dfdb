/**
 * Every function starts with the environment the stack gives it: its handler module is loaded
 * the way Lambda loads it at init (AWS_LAMBDA_FUNCTION_NAME set, the function's variables from the
 * template, deploy-time references replaced by plausible literals), in a process of its own. A
 * setting a module needs at start but the stack does not set fails here, not at the first cold
 * start after a deploy.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '#lib/function';
import { functionsOf, synthesizeBeforeAll } from './synth.ts';

const run = promisify(execFile);
const synth = synthesizeBeforeAll();

describe('every function', () => {
  it('loads its handler module with only the environment the stack sets', async () => {
    const functions = functionsOf(synth.stack, 'init-test');
    expect(functions.length).toBeGreaterThan(15);
    const failures: string[] = [];
    const load = async (fn: (typeof functions)[number]) => {
      try {
        const { stdout } = await run(
          process.execPath,
          [
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            'const m = await import(process.argv[1]); process.stdout.write(typeof m[process.argv[2]]); process.exit(0);',
            fn.entry,
            fn.exportName,
          ],
          {
            cwd: PROJECT_ROOT,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH,
              AWS_REGION: 'us-east-1',
              AWS_LAMBDA_FUNCTION_NAME: 'init-test',
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
              ...fn.env,
              NODE_OPTIONS: '',
            },
          },
        );
        if (stdout !== 'function') failures.push(`${fn.name}: exports no ${fn.exportName}`);
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        // The thrown error's own line (`ConfigError: Missing required setting …`), not the source line.
        const reason = stderr.split('\n').find((line) => /^\w*Error: /.test(line)) ?? String(error);
        failures.push(`${fn.name}: ${reason.trim()}`);
      }
    };
    // Two at a time: one process per function, as Lambda starts them.
    const queue = [...functions];
    await Promise.all(
      [0, 1].map(async () => {
        for (let fn = queue.shift(); fn; fn = queue.shift()) await load(fn);
      }),
    );
    expect(failures).toEqual([]);
  }, 300_000);
});

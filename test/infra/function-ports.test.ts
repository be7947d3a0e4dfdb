/**
 * Every function's entry declares the ports it uses (`onAws({ ... })`), and the stack gives it
 * what those ports' adapters need: each declared adapter is built from the function's settings
 * as the template sets them (deploy-time references replaced by literals), in this process.
 * A port whose adapter tolerates a missing setting (the Glue catalog, which does nothing without
 * its prefix) is checked for that setting by name.
 */
import { Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import type { PortedHandler } from '#core/platform/lambda';
import { parseSettings, SETTING } from '#core/settings';
import { SluiceFunction } from '#lib/function';
import { synthesizeBeforeAll } from './synth.ts';

const synth = synthesizeBeforeAll();

/** Deploy-time tokens (Refs, ARNs) become literals: the adapters only need them present. */
function literal(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (/ARN$/.test(key)) return 'arn:aws:lambda:us-east-1:123456789012:function:ports-test';
  return 'ports-test';
}

function functionsOf(stack: Stack) {
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

/** Settings a port needs that its adapter does not insist on. */
const ALSO_NEEDED: Partial<Record<string, string[]>> = {
  catalog: [SETTING.glueDatabasePrefix],
};

describe('every function', () => {
  it('is given the settings of each port its entry declares', async () => {
    const functions = functionsOf(synth.stack);
    expect(functions.length).toBeGreaterThan(15);
    const failures: string[] = [];
    let checked = 0;
    for (const fn of functions) {
      const module = (await import(fn.entry)) as Record<string, unknown>;
      const handler = module[fn.exportName] as Partial<PortedHandler<unknown[], unknown>> | undefined;
      if (!handler?.adapters) {
        failures.push(`${fn.name}: ${fn.exportName} is not made by onAws (it declares no ports)`);
        continue;
      }
      const settings = parseSettings({ AWS_REGION: 'us-east-1', ...fn.env });
      for (const [port, adapter] of Object.entries(handler.adapters)) {
        checked += 1;
        try {
          (adapter as (s: typeof settings) => unknown)(settings);
        } catch (error) {
          failures.push(`${fn.name}: ${port}: ${(error as Error).message}`);
        }
        for (const name of ALSO_NEEDED[port] ?? []) {
          if (fn.env[name] === undefined) failures.push(`${fn.name}: ${port}: Missing setting ${name}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(functions.length);
  }, 120_000);
});

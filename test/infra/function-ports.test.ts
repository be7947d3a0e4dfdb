/**
 * Every function's entry declares the ports it uses (`onAws({ ... })`), and the stack gives it
 * what those ports' adapters need: each declared adapter is built from the function's settings
 * as the template sets them (deploy-time references replaced by literals), in this process.
 * A port whose adapter tolerates a missing setting (the Glue catalog, which does nothing without
 * its prefix) is checked for that setting by name.
 */
import { describe, expect, it } from 'vitest';
import type { PortedHandler } from '#core/platform/lambda';
import { parseSettings, SETTING } from '#core/settings';
import { functionsOf, synthesizeBeforeAll } from './synth.ts';

const synth = synthesizeBeforeAll();

/** Settings a port needs that its adapter does not insist on. */
const ALSO_NEEDED: Partial<Record<string, string[]>> = {
  catalog: [SETTING.glueDatabasePrefix],
};

describe('every function', () => {
  it('is given the settings of each port its entry declares', async () => {
    const functions = functionsOf(synth.stack, 'ports-test');
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

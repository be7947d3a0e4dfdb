import { describe, expect, it, vi } from 'vitest';
import { type Adapter, createAwsPlatform } from '#core/platform/aws';
import { awsTable } from '#core/platform/aws/table';
import { onAws, onPortsOf } from '#core/platform/lambda';
import { MissingPortError, type Platform, platform, restrictTo, runOn } from '#core/platform/platform';
import { parseSettings, SETTING } from '#core/settings';
import { testPlatform } from './test-platform.ts';

const settings = parseSettings({ [SETTING.table]: 'sluice-unit', [SETTING.dataBucket]: 'sluice-data' });
const engine = { name: 'the host engine' } as unknown as Platform['engine'];
const host = () => testPlatform({ settings, engine });

describe('a platform restricted to what a function declares', () => {
  it('gives the declared ports, the settings and the clock', () => {
    const on = host();

    const view = restrictTo(on, { ports: ['stores', 'engine'] });

    expect(view.engine).toBe(on.engine);
    expect(view.stores).toBe(on.stores);
    expect(view.settings).toBe(on.settings);
    expect(view.clock).toBe(on.clock);
  });

  it('throws naming a port the function did not declare', () => {
    const view = restrictTo(host(), { ports: ['stores'] });

    expect(() => view.engine).toThrow(MissingPortError);
    expect(() => view.engine).toThrow(/not given the engine port \(it declares stores\)/);
  });

  it('is made from the whole platform even when asked from another view', () => {
    const on = host();
    const api = restrictTo(on, { ports: ['stores'] });

    const worker = restrictTo(api, { ports: ['engine'] });

    expect(worker.engine).toBe(on.engine);
  });

  it('is the same view on every call of a function', () => {
    const on = host();
    const declared = { ports: ['stores'] as const };

    expect(restrictTo(on, declared)).toBe(restrictTo(on, declared));
  });

  it('narrows a port as the adapter does: the table alone has no data bucket', () => {
    const on = host();

    const view = restrictTo(on, { ports: ['stores'], narrow: { stores: awsTable.narrow } });

    expect(view.stores.table).toBe('sluice-unit');
    expect(view.stores.ddb).toBe(on.stores.ddb);
    expect(() => view.stores.s3).toThrow(/given the table only/);
  });
});

describe('a handler made by onAws', () => {
  it('runs on a host platform restricted to the ports its entry declares', async () => {
    const handler = onAws({ stores: awsTable }, async () => platform().engine);

    const run = runOn(host(), () => handler());

    await expect(run).rejects.toThrow(/not given the engine port/);
  });

  it('reaches a declared port of the host', async () => {
    const declaredEngine: Adapter<'engine'> = () => {
      throw new Error('the AWS adapter is not built on a host platform');
    };
    const handler = onAws({ engine: declaredEngine }, async () => platform().engine);

    await expect(runOn(host(), () => handler())).resolves.toBe(engine);
  });

  it('lets a host run what the handler would call on the same ports', () => {
    const handler = onAws({ stores: awsTable }, () => undefined);

    expect(() => runOn(host(), () => onPortsOf(handler, () => platform().engine))).toThrow(MissingPortError);
  });
});

describe('the AWS platform', () => {
  it('builds each declared port once, from the settings', () => {
    const adapter = vi.fn(() => engine) as unknown as Adapter<'engine'>;
    const on = createAwsPlatform(settings, { engine: adapter });

    expect([on.engine, on.engine]).toEqual([engine, engine]);
    expect(adapter).toHaveBeenCalledTimes(1);
    expect(adapter).toHaveBeenCalledWith(settings);
  });

  it('throws naming a port its function did not declare', () => {
    const on = createAwsPlatform(settings, { engine: () => engine });

    expect(() => on.queryEngine).toThrow(/not given the queryEngine port \(it declares engine\)/);
    expect(() => on.stores).toThrow(MissingPortError);
  });
});

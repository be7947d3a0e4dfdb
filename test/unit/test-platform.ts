/** A platform for unit tests: the ports a test names, and ports that fail loudly if used otherwise. */

import { aroundAll, aroundEach } from 'vitest';
import { createStores } from '#core/clients';
import { noCatalogHooks, type Platform, runOn, systemClock } from '#core/platform/platform';
import { parseSettings, SETTING } from '#core/settings';

const unused = (port: string) =>
  new Proxy(
    {},
    {
      get(_target, member) {
        throw new Error(`This test gave the platform no ${port} (used: ${String(member)})`);
      },
    },
  );

/** Settings from the test's environment as it is now; stores whose clients the tests mock. */
export function testPlatform(ports: Partial<Platform> = {}): Platform {
  const settings =
    ports.settings ??
    parseSettings({ [SETTING.table]: 'sluice-unit', [SETTING.dataBucket]: 'sluice-data', ...process.env });
  return {
    settings,
    stores: createStores(settings.storage, { accessKeyId: 'test', secretAccessKey: 'test' }),
    engine: unused('run engine') as Platform['engine'],
    queryEngine: unused('query engine') as Platform['queryEngine'],
    triggers: unused('trigger runtime') as Platform['triggers'],
    events: async () => undefined,
    catalog: noCatalogHooks,
    secrets: unused('secrets') as Platform['secrets'],
    clock: systemClock,
    ...ports,
  };
}

/**
 * Runs the file's hooks and tests on a test platform (`ports` as they need), built again for each
 * test so that a test sees the environment it set.
 */
export function onTestPlatform(ports: () => Partial<Platform> = () => ({})): void {
  aroundAll((runSuite) => runOn(testPlatform(ports()), runSuite));
  aroundEach((runTest) => runOn(testPlatform(ports()), runTest));
}

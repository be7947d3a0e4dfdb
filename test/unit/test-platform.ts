/** A platform for unit tests: the ports a test names, and ports that fail loudly if used otherwise. */
import { noCatalogHooks, type Platform, systemClock } from '#core/platform/platform';
import { settings } from '#core/settings';

const unused = (port: string) =>
  new Proxy(
    {},
    {
      get(_target, member) {
        throw new Error(`This test gave the platform no ${port} (used: ${String(member)})`);
      },
    },
  );

export function testPlatform(ports: Partial<Platform> = {}): Platform {
  return {
    settings,
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

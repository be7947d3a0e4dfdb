import { defineConfig } from 'vitest/config';

/**
 * Three tiers (see CONVENTIONS): unit (no network), api (HTTP against the local host with
 * real stores), infra (CDK synth, template assertions and cdk-nag).
 */
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: 'api',
          include: ['test/api/**/*.test.ts'],
          globalSetup: ['test/api/global-setup.ts'],
          setupFiles: ['test/api/setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: { name: 'infra', include: ['test/infra/**/*.test.ts'], testTimeout: 120_000 },
      },
    ],
    pool: 'forks',
    maxWorkers: 2,
  },
});

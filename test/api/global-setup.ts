/** One local host shared by the api test files (tests that restart a host start their own). */
import type { TestProject } from 'vitest/node';
import { type RunningHost, startHost } from './harness.ts';

let host: RunningHost | undefined;

export async function setup(project: TestProject): Promise<void> {
  // `aitems` is the bucket of the Data Flow examples (seed 004), `test-bucket` and the data
  // source `test_datasource` those of the Data Query examples (seed 003); the other bucket is
  // for pipeline tests.
  host = await startHost({
    env: {
      SLUICE_BUCKETS: 'aitems,sluice-test-external,test-bucket',
      SLUICE_QUERY_CATALOG_NAME: 'test_datasource',
      // Trigger tests fire `rate(n seconds)` schedules (refused unless this is set).
      SLUICE_ALLOW_SECOND_SCHEDULES: 'true',
    },
  });
  project.provide('hostUrl', host.url);
  project.provide('s3Url', host.s3Url);
  project.provide('dataDir', host.dataDir);
}

export async function teardown(): Promise<void> {
  const code = await host?.stop();
  if (code !== 0) console.error(`shared host exited with ${code}:\n${host?.output()}`);
}

declare module 'vitest' {
  export interface ProvidedContext {
    hostUrl: string;
    s3Url: string;
    dataDir: string;
  }
}

/** Runs in every API test file: no host a file started outlives it. */
import { afterAll } from 'vitest';
import { logConformanceTally, stopAllHosts } from './harness.ts';

afterAll(stopAllHosts, 60_000);
afterAll(logConformanceTally);

/**
 * Starts the real local host (`local/main.ts`, as `npm start` does) in a child process on
 * random ports with a temporary data directory, and talks HTTP to it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { answeringRoute, conformanceProblems, type ObservedResponse } from '../../bin/openapi/conformance.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ADMIN = { username: 'admin', password: 'admin-password-for-tests' };

export interface RunningHost {
  url: string;
  s3Url: string;
  dataDir: string;
  output(): string;
  /** Sends SIGINT and resolves with the exit code once the host has stopped. */
  stop(): Promise<number | null>;
  child: ChildProcess;
}

/**
 * A client of the host's local S3 (s3rver) at `endpoint`: path-style addressing, s3rver's fixed
 * credentials, and checksums only where an operation requires them, as the host's own clients.
 */
export function localS3(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function tempDir(prefix = 'sluice-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Hosts this process started and that have not exited. A test file that forgets to stop one (or
 * fails before its afterAll) must not leave it running: when the test worker exits, whatever is
 * left is killed, whole process group included for detached hosts.
 */
const orphans = new Map<ChildProcess, { group: boolean }>();

/**
 * Stops every host this process started that is still running (test/api/setup.ts runs it after
 * each file): SIGINT as Ctrl-C would, SIGKILL for one still there after 30 s.
 */
export async function stopAllHosts(): Promise<void> {
  await Promise.all(
    [...orphans.keys()].map(async (child) => {
      const exited = new Promise<void>((res) => {
        if (child.exitCode !== null || child.signalCode !== null) res();
        else child.once('exit', () => res());
      });
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

// The last resort when a worker exits without the hook above having run.
process.once('exit', () => {
  for (const [child, { group }] of orphans) {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startHost(
  options: {
    dataDir?: string;
    env?: Record<string, string>;
    /** Own process group (pid = group id), so a test can kill the whole group. */
    detached?: boolean;
  } = {},
): Promise<RunningHost> {
  const dataDir = options.dataDir ?? (await tempDir());
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'local/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      SLUICE_S3_PORT: '0',
      SLUICE_DATA_DIR: dataDir,
      SLUICE_ADMIN_USERNAME: ADMIN.username,
      SLUICE_ADMIN_PASSWORD: ADMIN.password,
      SLUICE_LOG_LEVEL: 'ERROR',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  orphans.set(child, { group: options.detached ?? false });
  child.once('exit', () => orphans.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const ready = await new Promise<{ url: string; s3Url: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`host did not start in time:\n${output}`)), 90_000);
    const check = () => {
      const url = /Sluice is running at (\S+)/.exec(output)?.[1];
      const s3Url = /S3 endpoint:\s+(\S+)/.exec(output)?.[1];
      if (url && s3Url && output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        res({ url, s3Url });
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`host exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    ...ready,
    dataDir,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: RequestInit['body'];
}

/** Answers checked against the OpenAPI document by this test file, by `operation status`. */
const checkedResponses = new Map<string, number>();

/** Thrown when an answer is not what openapi.json documents for its route and status. */
export class UndocumentedResponseError extends Error {
  override name = 'UndocumentedResponseError';
}

/**
 * Fails unless the answer is what the OpenAPI document says for its route and status (see
 * bin/openapi/conformance.ts): every answer the test client receives goes through here, and a
 * test that fetches the API by other means should pass its answers here too.
 */
export function expectDocumented(observed: ObservedResponse): void {
  const problems = conformanceProblems(observed);
  const key = `${answeringRoute(observed.method, observed.path)?.operation ?? '(no route)'} ${observed.status}`;
  checkedResponses.set(key, (checkedResponses.get(key) ?? 0) + 1);
  if (problems.length > 0) {
    throw new UndocumentedResponseError(
      `The answer does not match openapi.json (fix the response schema in bin/openapi/, or the API):\n  ${problems.join('\n  ')}\n  body: ${observed.text.slice(0, 500)}`,
    );
  }
}

/**
 * With SLUICE_CONFORMANCE_LOG set, appends the answers this test file checked, one line per
 * operation and status with their count (setup.ts calls it after each file), so a run can be tallied.
 */
export function logConformanceTally(): void {
  const log = process.env.SLUICE_CONFORMANCE_LOG;
  if (log) appendFileSync(log, [...checkedResponses].map(([key, n]) => `${key} ${n}\n`).join(''));
}

export function client(baseUrl: string) {
  async function call<T = any>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: RequestInit['body'] = options.raw;
    if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    }
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    expectDocumented({
      method,
      path: new URL(`${baseUrl}${path}`).pathname,
      status: res.status,
      contentType: res.headers.get('content-type'),
      text,
      headers: res.headers,
    });
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    call,
    get: <T = any>(path: string, o?: CallOptions) => call<T>('GET', path, o),
    post: <T = any>(path: string, body?: unknown, o?: CallOptions) => call<T>('POST', path, { ...o, body }),
    put: <T = any>(path: string, body?: unknown, o?: CallOptions) => call<T>('PUT', path, { ...o, body }),
    del: <T = any>(path: string, o?: CallOptions) => call<T>('DELETE', path, o),
    async login(username: string, password: string): Promise<string> {
      const res = await call('POST', '/api/v1/auth/login', { body: { username, password } });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
      return res.body.access_token as string;
    },
    async upload(datasetId: string, csv: string | Buffer, token: string, query = '') {
      const form = new FormData();
      form.append('file', new Blob([csv]), 'data.csv');
      return call('POST', `/api/v1/tables/${datasetId}/upload${query}`, { token, raw: form });
    },
  };
}

export type Client = ReturnType<typeof client>;

/** A unique suffix so tests sharing one host never collide on names. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `read` every 100 ms until `done` holds; fails with the last value after the timeout. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/**
 * Two local hosts in one process (this test's), each on its own data directory, ports and
 * platform: what one stores the other never sees, and a token of one is refused by the other.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Host, startHost } from '#local/host';
import { ADMIN, client, tempDir, unique } from './harness.ts';

const hosts: Host[] = [];

async function start(): Promise<Host> {
  const host = await startHost({
    dataDir: await tempDir('sluice-two-hosts-'),
    port: 0,
    bindAddress: '127.0.0.1',
    s3Port: 0,
    dynamodbPort: 0,
    adminUsername: ADMIN.username,
    adminPassword: ADMIN.password,
    env: {},
    log: () => undefined,
  });
  hosts.push(host);
  return host;
}

let first: Host;
let second: Host;

beforeAll(async () => {
  first = await start();
  second = await start();
});

afterAll(async () => {
  for (const host of hosts) {
    await host.stop();
    await rm(host.dataDir, { recursive: true, force: true });
  }
});

describe('two hosts in one process', () => {
  it('run on separate data directories and ports', () => {
    expect(first.url).not.toBe(second.url);
    expect(first.s3Url).not.toBe(second.s3Url);
    expect(first.dataDir).not.toBe(second.dataDir);
  });

  it('each keep their own records', async () => {
    // Arrange
    const one = client(first.url);
    const two = client(second.url);
    const [tokenOne, tokenTwo] = [
      await one.login(ADMIN.username, ADMIN.password),
      await two.login(ADMIN.username, ADMIN.password),
    ];

    // Act
    const made = await one.post(
      '/api/v1/collections',
      { name: unique('col'), description: 'first' },
      { token: tokenOne },
    );

    // Assert
    expect(made.status).toBe(201);
    expect((await one.get(`/api/v1/collections/${made.body.id}`, { token: tokenOne })).status).toBe(200);
    expect((await two.get(`/api/v1/collections/${made.body.id}`, { token: tokenTwo })).status).toBe(404);
  });

  it('sign tokens with their own keys', async () => {
    const tokenOne = await client(first.url).login(ADMIN.username, ADMIN.password);

    const res = await client(second.url).get('/api/v1/collections', { token: tokenOne });

    expect(res.status).toBe(401);
  });
});

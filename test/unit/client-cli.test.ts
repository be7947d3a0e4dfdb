/**
 * The CLI's pieces that need no host: where the session is kept and how, how JWT lifetimes are
 * read, and how results and batches are written out.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { offsetsText, renderBatch } from '../../client/cli/commands/batches.ts';
import { configPath, readSession, secondsLeft, writeSession } from '../../client/cli/config.ts';
import { createOutput, csvLine, formatBytes } from '../../client/cli/output.ts';
import { normaliseEndpoint, serviceCredentials } from '../../client/cli/session.ts';
import type { Batch } from '../../client/cli/shapes.ts';

const jwt = (claims: object) =>
  `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;

describe('the CLI session file', () => {
  it('lives under XDG_CONFIG_HOME when set, else under ~/.config', () => {
    expect(configPath({ XDG_CONFIG_HOME: '/x/config' })).toBe('/x/config/sluice/config.json');
    expect(configPath({ XDG_CONFIG_HOME: '' })).toMatch(/\/\.config\/sluice\/config\.json$/);
  });

  it('is written with mode 0600 in a 0700 directory and read back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-unit-'));
    const file = join(dir, 'sluice', 'config.json');
    const session = { endpoint: 'http://localhost:3000', refresh_token: 'rt-1.secret' };

    writeSession(session, file);

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'sluice'))).mode & 0o777).toBe(0o700);
    expect(readSession(file)).toEqual(session);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(session);
  });

  it('reads as empty when there is none yet', () => {
    expect(readSession(join(tmpdir(), 'no-such-dir', 'config.json'))).toEqual({});
  });
});

describe('the CLI helpers', () => {
  it('reads how long a JWT has left, and nothing from a token that is not one', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(secondsLeft(jwt({ exp: now / 1000 + 90 }), now)).toBe(90);
    expect(secondsLeft('opaque-token', now)).toBeUndefined();
    expect(secondsLeft(jwt({ sub: 'x' }), now)).toBeUndefined();
  });

  it('takes service credentials only as a pair', () => {
    expect(serviceCredentials({})).toBeUndefined();
    expect(serviceCredentials({ SLUICE_CREDENTIAL_ID: 'c', SLUICE_CREDENTIAL_SECRET: 's' })).toEqual({
      id: 'c',
      secret: 's',
    });
    expect(() => serviceCredentials({ SLUICE_CREDENTIAL_ID: 'c' })).toThrow(/both/);
  });

  it('normalises endpoints and refuses what is not an http URL', () => {
    expect(normaliseEndpoint('http://localhost:3000/')).toBe('http://localhost:3000');
    expect(normaliseEndpoint('https://api.example.com/prod/')).toBe('https://api.example.com/prod');
    expect(() => normaliseEndpoint('localhost:3000')).toThrow(/http/);
    expect(() => normaliseEndpoint('not a url')).toThrow(/Not an endpoint/);
  });

  it('writes CSV as Athena does: every value quoted, quotes doubled, nulls empty', () => {
    expect(csvLine(['a', 'say "hi"', null, 'x,y', '줄\n바꿈'])).toBe('"a","say ""hi""",,"x,y","줄\n바꿈"');
  });

  it('prints byte counts for people', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(66_816)).toBe('66.8 kB');
    expect(formatBytes(4_128_768)).toBe('4.13 MB');
  });

  it('lists a step’s rows per partition in partition order', () => {
    const text = offsetsText({
      state: 'running',
      offsets: { partition_10: 5, partition_2: 1000, partition_0: 3 },
    });

    expect(text).toBe('1,008 rows (p0=3 p2=1,000 p10=5)');
  });

  it('draws a batch as a header and one line per step, without colours off a terminal', () => {
    const out = createOutput({ json: false, stdout: { isTTY: false } as NodeJS.WriteStream });
    const batch = {
      id: 'batch-1',
      pipeline_id: 'pl-1',
      pipeline_version: 2,
      name: 'totals',
      status: 'running',
      started_at: null,
      finished_at: null,
      state: {
        state: 'running',
        steps: {
          read: { state: 'success', offsets: { partition_0: 1500 } },
          sum: { state: 'running', offsets: {} },
        },
      },
    } as unknown as Batch;

    expect(renderBatch(out, batch).split('\n')).toEqual([
      'Batch batch-1 of totals v2: running  ',
      '  ✔ read  success   1,500 rows (p0=1,500)',
      '  ▶ sum   running   ',
    ]);
  });
});

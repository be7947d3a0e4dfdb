/**
 * `npm start`: runs the whole platform on this machine. Configuration by environment:
 * PORT, SLUICE_DATA_DIR, SLUICE_S3_PORT, SLUICE_DYNAMODB_PORT, SLUICE_BIND_ADDRESS,
 * SLUICE_ADMIN_USERNAME, SLUICE_ADMIN_PASSWORD, SLUICE_LOG_LEVEL (see README).
 */
import './process-env.ts';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Host, startHost } from './host.ts';

const ROOT = resolve(import.meta.dirname, '..');
const CONSOLE_DIR = join(ROOT, 'console', 'dist');

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    console.error(`${name} must be a port number (0-65535), got "${raw}".`);
    process.exit(2);
  }
  return value;
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

const log = (line: string) => console.log(`${time()} ${line}`);

let host: Host | undefined;
let stopRequested: string | undefined;

/** Ctrl-C stops cleanly, also while the host is still starting (it stops once started). */
function requestStop(signal: string): void {
  if (stopRequested) {
    console.log('Forcing exit.');
    process.exit(130);
  }
  stopRequested = signal;
  if (host) void shutdown(host, signal);
}

async function shutdown(running: Host, signal: string): Promise<void> {
  log(`${signal} received; stopping (waiting for running work)...`);
  try {
    await running.stop();
    log('Stopped cleanly.');
    process.exit(0);
  } catch (error) {
    console.error(`Shutdown failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

process.on('SIGINT', () => requestStop('SIGINT'));
process.on('SIGTERM', () => requestStop('SIGTERM'));

function banner(running: Host): void {
  console.log('');
  console.log(`Sluice is running at ${running.url}`);
  console.log(`  Web console:   ${running.url}/   (API docs: ${running.url}/docs)`);
  console.log(`  S3 endpoint:   ${running.s3Url}   (access key S3RVER, secret S3RVER)`);
  console.log(`  Data:          ${running.dataDir}`);
  console.log(
    `  Buckets:       ${running.buckets.length > 0 ? running.buckets.join(', ') : 'none (set SLUICE_BUCKETS for pipeline sources and targets)'}`,
  );
  console.log(`  Query results: ${running.resultsBucket} (and the buckets above)`);
  if (running.admin.generatedPassword) {
    console.log(`  Admin user:    ${running.admin.username}`);
    console.log(
      `  Password:      ${running.admin.generatedPassword}   (shown once; only its hash is stored)`,
    );
  } else if (running.admin.created) {
    console.log(`  Admin user:    ${running.admin.username} (password from SLUICE_ADMIN_PASSWORD)`);
  } else {
    console.log('  Log in with the admin account created on the first start of this data directory.');
  }
  console.log(
    `  Log in:        curl -X POST ${running.url}/api/v1/auth/login -H "Content-Type: application/json" \\`,
  );
  console.log(`                   -d '{"username": "${running.admin.username}", "password": "..."}'`);
  console.log('Press Ctrl-C to stop.');
  console.log('');
}

/**
 * Builds the web console when console/dist has no index.html (a fresh checkout), in the
 * background: the API answers at once and the console's pages say "being built" until it is
 * ready. Hosts started side by side (the API tests) build it once: a lock file (exclusive create)
 * names the builder, and the build goes to a temporary folder renamed into place when complete,
 * so no host ever serves half a build.
 */
function ensureConsole(): { building(): boolean } {
  const state = { building: false };
  if (existsSync(join(CONSOLE_DIR, 'index.html')) || process.env.SLUICE_CONSOLE === 'off') {
    return { building: () => state.building };
  }
  state.building = true;
  const lock = join(ROOT, 'console', '.build.lock');
  const work = async () => {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
    } catch {
      // Another host builds it: wait for its result (a lock older than 10 minutes is stale).
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? 0);
      if (age > 600_000) await rm(lock, { force: true });
      for (let i = 0; i < 600 && !existsSync(join(CONSOLE_DIR, 'index.html')) && existsSync(lock); i++) {
        await new Promise((r) => setTimeout(r, 1000));
      }
      return;
    }
    const temp = `${CONSOLE_DIR}.tmp-${process.pid}`;
    try {
      log('Building the web console (console/dist)...');
      await mkdir(temp, { recursive: true });
      const code = await new Promise<number | null>((done) => {
        const child = spawn(
          process.execPath,
          [
            join(ROOT, 'node_modules/vite/bin/vite.js'),
            'build',
            '--config',
            'console/vite.config.ts',
            '--outDir',
            temp,
            '--logLevel',
            'warn',
          ],
          { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
        );
        child.once('exit', (c) => done(c));
        child.once('error', () => done(1));
      });
      if (code !== 0) throw new Error(`vite build exited with ${code}`);
      if (!existsSync(join(CONSOLE_DIR, 'index.html'))) {
        await rm(CONSOLE_DIR, { recursive: true, force: true });
        await rename(temp, CONSOLE_DIR);
      }
      log('Web console built.');
    } catch (error) {
      log(`Building the web console failed: ${(error as Error).message}. Run npm run build.`);
    } finally {
      await rm(temp, { recursive: true, force: true });
      await rm(lock, { force: true });
    }
  };
  void work().finally(() => {
    state.building = false;
  });
  return { building: () => state.building };
}

async function main(): Promise<void> {
  const consoleBuild = ensureConsole();
  try {
    host = await startHost({
      dataDir: process.env.SLUICE_DATA_DIR || './.sluice',
      port: port('PORT', 3000),
      bindAddress: process.env.SLUICE_BIND_ADDRESS || '127.0.0.1',
      s3Port: port('SLUICE_S3_PORT', 4569),
      dynamodbPort: port('SLUICE_DYNAMODB_PORT', 0),
      adminUsername: process.env.SLUICE_ADMIN_USERNAME || 'admin',
      ...(process.env.SLUICE_ADMIN_PASSWORD ? { adminPassword: process.env.SLUICE_ADMIN_PASSWORD } : {}),
      console: { dir: CONSOLE_DIR, building: consoleBuild.building },
      log,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      console.error(`A port is already in use (${(error as Error).message}). Set PORT / SLUICE_S3_PORT.`);
    } else {
      console.error(`Sluice could not start: ${(error as Error).message}`);
    }
    process.exit(1);
  }
  if (stopRequested) {
    await shutdown(host, stopRequested);
    return;
  }
  banner(host);
}

void main();

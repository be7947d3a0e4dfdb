/**
 * What every command's action gets: the output (JSON or terminal) and, on first use, the
 * session (endpoint and signed-in client). `action` wraps a command so that whatever it throws
 * is printed as the problem it is and becomes the exit code.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { SluiceClient } from '../index.ts';
import { createOutput, type Output } from './output.ts';
import { openSession, type Session } from './session.ts';

export interface GlobalOptions {
  json?: boolean;
  endpoint?: string;
}

export interface Ctx {
  out: Output;
  globals: GlobalOptions;
  session(): Session;
  client(): SluiceClient;
}

export function contextOf(command: Command): Ctx {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const out = createOutput({ json: globals.json === true });
  let session: Session | undefined;
  const open = () => {
    session ??= openSession(globals.endpoint);
    return session;
  };
  return { out, globals, session: open, client: () => open().client };
}

/**
 * An action handler for commander: `fn` gets the context, then the command's arguments and
 * options as commander passes them (the command object itself is left off).
 */
export function action<A extends unknown[]>(fn: (ctx: Ctx, ...args: A) => Promise<void>) {
  return async (...received: unknown[]) => {
    const command = received.at(-1) as Command;
    const ctx = contextOf(command);
    try {
      await fn(ctx, ...(received.slice(0, -1) as A));
    } catch (error) {
      process.exitCode = ctx.out.failure(error);
    }
  };
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function positiveInteger(name: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer.`);
    }
    return value;
  };
}

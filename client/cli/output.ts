/**
 * How the CLI writes: results to stdout (JSON with `--json`, tables otherwise), messages and
 * problems to stderr. Colours, bars and redrawn screens only when stdout is a terminal, `--json`
 * is off and NO_COLOR is unset for colours.
 */
import { styleText } from 'node:util';
import Table from 'cli-table3';
import { SluiceProblem } from '../problem.ts';

export type Colour = 'green' | 'red' | 'yellow' | 'cyan' | 'gray' | 'bold';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Work that ran and ended without success (a failed batch, a failed query): exit code 3. */
export class UnsuccessfulEnd extends Error {
  override name = 'UnsuccessfulEnd';
}

export const EXIT = { ok: 0, problem: 1, usage: 2, unsuccessful: 3 } as const;

export interface Output {
  json: boolean;
  /** Stdout is a terminal and --json is off: bars and redraws are allowed. */
  interactive: boolean;
  paint(colour: Colour, text: string): string;
  /** The command's result: as JSON with --json, else through `render`. */
  result(value: unknown, render: () => void): void;
  line(text?: string): void;
  /** A message about progress or what happened, on stderr (never in the way of stdout). */
  note(text: string): void;
  table(head: string[], rows: unknown[][]): void;
  /** One object as a two-column table of its fields. */
  record(fields: Array<[string, unknown]>): void;
  /** Prints what went wrong on stderr and answers the exit code. */
  failure(error: unknown): number;
}

/** Box drawing without a rule between rows. */
const COMPACT = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function createOutput(options: {
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  const interactive = !options.json && stdout.isTTY === true;
  const colours = interactive && !env.NO_COLOR && env.TERM !== 'dumb';

  const paint = (colour: Colour, text: string) =>
    colours ? styleText(colour, text, { validateStream: false }) : text;
  const line = (text = '') => stdout.write(`${text}\n`);

  function table(head: string[], rows: unknown[][]) {
    const t = new Table({
      head: head.map((h) => paint('bold', h)),
      style: { head: [], border: [] },
      chars: COMPACT,
      wordWrap: false,
    });
    for (const row of rows) t.push(row.map(cell));
    line(t.toString());
  }

  function failure(error: unknown): number {
    if (error instanceof SluiceProblem) {
      if (options.json) {
        stderr.write(
          `${JSON.stringify({ error: { ...error.body, status: error.status, title: error.title, detail: error.detail, errorType: error.errorType, errors: error.errors } })}\n`,
        );
      } else {
        stderr.write(`${paint('red', `Error: ${error.title}`)} (${error.status} ${error.errorType})\n`);
        const listed = error.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
        if (error.detail && error.detail !== listed) stderr.write(`${error.detail}\n`);
        for (const e of error.errors) stderr.write(`  - ${e.field}: ${e.message}\n`);
      }
      return EXIT.problem;
    }
    const message = error instanceof Error ? error.message : String(error);
    const code =
      error instanceof UsageError
        ? EXIT.usage
        : error instanceof UnsuccessfulEnd
          ? EXIT.unsuccessful
          : EXIT.problem;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const extra = cause?.code ? ` (${cause.code}${cause.message ? `: ${cause.message}` : ''})` : '';
    if (options.json)
      stderr.write(
        `${JSON.stringify({ error: { title: (error as Error).name ?? 'Error', detail: message + extra } })}\n`,
      );
    else stderr.write(`${paint('red', 'Error:')} ${message}${extra}\n`);
    return code;
  }

  return {
    json: options.json,
    interactive,
    paint,
    result(value, render) {
      if (options.json) line(JSON.stringify(value, null, 2));
      else render();
    },
    line,
    note(text) {
      if (!options.json) stderr.write(`${text}\n`);
    },
    table,
    record(fields) {
      const t = new Table({ style: { head: [], border: [] }, chars: COMPACT, wordWrap: false });
      for (const [key, value] of fields) t.push({ [paint('bold', key)]: cell(value) });
      line(t.toString());
    },
    failure,
  };
}

/** `12.3 MB`, `512 B`: bytes for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** RFC 4180 CSV with every value quoted and nulls left empty, as Athena and Sluice write results. */
export function csvLine(values: ReadonlyArray<string | number | boolean | null | undefined>): string {
  return values
    .map((v) => (v === null || v === undefined ? '' : `"${String(v).replaceAll('"', '""')}"`))
    .join(',');
}

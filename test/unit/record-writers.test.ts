/**
 * One writer per record, checked on the source: the run store is the only module that writes
 * batch, trace and run-day records or a pipeline's run slots; versions.ts is the only module
 * that publishes a dataset version; the engine's error names live in the engine contract; the
 * compilers import nothing but the contract and their own folder; a feature whose layers are
 * apart (catalog, triggers) has its keys in its store module alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const RUN_STORE = 'functions/core/pipelines/run-store.ts';
const CONTRACT = 'functions/core/engine/contract.ts';

function sources(folder: string): Array<{ path: string; text: string }> {
  const found: Array<{ path: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts'))
        found.push({ path: relative(ROOT, full), text: readFileSync(full, 'utf8') });
    }
  };
  walk(join(ROOT, folder));
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

const functions = sources('functions');

/** Imports of the table's write helpers, or of the SDK's write commands. */
const WRITES =
  /import\s*\{[^}]*\b(putItem|putNew|updateItem|deleteItem)\b[^}]*\}\s*from\s*'[^']*db(\.ts)?'|\b(Put|Update|Delete|TransactWrite|BatchWrite)(Item)?Command\b/;
/** The run records' keys: key builders and key prefixes. */
const RUN_KEYS = /\b(batchKey|traceSk|runDayKey)\b|BATCH#|TRACE#|RUNDAY#|BATCHES#/;

describe('the run store', () => {
  it('is the only module that writes and also names batch, trace or run-day keys', () => {
    const writers = functions.filter((f) => WRITES.test(f.text));
    const offenders = writers.filter((f) => f.path !== RUN_STORE && RUN_KEYS.test(f.text)).map((f) => f.path);

    expect(writers.map((f) => f.path)).toContain(RUN_STORE);
    expect(RUN_KEYS.test(functions.find((f) => f.path === RUN_STORE)?.text ?? '')).toBe(true);
    expect(offenders).toEqual([]);
  });

  it('is the only module whose update expressions move run slots or the last run', () => {
    // Inside a string literal: an update or condition expression, not arithmetic on a read item.
    const touches = (text: string) =>
      /['`][^'`\n]*\b(active_runs\s*[=+-]|last_run_(status|at)\s*=)[^'`\n]*['`]/.test(text);
    const movers = functions.filter((f) => touches(f.text)).map((f) => f.path);

    expect(movers).toEqual([RUN_STORE]);
  });
});

describe('publishing a dataset version', () => {
  it('has one path: only versions.ts moves the current-version pointer and tells the catalog', () => {
    const pointer = functions.filter((f) => /current_version\s*=\s*:/.test(f.text)).map((f) => f.path);
    const announced = functions.filter((f) => /catalog\.versionPublished\(/.test(f.text)).map((f) => f.path);

    expect(pointer).toEqual(['functions/core/tables/versions.ts']);
    expect(announced).toEqual(['functions/core/tables/versions.ts']);
  });
});

describe('the engine contract', () => {
  const engine = [
    ...sources('statemachines'),
    ...functions.filter((f) => f.path.startsWith('functions/core/engine/')),
    ...functions.filter((f) => f.path.startsWith('functions/core/workflows/')),
    ...sources('local').filter((f) => f.path === 'local/engine.ts'),
  ];

  it('holds every error name the compilers, the worker, the finalizer and the local engine use', () => {
    // A whole literal that is an error name (`States.ArrayLength($)` is an intrinsic, not an error).
    const literal = /['"`](Sluice|States|Lambda)\.[A-Za-z]+['"`]/;
    const offenders = engine.filter((f) => f.path !== CONTRACT && literal.test(f.text)).map((f) => f.path);

    expect(engine.map((f) => f.path)).toEqual(
      expect.arrayContaining([
        CONTRACT,
        'statemachines/compile.ts',
        'functions/core/engine/worker.ts',
        'functions/core/workflows/steps.ts',
      ]),
    );
    expect(literal.test(engine.find((f) => f.path === CONTRACT)?.text ?? '')).toBe(true);
    expect(offenders).toEqual([]);
  });

  it('imports nothing, and is all the compilers import besides their own folder and node types', () => {
    const specifiers = (text: string) =>
      [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({
        typeOnly: Boolean(m[1]),
        from: m[2] as string,
      }));
    const compilers = sources('statemachines');
    const stray = compilers.flatMap((f) =>
      specifiers(f.text)
        .filter(
          (s) =>
            !s.from.startsWith('./') &&
            s.from !== '#core/engine/contract' &&
            !(s.typeOnly && s.from.startsWith('#core/pipelines/nodes')),
        )
        .map((s) => `${f.path} imports ${s.from}`),
    );

    expect(compilers.length).toBeGreaterThan(0);
    expect(specifiers(engine.find((f) => f.path === CONTRACT)?.text ?? '')).toEqual([]);
    expect(stray).toEqual([]);
  });
});

describe('feature stores', () => {
  const STORES: Array<{ store: string; keys: RegExp }> = [
    {
      store: 'functions/core/catalog/store.ts',
      keys: /[`'"](COL|DS|DATASET|COLLECTION)#|[`'"]COLLECTIONS[`'"]|[`'"]DATASETS[`'"]/,
    },
    {
      store: 'functions/core/triggers/store.ts',
      // A workflow's own reference records (`TRIGGER#<id>` sort keys under the workflow) are its store's.
      keys: /JOBTRIGGERS#|[`'"]TRIGGERS[`'"]|`TRIGGER#\$\{id\}`/,
    },
  ];

  it.each(STORES)('$store is the only module that spells its keys', ({ store, keys }) => {
    const spelled = functions.filter((f) => keys.test(f.text)).map((f) => f.path);
    expect(spelled).toContain(store);
    expect(spelled.filter((path) => path !== store)).toEqual([]);
  });
});

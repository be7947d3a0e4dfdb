/** Column checks the `output()` functions share: references that must exist, names that must not repeat. */
import type { Field } from '../model.ts';
import type { CheckContext } from './definition.ts';
import { castable } from './field-types.ts';
import type { FieldRef } from './schema-parts.ts';

const MAX_LISTED = 10;

function availableList(fields: readonly Field[]): string {
  if (fields.length === 0) return 'none';
  const names = fields.slice(0, MAX_LISTED).map((f) => f.name);
  const more = fields.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** The column `name` of `fields`, or a problem naming it and the columns there are. */
export function column(
  fields: readonly Field[],
  name: string,
  field: string,
  ctx: CheckContext,
  where = 'the input',
): Field | undefined {
  const found = fields.find((f) => f.name === name);
  if (found) return found;
  const near = fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
  const hint = near ? ` (did you mean "${near.name}"?)` : '';
  ctx.problem(field, `column "${name}" is not in ${where}${hint}; available: ${availableList(fields)}`);
  return undefined;
}

/** Reports names that repeat (ignoring case) in a list of output names. */
export function checkUnique(names: Array<{ name: string; field: string }>, ctx: CheckContext): boolean {
  const seen = new Set<string>();
  let ok = true;
  for (const { name, field } of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) {
      ctx.problem(field, `column "${name}" appears more than once`);
      ok = false;
    }
    seen.add(key);
  }
  return ok;
}

/** A projection onto `list` (each column optionally cast); null when a column is missing. */
export function projectOutput(
  list: readonly FieldRef[],
  input: readonly Field[],
  listField: string,
  ctx: CheckContext,
  where?: string,
): Field[] | null {
  let ok = true;
  const out: Field[] = [];
  list.forEach((ref, i) => {
    const col = column(input, ref.name, `${listField}.${i}.name`, ctx, where);
    if (!col) {
      ok = false;
      return;
    }
    if (ref.type && !castable(col.type, ref.type)) {
      ctx.problem(
        `${listField}.${i}.type`,
        `cannot cast column "${col.name}" from ${col.type} to ${ref.type}`,
      );
      ok = false;
    }
    out.push({ name: col.name, type: ref.type ?? col.type });
  });
  const unique = checkUnique(
    list.map((ref, i) => ({ name: ref.name, field: `${listField}.${i}.name` })),
    ctx,
  );
  return ok && unique ? out : null;
}

/**
 * Walks a list that names input columns, each at most once (`verb`: "defined", "renamed"): a
 * missing or repeated column is reported at `<listField>.<i>.name`, and `each` sees every column
 * found (a repeated one too), answering false for a problem of its own. True when all is well.
 */
export function eachListedColumn(
  input: readonly Field[],
  names: readonly string[],
  listField: string,
  verb: string,
  ctx: CheckContext,
  each: (col: Field, i: number) => boolean,
): boolean {
  let ok = true;
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const col = column(input, name, `${listField}.${i}.name`, ctx);
    if (!col) {
      ok = false;
      return;
    }
    if (seen.has(col.name)) {
      ctx.problem(`${listField}.${i}.name`, `column "${col.name}" is ${verb} more than once`);
      ok = false;
    }
    seen.add(col.name);
    if (!each(col, i)) ok = false;
  });
  return ok;
}

/** Checks that each named column exists; true when all do. */
export function checkColumns(
  names: readonly string[],
  input: readonly Field[],
  listField: string,
  ctx: CheckContext,
) {
  let ok = true;
  names.forEach((name, i) => {
    if (!column(input, name, `${listField}.${i}`, ctx)) ok = false;
  });
  return ok;
}

export const copyFields = (fields: readonly Field[]): Field[] =>
  fields.map((f) => ({ name: f.name, type: f.type }));

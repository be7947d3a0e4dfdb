/**
 * Routes are bound to operations by type: `areaHandler(area, operations)` takes exactly the
 * operations the route table names for the area. The `@ts-expect-error` lines are checked by
 * `npm run typecheck` (a line that compiled would fail it). Several routes may share one
 * operation (an alias path).
 */
import { describe, expect, it } from 'vitest';
import { type AreaOperations, areaHandler, type Operation, operation } from '#core/http';
import { type OperationName, ROUTES } from '#core/routes';

const op: Operation = operation({ run: async () => ({}) });

// Typed only: these are never called.
function missingOperation() {
  // @ts-expect-error deleteUser has a route but no operation.
  return areaHandler('users', { createUser: op, listUsers: op, getUser: op });
}
function extraOperation() {
  return areaHandler('users', {
    createUser: op,
    listUsers: op,
    getUser: op,
    deleteUser: op,
    // @ts-expect-error renameUser has no route in the users area.
    renameUser: op,
  });
}
function extraOperationThroughAVariable() {
  const operations = { createUser: op, listUsers: op, getUser: op, deleteUser: op, renameUser: op };
  // @ts-expect-error renameUser has no route, also when the operations come from a variable.
  return areaHandler('users', operations);
}
function operationOfAnotherArea() {
  // @ts-expect-error login is an operation of the auth area.
  return areaHandler('users', { createUser: op, listUsers: op, getUser: op, deleteUser: op, login: op });
}
function borrowedOperationThatDoesNotExist() {
  // @ts-expect-error the catalog area has no operation named dropEverything.
  return areaHandler('fallback', {}, { catalog: { dropEverything: op } });
}

/** The type-only cases above; kept referenced so that they stay compiled. */
const TYPE_CASES = [
  missingOperation,
  extraOperation,
  extraOperationThroughAVariable,
  operationOfAnotherArea,
  borrowedOperationThatDoesNotExist,
];

describe('route binding', () => {
  it('keeps its compile-time cases in the typechecked program', () => {
    expect(TYPE_CASES).toHaveLength(5);
  });

  it("names each of an area's operations once in the type the handlers must fill", () => {
    const users: Record<OperationName<'users'>, true> = {
      createUser: true,
      listUsers: true,
      getUser: true,
      deleteUser: true,
    };
    expect(Object.keys(users).sort()).toEqual(
      ROUTES.filter((r) => r.area === 'users')
        .map((r) => r.operation)
        .sort(),
    );
  });

  it('accepts exactly the operations of the area', () => {
    const all: AreaOperations<'users'> = { createUser: op, listUsers: op, getUser: op, deleteUser: op };
    expect(typeof areaHandler('users', all)).toBe('function');
  });
});

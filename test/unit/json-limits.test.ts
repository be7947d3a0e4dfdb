import { describe, expect, it } from 'vitest';
import { BODY_LIMITS, jsonShapeProblems, numberProblem } from '#core/json-limits';

describe('numberProblem', () => {
  it('accepts what DynamoDB and JavaScript both hold', () => {
    for (const n of [0, -0, 1, -1, 0.1, 1440.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e-130]) {
      expect(numberProblem(n), String(n)).toBeUndefined();
    }
  });

  it('refuses non-finite, unsafe and too small numbers', () => {
    expect(numberProblem(Number.POSITIVE_INFINITY)).toBe('must be a finite number');
    expect(numberProblem(Number.NaN)).toBe('must be a finite number');
    for (const n of [1.5e300, -1.5e300, 1e20, 2 ** 53]) expect(numberProblem(n)).toMatch(/^must be between/);
    for (const n of [1e-200, 5e-324]) expect(numberProblem(n)).toMatch(/^must be 0 or at least 1e-130/);
  });
});

describe('jsonShapeProblems', () => {
  it('finds nothing wrong with an ordinary body', () => {
    expect(
      jsonShapeProblems({ name: 'x', nodes: [{ id: 1, parentNodeIds: [] }], n: null, ok: true }),
    ).toEqual([]);
  });

  it('names every offending field by its path', () => {
    const body = JSON.parse('{"nodes":[{"id":1.5e300},{"a":"\\ud800"}],"__proto__":1,"constructor":2,"":3}');
    expect(jsonShapeProblems(body)).toEqual([
      { field: 'body.nodes.0.id', message: expect.stringMatching(/^must be between/) },
      { field: 'body.nodes.1.a', message: 'must be valid Unicode text (it has an unpaired surrogate)' },
      { field: 'body.__proto__', message: 'is a reserved name and cannot be a property name' },
      { field: 'body.constructor', message: 'is a reserved name and cannot be a property name' },
      { field: 'body.""', message: 'property names must not be empty' },
    ]);
  });

  it('stops at the depth limit, reporting the first container beyond it once', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    const problems = jsonShapeProblems({ deep });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe(`body.deep${'.0'.repeat(BODY_LIMITS.maxDepth - 1)}`);
    expect(problems[0]?.message).toMatch(/nests too deeply/);
  });

  it('bounds arrays, objects and strings', () => {
    const keys = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`k${i}`, i]));
    expect(jsonShapeProblems({ a: new Array(1_001).fill(0), o: keys, s: 'x'.repeat(262_145) })).toEqual([
      { field: 'body.a', message: 'must have at most 1000 items' },
      { field: 'body.o', message: 'must have at most 1000 properties' },
      { field: 'body.s', message: 'must be at most 262144 characters' },
    ]);
  });

  it('lists at most maxProblems problems', () => {
    expect(jsonShapeProblems(new Array(100).fill(1e300))).toHaveLength(BODY_LIMITS.maxProblems);
  });
});

import { describe, expect, it } from 'vitest';
import { isPlainKey, requirePlainKey } from '#core/object-keys';

describe('object keys built from user input', () => {
  it.each([
    ['datasets/ds-1/v1/part-00000.parquet', true],
    ['aitems/dataflow1/', true],
    ['', true],
    ['2026..12/report.csv', true],
    ['../secrets/jwt.key', false],
    ['runs/../../escape', false],
    ['./here', false],
    ['a/./b', false],
    ['a\\..\\b', false],
    ['line\nbreak', false],
    ['nul\u0000', false],
    ['del\u007f', false],
  ])('%j is plain: %s', (key, plain) => {
    expect(isPlainKey(key)).toBe(plain);
  });

  it('refuses a relative key where it reaches the object store', () => {
    expect(() => requirePlainKey('uploads/../../etc/passwd')).toThrow(/relative or control segment/);
    expect(requirePlainKey('uploads/u-1.csv')).toBe('uploads/u-1.csv');
  });
});

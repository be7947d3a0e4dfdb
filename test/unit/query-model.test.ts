import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatDuration,
  newQueryId,
  QUERY_ID_PATTERN,
  sqlTypeOfDuckDb,
  storageUrlOf,
} from '#core/query/model';

describe('query ids and storage folders', () => {
  it('names a query YYYYMMDD-HHMMSS-<10 alphanumerics> in UTC', () => {
    const at = Date.UTC(2024, 10, 26, 1, 18, 48);
    const ids = Array.from({ length: 200 }, () => newQueryId(at));
    for (const id of ids) {
      expect(id).toMatch(QUERY_ID_PATTERN);
      expect(id.startsWith('20241126-011848-')).toBe(true);
    }
    expect(new Set(ids).size).toBe(200);
    // Both cases and digits turn up in the random part.
    const tails = ids.map((id) => id.slice(16)).join('');
    expect(tails).toMatch(/[a-z]/);
    expect(tails).toMatch(/[A-Z]/);
    expect(tails).toMatch(/[0-9]/);
  });

  it('puts results under {path}/YYYY/MM/DD', () => {
    const at = Date.UTC(2024, 10, 6);
    expect(storageUrlOf('data_query/result', at)).toBe('data_query/result/2024/11/06');
    expect(storageUrlOf('', at)).toBe('2024/11/06');
  });
});

describe('sizes and durations as Data Query prints them', () => {
  it.each([
    [0, '0B'],
    [1014, '1014B'],
    [867 * 1024, '867KB'],
    [318.24 * 1024 * 1024, '318.24MB'],
    [1.62 * 1024 ** 3, '1.62GB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it.each([
    [284, '284ms'],
    [10_230, '10.23s'],
    [88_200, '1.47m'],
    [9_000_000, '2.5h'],
    [-5, '0ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('result column types', () => {
  it.each([
    ['BIGINT', 'bigint'],
    ['VARCHAR', 'varchar'],
    ['DOUBLE', 'double'],
    ['DECIMAL(18,3)', 'decimal(18,3)'],
    ['HUGEINT', 'decimal(38,0)'],
    ['TIMESTAMP WITH TIME ZONE', 'timestamp with time zone'],
    ['INTEGER[]', 'array(integer)'],
    ['STRUCT(a INTEGER)', 'struct(a integer)'],
  ])('DuckDB %s → %s', (duckdb, sql) => {
    expect(sqlTypeOfDuckDb(duckdb)).toBe(sql);
  });
});

import { describe, expect, it } from 'vitest';
import { ID_PREFIXES, idTime, isId, newId } from '#core/ids';

describe('ids', () => {
  it('carry the kind prefix and 22 lower-case base32 characters', () => {
    for (const kind of Object.keys(ID_PREFIXES) as (keyof typeof ID_PREFIXES)[]) {
      const id = newId(kind);
      expect(id.startsWith(`${ID_PREFIXES[kind]}-`)).toBe(true);
      expect(isId(kind, id)).toBe(true);
      expect(id.slice(ID_PREFIXES[kind].length + 1)).toMatch(/^[0-9a-hjkmnp-tv-z]{22}$/);
    }
  });

  it('sort by creation time as plain strings', () => {
    const times = [0, 1, 31, 32, 1_700_000_000_000, 1_700_000_000_001, 4_102_444_800_000];
    const ids = times.map((t) => newId('dataset', t));
    expect([...ids].sort()).toEqual(ids);
    expect(ids.map(idTime)).toEqual(times);
  });

  it('do not repeat', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('batch', now)));
    expect(ids.size).toBe(10_000);
  });

  it('reject the wrong prefix or body', () => {
    const id = newId('collection');
    expect(isId('dataset', id)).toBe(false);
    expect(isId('collection', `${id}x`)).toBe(false);
    expect(isId('collection', id.toUpperCase())).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors';
import { decodeToken, dhubList, encodeToken } from '#core/paging';

describe('paging tokens', () => {
  it('round-trip a position', () => {
    const position = { gsi1sk: 'col-01abc', pk: 'COL#col-01abc', sk: 'META' };
    const token = encodeToken(position);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeToken(token as string)).toEqual(position);
  });

  it('are null at the end of a list and decode to "from the start"', () => {
    expect(encodeToken(undefined)).toBeNull();
    expect(decodeToken(undefined)).toBeUndefined();
    expect(decodeToken('')).toBeUndefined();
    expect(decodeToken('null')).toBeUndefined();
  });

  it.each([
    ['not base64url', '***'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['a wrong version', Buffer.from(JSON.stringify({ v: 9, p: {} })).toString('base64url')],
    ['non-string values', Buffer.from(JSON.stringify({ v: 1, p: { pk: 1 } })).toString('base64url')],
  ])('reject %s with a validation error naming the field', (_name, token) => {
    try {
      decodeToken(token, 'query.token');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).extras.errors?.[0]?.field).toBe('query.token');
    }
  });
});

describe('the D.Hub list shape', () => {
  it('maps ids to JSON strings and carries the next token', () => {
    const body = dhubList(
      [
        { id: 'b-2', n: 2 },
        { id: 'a-1', n: 1 },
      ],
      { sk: 'a-1' },
    );
    expect(Object.keys(body.items)).toEqual(['b-2', 'a-1']);
    expect(JSON.parse(body.items['a-1'] as string)).toEqual({ id: 'a-1', n: 1 });
    expect(decodeToken(body.token as string)).toEqual({ sk: 'a-1' });
  });
});

import { describe, expect, it } from 'vitest';
import {
  clearedRefreshCookie,
  cookieUseAllowed,
  parseCookies,
  presentedRefreshToken,
  REFRESH_COOKIE,
  refreshCookie,
  renderCookie,
  requestIsSecure,
} from '#core/auth/cookies';

describe('parseCookies', () => {
  it('reads payload 2.0 cookies, one name=value each', () => {
    const cookies = parseCookies(['refresh_token=rt-1.abc', 'theme=dark']);
    expect(Object.fromEntries(cookies)).toEqual({ refresh_token: 'rt-1.abc', theme: 'dark' });
  });

  it('splits an entry that holds a whole Cookie header', () => {
    expect(Object.fromEntries(parseCookies(['a=1; b=2;c=3']))).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('keeps the first of repeated names, as browsers send the most specific path first', () => {
    expect(parseCookies(['refresh_token=first', 'refresh_token=second']).get(REFRESH_COOKIE)).toBe('first');
  });

  it('decodes percent-encoding and strips quotes, and leaves broken encodings as they are', () => {
    const cookies = parseCookies(['a=%E2%9C%93', 'b="quoted"', 'c=%E2%9C']);
    expect(cookies.get('a')).toBe('✓');
    expect(cookies.get('b')).toBe('quoted');
    expect(cookies.get('c')).toBe('%E2%9C');
  });

  it('ignores entries without a name or with an invalid one, and no cookies at all', () => {
    expect(parseCookies(['=x', 'novalue', 'bad name=1', ' ']).size).toBe(0);
    expect(parseCookies(undefined).size).toBe(0);
  });

  it('keeps = inside a value', () => {
    expect(parseCookies(['t=a=b=']).get('t')).toBe('a=b=');
  });
});

describe('renderCookie', () => {
  it('writes the refresh cookie with every attribute', () => {
    expect(refreshCookie('rt-1.abc', 2_592_000, true)).toBe(
      'refresh_token=rt-1.abc; Max-Age=2592000; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('leaves Secure out for plain HTTP', () => {
    expect(refreshCookie('rt-1.abc', 3600, false)).toBe(
      'refresh_token=rt-1.abc; Max-Age=3600; Path=/api/v1/auth; HttpOnly; SameSite=Strict',
    );
  });

  it('clears the cookie with Max-Age=0 and a past expiry on the same path', () => {
    expect(clearedRefreshCookie(true)).toBe(
      'refresh_token=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('percent-encodes values so they survive a round trip', () => {
    const value = 'a b;c,"d"\\é';
    const header = renderCookie('x', value, { maxAge: 1, path: '/', secure: false });
    const pair = header.split('; ')[0] as string;
    expect(pair).not.toMatch(/[ ;,"\\]/);
    expect(parseCookies([pair]).get('x')).toBe(value);
  });

  it('refuses a name that is not a cookie token', () => {
    expect(() => renderCookie('bad name', 'v', { maxAge: 1, path: '/', secure: false })).toThrow();
  });
});

describe('cookie use across origins', () => {
  it('accepts requests without Fetch Metadata and same-origin or user-started ones', () => {
    expect(cookieUseAllowed({})).toBe(true);
    expect(cookieUseAllowed({ 'sec-fetch-site': 'same-origin' })).toBe(true);
    expect(cookieUseAllowed({ 'sec-fetch-site': 'none' })).toBe(true);
  });

  it('refuses requests a browser marks as cross-site or same-site from another origin', () => {
    expect(cookieUseAllowed({ 'sec-fetch-site': 'cross-site' })).toBe(false);
    expect(cookieUseAllowed({ 'sec-fetch-site': 'same-site' })).toBe(false);
  });

  it('takes the body token first, then the cookie, and refuses a cross-site cookie with 403', () => {
    expect(presentedRefreshToken('body', 'cookie', {})).toBe('body');
    expect(presentedRefreshToken(undefined, 'cookie', {})).toBe('cookie');
    expect(presentedRefreshToken(undefined, undefined, {})).toBeUndefined();
    expect(presentedRefreshToken('body', 'cookie', { 'sec-fetch-site': 'cross-site' })).toBe('body');
    expect(() => presentedRefreshToken(undefined, 'cookie', { 'sec-fetch-site': 'cross-site' })).toThrow(
      expect.objectContaining({ status: 403 }),
    );
  });
});

describe('requestIsSecure', () => {
  it('is always true where the deployment says so (AWS)', () => {
    expect(requestIsSecure(true, {})).toBe(true);
    expect(requestIsSecure(true, { 'x-forwarded-proto': 'http' })).toBe(true);
  });

  it('otherwise follows the scheme the proxy in front saw', () => {
    expect(requestIsSecure(false, {})).toBe(false);
    expect(requestIsSecure(false, { 'x-forwarded-proto': 'https' })).toBe(true);
    expect(requestIsSecure(false, { 'x-forwarded-proto': 'HTTPS, http' })).toBe(true);
    expect(requestIsSecure(false, { 'x-forwarded-proto': 'http' })).toBe(false);
  });
});

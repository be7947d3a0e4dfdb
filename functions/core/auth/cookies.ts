/**
 * The refresh-token cookie. Login and refresh set it, logout clears it, and refresh and logout
 * read it when the body carries no token (the D.Hub flow, and the web console's, which never
 * lets script see the refresh token).
 *
 * Attributes: `HttpOnly` (script cannot read it), `SameSite=Strict` (the browser never sends
 * it on a request another site starts), `Path=/api/v1/auth` (only refresh and logout, and
 * login which replaces it, ever see it), `Max-Age` = the refresh token's lifetime, and `Secure`
 * whenever the request came over HTTPS (always on AWS: see `SETTING.secureCookies` in setting-names.ts).
 *
 * Requests arrive in API Gateway's payload 2.0 form on both hosts: cookies as `event.cookies`
 * (`name=value` strings), and responses carry theirs in `cookies` (one Set-Cookie each).
 */
import { ForbiddenError } from '../errors.ts';

export const REFRESH_COOKIE = 'refresh_token';
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/** RFC 6265 token characters: what a cookie name may hold. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function decode(value: string): string {
  const unquoted =
    value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}

/**
 * Cookies by name from payload 2.0's `cookies` (each `name=value`; an entry holding several
 * pairs separated by `;` is split too). The first occurrence of a name wins: browsers send the
 * cookie with the most specific path first.
 */
export function parseCookies(entries: readonly string[] | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const entry of entries ?? []) {
    for (const pair of entry.split(';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      if (!COOKIE_NAME.test(name) || cookies.has(name)) continue;
      cookies.set(name, decode(pair.slice(eq + 1).trim()));
    }
  }
  return cookies;
}

export interface CookieAttributes {
  maxAge: number;
  path: string;
  secure: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

/** One Set-Cookie value. The value is percent-encoded, so any text is safe in it. */
export function renderCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!COOKIE_NAME.test(name)) throw new Error(`not a cookie name: ${name}`);
  const parts = [
    `${name}=${encodeURIComponent(value)}`,
    `Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`,
  ];
  // Clients that predate Max-Age read an expiry date in the past as "delete".
  if (attributes.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  parts.push(`Path=${attributes.path}`);
  if (attributes.httpOnly ?? true) parts.push('HttpOnly');
  if (attributes.secure) parts.push('Secure');
  parts.push(`SameSite=${attributes.sameSite ?? 'Strict'}`);
  return parts.join('; ');
}

/** The cookie that carries a refresh token for its whole lifetime. */
export function refreshCookie(token: string, lifetimeSeconds: number, secure: boolean): string {
  return renderCookie(REFRESH_COOKIE, token, { maxAge: lifetimeSeconds, path: REFRESH_COOKIE_PATH, secure });
}

/** The same cookie, expired: the browser deletes it. */
export function clearedRefreshCookie(secure: boolean): string {
  return renderCookie(REFRESH_COOKIE, '', { maxAge: 0, path: REFRESH_COOKIE_PATH, secure });
}

/**
 * Whether a request may be authenticated by the refresh cookie (cross-site request forgery).
 * SameSite=Strict already keeps browsers from sending the cookie on requests other sites
 * start; as a second line, a browser's Fetch Metadata must say the request came from the same
 * origin (`same-origin`) or from the user (`none`). Requests without the header (curl, SDKs,
 * older browsers, which all honour SameSite) pass. The body form is unaffected: a token in a
 * body is not an ambient credential.
 */
export function cookieUseAllowed(headers: Readonly<Record<string, string | undefined>>): boolean {
  const site = headers['sec-fetch-site']?.trim().toLowerCase();
  return site === undefined || site === '' || site === 'same-origin' || site === 'none';
}

/**
 * Whether to mark cookies `Secure`: always when the deployment says so (AWS, where the API is
 * HTTPS only), otherwise when the request reached a proxy in front of the host over HTTPS.
 */
export function requestIsSecure(
  alwaysSecure: boolean,
  headers: Readonly<Record<string, string | undefined>>,
): boolean {
  if (alwaysSecure) return true;
  const proto = headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https';
}

/**
 * The refresh token a request presents: the body's, else the cookie's. A cookie is refused
 * (403) on a request a browser marks as coming from another origin (see cookieUseAllowed).
 */
export function presentedRefreshToken(
  bodyToken: string | undefined,
  cookieToken: string | undefined,
  headers: Readonly<Record<string, string | undefined>>,
): string | undefined {
  if (bodyToken !== undefined) return bodyToken;
  if (cookieToken === undefined || cookieToken === '') return undefined;
  if (!cookieUseAllowed(headers)) {
    throw new ForbiddenError(
      'The refresh cookie is only accepted from the same origin; send {"refresh_token": "..."} instead.',
    );
  }
  return cookieToken;
}

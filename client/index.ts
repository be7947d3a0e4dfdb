/**
 * The typed Sluice client: openapi-fetch over the types generated from `openapi.json`, plus
 * what every caller would otherwise write again — signing requests (a bearer access token or
 * service credential headers), refreshing an expired access token once and retrying, rotating
 * the refresh token, and turning problem+json answers into thrown `SluiceProblem`s.
 *
 * Browser-safe: no Node modules. In the browser pass `baseUrl: ''` and `useRefreshCookie: true`;
 * the refresh token then stays in the HTTP-only cookie login sets and never reaches script.
 *
 * ```ts
 * const sluice = createSluiceClient({ baseUrl: 'http://localhost:3000' });
 * await sluice.login('admin', 'change-me-please');
 * const { data } = await sluice.api.GET('/api/v1/collections');
 * ```
 */
import createClient, { type Client } from 'openapi-fetch';
import { problemFromResponse, SluiceProblem } from './problem.ts';
import type { paths } from './schema';

export type { FieldError } from './problem.ts';
export type { components, operations } from './schema';
export type { paths };
export { SluiceProblem };

export interface Tokens {
  access_token: string;
  refresh_token?: string;
}

export interface SluiceClientOptions {
  /** The API's origin, e.g. `http://localhost:3000`; `''` in the browser means the page's origin. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Sent as `Credential-ID` / `Credential-Secret` whenever the client holds no access token. */
  serviceCredentials?: { id: string; secret: string };
  accessToken?: string;
  /** For programs that keep the refresh token themselves (the CLI). */
  refreshToken?: string;
  /** The browser: send cookies (`credentials: 'include'`) and refresh through the HTTP-only cookie. */
  useRefreshCookie?: boolean;
  /** Called after login and after each refresh, with the new (rotated) tokens. */
  onTokens?(tokens: Tokens): void;
}

export interface SluiceClient {
  /**
   * Every route of the API, typed. A 401 is answered by one refresh and one retry (when the
   * client can refresh); any other non-2xx answer throws a `SluiceProblem`.
   */
  api: Client<paths>;
  login(username: string, password: string): Promise<Tokens>;
  /** Trades the refresh token (or cookie) for new tokens; the old refresh token stops working. */
  refresh(): Promise<Tokens>;
  /** Revokes the session on the server and forgets the tokens. */
  logout(): Promise<void>;
  accessToken(): string | undefined;
}

const AUTH_PREFIX = '/api/v1/auth/';
const SESSION_ROUTES = ['login', 'refresh', 'logout'].map((r) => `${AUTH_PREFIX}${r}`);

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
}

export function createSluiceClient(options: SluiceClientOptions): SluiceClient {
  const baseFetch = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const cookieMode = options.useRefreshCookie === true;
  let accessToken = options.accessToken;
  let refreshToken = options.refreshToken;
  /** One refresh at a time: two concurrent 401s must not both spend the same single-use token. */
  let refreshing: Promise<Tokens> | undefined;

  // `endsWith`: a deployment may serve the API under a path (an API Gateway stage).
  const isSessionRoute = (request: Request) => {
    const path = new URL(request.url).pathname;
    return SESSION_ROUTES.some((route) => path.endsWith(route));
  };
  const canRefresh = () => cookieMode || refreshToken !== undefined;

  function sign(request: Request): Request {
    if (isSessionRoute(request)) return request;
    if (accessToken !== undefined) {
      request.headers.set('authorization', `Bearer ${accessToken}`);
    } else if (options.serviceCredentials) {
      request.headers.set('credential-id', options.serviceCredentials.id);
      request.headers.set('credential-secret', options.serviceCredentials.secret);
    }
    return request;
  }

  async function send(request: Request): Promise<Response> {
    const retryable = !isSessionRoute(request) && canRefresh();
    const second = retryable ? request.clone() : undefined;
    const signedWith = accessToken;
    let response = await baseFetch(sign(request));
    if (response.status === 401 && second) {
      await response.body?.cancel().catch(() => undefined);
      // A call that failed with a token another call has already replaced just retries.
      if (accessToken === signedWith) await refresh();
      response = await baseFetch(sign(second));
    }
    if (!response.ok) throw await problemFromResponse(response);
    return response;
  }

  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    fetch: send,
    ...(cookieMode ? { credentials: 'include' as const } : {}),
  });

  function keep(answer: TokenAnswer): Tokens {
    accessToken = answer.access_token;
    if (!cookieMode) refreshToken = answer.refresh_token;
    const tokens: Tokens = cookieMode
      ? { access_token: answer.access_token }
      : { access_token: answer.access_token, refresh_token: answer.refresh_token };
    options.onTokens?.(tokens);
    return tokens;
  }

  async function login(username: string, password: string): Promise<Tokens> {
    const { data } = await api.POST('/api/v1/auth/login', { body: { username, password } });
    return keep(data as TokenAnswer);
  }

  function refresh(): Promise<Tokens> {
    refreshing ??= (async () => {
      try {
        if (!canRefresh()) {
          throw new SluiceProblem({
            status: 401,
            errorType: 'unauthorized',
            title: 'Unauthorized',
            detail: 'There is no refresh token: log in first.',
          });
        }
        const body = cookieMode ? {} : { refresh_token: refreshToken };
        const { data } = await api.POST('/api/v1/auth/refresh', { body });
        return keep(data as TokenAnswer);
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  async function logout(): Promise<void> {
    const body = cookieMode ? {} : refreshToken !== undefined ? { refresh_token: refreshToken } : undefined;
    accessToken = undefined;
    refreshToken = undefined;
    if (body !== undefined) await api.POST('/api/v1/auth/logout', { body });
  }

  return { api, login, refresh, logout, accessToken: () => accessToken };
}

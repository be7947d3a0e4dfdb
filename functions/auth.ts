/** Auth area: login, refresh, logout, me and service credentials. */
import * as z from 'zod';
import { ensureBootstrapAdmin } from '#core/auth/bootstrap';
import {
  clearedRefreshCookie,
  presentedRefreshToken,
  REFRESH_COOKIE,
  refreshCookie,
  requestIsSecure,
} from '#core/auth/cookies';
import {
  createCredential,
  createCredentialSchema,
  deleteCredential,
  listCredentials,
} from '#core/auth/credentials';
import { login, loginSchema, logout, refresh, refreshSchema, type TokenPair } from '#core/auth/sessions';
import { type AreaOperations, areaHandler, type OperationContext, operation, reply } from '#core/http';
import { secretsManager } from '#core/platform/aws/secrets';
import { awsTable } from '#core/platform/aws/table';
import { onAws } from '#core/platform/lambda';
import { platform } from '#core/platform/platform';
import { listQuerySchema } from '#core/schemas';
import { requireJwtKey } from '#core/settings';

type Ctx = Pick<OperationContext<unknown, unknown, unknown>, 'event' | 'cookie'>;

const secure = ({ event }: Ctx) =>
  requestIsSecure(platform().settings.auth.secureCookies, event.headers ?? {});

/** The token pair as JSON, with the refresh token also set as the HTTP-only cookie. */
const withCookie = (pair: TokenPair, ctx: Ctx) =>
  reply(200, pair, {}, [refreshCookie(pair.refresh_token, pair.refresh_expires_in, secure(ctx))]);

const tokenOf = (body: { refresh_token?: string }, ctx: Ctx) =>
  presentedRefreshToken(body.refresh_token, ctx.cookie(REFRESH_COOKIE), ctx.event.headers ?? {});

/** In AWS the first admin comes from a generated Secrets Manager secret, created on first use. */
let bootstrap: Promise<unknown> | undefined;
function bootstrapAdmin(): Promise<unknown> {
  const { adminSecretArn } = platform().settings.auth;
  if (!adminSecretArn) return Promise.resolve();
  bootstrap ??= platform()
    .secrets.read(adminSecretArn)
    .then((raw) => {
      const { username, password } = JSON.parse(raw) as { username: string; password: string };
      return ensureBootstrapAdmin(username, password);
    });
  bootstrap.catch(() => {
    bootstrap = undefined;
  });
  return bootstrap;
}

/** The operations of the auth routes (the OpenAPI document reads their schemas). */
export const operations = {
  login: operation({
    body: loginSchema,
    async run(ctx) {
      await bootstrapAdmin();
      return withCookie(await login(ctx.body.username ?? (ctx.body.email as string), ctx.body.password), ctx);
    },
  }),
  refresh: operation({
    body: refreshSchema,
    run: async (ctx) => withCookie(await refresh(tokenOf(ctx.body, ctx)), ctx),
  }),
  logout: operation({
    body: refreshSchema,
    async run(ctx) {
      await logout(tokenOf(ctx.body, ctx));
      return reply(200, { message: 'Logged out successfully' }, {}, [clearedRefreshCookie(secure(ctx))]);
    },
  }),
  me: operation({
    async run({ principal }) {
      return {
        id: principal.userId,
        username: principal.username,
        role: principal.role,
        auth: principal.kind,
        ...(principal.credentialId ? { credential_id: principal.credentialId } : {}),
      };
    },
  }),
  createCredential: operation({
    body: createCredentialSchema,
    run: async ({ body, principal }) => reply(201, await createCredential(body, principal)),
  }),
  listCredentials: operation({
    query: listQuerySchema,
    run: ({ query, principal }) => listCredentials(principal, query.limit, query.token),
  }),
  deleteCredential: operation({
    params: z.object({ credential_id: z.string() }),
    async run({ params, principal }) {
      await deleteCredential(params.credential_id, principal);
      return { message: 'Credential deleted successfully' };
    },
  }),
} satisfies AreaOperations<'auth'>;

export const handler = onAws(
  { stores: awsTable, secrets: secretsManager },
  (on) => requireJwtKey(on.settings.auth),
  areaHandler('auth', operations),
);

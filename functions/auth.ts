/** Auth area: login, refresh, logout, me and service credentials. */
import { z } from 'zod';
import { ensureBootstrapAdmin } from '#core/auth/bootstrap';
import {
  createCredential,
  createCredentialSchema,
  deleteCredential,
  listCredentials,
} from '#core/auth/credentials';
import { login, loginSchema, logout, refresh, refreshSchema } from '#core/auth/sessions';
import { readSecretString } from '#core/auth/tokens';
import { authConfig } from '#core/config';
import { areaHandler, operation, reply } from '#core/http';
import { listQuerySchema } from '#core/schemas';

const { adminSecretArn } = authConfig();

/** In AWS the first admin comes from a generated Secrets Manager secret, created on first use. */
let bootstrap: Promise<unknown> | undefined;
function bootstrapAdmin(): Promise<unknown> {
  if (!adminSecretArn) return Promise.resolve();
  bootstrap ??= readSecretString(adminSecretArn).then((raw) => {
    const { username, password } = JSON.parse(raw) as { username: string; password: string };
    return ensureBootstrapAdmin(username, password);
  });
  bootstrap.catch(() => {
    bootstrap = undefined;
  });
  return bootstrap;
}

export const handler = areaHandler('auth', {
  login: operation({
    body: loginSchema,
    async run({ body }) {
      await bootstrapAdmin();
      return login(body.username ?? (body.email as string), body.password);
    },
  }),
  refresh: operation({
    body: refreshSchema,
    run: ({ body }) => refresh(body.refresh_token),
  }),
  logout: operation({
    body: refreshSchema,
    async run({ body, principal }) {
      await logout(body.refresh_token, principal);
      return { message: 'Logged out successfully' };
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
});

/** Responses of health, sign-in, service credentials and users. */
import * as z from 'zod';
import { ROLES } from '#core/routes';
import {
  created,
  dhubList,
  done,
  int,
  isoTime,
  json,
  type OperationResponses,
  object,
  ok,
} from './shapes.ts';

const role = z.enum(ROLES);

const component = object({
  status: z.enum(['ok', 'error']),
  latency_ms: int(),
  error: z.string().optional().meta({ description: 'The failure’s class name, when the probe failed' }),
});

const healthSchema = object({
  status: z.enum(['ok', 'degraded']),
  components: object({ api: object({ status: z.literal('ok') }), dynamodb: component, s3: component }),
  time: isoTime(),
}).meta({ id: 'Health' });

export const health = {
  health: {
    '200': json('Every store answers', healthSchema),
    '503': json('A store did not answer: the components say which', healthSchema),
  },
} satisfies Record<string, OperationResponses>;

const refreshCookie = z.object({
  'set-cookie': z
    .string()
    .meta({ description: 'The refresh token as an HTTP-only cookie (`refresh_token`)' }),
});

const tokenPairSchema = object({
  access_token: z.string().meta({ description: 'A JWT for `Authorization: Bearer`' }),
  refresh_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: int().meta({ description: 'Seconds the access token lives' }),
  refresh_expires_in: int().meta({ description: 'Seconds the refresh token lives' }),
}).meta({ id: 'TokenPair' });

const credentialSchema = object({
  credential_id: z.string(),
  name: z.string(),
  role,
  owner_id: z.string(),
  owner_username: z.string(),
  created_at: isoTime(),
  expires_at: isoTime().nullable(),
}).meta({ id: 'Credential', description: 'A service credential, without its secret' });

const newCredentialSchema = credentialSchema
  .extend({
    credential_secret: z.string().meta({ description: 'Shown only in this answer' }),
    token: z.string().meta({ description: '`<credential_id>.<secret>`, usable as a Bearer token' }),
  })
  .meta({ id: 'NewCredential' });

export const auth = {
  login: {
    '200': json('Signed in; the refresh token is also set as a cookie', tokenPairSchema, refreshCookie),
  },
  refresh: {
    '200': json('New tokens; the presented refresh token no longer works', tokenPairSchema, refreshCookie),
  },
  logout: {
    '200': json(
      'The refresh token is revoked and its cookie cleared',
      object({ message: z.string() }),
      refreshCookie,
    ),
  },
  me: ok(
    object({
      id: z.string(),
      username: z.string(),
      role,
      auth: z.enum(['user', 'credential']).meta({ description: 'How the caller authenticated' }),
      credential_id: z.string().optional().meta({ description: 'The service credential used, if one was' }),
    }).meta({ id: 'Me' }),
    'The caller',
  ),
  createCredential: created(newCredentialSchema, 'The credential, with its secret (shown once)'),
  listCredentials: ok(
    dhubList(credentialSchema, 'Credential'),
    'The caller’s credentials (all of them for an admin)',
  ),
  deleteCredential: done('The credential is revoked at once'),
} satisfies Record<string, OperationResponses>;

const userSchema = object({
  id: z.string(),
  username: z.string(),
  email: z.string().optional(),
  role,
  created_at: isoTime(),
}).meta({ id: 'User' });

export const users = {
  createUser: created(userSchema),
  listUsers: ok(dhubList(userSchema, 'User')),
  getUser: ok(userSchema),
  deleteUser: done('The user is deleted and their credentials revoked'),
} satisfies Record<string, OperationResponses>;

/** Item schemas that appear only inside D.Hub lists' JSON strings, registered by name. */
export const listedSchemas = { Credential: credentialSchema, User: userSchema };

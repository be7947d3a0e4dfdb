/** Users area (admin only): create, list, get and delete users. */
import * as z from 'zod';
import { revokeUserCredentials } from '#core/auth/credentials';
import { createUser, createUserSchema, deleteUser, getUser, listUsers } from '#core/auth/users';
import { type AreaOperations, areaHandler, operation, reply } from '#core/http';
import { awsTable } from '#core/platform/aws/table';
import { onAws } from '#core/platform/lambda';
import { listQuerySchema } from '#core/schemas';

const userParams = z.object({ user_id: z.string() });

/** The operations of the users routes (the OpenAPI document reads their schemas). */
export const operations = {
  createUser: operation({
    body: createUserSchema,
    run: async ({ body }) => reply(201, await createUser(body)),
  }),
  listUsers: operation({
    query: listQuerySchema,
    run: ({ query }) => listUsers(query.limit, query.token),
  }),
  getUser: operation({
    params: userParams,
    run: ({ params }) => getUser(params.user_id),
  }),
  deleteUser: operation({
    params: userParams,
    async run({ params, principal }) {
      await deleteUser(params.user_id, principal.userId, revokeUserCredentials);
      return { message: 'User deleted successfully' };
    },
  }),
} satisfies AreaOperations<'users'>;

export const handler = onAws({ stores: awsTable }, areaHandler('users', operations));

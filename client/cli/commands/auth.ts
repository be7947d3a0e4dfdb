/** `sluice login` and `sluice logout`. */
import type { Command } from 'commander';
import { createSluiceClient, SluiceProblem } from '../../index.ts';
import { configPath, readSession, writeSession } from '../config.ts';
import { action } from '../context.ts';
import { UsageError } from '../output.ts';
import { ask } from '../prompt.ts';
import { chooseEndpoint, DEFAULT_ENDPOINT, savingClient, serviceCredentials } from '../session.ts';
import { answer } from '../shapes.ts';

export function registerAuth(program: Command): void {
  program
    .command('login')
    .description(
      'Log in and keep the session (endpoint and refresh token) in your config directory. With ' +
        'SLUICE_CREDENTIAL_ID and SLUICE_CREDENTIAL_SECRET set, checks that service credential and keeps only the endpoint.',
    )
    .option('-u, --username <name>', 'user name (default: SLUICE_USERNAME, or asked)')
    .option('-p, --password <password>', 'password (default: SLUICE_PASSWORD, or asked without echo)')
    .action(
      action(async (ctx, options: { username?: string; password?: string }) => {
        const file = configPath();
        const stored = readSession(file);
        const endpoint = chooseEndpoint(ctx.globals.endpoint, stored, DEFAULT_ENDPOINT);
        const credentials = serviceCredentials();
        if (credentials) {
          const client = createSluiceClient({ baseUrl: endpoint, serviceCredentials: credentials });
          const me = answer(await client.api.GET('/api/v1/auth/me'));
          writeSession({ endpoint }, file);
          ctx.out.result(
            { endpoint, username: me.username, role: me.role, via: 'service credential', config: file },
            () => ctx.out.line(`Using the service credential of ${me.username} (${me.role}) at ${endpoint}.`),
          );
          return;
        }
        const username =
          options.username ?? process.env.SLUICE_USERNAME ?? (await ask('Username: ', { hidden: false }));
        const password =
          options.password ?? process.env.SLUICE_PASSWORD ?? (await ask('Password: ', { hidden: true }));
        if (!username || !password) throw new UsageError('A username and a password are needed to log in.');
        const client = savingClient(endpoint, { endpoint, username }, file);
        await client.login(username, password);
        const me = answer(await client.api.GET('/api/v1/auth/me'));
        ctx.out.result({ endpoint, username: me.username, role: me.role, via: 'login', config: file }, () =>
          ctx.out.line(`Logged in to ${endpoint} as ${me.username} (${me.role}). Session saved in ${file}.`),
        );
      }),
    );

  program
    .command('logout')
    .description('End the saved session on the server and forget its tokens (the endpoint is kept).')
    .action(
      action(async (ctx) => {
        const file = configPath();
        const stored = readSession(file);
        const endpoint = chooseEndpoint(ctx.globals.endpoint, stored, DEFAULT_ENDPOINT);
        const { refresh_token: _refresh, access_token: _access, ...kept } = stored;
        let revoked = false;
        if (stored.refresh_token && stored.endpoint === endpoint) {
          const client = savingClient(endpoint, stored, file);
          try {
            await client.logout();
            revoked = true;
          } catch (error) {
            // A token the server no longer knows (used elsewhere, expired) means there is no session to end.
            if (!(error instanceof SluiceProblem && error.status === 401)) throw error;
          } finally {
            // Forget the tokens even when the server no longer knew them.
            writeSession(kept, file);
          }
        }
        ctx.out.result({ endpoint, loggedOut: revoked }, () =>
          ctx.out.line(revoked ? `Logged out of ${endpoint}.` : `There was no session for ${endpoint}.`),
        );
      }),
    );
}

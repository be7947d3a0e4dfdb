/**
 * The client a command talks through: the endpoint from `--endpoint`, SLUICE_ENDPOINT or the
 * saved session, and credentials from SLUICE_CREDENTIAL_ID / SLUICE_CREDENTIAL_SECRET or the
 * saved tokens. Every rotated refresh token is written back at once: the old one no longer works.
 */
import { createSluiceClient, type SluiceClient } from '../index.ts';
import { configPath, readSession, type StoredSession, secondsLeft, writeSession } from './config.ts';
import { UsageError } from './output.ts';

export const DEFAULT_ENDPOINT = 'http://localhost:3000';

export interface ServiceCredentials {
  id: string;
  secret: string;
}

export function serviceCredentials(env: NodeJS.ProcessEnv = process.env): ServiceCredentials | undefined {
  const id = env.SLUICE_CREDENTIAL_ID?.trim();
  const secret = env.SLUICE_CREDENTIAL_SECRET?.trim();
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    throw new UsageError('Set both SLUICE_CREDENTIAL_ID and SLUICE_CREDENTIAL_SECRET, or neither.');
  }
  return { id, secret };
}

export function normaliseEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Not an endpoint URL: ${raw} (e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`The endpoint must be an http or https URL: ${raw}`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export interface Session {
  endpoint: string;
  client: SluiceClient;
  /** How this session authenticates, for messages. */
  via: 'service credential' | 'login';
  /** Set when the session signs with a service credential rather than tokens. */
  credentials?: ServiceCredentials;
  file: string;
}

/** The endpoint a command talks to (login falls back to the local host's default). */
export function chooseEndpoint(flag: string | undefined, stored: StoredSession, fallback?: string): string {
  const raw = flag ?? process.env.SLUICE_ENDPOINT ?? stored.endpoint ?? fallback;
  if (!raw) {
    throw new UsageError(`No endpoint: run sluice login --endpoint <url>, or set SLUICE_ENDPOINT.`);
  }
  return normaliseEndpoint(raw);
}

/** A client that keeps the saved session up to date as it refreshes. */
export function savingClient(endpoint: string, stored: StoredSession, file = configPath()): SluiceClient {
  const sameEndpoint = stored.endpoint !== undefined && normaliseEndpoint(stored.endpoint) === endpoint;
  const fresh = (token: string | undefined) =>
    token !== undefined && (secondsLeft(token) ?? 0) > 30 ? token : undefined;
  let current: StoredSession = { ...stored };
  return createSluiceClient({
    baseUrl: endpoint,
    ...(sameEndpoint && stored.refresh_token ? { refreshToken: stored.refresh_token } : {}),
    ...(sameEndpoint && fresh(stored.access_token) ? { accessToken: stored.access_token } : {}),
    onTokens(tokens) {
      current = {
        ...current,
        endpoint,
        access_token: tokens.access_token,
        ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
      };
      writeSession(current, file);
    },
  });
}

/** The session every command but login runs in. */
export function openSession(endpointFlag: string | undefined): Session {
  const file = configPath();
  const stored = readSession(file);
  const endpoint = chooseEndpoint(endpointFlag, stored);
  const credentials = serviceCredentials();
  if (credentials) {
    return {
      endpoint,
      file,
      via: 'service credential',
      credentials,
      client: createSluiceClient({ baseUrl: endpoint, serviceCredentials: credentials }),
    };
  }
  const sameEndpoint = stored.endpoint !== undefined && normaliseEndpoint(stored.endpoint) === endpoint;
  if (!sameEndpoint || !stored.refresh_token) {
    throw new UsageError(`Not logged in to ${endpoint}: run sluice login --endpoint ${endpoint}`);
  }
  return { endpoint, file, via: 'login', client: savingClient(endpoint, stored, file) };
}

/**
 * The local API Gateway: an HTTP server that dispatches the shared route table to the same
 * handler modules the Lambdas run. Each request becomes an API Gateway v2 (HTTP API) event;
 * routes other than the public ones go through the same Lambda authorizer first, and paths
 * that match no route go to the `$default` (fallback) handler, as on AWS.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpResult } from '#core/http';
import { type Area, matchRoute, routeKey } from '#core/routes';
import type { AuthorizerResult } from '#functions/authorizer';

/** API Gateway's and Lambda's request size ceiling: larger bodies never reach a function. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface Dispatch {
  areas: Record<Area, Handler<HttpEvent, HttpResult>>;
  authorizer: Handler<unknown, AuthorizerResult>;
  log(line: string): void;
  /** The web console's built files (console/dist), served at `/` beside the API. */
  console?: ConsoleSite;
}

export interface ConsoleSite {
  dir: string;
  /** Whether a build of the console is under way (its pages answer 503 until it is done). */
  building(): boolean;
}

/**
 * Paths that belong to the API, whatever the console holds: they reach the route table (and
 * its JSON 404) exactly as without a console.
 */
export function isApiPath(method: string, path: string): boolean {
  if (/^\/(api|v1|docs)(\/|$)/.test(path) || path === '/health' || path === '/openapi.json') return true;
  return matchRoute(method, path) !== undefined;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The console's headers: the same policy CloudFront adds on AWS (lib/console.ts). `connect-src`
 * also allows the local S3 (s3rver), where large uploads are PUT through a presigned URL: that
 * URL is always `http://localhost:<s3 port>` (the public S3 endpoint local/host.ts sets), on a
 * port chosen at start, hence any port of localhost and nothing beyond loopback.
 */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' http://localhost:*; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

/** Files read once per server (they are immutable once built; index.html is re-read). */
const fileCache = new Map<string, { raw: Buffer; gzip: Buffer | undefined; mtime: number }>();

async function consoleFile(path: string) {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const cached = fileCache.get(path);
  if (cached && cached.mtime === info.mtimeMs) return cached;
  const raw = await readFile(path);
  const compressible = /\.(js|css|html|svg|json|txt)$/.test(path) && raw.length > 1024;
  const entry = { raw, gzip: compressible ? gzipSync(raw) : undefined, mtime: info.mtimeMs };
  fileCache.set(path, entry);
  return entry;
}

/**
 * Serves a console file, or index.html for the console's own routes (a GET of a path with no
 * file that accepts HTML: the single-page app routes in the browser). Returns the status sent,
 * or undefined when the request is not the console's (it then goes to the API's fallback).
 */
async function serveConsole(
  req: IncomingMessage,
  res: ServerResponse,
  site: ConsoleSite,
  path: string,
): Promise<number | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const root = normalize(site.dir + sep);
  const file = normalize(join(root, decoded));
  if (!file.startsWith(root)) return undefined;
  const wantsHtml = path === '/' || (req.headers.accept ?? '').includes('text/html');
  let found = decoded.endsWith('/') ? undefined : await consoleFile(file);
  let type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  const immutable = found !== undefined && decoded.startsWith('/assets/');
  if (!found) {
    if (!wantsHtml) return undefined;
    found = await consoleFile(join(root, 'index.html'));
    type = CONTENT_TYPES['.html'] as string;
    if (!found) {
      const building = site.building();
      const message = building
        ? 'The Sluice console is being built; this page reloads in a few seconds.'
        : 'The Sluice console is not built. Run <code>npm run build</code>, or restart <code>npm start</code>.';
      const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice console</title>${building ? '<meta http-equiv="refresh" content="3">' : ''}</head><body><p>${message}</p><p><a href="/docs">API documentation</a></p></body></html>`;
      res.writeHead(503, { 'content-type': type, 'cache-control': 'no-store', 'retry-after': '3' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return 503;
    }
  }
  const gzip = found.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? (found.gzip as Buffer) : found.raw;
  res.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...CONSOLE_SECURITY_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return 200;
}

const TEXT_TYPES = /^(application\/(json|problem\+json|x-www-form-urlencoded|xml)|text\/)/i;

function lambdaContext(name: string, requestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `sluice-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:sluice-local-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/sluice-local-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function problem(status: number, title: string, detail: string, instance: string, errorType: string) {
  return JSON.stringify({ type: 'about:blank', title, status, detail, instance, errorType });
}

/**
 * Reads the body, keeping at most MAX_BODY_BYTES. An oversized body is still drained (up to a
 * bound) so the client gets to read the 413 instead of a reset connection.
 */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > 8 * MAX_BODY_BYTES) req.destroy();
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('close', () => {
      if (size > MAX_BODY_BYTES) resolve('too-large');
    });
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

function toEvent(
  req: IncomingMessage,
  body: Buffer,
  key: string,
  params: Record<string, string> | undefined,
  requestId: string,
): HttpEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers = headersOf(req);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const binary = body.length > 0 && !TEXT_TYPES.test(headers['content-type'] ?? '');
  const now = new Date();
  const method = req.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    // As API Gateway does: the Cookie header leaves `headers` and arrives split, one `name=value` each.
    ...(req.headers.cookie ? { cookies: req.headers.cookie.split(/;\s*/).filter((c) => c !== '') } : {}),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    ...(params ? { pathParameters: params } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      authorizer: { lambda: {} },
    },
    ...(body.length > 0 ? { body: body.toString(binary ? 'base64' : 'utf8') } : {}),
    isBase64Encoded: binary,
  } as HttpEvent;
}

function authorizerEvent(event: HttpEvent) {
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${event.requestContext.http.method}${event.rawPath}`,
    identitySource: [],
    routeKey: event.routeKey,
    rawPath: event.rawPath,
    rawQueryString: event.rawQueryString,
    headers: event.headers,
    queryStringParameters: event.queryStringParameters,
    requestContext: event.requestContext,
    pathParameters: event.pathParameters,
  };
}

/** Writes a payload 2.0 result as API Gateway does: each of `cookies` is one Set-Cookie header. */
function send(res: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string | number | boolean | string[]> = { ...(result.headers ?? {}) };
  const body = result.body
    ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8')
    : Buffer.alloc(0);
  headers['content-length'] = body.length;
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode ?? 200, headers as Record<string, string | string[]>);
  res.end(body);
}

export function createApiServer(dispatch: Dispatch): Server {
  return createServer(async (req, res) => {
    const started = performance.now();
    const requestId = randomUUID();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    let status = 500;
    try {
      if (dispatch.console && (method === 'GET' || method === 'HEAD') && !isApiPath(method, path)) {
        const served = await serveConsole(req, res, dispatch.console, path);
        if (served !== undefined) {
          status = served;
          return;
        }
      }
      const body = await readBody(req);
      if (body === 'too-large') {
        status = 413;
        res.writeHead(413, { 'content-type': 'application/problem+json' });
        res.end(
          problem(
            413,
            'Payload Too Large',
            `Request bodies are limited to ${MAX_BODY_BYTES} bytes. Upload large files through POST /api/v1/tables/{dataset_id}/upload-url.`,
            path,
            'payload-too-large',
          ),
        );
        return;
      }
      const match = matchRoute(method, path);
      const route = match && 'route' in match ? match.route : undefined;
      const key = route ? routeKey(route) : '$default';
      const area: Area = route?.area ?? 'fallback';
      const event = toEvent(req, body, key, match && 'route' in match ? match.params : undefined, requestId);
      if (route?.access !== 'public') {
        const verdict = await dispatch.authorizer(
          authorizerEvent(event),
          lambdaContext('authorizer', requestId, 10_000),
        );
        if (!verdict.isAuthorized) {
          status = 403;
          send(res, {
            statusCode: 403,
            headers: { 'content-type': 'application/json' },
            body: '{"message":"Forbidden"}',
          });
          return;
        }
        event.requestContext.authorizer = { lambda: verdict.context };
      }
      const result = await dispatch.areas[area](event, lambdaContext(area, requestId, 29_000));
      status = result.statusCode ?? 200;
      send(res, result);
    } catch (error) {
      status = 500;
      dispatch.log(`error handling ${method} ${path}: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/problem+json' });
        res.end(problem(500, 'Internal Server Error', 'An unexpected error occurred.', path, 'internal'));
      }
    } finally {
      dispatch.log(`${method} ${path} ${status} ${Math.round(performance.now() - started)}ms`);
    }
  });
}

export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  return `http://localhost:${address.port}`;
}

/**
 * The console's one API client (client/index.ts): the access token lives only in this module's
 * memory; the refresh token stays in the HTTP-only cookie that login sets (Path=/api/v1/auth,
 * SameSite=Strict), so a reload signs in again through `refresh()`.
 *
 * `call` reaches any route with a concrete path (ids filled in): the views type the answers
 * they read with the interfaces in types.ts. `postForm` is for what openapi-fetch does not
 * cover: multipart uploads with progress (XMLHttpRequest).
 */
import { createSluiceClient, SluiceProblem } from '../../client/index.ts';

export { SluiceProblem };

export const sluice = createSluiceClient({ baseUrl: '', useRefreshCookie: true });

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Query = Record<string, string | number | boolean | string[] | undefined>;
type Untyped = (path: string, init: Record<string, unknown>) => Promise<{ data?: unknown }>;

export async function call<T>(
  method: Method,
  path: string,
  init: { query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<T> {
  const query = Object.fromEntries(
    Object.entries(init.query ?? {}).filter(([, v]) => v !== undefined && v !== ''),
  );
  const fn = (sluice.api as unknown as Record<Method, Untyped>)[method];
  const { data } = await fn(path, {
    params: { query },
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  return data as T;
}

/** D.Hub lists: `{items: {<id>: "<json>"}, token}` → the objects. */
export function itemsOf<T>(list: { items?: Record<string, string | T> } | undefined): T[] {
  return Object.values(list?.items ?? {}).map((v) => (typeof v === 'string' ? (JSON.parse(v) as T) : v));
}

/** A readable message for any error a call throws. */
export function messageOf(error: unknown): string {
  if (error instanceof SluiceProblem) {
    const fields = error.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return `${error.detail || error.title}${fields ? ` — ${fields}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function problemOf(status: number, statusText: string, text: string, url: string) {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not a problem document
  }
  return new SluiceProblem({
    status,
    errorType: typeof body.errorType === 'string' ? body.errorType : `http-${status}`,
    title: typeof body.title === 'string' ? body.title : statusText || `HTTP ${status}`,
    detail:
      typeof body.detail === 'string' ? body.detail : typeof body.message === 'string' ? body.message : '',
    instance: url,
    errors: Array.isArray(body.errors) ? (body.errors as { field: string; message: string }[]) : [],
    body,
  });
}

function xhr(
  method: string,
  url: string,
  body: FormData,
  onProgress?: (sent: number, total: number) => void,
): Promise<{ status: number; statusText: string; text: string }> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    const token = sluice.accessToken();
    if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
    if (onProgress) {
      request.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0);
    }
    request.onload = () =>
      resolve({ status: request.status, statusText: request.statusText, text: request.responseText });
    request.onerror = () => reject(new Error('The connection to the server failed.'));
    request.send(body);
  });
}

/**
 * A PUT of a file to a presigned URL (the data bucket, another origin): no credentials of the
 * API go with it, the URL's signature is the authorization. Progress as postForm's.
 */
export function putFile(
  url: string,
  file: Blob,
  onProgress?: (sent: number, total: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', url);
    if (onProgress) {
      request.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    }
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) resolve();
      else {
        const code = /<Code>([^<]*)<\/Code>/.exec(request.responseText)?.[1];
        const message = /<Message>([^<]*)<\/Message>/.exec(request.responseText)?.[1];
        reject(
          new Error(
            `The storage refused the file (HTTP ${request.status}${code ? ` ${code}` : ''})${message ? `: ${message}` : '.'}`,
          ),
        );
      }
    };
    request.onerror = () =>
      reject(new Error('The connection to the storage failed (network or CORS): the file was not sent.'));
    request.send(file);
  });
}

/**
 * A multipart POST through XMLHttpRequest (fetch reports no upload progress). A 401 gets one
 * refresh and one retry, as the client does for its own calls.
 */
export async function postForm<T>(
  url: string,
  form: FormData,
  onProgress?: (sent: number, total: number) => void,
): Promise<T> {
  let answer = await xhr('POST', url, form, onProgress);
  if (answer.status === 401) {
    await sluice.refresh();
    answer = await xhr('POST', url, form, onProgress);
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw await problemOf(answer.status, answer.statusText, answer.text, url);
  }
  return JSON.parse(answer.text) as T;
}

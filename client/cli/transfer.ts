/**
 * Sends a request body made of buffers and files through node:http(s), counting bytes as they
 * go out (fetch cannot report upload progress), with the Content-Length S3 presigned PUTs need.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { problemFromResponse, type SluiceProblem } from '../problem.ts';

export type BodyPart = Buffer | { path: string; size: number };

export interface SentResponse {
  status: number;
  headers: Headers;
  text: string;
}

const CHUNK = 64 * 1024;

export const partSize = (part: BodyPart) => (Buffer.isBuffer(part) ? part.length : part.size);

export async function sendBody(options: {
  url: string;
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  parts: BodyPart[];
  onProgress?(sent: number, total: number): void;
}): Promise<SentResponse> {
  const url = new URL(options.url);
  const total = options.parts.reduce((sum, p) => sum + partSize(p), 0);
  const transport = url.protocol === 'https:' ? https : http;
  const request = transport.request(url, {
    method: options.method,
    headers: { ...options.headers, 'content-length': String(total) },
  });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  // A server may answer (e.g. 401, 413) before it has read the body: stop sending then.
  let aborted = false;
  void answered.then(
    () => {
      aborted = true;
    },
    () => {
      aborted = true;
    },
  );

  let sent = 0;
  const write = async (chunk: Buffer) => {
    if (aborted) return;
    if (!request.write(chunk)) await Promise.race([once(request, 'drain'), answered.catch(() => undefined)]);
    sent += chunk.length;
    options.onProgress?.(sent, total);
  };
  try {
    for (const part of options.parts) {
      if (Buffer.isBuffer(part)) {
        for (let at = 0; at < part.length; at += CHUNK) await write(part.subarray(at, at + CHUNK));
      } else {
        for await (const chunk of createReadStream(part.path, { highWaterMark: CHUNK })) {
          if (aborted) break;
          await write(chunk as Buffer);
        }
      }
    }
    if (!aborted) request.end();
  } catch (error) {
    request.destroy();
    throw error;
  }
  const response = await answered;
  const body: Buffer[] = [];
  for await (const chunk of response) body.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { status: response.statusCode ?? 0, headers, text: Buffer.concat(body).toString('utf8') };
}

/** The problem a non-2xx answer of sendBody carries. */
export function problemOf(response: SentResponse): Promise<SluiceProblem> {
  return problemFromResponse(
    new Response(response.text, {
      status: response.status,
      statusText: http.STATUS_CODES[response.status] ?? '',
      headers: response.headers,
    }),
  );
}

/** A multipart/form-data body with one file field, as the direct upload route reads it. */
export function multipartFile(field: string, filename: string, file: { path: string; size: number }) {
  const boundary = `----sluice-${crypto.randomUUID()}`;
  const safeName = filename.replace(/["\r\n\\]/g, '_');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${safeName}"\r\n` +
      'Content-Type: text/csv\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    parts: [head, file, tail] as BodyPart[],
  };
}

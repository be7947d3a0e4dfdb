/** Object storage helpers over the data bucket (S3 in AWS, s3rver locally). */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { requirePlainKey } from './object-keys.ts';
import { platform } from './platform/platform.ts';

export async function putFile(
  key: string,
  path: string,
  contentType: string,
  bucket = platform().stores.dataBucket,
): Promise<number> {
  return (await uploadFile(key, path, contentType, bucket)).size;
}

/** Uploads a file; answers its size and the ETag S3 gave the object. */
export async function uploadFile(
  key: string,
  path: string,
  contentType: string,
  bucket = platform().stores.dataBucket,
): Promise<{ size: number; etag: string | undefined }> {
  const { size } = await stat(path);
  const out = await platform().stores.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: requirePlainKey(key),
      Body: createReadStream(path),
      ContentLength: size,
      ContentType: contentType,
    }),
  );
  return { size, etag: out.ETag };
}

/** `x-amz-copy-source`: the bucket and the key, each path segment URL-encoded. */
export const copySource = (bucket: string, key: string) =>
  `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

/** Copies an object inside the data bucket, server side (no bytes pass through this process). */
export async function copyObject(fromKey: string, toKey: string): Promise<void> {
  await platform().stores.s3.send(
    new CopyObjectCommand({
      Bucket: platform().stores.dataBucket,
      Key: requirePlainKey(toKey),
      CopySource: copySource(platform().stores.dataBucket, requirePlainKey(fromKey)),
    }),
  );
}

export async function putJson(
  key: string,
  value: unknown,
  bucket = platform().stores.dataBucket,
): Promise<void> {
  await platform().stores.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: requirePlainKey(key),
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
}

export async function getJson<T>(key: string, bucket = platform().stores.dataBucket): Promise<T> {
  const out = await platform().stores.s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: requirePlainKey(key) }),
  );
  return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as T;
}

export async function downloadToFile(
  key: string,
  path: string,
  bucket = platform().stores.dataBucket,
): Promise<number> {
  const out = await platform().stores.s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: requirePlainKey(key) }),
  );
  await pipeline(out.Body as Readable, createWriteStream(path, { highWaterMark: 1024 * 1024 }));
  return (await stat(path)).size;
}

/** Bytes [start, end) of an object. */
export async function getRange(
  key: string,
  start: number,
  end: number,
  bucket = platform().stores.dataBucket,
): Promise<ArrayBuffer> {
  const out = await platform().stores.s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: requirePlainKey(key), Range: `bytes=${start}-${end - 1}` }),
  );
  const bytes = await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export async function deleteObject(key: string, bucket = platform().stores.dataBucket): Promise<void> {
  await platform().stores.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: requirePlainKey(key) }));
}

/** Deletes every object under a prefix, a page of up to 1000 at a time. */
export async function deletePrefix(prefix: string, bucket = platform().stores.dataBucket): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await platform().stores.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: requirePlainKey(prefix), ContinuationToken: token }),
    );
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) {
      await platform().stores.s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
      );
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

export interface StoredObject {
  key: string;
  size: number;
  etag?: string;
}

/** Every object under a prefix, in key order. */
export async function listObjects(
  prefix: string,
  bucket = platform().stores.dataBucket,
): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  let token: string | undefined;
  do {
    const page = await platform().stores.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: requirePlainKey(prefix), ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, ...(o.ETag ? { etag: o.ETag } : {}) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

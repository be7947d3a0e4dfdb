/**
 * Server-side copies of objects of any size. One CopyObject copies at most 5 GiB; a larger
 * object is copied as a multipart upload whose parts are ranges of the source (UploadPartCopy),
 * several at a time, and the upload is aborted if any part fails (nothing half-written is left
 * under the target key). No bytes pass through this process either way.
 *
 * Kept apart from storage.ts so that only the functions that copy large objects (the step worker,
 * Data Query's Athena engine) bundle the multipart commands.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { platform } from './platform/platform.ts';
import { copySource } from './storage.ts';

export interface S3Location {
  bucket: string;
  key: string;
}

/** The most one CopyObject copies. */
export const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;
/** The range each part of a larger copy takes (parts may be 5 MiB to 5 GiB). */
const COPY_PART = 512 * 1024 ** 2;
/** Parts copied at once. */
const COPY_PARALLEL = 8;

export interface CopyOptions {
  /** The copy's content type (a multipart copy does not take the source's). */
  contentType?: string;
  /** Tests only: the size from which an object is copied in parts, and the size of a part. */
  limit?: number;
  partSize?: number;
}

/** Copies `from` (of `size` bytes) to `to`, server side, whatever its size. */
export async function copyAnySize(
  from: S3Location,
  to: S3Location,
  size: number,
  options: CopyOptions = {},
): Promise<void> {
  if (size <= (options.limit ?? COPY_OBJECT_LIMIT)) {
    await platform().stores.s3.send(
      new CopyObjectCommand({
        Bucket: to.bucket,
        Key: to.key,
        CopySource: copySource(from.bucket, from.key),
      }),
    );
    return;
  }
  const s3 = platform().stores.s3;
  const part = options.partSize ?? COPY_PART;
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: to.bucket,
      Key: to.key,
      ...(options.contentType ? { ContentType: options.contentType } : {}),
    }),
  );
  try {
    const count = Math.ceil(size / part);
    const parts: { ETag: string | undefined; PartNumber: number }[] = new Array(count);
    let next = 0;
    const copier = async () => {
      while (next < count) {
        const i = next++;
        const start = i * part;
        const end = Math.min(size, start + part) - 1;
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: to.bucket,
            Key: to.key,
            UploadId,
            PartNumber: i + 1,
            CopySource: copySource(from.bucket, from.key),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts[i] = { ETag: out.CopyPartResult?.ETag, PartNumber: i + 1 };
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_PARALLEL, count) }, copier));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: to.bucket,
        Key: to.key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (error) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId }))
      .catch(() => undefined);
    throw error;
  }
}

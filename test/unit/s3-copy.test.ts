/**
 * Server-side copies of any size (functions/core/s3-copy.ts). The multipart path is S3's alone:
 * the local stand-in (s3rver) has no UploadPartCopy, so these tests answer the S3 client here.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { COPY_OBJECT_LIMIT, copyAnySize } from '#core/s3-copy';
import { onTestPlatform } from './test-platform.ts';

onTestPlatform();

const s3 = mockClient(S3Client);
const inputsOf = (command: unknown): any[] => s3.commandCalls(command as never).map((c) => c.args[0].input);

const from = { bucket: 'user-bucket', key: 'raw/2026/big file.csv' };
const to = { bucket: 'sluice-data', key: 'runs/batch-1/_in/1/part-00000.csv' };
const GiB = 1024 ** 3;
const PART = 512 * 1024 ** 2;

beforeEach(() => {
  s3.reset();
});

describe('copyAnySize', () => {
  it('copies an object of up to 5 GiB with one CopyObject, its key encoded per segment', async () => {
    s3.on(CopyObjectCommand).resolves({});
    await copyAnySize(from, to, COPY_OBJECT_LIMIT);
    expect(inputsOf(CopyObjectCommand)).toEqual([
      { Bucket: 'sluice-data', Key: to.key, CopySource: 'user-bucket/raw/2026/big%20file.csv' },
    ]);
    expect(inputsOf(CreateMultipartUploadCommand)).toEqual([]);
  });

  it('copies a larger object as 512 MiB ranges of a multipart upload, in part order', async () => {
    const size = 5 * GiB + 1;
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    s3.on(UploadPartCopyCommand).callsFake((input) => ({
      CopyPartResult: { ETag: `"e${input.PartNumber}"` },
    }));
    s3.on(CompleteMultipartUploadCommand).resolves({});

    await copyAnySize(from, to, size, { contentType: 'text/csv' });

    expect(inputsOf(CopyObjectCommand)).toEqual([]);
    expect(inputsOf(CreateMultipartUploadCommand)).toEqual([
      { Bucket: 'sluice-data', Key: to.key, ContentType: 'text/csv' },
    ]);
    const parts = inputsOf(UploadPartCopyCommand).sort((a, b) => a.PartNumber - b.PartNumber);
    expect(parts).toHaveLength(11);
    expect(parts[0]).toEqual({
      Bucket: 'sluice-data',
      Key: to.key,
      UploadId: 'up-1',
      PartNumber: 1,
      CopySource: 'user-bucket/raw/2026/big%20file.csv',
      CopySourceRange: `bytes=0-${PART - 1}`,
    });
    // The ranges cover the object exactly: the last part is the one byte past 5 GiB.
    expect(parts[10]?.CopySourceRange).toBe(`bytes=${10 * PART}-${size - 1}`);
    expect(inputsOf(CompleteMultipartUploadCommand)[0].MultipartUpload.Parts).toEqual(
      Array.from({ length: 11 }, (_, i) => ({ ETag: `"e${i + 1}"`, PartNumber: i + 1 })),
    );
    expect(inputsOf(AbortMultipartUploadCommand)).toEqual([]);
  });

  it('aborts the upload when a part fails, so nothing is left half-written under the key', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-2' });
    s3.on(UploadPartCopyCommand).callsFake((input) => {
      if (input.PartNumber === 3) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
      return { CopyPartResult: { ETag: `"e${input.PartNumber}"` } };
    });
    s3.on(AbortMultipartUploadCommand).resolves({});

    await expect(copyAnySize(from, to, 4 * 1024, { limit: 1024, partSize: 1024 })).rejects.toThrow(
      'slow down',
    );

    expect(inputsOf(CompleteMultipartUploadCommand)).toEqual([]);
    expect(inputsOf(AbortMultipartUploadCommand)).toEqual([
      { Bucket: 'sluice-data', Key: to.key, UploadId: 'up-2' },
    ]);
  });
});

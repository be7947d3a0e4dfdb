/**
 * multipart/form-data bodies (the direct upload route). The body is already in memory (it came
 * in the Lambda event), so busboy parses it from a buffer; the file part stops at `maxBytes`.
 */
import busboy from 'busboy';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.ts';

export interface MultipartFile {
  filename: string;
  data: Buffer;
}

const HINT = 'Send the CSV as multipart/form-data with a field named "file" (curl -F "file=@data.csv").';

export function parseMultipartFile(
  body: Buffer,
  contentType: string | undefined,
  field: string,
  maxBytes: number,
  largeHint: string,
): Promise<MultipartFile> {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) {
    return Promise.reject(new UnsupportedMediaTypeError(HINT));
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fileSize: maxBytes } });
    } catch {
      reject(new ValidationError('The multipart body is not valid.', [{ field: 'body', message: HINT }]));
      return;
    }
    let found: MultipartFile | undefined;
    let tooLarge = false;
    parser.on('file', (name, stream, info) => {
      if (name !== field) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => {
        tooLarge = true;
      });
      stream.on('end', () => {
        found = { filename: info.filename ?? 'upload.csv', data: Buffer.concat(chunks) };
      });
    });
    parser.on('error', () =>
      reject(new ValidationError('The multipart body is not valid.', [{ field: 'body', message: HINT }])),
    );
    parser.on('close', () => {
      if (tooLarge)
        reject(new PayloadTooLargeError(`The file is larger than ${maxBytes} bytes. ${largeHint}`));
      else if (!found) reject(ValidationError.field(field, `is required. ${HINT}`));
      else resolve(found);
    });
    parser.end(body);
  });
}

/**
 * multipart/form-data bodies (the direct upload and schema routes). The body is already in
 * memory (it came in the Lambda event), so busboy parses it from a buffer; the file part stops
 * at `maxBytes`. The file may come under any of the accepted field names: Sluice's `file` or
 * D.Hub's `files`; one file per request.
 */
import busboy from 'busboy';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../errors.ts';

export interface MultipartFile {
  filename: string;
  data: Buffer;
}

/** The field names a CSV upload may use: Sluice's and the tutorial's `file`, D.Hub's `files`. */
export const FILE_FIELDS = ['file', 'files'] as const;

const HINT = 'Send the CSV as multipart/form-data with a field named "file" (curl -F "file=@data.csv").';

/** Most parts busboy reads before giving up: enough to notice a second file. */
const MAX_FILE_PARTS = 8;

export function parseMultipartFile(
  body: Buffer,
  contentType: string | undefined,
  fields: string | readonly string[],
  maxBytes: number,
  largeHint: string,
): Promise<MultipartFile> {
  const names: readonly string[] = typeof fields === 'string' ? [fields] : fields;
  const field = names[0] ?? 'file';
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) {
    return Promise.reject(new UnsupportedMediaTypeError(HINT));
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        limits: { files: MAX_FILE_PARTS, fileSize: maxBytes },
      });
    } catch {
      reject(new ValidationError('The multipart body is not valid.', [{ field: 'body', message: HINT }]));
      return;
    }
    const found: MultipartFile[] = [];
    let matching = 0;
    let used = field;
    let tooLarge = false;
    parser.on('file', (name, stream, info) => {
      if (!names.includes(name) || matching > 0) {
        if (names.includes(name)) matching++;
        stream.resume();
        return;
      }
      matching++;
      used = name;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => {
        tooLarge = true;
      });
      stream.on('end', () => {
        found.push({ filename: info.filename ?? 'upload.csv', data: Buffer.concat(chunks) });
      });
    });
    parser.on('error', () =>
      reject(new ValidationError('The multipart body is not valid.', [{ field: 'body', message: HINT }])),
    );
    parser.on('close', () => {
      if (tooLarge)
        reject(new PayloadTooLargeError(`The file is larger than ${maxBytes} bytes. ${largeHint}`));
      else if (matching > 1)
        reject(ValidationError.field(used, 'holds more than one file; send one per request.'));
      else if (!found[0]) reject(ValidationError.field(field, `is required. ${HINT}`));
      else resolve(found[0]);
    });
    parser.end(body);
  });
}

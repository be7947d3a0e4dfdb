/**
 * CSV upload: drop or choose a file, preview the schema the API infers from its first rows
 * (POST /tables/schema, nothing stored), pick overwrite or append, then send it with a progress
 * bar (XMLHttpRequest upload events) and show the ingest result or the problem with its line.
 *
 * Files up to DIRECT_LIMIT go to the direct upload route (answered once the version is
 * published). Larger ones, or any the API answers 413, take the presigned path the CLI takes:
 * POST /upload-url, PUT the file to that URL (the data bucket), then poll the upload's status
 * until the ingest succeeds or fails.
 */
import { useQueryClient } from '@tanstack/react-query';
import { type DragEvent, useState } from 'react';
import { call, messageOf, postForm, putFile, SluiceProblem } from '../api.ts';
import type { Dataset, InferredSchema, UploadResult } from '../types.ts';

/**
 * Files up to this size take the direct route: the API's default limit (4 MiB,
 * SLUICE_DIRECT_UPLOAD_MAX_BYTES; API Gateway carries 6 MB) less room for the multipart framing,
 * as the CLI does. A deployment with a lower limit answers 413; the presigned path follows.
 */
const DIRECT_LIMIT = 4 * 1024 * 1024 - 64 * 1024;
/** How often the status of a presigned upload is asked for while it is ingested. */
const POLL_MS = 500;

interface UploadTarget {
  upload_id: string;
  method: 'PUT';
  url: string;
  status_url: string;
}

interface UploadStatus {
  status: 'pending' | 'processing' | 'succeeded' | 'failed';
  result?: { version: number; rows: number; columns: number };
  error?: { status: number; title: string; detail: string; line?: number };
}

/** The problem, with its line when the API names one (shown once, before the message). */
function problemOf(err: unknown): { message: string; line?: number } {
  const message = messageOf(err);
  if (!(err instanceof SluiceProblem && typeof err.body.line === 'number')) return { message };
  const line = err.body.line;
  return {
    message: message.startsWith(`Line ${line}: `) ? message.slice(`Line ${line}: `.length) : message,
    line,
  };
}

/** The schema is inferred from at most this many leading bytes, cut at a line end. */
const SAMPLE_BYTES = 512 * 1024;

async function leadingLines(file: File): Promise<Blob> {
  if (file.size <= SAMPLE_BYTES) return file;
  const bytes = new Uint8Array(await file.slice(0, SAMPLE_BYTES).arrayBuffer());
  const end = bytes.lastIndexOf(0x0a);
  return file.slice(0, end > 0 ? end + 1 : SAMPLE_BYTES);
}

export function Upload({ dataset, onDone }: { dataset: Dataset; onDone(): void }) {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [schema, setSchema] = useState<InferredSchema | null>(null);
  const [mode, setMode] = useState<'overwrite' | 'append'>('overwrite');
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<UploadResult | null>(null);
  const [error, setError] = useState<{ message: string; line?: number } | null>(null);
  const [dragging, setDragging] = useState(false);
  /** What a presigned upload is at once the bytes are sent (the direct route answers at the end). */
  const [stage, setStage] = useState<'sending' | 'ingesting' | null>(null);

  async function choose(next: File | undefined) {
    if (!next) return;
    setFile(next);
    setSchema(null);
    setResult(null);
    setError(null);
    try {
      const form = new FormData();
      form.append('files', await leadingLines(next), next.name);
      setSchema(await postForm<InferredSchema>('/api/v1/tables/schema?format=csv', form));
    } catch (err) {
      setError(problemOf(err));
    }
  }

  /** Through a presigned URL: ask for it, PUT the file, then wait for the ingest's outcome. */
  async function viaPresignedUrl(chosen: File): Promise<UploadResult> {
    const target = await call<UploadTarget>('POST', `/api/v1/tables/${dataset.id}/upload-url`, {
      body: { mode, size: chosen.size, filename: chosen.name },
    });
    await putFile(target.url, chosen, (sent, total) => setProgress(total > 0 ? sent / total : 0));
    setStage('ingesting');
    for (;;) {
      const status = await call<UploadStatus>(
        'GET',
        `/api/v1/tables/${dataset.id}/uploads/${target.upload_id}`,
      );
      if (status.status === 'succeeded' && status.result) {
        return { message: 'Upload successful', ...status.result };
      }
      if (status.status === 'failed') {
        const problem = status.error ?? { status: 500, title: 'Upload failed', detail: '' };
        throw new SluiceProblem({
          status: problem.status,
          errorType: 'upload-failed',
          title: problem.title,
          detail: problem.detail,
          body: { ...problem },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async function send() {
    if (!file) return;
    setError(null);
    setResult(null);
    setProgress(0);
    setStage('sending');
    try {
      let answer: UploadResult;
      if (file.size > DIRECT_LIMIT) {
        answer = await viaPresignedUrl(file);
      } else {
        try {
          const form = new FormData();
          form.append('file', file, file.name);
          answer = await postForm<UploadResult>(
            `/api/v1/tables/${dataset.id}/upload?mode=${mode}`,
            form,
            (sent, total) => setProgress(total > 0 ? sent / total : 0),
          );
        } catch (err) {
          // A deployment with a lower direct limit answers 413: the presigned path takes any size.
          if (!(err instanceof SluiceProblem && err.status === 413)) throw err;
          setProgress(0);
          answer = await viaPresignedUrl(file);
        }
      }
      setProgress(1);
      setStage(null);
      setResult(answer);
      await qc.invalidateQueries({ queryKey: ['datasets', dataset.collection_id] });
      await qc.invalidateQueries({ queryKey: ['versions', dataset.id] });
    } catch (err) {
      setProgress(null);
      setStage(null);
      setError(problemOf(err));
    }
  }

  const onDrop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    setDragging(false);
    void choose(e.dataTransfer.files[0]);
  };

  const large = file !== null && file.size > DIRECT_LIMIT;

  return (
    <div className="upload">
      {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop zone; the file input inside is the keyboard path */}
      <div
        className={`dropzone${dragging ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <p>Drop a CSV file here, or</p>
        <label className="button">
          Choose a CSV file
          <input
            type="file"
            accept=".csv,text/csv,text/plain"
            className="visually-hidden"
            onChange={(e) => void choose(e.target.files?.[0])}
          />
        </label>
        {file && (
          <p>
            <strong>{file.name}</strong> ({(file.size / 1024).toFixed(1)} KB)
          </p>
        )}
      </div>
      {schema && (
        <table className="simple" aria-label="Inferred schema">
          <caption>
            Inferred schema: {schema.fields.length} columns, {schema.format.toUpperCase()}
            {schema.delimiter ? `, delimiter "${schema.delimiter}"` : ''}
            {schema.encoding ? `, ${schema.encoding}` : ''}
            {schema.header === false ? ', no header row' : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Nullable</th>
            </tr>
          </thead>
          <tbody>
            {schema.fields.map((f) => (
              <tr key={f.name}>
                <td>{f.name}</td>
                <td>{f.sluice_type ?? f.type}</td>
                <td>{f.nullable ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {file && (
        <fieldset className="row">
          <legend>Write mode</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === 'overwrite'}
              onChange={() => setMode('overwrite')}
            />{' '}
            Overwrite
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === 'append'} onChange={() => setMode('append')} />{' '}
            Append
          </label>
          <button
            type="button"
            onClick={() => void send()}
            disabled={stage !== null || (progress !== null && progress < 1 && !result && !error)}
          >
            Upload
          </button>
        </fieldset>
      )}
      {large && (
        <p className="muted">
          This file is larger than a direct upload takes (4 MB): it is sent straight to the storage through a
          presigned URL, then ingested.
        </p>
      )}
      {progress !== null && (
        <label className="progress">
          Upload progress
          <progress max={1} value={progress} />
          <span>{Math.round(progress * 100)}%</span>
          {stage === 'ingesting' && (
            <span aria-live="polite">Sent; ingesting: reading, typing and publishing…</span>
          )}
        </label>
      )}
      {result && (
        <p role="status" className="ok">
          {result.message}: {result.rows.toLocaleString()} rows
          {Array.isArray(result.columns) ? `, columns ${result.columns.join(', ')}` : ''}.{' '}
          <button type="button" onClick={onDone}>
            Show the table
          </button>
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error.line !== undefined && <strong>Line {error.line}: </strong>}
          {error.message}
        </p>
      )}
    </div>
  );
}

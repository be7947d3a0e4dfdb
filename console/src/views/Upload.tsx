/**
 * CSV upload: drop or choose a file, preview the schema the API infers from its first rows
 * (POST /tables/schema, nothing stored), pick overwrite or append, then send it with a progress
 * bar (XMLHttpRequest upload events) and show the ingest result or the problem with its line.
 */
import { useQueryClient } from '@tanstack/react-query';
import { type DragEvent, useState } from 'react';
import { messageOf, postForm, SluiceProblem } from '../api.ts';
import type { Dataset, InferredSchema, UploadResult } from '../types.ts';

/** What the API accepts in one request (API Gateway's 6 MB), less room for the multipart framing. */
const DIRECT_LIMIT = 6 * 1024 * 1024 - 64 * 1024;
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
      setError({
        message: messageOf(err),
        ...(err instanceof SluiceProblem && typeof err.body.line === 'number' ? { line: err.body.line } : {}),
      });
    }
  }

  async function send() {
    if (!file) return;
    setError(null);
    setResult(null);
    setProgress(0);
    try {
      const form = new FormData();
      form.append('file', file, file.name);
      const answer = await postForm<UploadResult>(
        `/api/v1/tables/${dataset.id}/upload?mode=${mode}`,
        form,
        (sent, total) => setProgress(total > 0 ? sent / total : 0),
      );
      setProgress(1);
      setResult(answer);
      await qc.invalidateQueries({ queryKey: ['datasets', dataset.collection_id] });
      await qc.invalidateQueries({ queryKey: ['versions', dataset.id] });
    } catch (err) {
      setProgress(null);
      setError({
        message: messageOf(err),
        ...(err instanceof SluiceProblem && typeof err.body.line === 'number' ? { line: err.body.line } : {}),
      });
    }
  }

  const onDrop = (e: DragEvent<HTMLElement>) => {
    e.preventDefault();
    setDragging(false);
    void choose(e.dataTransfer.files[0]);
  };

  const tooLarge = file !== null && file.size > DIRECT_LIMIT;

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
            disabled={tooLarge || (progress !== null && progress < 1 && !result && !error)}
          >
            Upload
          </button>
        </fieldset>
      )}
      {tooLarge && (
        <p role="alert" className="error">
          This file is larger than one API request may carry (6 MB). Send it through a presigned URL instead
          (POST /api/v1/tables/{'{dataset_id}'}/upload-url).
        </p>
      )}
      {progress !== null && (
        <label className="progress">
          Upload progress
          <progress max={1} value={progress} />
          <span>{Math.round(progress * 100)}%</span>
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

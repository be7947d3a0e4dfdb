/**
 * The SQL editor (Data Query): CodeMirror 6 with SQL completion of collection, dataset and
 * column names from the catalog; run, abort and progress; the query history with its filters;
 * the result grid (pages 0–9 of 100 rows, as the API serves them) and a download of the whole
 * result: the stored `.csv` through the download route's presigned URL (a Sluice extension).
 */
import { autocompletion } from '@codemirror/autocomplete';
import { StandardSQL, sql } from '@codemirror/lang-sql';
import { Compartment } from '@codemirror/state';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef, useState } from 'react';
import { call, itemsOf, messageOf, SluiceProblem } from '../api.ts';
import { DataGrid } from '../components/DataGrid.tsx';
import type { Collection, Dataset, QueryInfo, QueryListItem, TableSchema } from '../types.ts';
import { StateBadge } from './Pipelines.tsx';

const DONE = ['FINISHED', 'FAILED', 'ABORTED'];
const BUCKET_KEY = 'sluice.sql.bucket';

type Catalog = Record<string, Record<string, string[]>>;

/** Collections → datasets → columns, for completion (at most 60 datasets' columns are read). */
async function loadCatalog(): Promise<{ catalog: Catalog; source: string }> {
  const [sources, collections] = await Promise.all([
    call<{ name: string; dataSourceType: string }[]>('GET', '/v1/data-source').catch(() => []),
    call<{ items?: Record<string, string> }>('GET', '/api/v1/collections', { query: { limit: 1000 } }),
  ]);
  const catalog: Catalog = {};
  let budget = 60;
  for (const c of itemsOf<Collection>(collections)) {
    const datasets = itemsOf<Dataset>(
      await call('GET', '/api/v1/datasets', { query: { collection_id: c.id, limit: 1000 } }),
    );
    const tables: Record<string, string[]> = {};
    await Promise.all(
      datasets.map(async (d) => {
        tables[d.name] =
          d.current_version > 0 && budget-- > 0
            ? (
                await call<TableSchema>('GET', `/api/v1/tables/${d.id}/schema`).catch(() => ({ columns: [] }))
              ).columns.map((x) => x.name)
            : [];
      }),
    );
    catalog[c.name] = tables;
  }
  return { catalog, source: sources.find((s) => s.dataSourceType === 'DATA_CATALOG')?.name ?? '' };
}

const sqlLanguage = (schema: Catalog) => sql({ dialect: StandardSQL, schema, upperCaseKeywords: true });

function toCsv(columns: string[], rows: string[][]): string {
  const cell = (v: string | null) =>
    v === null ? '' : /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  return [columns, ...rows].map((r) => r.map(cell).join(',')).join('\n');
}

/** Has the browser save `href` (a presigned URL answered as an attachment, or a blob URL). */
function save(href: string, fileName: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

export default function SqlEditor() {
  const qc = useQueryClient();
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const [bucket, setBucket] = useState(() => localStorage.getItem(BUCKET_KEY) ?? 'sluice-results');
  const [database, setDatabase] = useState('');
  const [queryId, setQueryId] = useState<string | null>(null);
  const [page, setPage] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [historyState, setHistoryState] = useState('');
  const [historyCreator, setHistoryCreator] = useState('');
  const [historySort, setHistorySort] = useState('createdAt,desc');
  const catalog = useQuery({ queryKey: ['sql-catalog'], queryFn: loadCatalog, staleTime: 60_000 });

  const language = useRef(new Compartment());

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      doc: 'SELECT 1 AS one',
      parent: host.current,
      extensions: [
        basicSetup,
        language.current.of(sqlLanguage({})),
        autocompletion({ activateOnTyping: true }),
        EditorView.contentAttributes.of({ 'aria-label': 'SQL query' }),
      ],
    });
    view.current = editor;
    return () => {
      view.current = null;
      editor.destroy();
    };
  }, []);

  // Completion learns the catalog's names once they arrive; the text stays as typed.
  useEffect(() => {
    view.current?.dispatch({
      effects: language.current.reconfigure(sqlLanguage(catalog.data?.catalog ?? {})),
    });
  }, [catalog.data]);

  const result = useQuery({
    queryKey: ['sql-result', queryId, page],
    enabled: queryId !== null,
    queryFn: () => call<QueryInfo>('GET', `/v1/data-query/query/${queryId}`, { query: { page } }),
    refetchInterval: (q) => (q.state.data && DONE.includes(q.state.data.queryInfo.state) ? false : 700),
    placeholderData: (previous) => previous,
  });
  const history = useQuery({
    queryKey: ['sql-history', historyState, historyCreator, historySort],
    queryFn: () =>
      call<{ content: QueryListItem[] }>('GET', '/v1/data-query/query', {
        query: {
          size: 20,
          sort: historySort,
          ...(historyState ? { states: historyState } : {}),
          ...(historyCreator ? { creatorName: historyCreator } : {}),
        },
      }),
    refetchInterval: 5_000,
  });

  async function run() {
    const text = view.current?.state.doc.toString() ?? '';
    setError(null);
    localStorage.setItem(BUCKET_KEY, bucket);
    try {
      const started = await call<{ queryId: string }>('POST', '/v1/data-query/query', {
        body: { query: text, bucketName: bucket, path: 'console' },
        headers: {
          ...(catalog.data?.source ? { 'X-Data-Source': catalog.data.source } : {}),
          ...(database ? { 'X-Database': database } : {}),
        },
      });
      setPage(0);
      setQueryId(started.queryId);
      void qc.invalidateQueries({ queryKey: ['sql-history'] });
    } catch (err) {
      setError(messageOf(err));
    }
  }

  async function abort() {
    if (!queryId) return;
    try {
      await call('PUT', `/v1/data-query/query/${queryId}/abort`);
      void qc.invalidateQueries({ queryKey: ['sql-result', queryId] });
    } catch (err) {
      setError(messageOf(err));
    }
  }

  /**
   * The whole result: the API answers a short-lived presigned URL of the stored `.csv` (fetched
   * with the access token); the browser then fetches it without one, and S3 answers it as an
   * attachment. A statement that stored no file (SHOW, DESCRIBE ...; 409) is saved from its pages.
   */
  async function downloadCsv() {
    const first = result.data;
    if (!first || !queryId) return;
    setError(null);
    try {
      const link = await call<{ url: string; fileName: string }>(
        'GET',
        `/v1/data-query/query/${queryId}/download`,
      );
      save(link.url, link.fileName);
    } catch (err) {
      if (!(err instanceof SluiceProblem && err.status === 409)) {
        setError(messageOf(err));
        return;
      }
      try {
        await downloadPages(first);
      } catch (pagesErr) {
        setError(messageOf(pagesErr));
      }
    }
  }

  /** The rows the result pages serve (pages 0–9) as one CSV file. */
  async function downloadPages(first: QueryInfo) {
    const pages = [first];
    for (let p = 0; p < Math.min(10, first.totalPages); p++) {
      if (p === first.number) continue;
      pages.push(
        await call<QueryInfo>('GET', `/v1/data-query/query/${first.queryInfo.queryId}`, {
          query: { page: p },
        }),
      );
    }
    pages.sort((a, b) => a.number - b.number);
    const csv = toCsv(
      first.columnData.map((c) => c.name),
      pages.flatMap((p) => p.queryData),
    );
    const href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    save(href, `${first.queryInfo.queryId}.csv`);
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  }

  const info = result.data?.queryInfo;
  const running = info !== undefined && !DONE.includes(info.state);
  const finalState = info && !running ? `${info.queryId}:${info.state}` : '';
  // A query that ends changes its history row.
  useEffect(() => {
    if (finalState) void qc.invalidateQueries({ queryKey: ['sql-history'] });
  }, [finalState, qc]);
  const pages = Math.min(10, result.data?.totalPages ?? 0);

  return (
    <section className="view sql">
      <h1>SQL</h1>
      <div className="row toolbar">
        <label>
          Database{' '}
          <select value={database} onChange={(e) => setDatabase(e.target.value)}>
            <option value="">(name it in the query)</option>
            {Object.keys(catalog.data?.catalog ?? {}).map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Result bucket <input value={bucket} onChange={(e) => setBucket(e.target.value)} size={18} />
        </label>
        <button type="button" onClick={() => void run()} disabled={running}>
          Run query
        </button>
        <button type="button" onClick={() => void abort()} disabled={!running}>
          Abort
        </button>
        {info && (
          <span aria-live="polite">
            <StateBadge state={info.state} />{' '}
            {running && (
              <progress
                max={100}
                value={info.queryStats?.progressPercentage ?? 0}
                aria-label="Query progress"
              />
            )}
            {info.queryStats?.elapsedTime !== undefined && ` ${info.queryStats.elapsedTime}`}
          </span>
        )}
      </div>
      <div className="sql-editor" ref={host} />
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {info?.state === 'FAILED' && (
        <p role="alert" className="error">
          {info.errorMessage ?? 'The query failed.'}
        </p>
      )}
      {result.data && info?.state === 'FINISHED' && (
        <section aria-label="Result">
          <div className="row toolbar">
            <span>
              {result.data.totalElements.toLocaleString()} rows
              {result.data.totalElements > 1000
                ? ' (the first 1,000 are shown here; the CSV has them all)'
                : ''}
            </span>
            <nav aria-label="Result pages" className="pages">
              {Array.from({ length: pages }, (_, i) => (
                <button
                  // biome-ignore lint/suspicious/noArrayIndexKey: pages are numbers
                  key={i}
                  type="button"
                  aria-current={i === page ? 'page' : undefined}
                  aria-label={`Result page ${i + 1}`}
                  onClick={() => setPage(i)}
                >
                  {i + 1}
                </button>
              ))}
            </nav>
            <button type="button" onClick={() => void downloadCsv()}>
              Download CSV
              {result.data.totalElements > 0
                ? ` (${result.data.totalElements.toLocaleString('en')} rows)`
                : ''}
            </button>
          </div>
          <DataGrid
            label="Query result"
            columns={result.data.columnData.map((c) => ({ name: c.name, type: c.type }))}
            rows={result.data.queryData}
            height={360}
          />
        </section>
      )}
      <section aria-labelledby="history-title">
        <div className="row">
          <h2 id="history-title">History</h2>
          <label>
            State{' '}
            <select value={historyState} onChange={(e) => setHistoryState(e.target.value)}>
              <option value="">any</option>
              {['QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'ABORTED'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            By <input value={historyCreator} onChange={(e) => setHistoryCreator(e.target.value)} size={12} />
          </label>
          <label>
            Sort{' '}
            <select value={historySort} onChange={(e) => setHistorySort(e.target.value)}>
              <option value="createdAt,desc">newest first</option>
              <option value="createdAt,asc">oldest first</option>
              <option value="elapsedTime,desc">slowest first</option>
              <option value="inputDataSize,desc">most data read</option>
            </select>
          </label>
        </div>
        <table className="simple">
          <thead>
            <tr>
              <th scope="col">Query</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Elapsed</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {history.data?.content.map((q) => (
              <tr key={q.queryId}>
                <td>
                  <button
                    type="button"
                    className="link"
                    onClick={() => {
                      setPage(0);
                      setQueryId(q.queryId);
                    }}
                    title={q.errorMessage ?? undefined}
                  >
                    <code>{q.queryTextPreview}</code>
                  </button>
                </td>
                <td>
                  <StateBadge state={q.state} />
                </td>
                <td>{new Date(q.createdAt).toLocaleString()}</td>
                <td>{q.elapsedTime}</td>
                <td>{q.creatorName}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  );
}

/** Catalog: collections → datasets → a dataset's table preview, schema, versions and upload. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { call, itemsOf, messageOf } from '../api.ts';
import { useSession } from '../auth.tsx';
import { DataGrid } from '../components/DataGrid.tsx';
import { Link, navigate } from '../router.tsx';
import type { Collection, Dataset, TablePage, TableSchema, TableVersion } from '../types.ts';
import { Upload } from './Upload.tsx';

type List<T> = { items?: Record<string, string | T>; token?: string | null };

function CreateForm({
  label,
  onCreate,
}: {
  label: string;
  onCreate(name: string, description: string): Promise<unknown>;
}) {
  const [error, setError] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    try {
      setError(null);
      await onCreate(String(data.get('name')).trim(), String(data.get('description') ?? '').trim());
      form.reset();
    } catch (err) {
      setError(messageOf(err));
    }
  }
  return (
    <form className="create" onSubmit={submit} aria-label={`New ${label}`}>
      <input name="name" required placeholder={`New ${label} name`} aria-label={`New ${label} name`} />
      <input name="description" placeholder="Description" aria-label={`New ${label} description`} />
      <button type="submit">Create {label}</button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

export function Catalog({
  collectionId,
  datasetId,
}: {
  collectionId?: string | undefined;
  datasetId?: string | undefined;
}) {
  const { canWrite } = useSession();
  const qc = useQueryClient();
  const collections = useQuery({
    queryKey: ['collections'],
    queryFn: async () =>
      itemsOf<Collection>(
        await call<List<Collection>>('GET', '/api/v1/collections', { query: { limit: 1000 } }),
      ),
  });
  const datasets = useQuery({
    queryKey: ['datasets', collectionId],
    enabled: !!collectionId,
    queryFn: async () =>
      itemsOf<Dataset>(
        await call<List<Dataset>>('GET', '/api/v1/datasets', {
          query: { collection_id: collectionId, limit: 1000 },
        }),
      ),
  });
  const deleteDataset = useMutation({
    mutationFn: (id: string) => call('DELETE', `/api/v1/datasets/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['datasets', collectionId] });
      navigate(`/catalog/${collectionId}`);
    },
  });
  const dataset = datasets.data?.find((d) => d.id === datasetId);

  return (
    <section className="view catalog">
      <h1>Catalog</h1>
      <div className="columns3">
        <section aria-labelledby="collections-title" className="panel">
          <h2 id="collections-title">Collections</h2>
          {collections.error && (
            <p role="alert" className="error">
              {messageOf(collections.error)}
            </p>
          )}
          <ul className="picklist">
            {collections.data?.map((c) => (
              <li key={c.id}>
                <Link to={`/catalog/${c.id}`} aria-current={c.id === collectionId ? 'true' : undefined}>
                  {c.name}
                </Link>
              </li>
            ))}
            {collections.data?.length === 0 && <li className="empty">No collections yet.</li>}
          </ul>
          {canWrite && (
            <CreateForm
              label="collection"
              onCreate={async (name, description) => {
                const created = await call<Collection>('POST', '/api/v1/collections', {
                  body: { name, description },
                });
                await qc.invalidateQueries({ queryKey: ['collections'] });
                navigate(`/catalog/${created.id}`);
              }}
            />
          )}
        </section>
        <section aria-labelledby="datasets-title" className="panel">
          <h2 id="datasets-title">Datasets</h2>
          {!collectionId && <p className="empty">Choose a collection.</p>}
          {datasets.error && (
            <p role="alert" className="error">
              {messageOf(datasets.error)}
            </p>
          )}
          <ul className="picklist">
            {datasets.data?.map((d) => (
              <li key={d.id}>
                <Link
                  to={`/catalog/${collectionId}/${d.id}`}
                  aria-current={d.id === datasetId ? 'true' : undefined}
                >
                  {d.name} <span className="muted">{d.total_rows.toLocaleString()} rows</span>
                </Link>
              </li>
            ))}
            {datasets.data?.length === 0 && <li className="empty">No datasets yet.</li>}
          </ul>
          {canWrite && collectionId && (
            <CreateForm
              label="dataset"
              onCreate={async (name, description) => {
                const created = await call<Dataset>('POST', '/api/v1/datasets', {
                  body: { name, description, collection_id: collectionId },
                });
                await qc.invalidateQueries({ queryKey: ['datasets', collectionId] });
                navigate(`/catalog/${collectionId}/${created.id}`);
              }}
            />
          )}
        </section>
        <section aria-labelledby="dataset-title" className="panel wide">
          {dataset ? (
            <>
              <div className="row">
                <h2 id="dataset-title">{dataset.name}</h2>
                {canWrite && (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => {
                      if (window.confirm(`Delete dataset ${dataset.name}?`)) deleteDataset.mutate(dataset.id);
                    }}
                  >
                    Delete dataset
                  </button>
                )}
              </div>
              {dataset.description && <p>{dataset.description}</p>}
              <DatasetDetail dataset={dataset} canWrite={canWrite} />
            </>
          ) : (
            <h2 id="dataset-title" className="empty">
              {datasetId ? 'Loading dataset…' : 'Choose a dataset'}
            </h2>
          )}
        </section>
      </div>
    </section>
  );
}

const TABS = ['Preview', 'Schema', 'Versions', 'Upload'] as const;
type Tab = (typeof TABS)[number];

function DatasetDetail({ dataset, canWrite }: { dataset: Dataset; canWrite: boolean }) {
  const [tab, setTab] = useState<Tab>(dataset.current_version === 0 && canWrite ? 'Upload' : 'Preview');
  const tabs = TABS.filter((t) => t !== 'Upload' || canWrite);
  return (
    <>
      <div role="tablist" aria-label="Dataset views" className="tabs">
        {tabs.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`panel-${t}`}
            onClick={() => setTab(t)}
          >
            {t}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'Preview' && <Preview dataset={dataset} />}
        {tab === 'Schema' && <Schema datasetId={dataset.id} />}
        {tab === 'Versions' && <Versions datasetId={dataset.id} />}
        {tab === 'Upload' && <Upload dataset={dataset} onDone={() => setTab('Preview')} />}
      </div>
    </>
  );
}

function Preview({ dataset }: { dataset: Pick<Dataset, 'id' | 'name' | 'current_version'> }) {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(100);
  const schema = useQuery({
    queryKey: ['schema', dataset.id, dataset.current_version],
    queryFn: () => call<TableSchema>('GET', `/api/v1/tables/${dataset.id}/schema`),
  });
  const rows = useQuery({
    queryKey: ['table', dataset.id, dataset.current_version, page, pageSize],
    queryFn: () =>
      call<TablePage>('GET', `/api/v1/tables/${dataset.id}`, { query: { page, page_size: pageSize } }),
    placeholderData: (previous) => previous,
  });
  const types = new Map(schema.data?.columns.map((c) => [c.name, c.type]));
  const total = rows.data?.total_rows ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <div>
      <div className="row toolbar">
        <span aria-live="polite">
          {total.toLocaleString()} rows · page {page} of {pages.toLocaleString()}
        </span>
        <button type="button" onClick={() => setPage(1)} disabled={page <= 1} aria-label="First page">
          «
        </button>
        <button
          type="button"
          onClick={() => setPage((p) => p - 1)}
          disabled={page <= 1}
          aria-label="Previous page"
        >
          ‹
        </button>
        <button
          type="button"
          onClick={() => setPage((p) => p + 1)}
          disabled={page >= pages}
          aria-label="Next page"
        >
          ›
        </button>
        <button type="button" onClick={() => setPage(pages)} disabled={page >= pages} aria-label="Last page">
          »
        </button>
        <label>
          Rows per page{' '}
          <select
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value));
              setPage(1);
            }}
          >
            {[50, 100, 500, 1000].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>
      {rows.error && (
        <p role="alert" className="error">
          {messageOf(rows.error)}
        </p>
      )}
      {rows.data && (
        <DataGrid
          label={`Rows of ${dataset.name}`}
          columns={rows.data.columns.map((name) => ({ name, type: types.get(name) ?? '' }))}
          rows={rows.data.data}
        />
      )}
    </div>
  );
}

function Schema({ datasetId }: { datasetId: string }) {
  const schema = useQuery({
    queryKey: ['schema', datasetId, 'tab'],
    queryFn: () => call<TableSchema>('GET', `/api/v1/tables/${datasetId}/schema`),
  });
  if (schema.error)
    return (
      <p role="alert" className="error">
        {messageOf(schema.error)}
      </p>
    );
  return (
    <table className="simple">
      <caption>
        Version {schema.data?.version ?? '…'}, {schema.data?.total_rows.toLocaleString() ?? '…'} rows
      </caption>
      <thead>
        <tr>
          <th scope="col">Column</th>
          <th scope="col">Type</th>
          <th scope="col">Nullable</th>
        </tr>
      </thead>
      <tbody>
        {schema.data?.columns.map((c) => (
          <tr key={c.name}>
            <td>{c.name}</td>
            <td>{c.type}</td>
            <td>{c.nullable === false ? 'no' : 'yes'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Versions({ datasetId }: { datasetId: string }) {
  const versions = useQuery({
    queryKey: ['versions', datasetId],
    queryFn: () => call<TableVersion[]>('GET', `/api/v1/tables/${datasetId}/versions`),
  });
  if (versions.error)
    return (
      <p role="alert" className="error">
        {messageOf(versions.error)}
      </p>
    );
  return (
    <table className="simple">
      <caption>Versions, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Written</th>
          <th scope="col">Mode</th>
          <th scope="col">Rows</th>
          <th scope="col">By</th>
        </tr>
      </thead>
      <tbody>
        {versions.data?.map((v) => (
          <tr key={v.version}>
            <td>{v.version}</td>
            <td>{new Date(v.timestamp).toLocaleString()}</td>
            <td>{v.operationParameters?.mode}</td>
            <td>{(v.total_rows ?? v.rows)?.toLocaleString()}</td>
            <td>{v.created_by}</td>
          </tr>
        ))}
        {versions.data?.length === 0 && (
          <tr>
            <td colSpan={5}>No versions yet: upload a CSV.</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** The console's frame: navigation, sign-in gate and the routes (heavy views load lazily). */
import { lazy, type ReactNode, Suspense, useEffect } from 'react';
import { useSession } from './auth.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { BatchList } from './views/Batches.tsx';
import { Catalog } from './views/Catalog.tsx';
import { DataFlow } from './views/DataFlow.tsx';
import { PipelineList } from './views/Pipelines.tsx';
import { SignIn } from './views/SignIn.tsx';

const PipelineEditor = lazy(() => import('./views/PipelineEditor.tsx'));
const BatchView = lazy(() => import('./views/BatchView.tsx'));
const SqlEditor = lazy(() => import('./views/SqlEditor.tsx'));
const Dashboard = lazy(() => import('./views/Dashboard.tsx'));

const NAV = [
  ['/catalog', 'Catalog'],
  ['/pipelines', 'Pipelines'],
  ['/batches', 'Batches'],
  ['/dataflow', 'Data Flow'],
  ['/dashboard', 'Dashboard'],
  ['/sql', 'SQL'],
] as const;

type Params = Record<string, string>;

const ROUTES: [string, (p: Params) => ReactNode][] = [
  ['/catalog', () => <Catalog />],
  ['/catalog/:collection', (p) => <Catalog collectionId={p.collection} />],
  ['/catalog/:collection/:dataset', (p) => <Catalog collectionId={p.collection} datasetId={p.dataset} />],
  ['/pipelines', () => <PipelineList />],
  ['/pipelines/new', () => <PipelineEditor />],
  ['/pipelines/:id', (p) => <PipelineEditor pipelineId={p.id} />],
  ['/pipelines/:id/batches/:batch', (p) => <BatchView pipelineId={p.id ?? ''} batchId={p.batch ?? ''} />],
  ['/batches', () => <BatchList />],
  ['/dataflow', () => <DataFlow />],
  ['/dashboard', () => <Dashboard />],
  ['/sql', () => <SqlEditor />],
];

function route(path: string): ReactNode {
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, path);
    if (params) return render(params);
  }
  return (
    <section className="view">
      <h1>Not found</h1>
      <p>
        No page at <code>{path}</code>. <Link to="/catalog">Open the catalog</Link>.
      </p>
    </section>
  );
}

export function App() {
  const { me, checking, signOut } = useSession();
  const { path } = useLocation();

  useEffect(() => {
    if (path === '/' || path === '') navigate('/catalog', { replace: true });
  }, [path]);

  if (checking)
    return (
      <p className="loading" aria-live="polite">
        Loading…
      </p>
    );
  if (!me) return <SignIn />;

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/catalog" aria-label="Sluice home">
          Sluice
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <Link to={to} aria-current={path.startsWith(to) ? 'page' : undefined}>
                  {label}
                </Link>
              </li>
            ))}
            <li>
              <a href="/docs" target="_blank" rel="noreferrer">
                API docs
              </a>
            </li>
          </ul>
        </nav>
        <div className="who">
          <span title="Signed in as">
            {me.username} <span className="role">({me.role})</span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Suspense fallback={<p className="loading">Loading…</p>}>{route(path)}</Suspense>
      </main>
    </div>
  );
}

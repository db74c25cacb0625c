import { lazy, Suspense, useMemo, useState, type ComponentType } from 'react';
import { createClient } from './client';
import { href, useRoute, type Route } from './router';
import { forgetKey, storedKey } from './session';
import { ClientContext } from './ui/client-context';
import { Login } from './Login';
import Overview from './screens/Overview';

/** A screen: a default-exported component given the parsed route. */
export type Screen = ComponentType<{ route: Route }>;

/**
 * The five screens by their first path segment. Overview is in the main
 * bundle (it is the first paint); the others load on first visit.
 */
const SCREENS: { path: string; label: string; component: Screen }[] = [
  { path: 'overview', label: 'Overview', component: Overview },
  { path: 'customers', label: 'Customers', component: lazy(() => import('./screens/Customer360')) },
  { path: 'segments', label: 'Segments', component: lazy(() => import('./screens/Segments')) },
  { path: 'models', label: 'Models', component: lazy(() => import('./screens/Models')) },
  { path: 'connectors', label: 'Connectors', component: lazy(() => import('./screens/Connectors')) },
];

export function App() {
  const [key, setKey] = useState(storedKey);
  const route = useRoute();
  const logout = () => {
    forgetKey();
    setKey(undefined);
  };
  const client = useMemo(() => (key ? createClient(key, logout) : undefined), [key]);
  if (!client) return <Login onLogin={setKey} />;
  const screen = SCREENS.find((s) => s.path === route.parts[0]);
  const Current = screen?.component;
  return (
    <ClientContext.Provider value={client}>
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Rapport</span>
        <nav aria-label="Screens">
          <ul>
            {SCREENS.map((s) => (
              <li key={s.path}>
                <a href={href(s.path)} aria-current={s === screen ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="link-button" onClick={logout}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          {Current ? (
            <Current route={route} />
          ) : (
            <p role="alert">
              No screen at {location.hash}. <a href={href('overview')}>Go to the overview</a>.
            </p>
          )}
        </Suspense>
      </main>
    </ClientContext.Provider>
  );
}

import { useEffect, useState } from 'react';

/**
 * Routing by the URL's hash (#/overview, #/customers/:id, #/segments,
 * #/models, #/connectors): the gateway serves one page, and a link to any
 * screen works as a bookmark. Query parameters follow a `?` inside the hash.
 */
export interface Route {
  /** Path segments after `#/`, e.g. ['customers', '42']. */
  parts: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts: parts.length > 0 ? parts : ['overview'], params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** The href of a screen: href('customers', id) → '#/customers/<id>'. */
export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
}

export function navigate(to: string): void {
  location.hash = to.replace(/^#/, '');
}

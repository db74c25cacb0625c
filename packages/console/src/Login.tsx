import { useState, type FormEvent } from 'react';
import { createClient, GraphQLRequestError } from './client';
import { ConsoleSessionDocument } from './gql/graphql';
import { storeKey } from './session';

/**
 * The key is pasted here and checked with one query before it is kept (in
 * sessionStorage only, see ./session). The form posts nowhere: the key never
 * goes into a URL.
 */
export function Login({ onLogin }: { onLogin: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return setError('Paste an API key.');
    setBusy(true);
    setError(undefined);
    try {
      await createClient(trimmed, () => undefined).request(ConsoleSessionDocument);
      storeKey(trimmed);
      onLogin(trimmed);
    } catch (e) {
      const code = e instanceof GraphQLRequestError ? e.code : undefined;
      setError(
        code === 'UNAUTHENTICATED'
          ? 'This key is not valid (unknown, revoked or expired).'
          : code === 'FORBIDDEN'
            ? 'This key may not read customers (it needs the customers:read scope).'
            : `Could not log in: ${e instanceof Error ? e.message : String(e)}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="login">
      <h1>Rapport console</h1>
      <form onSubmit={submit} method="post" action="#" noValidate>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby="api-key-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="api-key-help" className="muted">
          Paste a key (with at least <code>customers:read</code>). <code>npm start</code> prints the development admin key. It stays in this tab only and is
          forgotten when the tab closes.
        </p>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

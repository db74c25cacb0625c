import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { Client, GraphQLRequestError } from '../client';
import type { TypedDocumentString } from '../gql/graphql';

/** The logged-in client; every screen below the shell reads it with useClient(). */
export const ClientContext = createContext<Client | undefined>(undefined);

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside the logged-in shell');
  return client;
}

export interface QueryState<R> {
  data: R | undefined;
  error: GraphQLRequestError | Error | undefined;
  loading: boolean;
  /** Runs the operation again (after a mutation, on a button). */
  reload: () => void;
}

/**
 * Runs a typed operation when the component mounts and whenever `variables`
 * change (compared as JSON); a superseded request is aborted. `skip` holds it.
 */
export function useQuery<R, V>(document: TypedDocumentString<R, V>, variables?: V, options: { skip?: boolean } = {}): QueryState<R> {
  const client = useClient();
  const [state, setState] = useState<{ data: R | undefined; error: Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: !options.skip,
  });
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(variables ?? {});
  useEffect(() => {
    if (options.skip) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    client
      .request(document, JSON.parse(key) as V, controller.signal)
      .then((data) => setState({ data, error: undefined, loading: false }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false }));
      });
    return () => controller.abort();
  }, [client, document, key, generation, options.skip]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}

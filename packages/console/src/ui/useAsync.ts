import { useEffect, useState } from 'react';

/** Runs `load` on mount and when `deps` change; a superseded run's result is dropped. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): { data: T | undefined; error: Error | undefined; loading: boolean } {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load(controller.signal)
      .then((data) => !controller.signal.aborted && setState({ data, error: undefined, loading: false }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setState({ data: undefined, error: error instanceof Error ? error : new Error(String(error)), loading: false });
      });
    return () => controller.abort();
  }, deps);
  return state;
}

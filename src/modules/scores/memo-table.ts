import type { Memo } from './kinds';

/**
 * The score service's side of a {@link Memo}: the kinds get it as a `Memo`
 * (read-through, nothing else), and the service, which owns it, decides when
 * it is dropped or cleared.
 */
export class MemoTable implements Memo {
  private readonly values = new Map<string, unknown>();

  get<T>(key: string, compute: () => T): T {
    if (this.values.has(key)) return this.values.get(key) as T;
    const value = compute();
    this.values.set(key, value);
    return value;
  }

  /** Forgets every value: what a failed kind memoised may be a failed read. */
  clear(): void {
    this.values.clear();
  }
}

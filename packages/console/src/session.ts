/**
 * The pasted API key lives in this tab's sessionStorage only: never in a URL,
 * a cookie or localStorage, so it is gone when the tab closes and no page the
 * gateway serves ever holds it.
 */
const KEY = 'rapport.console.apiKey';

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

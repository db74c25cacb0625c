/**
 * Checks on text and JSON before they reach SQL. Postgres refuses NUL in text
 * and jsonb, and jsonb refuses an unpaired UTF-16 surrogate (`"\ud800"`); a
 * statement that fails on them lands, values included, in the Postgres log.
 * Every entry point (GraphQL, webhooks, imports, syncs) checks first and
 * answers a stable code with the field at fault.
 */

/** Limits every JSON value (traits, properties, filter and rule trees) stays inside. */
export const JSON_LIMITS = {
  /** Levels of objects and lists, the value itself being level 1. */
  maxDepth: 64,
  /** Items of one list. */
  maxListItems: 10_000,
} as const;

// With the `u` flag a lone surrogate is a code point of category Cs; a pair is one astral code point.
const LONE_SURROGATE = /\p{Cs}/u;
/** String.prototype.isWellFormed (ES2024, native in Node 20), else the regular expression. */
const wellFormed: (value: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (value) => (value as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (value) => !LONE_SURROGATE.test(value);

/** Why `value` cannot be stored as text, or undefined when it can. The message names no part of the value. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (!wellFormed(value)) return 'must be well-formed Unicode (it holds an unpaired surrogate)';
  return undefined;
}

/** A problem found in a JSON value: where (`traits.address.city`), whether it is text or shape, and why. */
export interface JsonProblem {
  path: string;
  kind: 'text' | 'complexity';
  message: string;
}

/**
 * The first problem of a JSON value: a string or object key `textProblem`
 * refuses, nesting deeper than `JSON_LIMITS.maxDepth`, or a list longer than
 * `JSON_LIMITS.maxListItems`. Iterative, so a hostile 100,000-level value
 * cannot exhaust the stack.
 */
export function jsonProblem(value: unknown, path: string, limits: { maxDepth: number; maxListItems: number } = JSON_LIMITS): JsonProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path, depth: 1 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const v = item.value;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { path: item.path, kind: 'text', message: `${item.path} ${problem}` };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (item.depth > limits.maxDepth) return { path: item.path, kind: 'complexity', message: `${item.path} nests deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      if (v.length > limits.maxListItems)
        return { path: item.path, kind: 'complexity', message: `${item.path} has ${v.length} items; the limit is ${limits.maxListItems}` };
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${item.path}[${i}]`, depth: item.depth + 1 });
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i];
      const keyProblem = textProblem(key);
      if (keyProblem) return { path: item.path, kind: 'text', message: `a key of ${item.path} ${keyProblem}` };
      stack.push({ value: child, path: `${item.path}${keySegment(key, i)}`, depth: item.depth + 1 });
    }
  }
  return undefined;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** A key as a path segment: `.name` for a plain name, else its position (`{#3}`), so a path never echoes arbitrary input. */
export function keySegment(key: string, position: number): string {
  return PLAIN_KEY.test(key) ? `.${key}` : `{#${position}}`;
}

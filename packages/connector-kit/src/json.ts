/**
 * A JSON value, as stored in jsonb and returned by GraphQL's `JSON` scalar.
 *
 * @example
 * ```ts
 * const cursor: JsonValue = { updatedSince: '2024-05-01T00:00:00Z', page: 2 };
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A JSON object: the default shape of a connector's cursor state.
 *
 * @example
 * ```ts
 * const state: JsonObject = { cursor: 'eyJpZCI6NDJ9', updatedSince: '2024-05-01T00:00:00Z' };
 * ```
 */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Whether a value survives `JSON.stringify` → `JSON.parse` unchanged: plain objects,
 * arrays, strings, finite numbers, booleans and `null` (no `undefined`, `Date`, `Map`,
 * class instances, `NaN` or cycles).
 *
 * @example
 * ```ts
 * isJsonValue({ page: 2 }); // true
 * isJsonValue({ since: new Date() }); // false: a Date comes back as a string
 * ```
 */
export function isJsonValue(value: unknown): value is JsonValue {
  return isJson(value, new Set());
}

function isJson(value: unknown, ancestors: Set<object>): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object') return false;
  if (ancestors.has(value)) return false;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.every((item) => isJson(item, ancestors));
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) return false;
    return Object.values(value).every((item) => isJson(item, ancestors));
  } finally {
    ancestors.delete(value);
  }
}

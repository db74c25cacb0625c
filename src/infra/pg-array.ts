/**
 * A PostgreSQL array literal (`{"a","b",NULL}`) for a query parameter cast to
 * an array type (`$1::text[]`, `$2::bigint[]`, `$3::jsonb[]`). Every element
 * is quoted, with `\` and `"` escaped; null and undefined are NULL.
 *
 * node-postgres builds the same literal from a JS array by appending to a
 * string element by element, a large share of what an ingest request
 * allocates. This builds each element once and joins them into one flat
 * string.
 */
export function pgArray(values: readonly (string | number | null | undefined)[]): string {
  // Numbers only (no NULL): no element needs quotes, so one join does (a full recompute sends millions of
  // figures).
  let numbers = true;
  for (let i = 0; i < values.length && numbers; i++) numbers = typeof values[i] === 'number';
  if (numbers) return `{${values.join(',')}}`;
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      parts[i] = 'NULL';
      continue;
    }
    const text = typeof value === 'string' ? value : String(value);
    parts[i] = `"${text.includes('"') || text.includes('\\') ? text.replace(/[\\"]/g, '\\$&') : text}"`;
  }
  return `{${parts.join(',')}}`;
}

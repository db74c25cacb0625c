/**
 * The value, or an Error naming what is missing. For a lookup the surrounding
 * code guarantees (a row written moments before in the same request, a row a
 * foreign key points to): a miss there is a bug or a concurrent delete, and is
 * reported as an internal error with a message that says which row it was.
 */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`${what} is missing`);
  return value;
}

import { decodeCursor, encodeCursor } from './cursor';
import { keysetCondition, SqlParams, type SortKey } from './sql-filter';

/** A page of a keyset-paginated list, shaped for Relay connections. */
export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** What a keyset cursor is bound to: the ordering it was taken in (a cursor of another ordering is refused). */
function cursorScope(keys: SortKey[]): string {
  return 'keyset:' + keys.map((k) => `${k.sql} ${k.direction} ${k.cast}`).join(', ');
}

/** SQL pieces for one keyset page: the ORDER BY, the cursor condition and the sort values to select. */
export function keysetClauses(keys: SortKey[], after: string | null | undefined, p: SqlParams) {
  const orderBy = keys.map((k) => `${k.sql} ${k.direction}`).join(', ');
  const select = keys.map((k, i) => `(${k.sql})::text AS "__sort${i}"`).join(', ');
  const condition = after ? keysetCondition(keys, decodeCursor(cursorScope(keys), after, keys.length), p) : 'TRUE';
  return { orderBy, select, condition };
}

/**
 * Turns `first + 1` fetched rows into a page (the extra row only says there is
 * a next page). Cursors are sealed only when read: a page that asks for no
 * cursor (most reads do not) costs no encryption.
 */
export function toPage<T>(
  rows: Record<string, unknown>[],
  keys: SortKey[],
  first: number,
  after: string | null | undefined,
  map: (row: Record<string, unknown>) => T,
): Page<T> {
  const hasNextPage = rows.length > first;
  const scope = cursorScope(keys);
  const edges = rows.slice(0, first).map((row) =>
    edge(
      scope,
      keys.map((_, i) => row[`__sort${i}`]),
      map(row),
    ),
  );
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: Boolean(after),
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges[edges.length - 1]?.cursor ?? null;
      },
    },
  };
}

function edge<T>(scope: string, sortValues: unknown[], node: T): Page<T>['edges'][number] {
  let cursor: string | undefined;
  return {
    node,
    get cursor() {
      return (cursor ??= encodeCursor(scope, sortValues));
    },
  };
}

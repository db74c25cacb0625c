import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { fail } from '../errors/catalog';
import type { IdFilter } from '../infra/sql-filter';
import { isDatabaseId } from '../infra/db-values';

/** Decodes a global id of the given type into its database id; a wrong or garbled id is a client error naming `field` (not quoting the value: callers put emails where ids go). */
export function localId(globalId: string, typename: string, field: string): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    throw fail('BAD_REQUEST', { detail: `${field} is not a valid id` }, field);
  }
  if (decoded.typename !== typename || !isDatabaseId(decoded.id)) {
    throw fail('BAD_REQUEST', { detail: `${field} is not the id of a ${typename}` }, field);
  }
  return decoded.id;
}

/** Like {@link localId}, but an unknown id becomes a value that matches nothing (for lookups and filters). */
export function localIdOrNull(globalId: string, typename: string): string | null {
  try {
    return localId(globalId, typename, 'id');
  } catch {
    return null;
  }
}

/**
 * The global id of a row: base64 of `Typename:id`, as the Relay plugin's
 * encodeGlobalID. Type names and database ids are ASCII, so `btoa` gives the
 * same string without a Buffer per id (two ids per row of a batch result).
 */
export function globalId(typename: string, id: string): string {
  const plain = `${typename}:${id}`;
  return /^[\x20-\x7e]*$/.test(plain) ? btoa(plain) : encodeGlobalID(typename, id);
}

/** Rewrites an ID filter of global ids into database ids. */
export function localIdFilter(filter: IdFilter | null | undefined, typename: string, field: string): IdFilter | undefined {
  if (!filter) return undefined;
  return {
    eq: filter.eq != null ? localId(filter.eq, typename, `${field}.eq`) : undefined,
    in: filter.in != null ? filter.in.map((id, i) => localId(id, typename, `${field}.in[${i}]`)) : undefined,
    isNull: filter.isNull,
  };
}

/** Lists paginate forwards; `last`/`before` are refused with a clear error rather than ignored. */
export function forwardOnly(args: { first?: number | null; after?: string | null; last?: number | null; before?: string | null }) {
  if (args.last != null || args.before != null) {
    throw fail('BAD_REQUEST', { detail: 'backward pagination (last/before) is not supported; use first and after' }, args.last != null ? 'last' : 'before');
  }
  return { first: args.first, after: args.after };
}

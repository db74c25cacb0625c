import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import type { GraphQLContext } from './context';

/**
 * The one SchemaBuilder. It configures plugins and scalars and defines no
 * types: each module declares its own in `*.graphql.ts`.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Connection: { totalCount: number | (() => Promise<number>) };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    // Any non-null JSON value: null is GraphQL's own absence of a value.
    JSON: { Input: NonNullable<unknown>; Output: unknown };
    ID: { Input: string; Output: string | number | bigint };
  };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    nodeQueryOptions: { description: 'Fetches any object by its global id; null when it does not exist.', args: { id: { description: 'A global id.' } } },
    idFieldOptions: { description: 'Global id (Relay): pass it to node(id:) to refetch the object.' },
    cursorFieldOptions: { description: 'Opaque position of this edge; pass it as `after` for the next page.' },
    nodeFieldOptions: { nullable: false, description: 'The item.' },
    edgesFieldOptions: { nullable: { list: false, items: false }, description: 'The items of this page with their cursors.' },
    pageInfoFieldOptions: { description: 'Where this page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'True when more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'True when this page was requested with a cursor.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item; pass it as `after` to continue.' },
    firstArgOptions: { description: 'Page size: 50 by default, at most 500.' },
    afterArgOptions: { description: 'Cursor after which the page starts (endCursor of the previous page).' },
    lastArgOptions: { description: 'Not supported: lists paginate forwards with first/after.' },
    beforeArgOptions: { description: 'Not supported: lists paginate forwards with first/after.' },
    nodeTypeOptions: { description: 'An object with a global id (Relay).' },
    pageInfoTypeOptions: { description: 'Where a page sits in a connection (Relay).' },
  },
});

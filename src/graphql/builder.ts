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
    JSON: { Input: {}; Output: unknown };
    ID: { Input: string; Output: string | number | bigint };
  };
}>({
  plugins: [RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
    nodesQueryOptions: false,
    nodeQueryOptions: { description: 'Fetches any object by its global id.' },
    nodeTypeOptions: { description: 'An object with a global id (Relay).' },
    pageInfoTypeOptions: { description: 'Where a page sits in a connection (Relay).' },
  },
});

import type { Client } from './client';
import type { TypedDocumentString } from './gql/graphql';

interface Page<N> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
  edges: { node: N }[];
}

/**
 * Follows a connection's cursor to its end (or `cap` nodes) and returns every
 * node with the connection's totalCount. For screens that aggregate what the
 * API lists but does not count by group (interactions per day and channel,
 * the RFM grid).
 */
export async function allNodes<R, V extends { after?: string | null }, N>(
  client: Client,
  document: TypedDocumentString<R, V>,
  variables: Omit<V, 'after'>,
  connection: (data: R) => Page<N>,
  { cap = 20_000, signal }: { cap?: number; signal?: AbortSignal } = {},
): Promise<{ nodes: N[]; totalCount: number; capped: boolean }> {
  const nodes: N[] = [];
  let after: string | null | undefined;
  for (;;) {
    const page = connection(await client.request(document, { ...variables, after } as V, signal));
    const totalCount = page.totalCount;
    for (const edge of page.edges) nodes.push(edge.node);
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return { nodes, totalCount, capped: false };
    if (nodes.length >= cap) return { nodes, totalCount, capped: true };
    after = page.pageInfo.endCursor;
  }
}

import type { Client } from './client';
import { OverviewRfmDocument } from './gql/graphql';
import { allNodes } from './paging';

/** Recency (rows, 5 = most recent first) × frequency (columns) quintiles of the customers with an RFM score. */
export interface RfmGrid {
  /** cells[r - 1][f - 1]: the ids of the customers with that recency and frequency quintile. */
  cells: string[][][];
  /** Customers with an RFM score (the API's count). */
  totalCount: number;
}

/** By client: a grid read with one key is never shown to another. */
const cache = new WeakMap<Client, { at: number; grid: Promise<RfmGrid> }>();
const FRESH_MS = 60_000;

function quintile(components: unknown, name: 'r' | 'f'): number | undefined {
  const value = (components as Record<string, unknown> | null)?.[name];
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 5 ? value : undefined;
}

async function load(client: Client): Promise<RfmGrid> {
  const cells = [1, 2, 3, 4, 5].map(() => [1, 2, 3, 4, 5].map((): string[] => []));
  const { nodes, totalCount } = await allNodes(client, OverviewRfmDocument, {}, (d) => d.customers, { cap: 1_000_000 });
  for (const node of nodes) {
    const r = quintile(node.score?.components, 'r');
    const f = quintile(node.score?.components, 'f');
    if (r && f) cells[r - 1]?.[f - 1]?.push(node.id);
  }
  return { cells, totalCount };
}

/**
 * The grid, built by listing every customer with an RFM score and their
 * quintiles (the API has no grouped count). Kept for a minute, so the
 * Overview and a cell's customer list agree and do not list twice.
 */
export function rfmGrid(client: Client, { refresh = false } = {}): Promise<RfmGrid> {
  const cached = cache.get(client);
  if (!refresh && cached && Date.now() - cached.at < FRESH_MS) return cached.grid;
  const grid = load(client);
  cache.set(client, { at: Date.now(), grid });
  grid.catch(() => cache.delete(client));
  return grid;
}

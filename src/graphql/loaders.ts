import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import type { CustomerRecord, CustomerStatsRecord } from '../modules/customers/customer-query.service';
import { CustomerQueryService } from '../modules/customers/customer-query.service';
import { InteractionQueryService, type InteractionPageArgs, type InteractionRecord } from '../modules/interactions/interaction-query.service';
import type { Page } from '../infra/page';

export type { CustomerStatsRecord };

export interface IdentifierRecord {
  type: string;
  value: string;
  createdAt: Date;
}

/** A page of an organisation's members, with its total counted on demand. */
export type MemberPage = Page<CustomerRecord> & { totalCount: () => Promise<number> };

const EMPTY_STATS: CustomerStatsRecord = {
  interactionCount: 0,
  firstSeenAt: null,
  lastSeenAt: null,
  transactionCount: 0,
  transactionValue: 0,
  channels: {},
  updatedAt: null,
};

/**
 * Request-scoped batch loaders: whatever the page size, a nested read costs one
 * statement per kind of data (stats, identifiers, interaction pages, counts).
 */
export function createLoaders(dataSource: DataSource) {
  const customers = new CustomerQueryService(dataSource);
  const interactions = new InteractionQueryService(dataSource);
  const pageLoaders = new Map<string, DataLoader<string, Page<InteractionRecord>>>();
  const countLoaders = new Map<string, DataLoader<string, number>>();
  const memberLoaders = new Map<string, DataLoader<string, MemberPage>>();

  return {
    customer: new DataLoader<string, CustomerRecord | null>(async (ids) => {
      const found = await customers.findByIds(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    interaction: new DataLoader<string, InteractionRecord | null>(async (ids) => {
      const found = await interactions.findByIds(ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
    stats: new DataLoader<string, CustomerStatsRecord>(async (ids) => {
      const rows: (CustomerStatsRecord & { customerId: string })[] = await dataSource.query(
        `SELECT customer_id::text AS "customerId", interaction_count AS "interactionCount", first_seen_at AS "firstSeenAt",
                last_seen_at AS "lastSeenAt", transaction_count AS "transactionCount", transaction_value::float8 AS "transactionValue",
                channels, updated_at AS "updatedAt"
           FROM customer_stats WHERE customer_id = ANY($1::bigint[])`,
        [ids],
      );
      const byId = new Map(rows.map((r) => [r.customerId, r]));
      return ids.map((id) => byId.get(id) ?? EMPTY_STATS);
    }),
    /**
     * Stats read beside the customers of a page (null: the customer has none),
     * so that `stats` under that page costs no statement of its own.
     */
    primeStats(stats: ReadonlyMap<string, CustomerStatsRecord | null>): void {
      for (const [id, record] of stats) this.stats.prime(id, record ?? EMPTY_STATS);
    },
    identifiers: new DataLoader<string, IdentifierRecord[]>(async (ids) => {
      const rows: (IdentifierRecord & { customerId: string })[] = await dataSource.query(
        `SELECT customer_id::text AS "customerId", type, value, created_at AS "createdAt"
           FROM customer_identifiers WHERE customer_id = ANY($1::bigint[]) ORDER BY type, value`,
        [ids],
      );
      const byId = new Map<string, IdentifierRecord[]>();
      for (const r of rows) byId.set(r.customerId, [...(byId.get(r.customerId) ?? []), { type: r.type, value: r.value, createdAt: r.createdAt }]);
      return ids.map((id) => byId.get(id) ?? []);
    }),
    /** Pages of an organisation's members, batched across organisations that ask with the same arguments. */
    memberPage(args: { first?: number | null; after?: string | null }): DataLoader<string, MemberPage> {
      const key = JSON.stringify(args);
      let loader = memberLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => customers.memberPages(ids, args));
        memberLoaders.set(key, loader);
      }
      return loader;
    },
    /** Pages of a customer's interactions, batched across customers that ask with the same arguments. */
    interactionPage(args: InteractionPageArgs): DataLoader<string, Page<InteractionRecord>> {
      const key = JSON.stringify(args);
      let loader = pageLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => interactions.pagesForCustomers(ids, args));
        pageLoaders.set(key, loader);
      }
      return loader;
    },
    interactionCount(filter: InteractionPageArgs['filter']): DataLoader<string, number> {
      const key = JSON.stringify(filter ?? null);
      let loader = countLoaders.get(key);
      if (!loader) {
        loader = new DataLoader((ids) => interactions.countsForCustomers(ids, filter));
        countLoaders.set(key, loader);
      }
      return loader;
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

import type { DataSource } from 'typeorm';
import type { EventBus } from '../events';

/** Interaction types that are transactions (purchases) for stats and models. */
export const TRANSACTION_TYPES = ['purchase', 'order'] as const;

/**
 * Recomputes `customer_stats` for customers marked dirty, set-based, and clears
 * their mark. The dirty rows are locked first (SKIP LOCKED: a customer being
 * written right now is refreshed by that write's own job), and the aggregate
 * runs as a later statement so it sees every interaction committed before the
 * lock was taken. Later modules extend a refresh through the in-transaction
 * event `customers.refreshed` (scores, then segment memberships), in the same
 * transaction, before the mark is cleared.
 */
export class CustomerStatsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: Pick<EventBus, 'emitInTransaction'>,
  ) {}

  /** Refreshes those of `customerIds` that are dirty; returns how many were refreshed. */
  async refreshCustomers(customerIds: string[]): Promise<number> {
    if (customerIds.length === 0) return 0;
    return this.dataSource.transaction(async (manager) => {
      // FOR UPDATE, the one lock mode that conflicts with the FOR KEY SHARE an uncommitted interaction insert holds
      // on its customer (the foreign key check): a customer with rows not yet committed is skipped and stays dirty.
      const locked: { id: string }[] = await manager.query(
        `SELECT id::text FROM customers
          WHERE id = ANY($1::bigint[]) AND dirty_since IS NOT NULL
          ORDER BY id FOR UPDATE SKIP LOCKED`,
        [customerIds],
      );
      if (locked.length === 0) return 0;
      const ids = locked.map((r) => r.id);
      await manager.query(
        `WITH target AS (SELECT unnest($1::bigint[]) AS id),
         totals AS (
           SELECT i.customer_id,
                  count(*)::int AS interaction_count,
                  min(i.occurred_at) AS first_seen_at,
                  max(i.occurred_at) AS last_seen_at,
                  (count(*) FILTER (WHERE i.type = ANY($2::text[])))::int AS transaction_count,
                  COALESCE(sum(i.value) FILTER (WHERE i.type = ANY($2::text[])), 0) AS transaction_value
             FROM interactions i JOIN target t ON t.id = i.customer_id
            GROUP BY i.customer_id),
         by_channel AS (
           SELECT customer_id, jsonb_object_agg(channel, n) AS channels
             FROM (SELECT i.customer_id, i.channel, count(*)::int AS n
                     FROM interactions i JOIN target t ON t.id = i.customer_id
                    GROUP BY 1, 2) x
            GROUP BY customer_id)
         INSERT INTO customer_stats AS s (customer_id, interaction_count, first_seen_at, last_seen_at,
                                          transaction_count, transaction_value, channels, updated_at)
         SELECT t.id, COALESCE(tt.interaction_count, 0), tt.first_seen_at, tt.last_seen_at,
                COALESCE(tt.transaction_count, 0), COALESCE(tt.transaction_value, 0),
                COALESCE(c.channels, '{}'::jsonb), now()
           FROM target t LEFT JOIN totals tt ON tt.customer_id = t.id LEFT JOIN by_channel c ON c.customer_id = t.id
         ON CONFLICT (customer_id) DO UPDATE SET
           interaction_count = EXCLUDED.interaction_count, first_seen_at = EXCLUDED.first_seen_at,
           last_seen_at = EXCLUDED.last_seen_at, transaction_count = EXCLUDED.transaction_count,
           transaction_value = EXCLUDED.transaction_value, channels = EXCLUDED.channels, updated_at = now()`,
        [ids, TRANSACTION_TYPES],
      );
      await this.events.emitInTransaction(manager, 'customers.refreshed', { customerIds: ids });
      await manager.query(`UPDATE customers SET dirty_since = NULL WHERE id = ANY($1::bigint[])`, [ids]);
      return ids.length;
    });
  }

  /**
   * Refreshes everything still dirty after `graceMs` (the refresh job of a
   * recent write normally gets there first), in batches; returns the count.
   */
  async sweepDirty({ graceMs = 5_000, batchSize = 2_000 } = {}): Promise<number> {
    let total = 0;
    let afterId = '0';
    for (;;) {
      const rows: { id: string }[] = await this.dataSource.query(
        `SELECT id::text FROM customers
          WHERE dirty_since IS NOT NULL AND dirty_since < now() - make_interval(secs => $1) AND id > $2
          ORDER BY customers.id LIMIT $3`,
        [graceMs / 1000, afterId, batchSize],
      );
      if (rows.length === 0) return total;
      total += await this.refreshCustomers(rows.map((r) => r.id));
      afterId = rows[rows.length - 1].id;
    }
  }
}

/**
 * How every table of the `public` schema is laid out when Rapport runs on
 * Citus (docs/scale-out.md). This is the one list: a table that is not here
 * fails test/architecture/distribution.test.ts, so a new table is classified
 * when it is created.
 *
 * The rule the test checks, per role:
 * - `customer`: distributed by `key` (`customer_id`; `id` for `customers`)
 *   and co-located with `customers`. The key is in the primary key and in
 *   every unique key; a foreign key to another `customer` table joins on the
 *   keys; foreign keys to `reference` tables are allowed.
 * - `own-hash`: distributed by its own `key` (an identifier, an idempotency
 *   key), in the primary key and every unique key. It holds no `customer_id`
 *   unless it is a lookup table mapping its key to a customer.
 * - `reference`: small, rarely written, replicated to every node so that
 *   customer shards join it locally. No `customer_id`.
 * - `local`: stays a plain table on the coordinator: operational state that
 *   is never joined with customer data. No `customer_id`.
 *
 * `pending` names the constraints that still break the rule today and the
 * section of docs/scale-out.md ("Remaining steps") that removes them. The
 * test fails when a listed constraint no longer breaks the rule, so the list
 * shrinks as the steps land.
 */
export type DistributionRole = 'customer' | 'own-hash' | 'reference' | 'local';

export interface TableDistribution {
  role: DistributionRole;
  /** The distribution column (`customer` and `own-hash` roles). */
  key?: string;
  /** Why the table has this role. */
  why: string;
  /** Constraints that still break the rule, and the heading of the step in docs/scale-out.md that fixes them. */
  pending?: { constraints: string[]; step: string };
  /** Created and dropped at run time (a full score recompute), not by a migration. */
  runtime?: true;
}

export const DISTRIBUTION: Readonly<Record<string, TableDistribution>> = {
  customers: {
    role: 'customer',
    key: 'id',
    why: 'The anchor of the co-location group: every per-customer table is distributed by customer_id alongside it.',
    pending: { constraints: ['customers_organization_id_fkey'], step: 'Organization links' },
  },
  customer_identifiers: {
    role: 'customer',
    key: 'customer_id',
    why: 'Read with the customer (its identifiers); lookups by (type, value) go through a key table.',
    pending: { constraints: ['customer_identifiers_type_value_key'], step: 'Identifier keys' },
  },
  customer_stats: { role: 'customer', key: 'customer_id', why: 'One row per customer, refreshed with the customer.' },
  outbox_events: {
    role: 'customer',
    key: 'customer_id',
    why: 'Domain events, written in the transaction of the change they describe and dispatched in order per customer; events about no customer (and customer.erased, whose customer rows are gone) use customer_id 0, one shard.',
  },
  outbox_consumer_offsets: {
    role: 'customer',
    key: 'customer_id',
    why: "Which consumer applied which event, written with the consumer's effect in the event's shard.",
  },
  customer_consents: { role: 'customer', key: 'customer_id', why: 'Per customer, purpose and channel.' },
  interactions: {
    role: 'customer',
    key: 'customer_id',
    why: "The bulk of the data; every aggregate (stats, features, segment conditions) reads one customer's rows.",
    pending: { constraints: ['interactions_pkey', 'interactions_source_external_id_key'], step: 'Interaction keys' },
  },
  scores: { role: 'customer', key: 'customer_id', why: 'One row per customer and kind.' },
  score_history: { role: 'customer', key: 'customer_id', why: "A customer's superseded score values, read with the customer." },
  segment_memberships: { role: 'customer', key: 'customer_id', why: 'Which customers are in which segment; refreshed per customer shard.' },
  segment_membership_events: { role: 'customer', key: 'customer_id', why: 'Written in the transaction that changes a membership, so on its shard.' },
  customer_merges: {
    role: 'own-hash',
    key: 'id',
    why: 'One merge of customers (survivor, merged ids, the survivor before and after), read by its id to unmerge; its members are snapshotted per customer.',
  },
  customer_merge_members: { role: 'customer', key: 'customer_id', why: 'The snapshot of a merged customer an unmerge restores, erased with the customer.' },
  customer_redirects: { role: 'customer', key: 'customer_id', why: "A merged customer's id answered with its survivor; erased with the customer." },
  identity_policies: { role: 'reference', why: 'What an identity conflict on ingest does, per identifier type: a few rows, read by every ingest.' },
  identity_settings: { role: 'reference', why: 'The guard rails of automatic merges: one row.' },
  identity_features: { role: 'customer', key: 'customer_id', why: "A customer's normalised matching fields, rewritten in its refresh." },
  identity_block_keys: {
    role: 'customer',
    key: 'customer_id',
    why: "A customer's blocking keys, written with it; the full run groups all customers' keys, which crosses shards (on the coordinator on Citus).",
  },
  duplicate_pairs: {
    role: 'own-hash',
    key: 'customer_a',
    why: 'A pair of two customers, co-located with neither; read by score across shards and by its first customer.',
  },
  identity_matching: { role: 'reference', why: "The matcher's settings and fitted models: one row." },

  scores_rebuild: { role: 'customer', key: 'customer_id', runtime: true, why: "A full recompute's new scores, swapped in for `scores`." },
  score_history_rebuild: { role: 'customer', key: 'customer_id', runtime: true, why: 'The scores a full recompute supersedes, until its swap.' },
  score_features_rfm: { role: 'customer', key: 'customer_id', runtime: true, why: "A full recompute's per-customer features, read by its batches." },
  score_features_engagement: { role: 'customer', key: 'customer_id', runtime: true, why: "A full recompute's per-customer features, read by its batches." },
  score_features_clv: { role: 'customer', key: 'customer_id', runtime: true, why: "A full recompute's per-customer features, read by its batches." },
  score_features_churn_risk: { role: 'customer', key: 'customer_id', runtime: true, why: "A full recompute's per-customer features, read by its batches." },
  score_features_churn_propensity: {
    role: 'customer',
    key: 'customer_id',
    runtime: true,
    why: "A full recompute's per-customer features, read by its batches.",
  },
  score_features_intact: { role: 'local', runtime: true, why: 'One marker row of a recompute run (a crash empties it).' },
  customer_recommendations: { role: 'customer', key: 'customer_id', why: 'One row per customer: their current recommendations.' },
  customer_recommendations_rebuild: {
    role: 'customer',
    key: 'customer_id',
    runtime: true,
    why: "A full recommendations recompute's new lists, swapped in for `customer_recommendations`.",
  },

  identifier_tombstones: {
    role: 'own-hash',
    key: 'value_hash',
    why: 'Looked up by the hash of an erased identifier, never by customer: each lookup is one shard.',
  },

  score_models: { role: 'reference', why: 'One row per score kind; recompute batches on every shard read it.' },
  recommendation_model: { role: 'reference', why: 'One row; every shard’s refreshes read the fitted settings.' },
  product_neighbours: { role: 'reference', why: 'Top-K neighbours per product (10k products × 50): every shard’s refreshes join it.' },
  product_neighbours_rebuild: { role: 'reference', runtime: true, why: 'A full recommendations recompute’s new neighbours, swapped in.' },
  product_popularity: { role: 'reference', why: 'The popular products overall and per organisation, for cold starts on every shard.' },
  segment_product_popularity: { role: 'reference', why: 'The popular products per segment (a few hundred segments × 200), for cold starts on every shard.' },
  product_popularity_rebuild: { role: 'reference', runtime: true, why: 'A full recommendations recompute’s new popular lists, swapped in.' },
  segment_product_popularity_rebuild: {
    role: 'reference',
    runtime: true,
    why: 'A full recommendations recompute’s new popular lists per segment, swapped in.',
  },
  alerts: { role: 'customer', key: 'customer_id', why: 'Alerts fired for a customer: read per customer (Customer.alerts) and erased with it.' },
  alert_rules: { role: 'reference', why: 'A few dozen rule definitions, read by every shard’s event handlers; they reference segments.' },
  segments: { role: 'reference', why: 'A few hundred definitions; memberships and events reference them from every shard.' },
  segment_size_history: { role: 'reference', why: 'At most one point per segment and minute; references segments.' },

  connections: { role: 'local', why: "Connector configuration, read by the coordinator's jobs only." },
  connector_runs: { role: 'local', why: 'One row per sync, webhook or import run; operational, never joined with customers.' },
  webhook_refusals: { role: 'local', why: 'One counter per connection.' },
  api_keys: { role: 'local', why: 'Read on every request by the coordinator; small.' },
  audit_log: { role: 'local', why: 'Append-only log of requests; `records` names customers without joining them.' },
  rate_limit_buckets: { role: 'local', why: 'One row per API key; hot single-row upserts on the coordinator.' },
  typeorm_migrations: { role: 'local', why: 'The migration ledger.' },
  webhook_endpoints: { role: 'reference', why: 'A few outbound webhook endpoints; the outbox consumer on every shard matches events against them.' },
  webhook_deliveries: {
    role: 'customer',
    key: 'customer_id',
    why: "One row per event and endpoint, written in the outbox consumer's transaction on the event's shard; sent in order per customer.",
  },
  webhook_attempts: { role: 'customer', key: 'customer_id', why: 'The HTTP attempts of a delivery, with it.' },
};

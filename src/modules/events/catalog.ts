/**
 * The domain-event catalog: every event Rapport publishes, its payload, its
 * version and what it means. Events carry ids and impersonal figures only,
 * never personal values (names, emails, traits, properties): a consumer reads
 * what it needs through the services, under its own access rules.
 *
 * A payload change that a consumer could misread gets a new version; adding
 * an optional field does not. docs/architecture.md ("Domain events") lists the
 * same catalog for readers.
 */

/** Events about no customer carry this partition key (`outbox_events.customer_id`). */
export const NO_CUSTOMER = '0';

export interface EventCatalog {
  /** An interaction was stored (not a duplicate delivery) through the API or a connector. */
  'interaction.recorded': { customerId: string; interactionId: string; channel: string; type: string; occurredAt: string };
  /**
   * A batch of a bulk file import was stored: one event per committed batch,
   * not per interaction. An import is a backfill of up to millions of rows; an
   * event per row would double what it writes. Its customers are refreshed as
   * usual, so the changes that follow (scores, segments) publish their events.
   */
  'interactions.imported': { inserted: number; customers: number; sources: string[] };
  /** A customer was created (by upsertCustomers, an import, a connector or identity resolution). */
  'customer.created': { customerId: string; kind: string };
  /** A customer's profile (traits, lifecycle stage, owner, identifiers) changed. */
  'customer.updated': { customerId: string };
  /** A customer was erased; their rows are gone, only the id remains. */
  'customer.erased': { customerId: string };
  /** A score's value or label changed, or it appeared or was removed (`value` null). */
  'score.changed': { customerId: string; kind: string; value: number | null; label: string | null; previousValue: number | null; previousLabel: string | null };
  /** A customer entered a segment. */
  'segment.entered': { customerId: string; segmentId: string };
  /** A customer left a segment. */
  'segment.exited': { customerId: string; segmentId: string };
  /**
   * A score recompute finished and its scores are live: a full one (every
   * customer, `customers` scored) or, with `targeted`, a rescore of given
   * customers (`customers` of them) with the current models.
   */
  'recompute.completed': { kinds: string[]; customers: number; targeted?: boolean };
  /** A connector run of a connection failed. */
  'connection.failed': { connectionId: string; runId: string };
  /** A connection that needed attention (refused credentials or config) had a successful run, and is ACTIVE again. */
  'connection.recovered': { connectionId: string; runId: string };
  /**
   * Customers were merged into `customerId` (the survivor), by hand or
   * automatically; `mergedIds` now answer with the survivor.
   */
  'customer.merged': { customerId: string; mergeId: string; mergedIds: string[]; automatic: boolean };
  /** A merge was undone: `restoredIds` are customers again, apart from the survivor `customerId`. */
  'customer.unmerged': { customerId: string; mergeId: string; restoredIds: string[] };
  /**
   * An ingest's identifiers named two customers under the FLAG policy (or a
   * MERGE that a guard rail stopped): the record went to `customerIds[0]`,
   * and the pair is a candidate duplicate for the matching module.
   */
  'identity.conflict_flagged': { customerIds: string[]; identifierType: string };
}

export type EventType = keyof EventCatalog;

/** Version and doc line of every event type; the version is stored with each event. */
export const EVENT_TYPES: { readonly [T in EventType]: { version: number; customer: boolean; doc: string } } = {
  'interaction.recorded': { version: 1, customer: true, doc: 'An interaction was stored through the API or a connector (duplicates publish nothing).' },
  'interactions.imported': { version: 1, customer: false, doc: 'A batch of a bulk file import was stored: counts and sources, one event per batch.' },
  'customer.created': { version: 1, customer: true, doc: 'A customer was created.' },
  'customer.updated': { version: 1, customer: true, doc: "A customer's profile changed." },
  'customer.erased': { version: 1, customer: true, doc: 'A customer was erased; only the id remains.' },
  'score.changed': { version: 1, customer: true, doc: "A score's value or label changed, appeared or was removed." },
  'segment.entered': { version: 1, customer: true, doc: 'A customer entered a segment.' },
  'segment.exited': { version: 1, customer: true, doc: 'A customer left a segment.' },
  'recompute.completed': { version: 1, customer: false, doc: 'A score recompute (full, or targeted at given customers) finished.' },
  'connection.failed': { version: 1, customer: false, doc: 'A connector run failed.' },
  'connection.recovered': { version: 1, customer: false, doc: 'A connection that needed attention had a successful run and is ACTIVE again.' },
  'customer.merged': { version: 1, customer: true, doc: 'Customers were merged into a survivor; their ids now answer with it.' },
  'customer.unmerged': { version: 1, customer: true, doc: 'A merge was undone: the merged customers are back.' },
  'identity.conflict_flagged': {
    version: 1,
    customer: true,
    doc: 'An ingest conflict between two customers was accepted and flagged as a candidate duplicate.',
  },
};

/** One event as subscribers receive it. */
export interface DomainEvent<T extends EventType = EventType> {
  /** Unique and increasing in commit order per customer (the outbox id). */
  id: string;
  type: T;
  version: number;
  /** The customer the event is about, or {@link NO_CUSTOMER}. */
  customerId: string;
  payload: EventCatalog[T];
  occurredAt: Date;
}

/**
 * In-transaction events: handed synchronously to their subscribers inside
 * the transaction that makes the change, with its EntityManager, before it
 * commits; never written to the outbox. They carry a batch (ids), because
 * their subscribers extend set-based work in the same transaction: a
 * subscriber's failure rolls the change back, and what it writes commits
 * with it. The outbox events above are the ones delivered after commit.
 */
export interface TransactionEventCatalog {
  /**
   * A batch of customers' stats was recomputed by a customer refresh; the
   * refresh clears their dirty mark once every subscriber has run.
   */
  'customers.refreshed': { customerIds: string[] };
  /**
   * The memberships of these segments changed by a full refresh or by hand
   * (STATIC). A customer refresh's incremental diffs do not publish it: they
   * evaluate the segments that use other segments after those, in the same
   * statement order.
   */
  'memberships.changed': { segmentIds: string[] };
  /**
   * An ingest row's identifiers named several customers and the identity
   * policy of their types is MERGE or FLAG: the row goes to `survivorId`;
   * the merges module merges `customerIds` into it (MERGE, guard rails
   * permitting) or flags the pairs, in the ingest's transaction.
   */
  'identity.conflicted': { policy: 'MERGE' | 'FLAG'; survivorId: string; customerIds: string[]; identifierTypes: string[] };
}

export type TransactionEventType = keyof TransactionEventCatalog;

/** Doc line of every in-transaction event. */
export const TRANSACTION_EVENT_TYPES: { readonly [T in TransactionEventType]: { doc: string } } = {
  'customers.refreshed': { doc: "A customer refresh recomputed a batch of customers' stats (in the refresh transaction)." },
  'memberships.changed': { doc: 'A full refresh or a hand-made change moved the members of segments (in its transaction).' },
  'identity.conflicted': { doc: 'Ingest identifiers named several customers under a MERGE or FLAG policy (in the ingest transaction).' },
};

import type { EntityManager } from 'typeorm';
import { EVENT_TYPES, NO_CUSTOMER, type EventCatalog, type EventType } from './catalog';

/** Anything that runs SQL in the caller's transaction (an EntityManager, a pg client). */
export interface OutboxWriter {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Writes events to the outbox in the caller's transaction: they commit with
 * the change they report, or not at all. One statement however many events.
 */
export async function publish<T extends EventType>(
  db: OutboxWriter | EntityManager,
  type: T,
  events: { customerId?: string | null; payload: EventCatalog[T] }[],
): Promise<void> {
  if (events.length === 0) return;
  const { version } = EVENT_TYPES[type];
  await db.query(
    `INSERT INTO outbox_events (customer_id, type, version, payload)
     SELECT c, $1, $2, p FROM unnest($3::bigint[], $4::jsonb[]) WITH ORDINALITY AS e(c, p, n) ORDER BY n`,
    [type, version, events.map((e) => e.customerId ?? NO_CUSTOMER), events.map((e) => JSON.stringify(e.payload))],
  );
}

/**
 * The SQL of a data-modifying CTE body that publishes one event per row of
 * `rows` (a query or CTE name yielding `customer_id` and `payload` jsonb), for
 * set-based writers that publish in the statement that makes the change. The
 * type and version are catalog constants, so the text is safe to inline.
 * Events get their ids in `orderBy` order, which is their delivery order.
 */
export function outboxInsertSql(type: EventType, rows: string, orderBy = 'customer_id'): string {
  const { version } = EVENT_TYPES[type];
  if (!/^[a-z]+\.[a-z]+$/.test(type)) throw new Error(`not an event type: ${type}`);
  return `INSERT INTO outbox_events (customer_id, type, version, payload)
          SELECT customer_id, '${type}', ${version}, payload FROM (${rows}) AS published ORDER BY ${orderBy}`;
}

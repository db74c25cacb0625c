import { webhookRefusals } from '../../infra/metrics';
import type { DataSource } from 'typeorm';

/**
 * Why a webhook delivery to an existing connection was refused (the values of
 * `webhook_refusals.last_reason`). The sender gets one answer for all of them
 * (and for unknown connections); operators see the reason in
 * `Connection.refusedDeliveries` and the gateway's log.
 */
export const WEBHOOK_REFUSAL_REASONS = ['SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE', 'PAYLOAD_INVALID'] as const;
export type WebhookRefusalReason = (typeof WEBHOOK_REFUSAL_REASONS)[number];

/** Refused deliveries of a connection as the API shows them. */
export interface RefusedDeliveries {
  count: number;
  lastReason: WebhookRefusalReason | null;
  lastRefusedAt: Date | null;
}

const NONE: RefusedDeliveries = { count: 0, lastReason: null, lastRefusedAt: null };

/**
 * Counts the webhook deliveries each connection refused (`webhook_refusals`):
 * one row per connection, however many refusals, so unauthenticated traffic
 * cannot grow the table.
 */
export class WebhookRefusalService {
  constructor(private readonly dataSource: DataSource) {}

  async record(connectionId: string, reason: WebhookRefusalReason): Promise<void> {
    webhookRefusals.inc({ reason });
    await this.dataSource.query(
      `INSERT INTO webhook_refusals AS r (connection_id, count, last_reason, last_refused_at) VALUES ($1, 1, $2, now())
       ON CONFLICT (connection_id) DO UPDATE
         SET count = LEAST(r.count::bigint + 1, 2147483647)::int, last_reason = EXCLUDED.last_reason, last_refused_at = EXCLUDED.last_refused_at`,
      [connectionId, reason],
    );
  }

  /** The refusals of each connection, in the order asked (none: count 0). */
  async ofConnections(connectionIds: readonly string[]): Promise<RefusedDeliveries[]> {
    const rows: (RefusedDeliveries & { connectionId: string })[] = await this.dataSource.query(
      `SELECT connection_id::text AS "connectionId", count, last_reason AS "lastReason", last_refused_at AS "lastRefusedAt"
         FROM webhook_refusals WHERE connection_id = ANY($1::bigint[])`,
      [connectionIds],
    );
    const byId = new Map(rows.map(({ connectionId, ...refused }) => [connectionId, refused]));
    return connectionIds.map((id) => byId.get(id) ?? NONE);
  }
}

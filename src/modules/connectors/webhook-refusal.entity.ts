import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ConnectionEntity } from './connection.entity';

/**
 * Why a webhook delivery to an existing connection was refused. The sender
 * gets one answer for all of them (and for unknown connections); operators see
 * the reason in `Connection.refusedDeliveries` and the gateway's log.
 */
export const WEBHOOK_REFUSAL_REASONS = ['SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE'] as const;
export type WebhookRefusalReason = (typeof WEBHOOK_REFUSAL_REASONS)[number];

/** Refused webhook deliveries of one connection: how many, and the last one's reason and time. */
@Entity('webhook_refusals')
@Check('webhook_refusals_last_reason_check', `"last_reason" IN ('SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE')`)
export class WebhookRefusalEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'bigint', primaryKeyConstraintName: 'webhook_refusals_pkey' })
  connectionId!: string;

  @ManyToOne(() => ConnectionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'connection_id', foreignKeyConstraintName: 'webhook_refusals_connection_id_fkey' })
  connection?: ConnectionEntity;

  /** Refusals so far; stays at the integer maximum rather than overflowing. */
  @Column({ type: 'integer', default: 0 })
  count!: number;

  @Column({ name: 'last_reason', type: 'text' })
  lastReason!: WebhookRefusalReason;

  @Column({ name: 'last_refused_at', type: 'timestamptz' })
  lastRefusedAt!: Date;
}

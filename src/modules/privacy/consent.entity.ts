import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { CustomerEntity } from '../customers';

export const CONSENT_STATUSES = ['GRANTED', 'DENIED', 'WITHDRAWN'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/** The current consent of a customer for one purpose on one channel (`*` for all channels). */
@Entity('customer_consents')
@Check('customer_consents_status_check', `"status" IN ('GRANTED', 'DENIED', 'WITHDRAWN')`)
export class ConsentEntity {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'customer_consents_pkey' })
  customerId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'customer_consents_pkey' })
  purpose!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'customer_consents_pkey' })
  channel!: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'customer_consents_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  status!: ConsentStatus;

  @Column({ type: 'text' })
  source!: string;

  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}

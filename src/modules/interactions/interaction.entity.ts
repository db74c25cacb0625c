import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { CustomerEntity } from '../customers';

export const DIRECTIONS = ['INBOUND', 'OUTBOUND'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** One thing that happened between a customer and the business, on one channel. */
@Entity('interactions')
@Unique('interactions_source_external_id_key', ['source', 'externalId'])
@Index('interactions_customer_id_occurred_at_idx', ['customerId', 'occurredAt'])
@Check('interactions_direction_check', `"direction" IN ('INBOUND', 'OUTBOUND')`)
@Check('interactions_sentiment_check', `"sentiment" BETWEEN -1 AND 1`)
export class InteractionEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'interactions_pkey' })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint' })
  customerId!: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'interactions_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  channel!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text', nullable: true })
  direction!: Direction | null;

  @Index('interactions_occurred_at_idx')
  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ type: 'numeric', precision: 18, scale: 4, nullable: true })
  value!: string | null;

  @Column({ type: 'text', nullable: true })
  currency!: string | null;

  @Column({ type: 'real', nullable: true })
  sentiment!: number | null;

  @Column({ type: 'jsonb', default: {} })
  properties!: Record<string, unknown>;

  @Column({ type: 'text' })
  source!: string;

  @Column({ name: 'external_id', type: 'text' })
  externalId!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

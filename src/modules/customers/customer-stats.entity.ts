import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { CustomerEntity } from './customer.entity';

/** Per-customer aggregates maintained by the `customer.refresh` job. */
@Entity('customer_stats')
export class CustomerStatsEntity {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'customer_stats_pkey' })
  customerId!: string;

  @OneToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'customer_stats_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ name: 'interaction_count', type: 'integer', default: 0 })
  interactionCount!: number;

  @Column({ name: 'first_seen_at', type: 'timestamptz', nullable: true })
  firstSeenAt!: Date | null;

  @Column({ name: 'last_seen_at', type: 'timestamptz', nullable: true })
  lastSeenAt!: Date | null;

  @Column({ name: 'transaction_count', type: 'integer', default: 0 })
  transactionCount!: number;

  @Column({ name: 'transaction_value', type: 'numeric', precision: 18, scale: 4, default: 0 })
  transactionValue!: string;

  @Column({ type: 'jsonb', default: {} })
  channels!: Record<string, number>;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CustomerEntity } from '../customers/customer.entity';
import type { ScoreKind } from './score-kind';

/** One row per change of a customer's score (value or label), never one per run. */
@Entity('score_history')
@Index('score_history_customer_id_kind_recorded_at_idx', ['customerId', 'kind', 'recordedAt'])
export class ScoreHistoryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'score_history_pkey' })
  id!: string;

  @Column({ name: 'customer_id', type: 'bigint' })
  customerId!: string;

  /** No foreign key (see migration ScoresWithoutForeignKeys1764300000000): erasure deletes these rows itself. */
  @ManyToOne(() => CustomerEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'customer_id' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  kind!: ScoreKind;

  @Column({ type: 'double precision' })
  value!: number;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  @Column({ type: 'jsonb', default: {} })
  components!: Record<string, unknown>;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { ScoreKind } from './score-kind';

/**
 * One row per change of a customer's score (value or label), never one per
 * run: the value the score had before it changed or was removed, recorded at
 * the instant it had become current. The current value is the row in
 * `scores` (its `changed_at`), so a score's history is that row followed by
 * these, newest first (migration ScoreHistorySupersededValues1764500000000).
 */
@Entity('score_history')
@Index('score_history_customer_id_kind_recorded_at_idx', ['customerId', 'kind', 'recordedAt'])
export class ScoreHistoryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'score_history_pkey' })
  id!: string;

  /** First in the primary key (customer_id, id): the table is distributed by customer (src/infra/distribution.ts). */
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'score_history_pkey' })
  customerId!: string;

  /** No foreign key (see migration ScoresWithoutForeignKeys1764300000000): erasure deletes these rows itself. */
  // Named, not imported: the scores module sits below customers and does not import it.
  @ManyToOne('CustomerEntity', { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'customer_id' })
  customer?: object;

  @Column({ type: 'text' })
  kind!: ScoreKind;

  @Column({ type: 'double precision' })
  value!: number;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  /**
   * The components object as written before migration ScoreComponentArrays1764600000000, read as it is; null
   * for scores written since, whose components are built from their figures.
   */
  @Column({ type: 'jsonb', nullable: true })
  components!: Record<string, unknown> | null;

  /** The kind's figures behind the value, in the order its definition reads them (`components` in the API). */
  @Column({ name: 'component_values', type: 'double precision', array: true, default: () => "'{}'" })
  componentValues!: number[];

  /** The keys of the figures keyed by data (ENGAGEMENT's channels); null for kinds with a fixed set. */
  @Column({ name: 'component_keys', type: 'text', array: true, nullable: true })
  componentKeys!: string[] | null;

  /** When this value became the score's current one. */
  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}

import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { ScoreKind } from './score-kind';

/** The current score of one kind for one customer, with the figures that explain it. */
@Entity('scores')
@Index('scores_kind_value_idx', ['kind', 'value'])
/** Only labelled scores (RFM, CHURN_RISK): label filters imply a label (migration ScoreLabelsPartialIndex1764400000000). */
@Index('scores_kind_label_idx', ['kind', 'label'], { where: 'label IS NOT NULL' })
export class ScoreEntity {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'scores_pkey' })
  customerId!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'scores_pkey' })
  kind!: ScoreKind;

  /** No foreign key (see migration ScoresWithoutForeignKeys1764300000000): erasure deletes these rows itself. */
  // Named, not imported: the scores module sits below customers and does not import it.
  @ManyToOne('CustomerEntity', { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'customer_id' })
  customer?: object;

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

  @Column({ name: 'model_version', type: 'integer' })
  modelVersion!: number;

  @Column({ name: 'computed_at', type: 'timestamptz', default: () => 'now()' })
  computedAt!: Date;

  /** When the value or label became what it is (the newest point of the score's history). */
  @Column({ name: 'changed_at', type: 'timestamptz', default: () => 'now()' })
  changedAt!: Date;
}

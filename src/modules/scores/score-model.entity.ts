import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ScoreKind } from './score-kind';

/** One row per score kind: its validated settings and, once fitted, its parameters and fit diagnostics. */
@Entity('score_models')
export class ScoreModelEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'score_models_pkey' })
  kind!: ScoreKind;

  @Column({ type: 'jsonb', default: {} })
  settings!: Record<string, unknown>;

  @Column({ type: 'jsonb', nullable: true })
  parameters!: Record<string, unknown> | null;

  @Column({ name: 'fitted_at', type: 'timestamptz', nullable: true })
  fittedAt!: Date | null;

  @Column({ name: 'as_of', type: 'timestamptz', nullable: true })
  asOf!: Date | null;

  @Column({ name: 'sample_size', type: 'integer', nullable: true })
  sampleSize!: number | null;

  @Column({ type: 'jsonb', nullable: true })
  diagnostics!: Record<string, unknown> | null;

  @Column({ type: 'integer', default: 0 })
  version!: number;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

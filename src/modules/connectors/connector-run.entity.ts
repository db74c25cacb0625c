import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ConnectionEntity } from './connection.entity';

export const RUN_KINDS = ['SYNC', 'WEBHOOK', 'IMPORT'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED'] as const;
/** PARTIAL: ended early (rate limit, transient failure) with every committed batch kept; the next run resumes. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One row rejected by a run, with where it was and why. */
export interface RunError {
  /** Line number (file imports) or path in the batch (`interactions[3].occurredAt`). */
  line?: number;
  path?: string;
  code: string;
  message: string;
}

/** One sync, webhook batch or file import, with its counts, rejected rows and timings. */
@Entity('connector_runs')
@Index('connector_runs_connection_id_started_at_idx', ['connectionId', 'startedAt'])
@Check('connector_runs_kind_check', `"kind" IN ('SYNC', 'WEBHOOK', 'IMPORT')`)
@Check('connector_runs_status_check', `"status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED')`)
export class ConnectorRunEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'connector_runs_pkey' })
  id!: string;

  /** Null for file imports that belong to no connection. */
  @Column({ name: 'connection_id', type: 'bigint', nullable: true })
  connectionId!: string | null;

  @ManyToOne(() => ConnectionEntity, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'connection_id', foreignKeyConstraintName: 'connector_runs_connection_id_fkey' })
  connection?: ConnectionEntity | null;

  @Column({ type: 'text' })
  kind!: RunKind;

  @Column({ type: 'text', default: 'RUNNING' })
  status!: RunStatus;

  @Column({ type: 'integer', default: 0 })
  received!: number;

  @Column({ type: 'integer', default: 0 })
  accepted!: number;

  @Column({ type: 'integer', default: 0 })
  duplicates!: number;

  @Column({ type: 'integer', default: 0 })
  rejected!: number;

  /** The first rejected rows with their reasons (capped). */
  @Column({ type: 'jsonb', default: () => `'[]'` })
  errors!: RunError[];

  /** Why the run failed or ended early. */
  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Kind-specific details: file name and format, bytes read, pages fetched. */
  @Column({ type: 'jsonb', default: {} })
  details!: Record<string, unknown>;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}

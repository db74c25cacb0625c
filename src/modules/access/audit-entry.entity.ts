import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Who did what, to which records, when, with which result. Written in the transaction of the change. */
@Entity('audit_log')
@Index('audit_log_occurred_at_idx', ['occurredAt'])
@Index('audit_log_actor_idx', ['actor', 'occurredAt'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'audit_log_pkey' })
  id!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' })
  occurredAt!: Date;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ name: 'actor_kind', type: 'text' })
  actorKind!: string;

  @Column({ type: 'text' })
  operation!: string;

  @Column({ type: 'jsonb', default: {} })
  variables!: Record<string, unknown>;

  @Column({ type: 'jsonb', default: [] })
  records!: unknown[];

  @Column({ type: 'text' })
  result!: string;

  @Column({ type: 'text', nullable: true })
  error!: string | null;
}

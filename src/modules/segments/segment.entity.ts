import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { CustomerEntity } from '../customers';
import type { SegmentRule } from './rules/rule';

export const SEGMENT_KINDS = ['DYNAMIC', 'STATIC'] as const;
export type SegmentKind = (typeof SEGMENT_KINDS)[number];

export const SEGMENT_STATUSES = ['FRESH', 'REFRESHING', 'STALE'] as const;
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number];

export const MEMBERSHIP_EVENT_KINDS = ['ENTERED', 'EXITED'] as const;
export type MembershipEventKind = (typeof MEMBERSHIP_EVENT_KINDS)[number];

/** A named group of customers: rule-based (DYNAMIC) or hand-picked (STATIC). */
@Entity('segments')
@Unique('segments_name_key', ['name'])
@Check('segments_kind_check', `"kind" IN ('DYNAMIC', 'STATIC')`)
@Check('segments_status_check', `"status" IN ('FRESH', 'REFRESHING', 'STALE')`)
export class SegmentEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'segments_pkey' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'text', default: 'DYNAMIC' })
  kind!: SegmentKind;

  /** The validated rule tree (segment references hold database ids); null for STATIC segments. */
  @Column({ type: 'jsonb', nullable: true })
  rule!: SegmentRule | null;

  @Column({ type: 'integer', default: 0 })
  size!: number;

  @Column({ type: 'text', default: 'STALE' })
  status!: SegmentStatus;

  @Column({ name: 'refreshed_at', type: 'timestamptz', nullable: true })
  refreshedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** A customer currently in a segment. */
@Entity('segment_memberships')
export class SegmentMembershipEntity {
  @PrimaryColumn({ name: 'segment_id', type: 'bigint', primaryKeyConstraintName: 'segment_memberships_pkey' })
  segmentId!: string;

  @Index('segment_memberships_customer_id_idx')
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'segment_memberships_pkey' })
  customerId!: string;

  @ManyToOne(() => SegmentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'segment_id', foreignKeyConstraintName: 'segment_memberships_segment_id_fkey' })
  segment?: SegmentEntity;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'segment_memberships_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ name: 'entered_at', type: 'timestamptz', default: () => 'now()' })
  enteredAt!: Date;
}

/** A customer entering or leaving a segment, written in the transaction that changed the membership. */
@Entity('segment_membership_events')
@Index('segment_membership_events_segment_id_occurred_at_idx', ['segmentId', 'occurredAt'])
@Index('segment_membership_events_customer_id_occurred_at_idx', ['customerId', 'occurredAt'])
@Check('segment_membership_events_kind_check', `"kind" IN ('ENTERED', 'EXITED')`)
export class SegmentMembershipEventEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'segment_membership_events_pkey' })
  id!: string;

  @Column({ name: 'segment_id', type: 'bigint' })
  segmentId!: string;

  @ManyToOne(() => SegmentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'segment_id', foreignKeyConstraintName: 'segment_membership_events_segment_id_fkey' })
  segment?: SegmentEntity;

  /** In the primary key (customer_id, id): the table is distributed by customer (src/infra/distribution.ts). */
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'segment_membership_events_pkey' })
  customerId!: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'segment_membership_events_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  kind!: MembershipEventKind;

  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' })
  occurredAt!: Date;
}

/** Segment size over time, at most one point per segment and minute. */
@Entity('segment_size_history')
export class SegmentSizeHistoryEntity {
  @PrimaryColumn({ name: 'segment_id', type: 'bigint', primaryKeyConstraintName: 'segment_size_history_pkey' })
  segmentId!: string;

  @PrimaryColumn({ name: 'recorded_at', type: 'timestamptz', primaryKeyConstraintName: 'segment_size_history_pkey' })
  recordedAt!: Date;

  @ManyToOne(() => SegmentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'segment_id', foreignKeyConstraintName: 'segment_size_history_segment_id_fkey' })
  segment?: SegmentEntity;

  @Column({ type: 'integer' })
  size!: number;
}

export const SEGMENT_ENTITIES = [SegmentEntity, SegmentMembershipEntity, SegmentMembershipEventEntity, SegmentSizeHistoryEntity];

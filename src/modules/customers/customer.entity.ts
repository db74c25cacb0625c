import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

export const CUSTOMER_KINDS = ['PERSON', 'ORGANIZATION'] as const;
export type CustomerKind = (typeof CUSTOMER_KINDS)[number];

/** One unified record per customer: a person or an organisation. */
@Entity('customers')
@Check('customers_kind_check', `"kind" IN ('PERSON', 'ORGANIZATION')`)
@Index('customers_dirty_since_idx', ['dirtySince'], { where: '"dirty_since" IS NOT NULL' })
export class CustomerEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'customers_pkey' })
  id!: string;

  @Column({ type: 'text', default: 'PERSON' })
  kind!: CustomerKind;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Index('customers_organization_id_idx')
  @Column({ name: 'organization_id', type: 'bigint', nullable: true })
  organizationId!: string | null;

  @ManyToOne(() => CustomerEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'organization_id', foreignKeyConstraintName: 'customers_organization_id_fkey' })
  organization?: CustomerEntity | null;

  @Column({ name: 'lifecycle_stage', type: 'text', nullable: true })
  lifecycleStage!: string | null;

  @Column({ type: 'text', nullable: true })
  owner!: string | null;

  @Column({ type: 'jsonb', default: {} })
  traits!: Record<string, unknown>;

  @Column({ type: 'jsonb', default: {} })
  consent!: Record<string, unknown>;

  @Column({ name: 'dirty_since', type: 'timestamptz', nullable: true })
  dirtySince!: Date | null;

  @Index('customers_created_at_idx')
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;
}

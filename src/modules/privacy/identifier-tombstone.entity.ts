import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An identifier of an erased customer, kept only as a keyed hash so a late
 * delivery cannot silently re-create the person without a fresh consent.
 */
@Entity('identifier_tombstones')
export class IdentifierTombstoneEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'identifier_tombstones_pkey' })
  type!: string;

  @PrimaryColumn({ name: 'value_hash', type: 'text', primaryKeyConstraintName: 'identifier_tombstones_pkey' })
  valueHash!: string;

  @Column({ name: 'erased_at', type: 'timestamptz', default: () => 'now()' })
  erasedAt!: Date;
}

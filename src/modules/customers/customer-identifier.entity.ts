import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { CustomerEntity } from './customer.entity';

/** A normalised identifier (email, phone, or any namespace's id) pointing at exactly one customer. */
@Entity('customer_identifiers')
@Unique('customer_identifiers_type_value_key', ['type', 'value'])
export class CustomerIdentifierEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'customer_identifiers_pkey' })
  id!: string;

  /** In the primary key (customer_id, id): the table is distributed by customer (src/infra/distribution.ts). */
  @Index('customer_identifiers_customer_id_idx')
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', primaryKeyConstraintName: 'customer_identifiers_pkey' })
  customerId!: string;

  @ManyToOne(() => CustomerEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id', foreignKeyConstraintName: 'customer_identifiers_customer_id_fkey' })
  customer?: CustomerEntity;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}

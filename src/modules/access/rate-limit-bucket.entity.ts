import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Token buckets of the per-key rate limit when no Redis is configured. */
@Entity('rate_limit_buckets')
export class RateLimitBucketEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'rate_limit_buckets_pkey' })
  key!: string;

  @Column({ type: 'double precision' })
  tokens!: number;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

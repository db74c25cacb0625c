import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

export const CONNECTION_STATUSES = ['ACTIVE', 'PAUSED', 'NEEDS_ATTENTION'] as const;
/** ACTIVE runs on its schedule and accepts webhooks; PAUSED does neither; NEEDS_ATTENTION: the source refused the credentials. */
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

/** An installed connector: which plugin, its config (secret fields encrypted), its cursor state and schedule. */
@Entity('connections')
@Unique('connections_name_key', ['name'])
@Check('connections_status_check', `"status" IN ('ACTIVE', 'PAUSED', 'NEEDS_ATTENTION')`)
export class ConnectionEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'connections_pkey' })
  id!: string;

  @Column({ type: 'text' })
  connector!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The validated config; every secret field holds an AES-256-GCM envelope, never the plain value. */
  @Column({ type: 'jsonb', default: {} })
  config!: Record<string, unknown>;

  /** The cursor the plugin's last committed batch ended at. */
  @Column({ type: 'jsonb', nullable: true })
  state!: Record<string, unknown> | null;

  @Column({ type: 'text', default: 'ACTIVE' })
  status!: ConnectionStatus;

  /** Pull schedule: an interval in seconds (`"3600"`) or a cron pattern (`"0 * * * *"`); null for push-only or manual. */
  @Column({ type: 'text', nullable: true })
  schedule!: string | null;

  @Column({ name: 'last_run_at', type: 'timestamptz', nullable: true })
  lastRunAt!: Date | null;

  /** Why the connection needs attention, when it does. */
  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  /** The country (ISO 3166-1 alpha-2) phone numbers without a country code are read in; null: the instance default. */
  @Column({ name: 'default_country', type: 'text', nullable: true })
  defaultCountry!: string | null;

  /** The remote account the config reaches, when the connector declares `sourceKey`: the deduplication scope it shares. */
  @Column({ name: 'source_key', type: 'text', nullable: true })
  sourceKey!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

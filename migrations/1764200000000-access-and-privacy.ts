import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Access control (API keys, rate-limit buckets), the audit log, consents and erasure tombstones. */
export class AccessAndPrivacy1764200000000 implements MigrationInterface {
  name = 'AccessAndPrivacy1764200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "name" text NOT NULL, "prefix" text NOT NULL, "key_hash" text NOT NULL, "scopes" text array NOT NULL, "created_by" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "last_used_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "api_keys_prefix_key" UNIQUE ("prefix"), CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_log" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor" text NOT NULL, "actor_kind" text NOT NULL, "operation" text NOT NULL, "variables" jsonb NOT NULL DEFAULT '{}', "records" jsonb NOT NULL DEFAULT '[]', "result" text NOT NULL, "error" text, CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "audit_log_actor_idx" ON "audit_log"  ("actor", "occurred_at") `);
    await queryRunner.query(`CREATE INDEX "audit_log_occurred_at_idx" ON "audit_log"  ("occurred_at") `);
    await queryRunner.query(
      `CREATE TABLE "rate_limit_buckets" ("key" text NOT NULL, "tokens" double precision NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "rate_limit_buckets_pkey" PRIMARY KEY ("key"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "customer_consents" ("customer_id" bigint NOT NULL, "purpose" text NOT NULL, "channel" text NOT NULL, "status" text NOT NULL, "source" text NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "customer_consents_status_check" CHECK ("status" IN ('GRANTED', 'DENIED', 'WITHDRAWN')), CONSTRAINT "customer_consents_pkey" PRIMARY KEY ("customer_id", "purpose", "channel"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "identifier_tombstones" ("type" text NOT NULL, "value_hash" text NOT NULL, "erased_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "identifier_tombstones_pkey" PRIMARY KEY ("type", "value_hash"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "customer_consents" ADD CONSTRAINT "customer_consents_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identifier_tombstones"`);
    await queryRunner.query(`DROP TABLE "customer_consents"`);
    await queryRunner.query(`DROP TABLE "rate_limit_buckets"`);
    await queryRunner.query(`DROP TABLE "audit_log"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}

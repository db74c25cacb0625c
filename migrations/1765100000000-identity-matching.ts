import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity matching: the string extensions it compares and blocks with
 * (pg_trgm, fuzzystrmatch and unaccent, all trusted extensions shipped with
 * PostgreSQL), the matcher's settings and fitted model, the normalised
 * fields of every customer it blocks on, and the duplicate pairs it found.
 */
export class IdentityMatching1765100000000 implements MigrationInterface {
  name = 'IdentityMatching1765100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS fuzzystrmatch`);
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS unaccent`);
    await queryRunner.query(
      `CREATE TABLE "identity_matching" ("id" boolean NOT NULL DEFAULT true, "settings" jsonb NOT NULL DEFAULT '{}', "models" jsonb, "last_run" jsonb, "fitted_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "identity_matching_singleton" CHECK ("id"), CONSTRAINT "identity_matching_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`INSERT INTO "identity_matching" ("id") VALUES (true)`);
    await queryRunner.query(
      `CREATE TABLE "identity_features" ("customer_id" bigint NOT NULL, "kind" text NOT NULL, "features" jsonb NOT NULL, "keys" text[] NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "identity_features_pkey" PRIMARY KEY ("customer_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "identity_block_keys" ("key" text NOT NULL, "customer_id" bigint NOT NULL, CONSTRAINT "identity_block_keys_pkey" PRIMARY KEY ("key", "customer_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "identity_block_keys_customer_idx" ON "identity_block_keys" ("customer_id")`);
    await queryRunner.query(
      `CREATE TABLE "duplicate_pairs" ("customer_a" bigint NOT NULL, "customer_b" bigint NOT NULL, "score" double precision NOT NULL, "evidence" jsonb NOT NULL DEFAULT '[]', "status" text NOT NULL DEFAULT 'OPEN', "origin" text NOT NULL DEFAULT 'MATCHING', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "status_changed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "duplicate_pairs_ordered" CHECK ("customer_a" < "customer_b"), CONSTRAINT "duplicate_pairs_score_check" CHECK ("score" BETWEEN 0 AND 1), CONSTRAINT "duplicate_pairs_status_check" CHECK ("status" IN ('OPEN', 'DISMISSED', 'MERGED')), CONSTRAINT "duplicate_pairs_origin_check" CHECK ("origin" IN ('MATCHING', 'POLICY')), CONSTRAINT "duplicate_pairs_pkey" PRIMARY KEY ("customer_a", "customer_b"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "duplicate_pairs_open_score_idx" ON "duplicate_pairs" ("score" DESC, "customer_a", "customer_b") WHERE "status" = 'OPEN'`,
    );
    await queryRunner.query(`CREATE INDEX "duplicate_pairs_customer_b_idx" ON "duplicate_pairs" ("customer_b")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "duplicate_pairs"`);
    await queryRunner.query(`DROP TABLE "identity_block_keys"`);
    await queryRunner.query(`DROP TABLE "identity_features"`);
    await queryRunner.query(`DROP TABLE "identity_matching"`);
  }
}

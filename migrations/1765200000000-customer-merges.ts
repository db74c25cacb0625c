import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Merging customers (src/modules/merges). `customer_merges` is one merge: its
 * survivor, the merged ids, the survivorship rules and the survivor's profile
 * before and after (what an unmerge restores). `customer_merge_members` is the
 * snapshot of each merged customer: its profile, consents, and the ids of the
 * rows that moved to the survivor (identifiers, interactions, organisation
 * members, static segment memberships, older redirects), keyed by
 * `customer_id` so an erasure finds it like any per-customer table.
 * `customer_redirects` answers a merged id with its survivor. `identity_policies`
 * holds what an IDENTITY_CONFLICT on ingest does per identifier type, and
 * `identity_settings` the guard rails of automatic merges.
 */
export class CustomerMerges1765200000000 implements MigrationInterface {
  name = 'CustomerMerges1765200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "customer_merges" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "survivor_id" bigint NOT NULL, "merged_ids" bigint[] NOT NULL,
        "survivorship" jsonb NOT NULL DEFAULT '{}', "survivor_before" jsonb NOT NULL, "survivor_after" jsonb NOT NULL, "automatic" boolean NOT NULL DEFAULT false,
        "actor" text NOT NULL, "reason" text, "merged_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "unmerged_at" TIMESTAMP WITH TIME ZONE, "unmerged_by" text, CONSTRAINT "customer_merges_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "customer_merges_survivor_id_idx" ON "customer_merges" ("survivor_id")`);
    await queryRunner.query(`CREATE INDEX "customer_merges_merged_ids_idx" ON "customer_merges" USING gin ("merged_ids")`);
    await queryRunner.query(
      `CREATE TABLE "customer_merge_members" ("customer_id" bigint NOT NULL, "merge_id" bigint NOT NULL, "profile" jsonb NOT NULL, "consents" jsonb NOT NULL,
        "identifier_ids" bigint[] NOT NULL, "interaction_ids" bigint[] NOT NULL, "member_ids" bigint[] NOT NULL, "segment_ids" bigint[] NOT NULL,
        "redirected_ids" bigint[] NOT NULL, CONSTRAINT "customer_merge_members_pkey" PRIMARY KEY ("customer_id", "merge_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "customer_merge_members_merge_id_idx" ON "customer_merge_members" ("merge_id")`);
    await queryRunner.query(
      `CREATE TABLE "customer_redirects" ("customer_id" bigint NOT NULL, "survivor_id" bigint NOT NULL, "merge_id" bigint NOT NULL,
        CONSTRAINT "customer_redirects_pkey" PRIMARY KEY ("customer_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "customer_redirects_survivor_id_idx" ON "customer_redirects" ("survivor_id")`);
    await queryRunner.query(
      `CREATE TABLE "identity_policies" ("identifier_type" text NOT NULL, "policy" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "identity_policies_policy_check" CHECK ("policy" IN ('REJECT', 'MERGE', 'FLAG')), CONSTRAINT "identity_policies_pkey" PRIMARY KEY ("identifier_type"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "identity_settings" ("id" boolean NOT NULL DEFAULT true, "unique_types" text[] NOT NULL DEFAULT '{}', "max_cluster_size" integer NOT NULL DEFAULT 10,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "identity_settings_one_row" CHECK ("id"), CONSTRAINT "identity_settings_pkey" PRIMARY KEY ("id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "identity_settings"`);
    await queryRunner.query(`DROP TABLE "identity_policies"`);
    await queryRunner.query(`DROP TABLE "customer_redirects"`);
    await queryRunner.query(`DROP TABLE "customer_merge_members"`);
    await queryRunner.query(`DROP TABLE "customer_merges"`);
  }
}

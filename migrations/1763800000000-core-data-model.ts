import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Customers, their identifiers, interactions and per-customer stats. */
export class CoreDataModel1763800000000 implements MigrationInterface {
  name = 'CoreDataModel1763800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "customers" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "kind" text NOT NULL DEFAULT 'PERSON', "display_name" text, "organization_id" bigint, "lifecycle_stage" text, "owner" text, "traits" jsonb NOT NULL DEFAULT '{}'::jsonb, "consent" jsonb NOT NULL DEFAULT '{}'::jsonb, "dirty_since" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "customers_kind_check" CHECK ("kind" IN ('PERSON', 'ORGANIZATION')), CONSTRAINT "customers_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "customers_organization_id_idx" ON "customers"  ("organization_id") `);
    await queryRunner.query(`CREATE INDEX "customers_created_at_idx" ON "customers"  ("created_at") `);
    await queryRunner.query(`CREATE INDEX "customers_dirty_since_idx" ON "customers"  ("dirty_since") WHERE "dirty_since" IS NOT NULL`);
    await queryRunner.query(
      `CREATE TABLE "customer_identifiers" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "customer_id" bigint NOT NULL, "type" text NOT NULL, "value" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "customer_identifiers_type_value_key" UNIQUE ("type", "value"), CONSTRAINT "customer_identifiers_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "customer_identifiers_customer_id_idx" ON "customer_identifiers"  ("customer_id") `);
    await queryRunner.query(
      `CREATE TABLE "customer_stats" ("customer_id" bigint NOT NULL, "interaction_count" integer NOT NULL DEFAULT '0', "first_seen_at" TIMESTAMP WITH TIME ZONE, "last_seen_at" TIMESTAMP WITH TIME ZONE, "transaction_count" integer NOT NULL DEFAULT '0', "transaction_value" numeric(18,4) NOT NULL DEFAULT '0', "channels" jsonb NOT NULL DEFAULT '{}'::jsonb, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "customer_stats_pkey" PRIMARY KEY ("customer_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "interactions" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "customer_id" bigint NOT NULL, "channel" text NOT NULL, "type" text NOT NULL, "direction" text, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "value" numeric(18,4), "currency" text, "sentiment" real, "properties" jsonb NOT NULL DEFAULT '{}'::jsonb, "source" text NOT NULL, "external_id" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "interactions_source_external_id_key" UNIQUE ("source", "external_id"), CONSTRAINT "interactions_sentiment_check" CHECK ("sentiment" BETWEEN -1 AND 1), CONSTRAINT "interactions_direction_check" CHECK ("direction" IN ('INBOUND', 'OUTBOUND')), CONSTRAINT "interactions_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "interactions_occurred_at_idx" ON "interactions"  ("occurred_at") `);
    await queryRunner.query(`CREATE INDEX "interactions_customer_id_occurred_at_idx" ON "interactions"  ("customer_id", "occurred_at") `);
    await queryRunner.query(
      `ALTER TABLE "customers" ADD CONSTRAINT "customers_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "customers"("id") ON DELETE SET NULL ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "customer_identifiers" ADD CONSTRAINT "customer_identifiers_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "customer_stats" ADD CONSTRAINT "customer_stats_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "interactions" ADD CONSTRAINT "interactions_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "interactions"`);
    await queryRunner.query(`DROP TABLE "customer_stats"`);
    await queryRunner.query(`DROP TABLE "customer_identifiers"`);
    await queryRunner.query(`DROP TABLE "customers"`);
  }
}

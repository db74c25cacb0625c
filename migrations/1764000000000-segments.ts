import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Segments, their current memberships, membership events and size history. */
export class Segments1764000000000 implements MigrationInterface {
  name = 'Segments1764000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "segments" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "name" text NOT NULL, "description" text, "kind" text NOT NULL DEFAULT 'DYNAMIC', "rule" jsonb, "size" integer NOT NULL DEFAULT '0', "status" text NOT NULL DEFAULT 'STALE', "refreshed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "segments_name_key" UNIQUE ("name"), CONSTRAINT "segments_kind_check" CHECK ("kind" IN ('DYNAMIC', 'STATIC')), CONSTRAINT "segments_status_check" CHECK ("status" IN ('FRESH', 'REFRESHING', 'STALE')), CONSTRAINT "segments_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "segment_memberships" ("segment_id" bigint NOT NULL, "customer_id" bigint NOT NULL, "entered_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "segment_memberships_pkey" PRIMARY KEY ("segment_id", "customer_id"))`,
    );
    await queryRunner.query(`CREATE INDEX "segment_memberships_customer_id_idx" ON "segment_memberships"  ("customer_id") `);
    await queryRunner.query(
      `CREATE TABLE "segment_membership_events" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "segment_id" bigint NOT NULL, "customer_id" bigint NOT NULL, "kind" text NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "segment_membership_events_kind_check" CHECK ("kind" IN ('ENTERED', 'EXITED')), CONSTRAINT "segment_membership_events_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "segment_membership_events_segment_id_occurred_at_idx" ON "segment_membership_events"  ("segment_id", "occurred_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "segment_membership_events_customer_id_occurred_at_idx" ON "segment_membership_events"  ("customer_id", "occurred_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "segment_size_history" ("segment_id" bigint NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL, "size" integer NOT NULL, CONSTRAINT "segment_size_history_pkey" PRIMARY KEY ("segment_id", "recorded_at"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "segment_memberships" ADD CONSTRAINT "segment_memberships_segment_id_fkey" FOREIGN KEY ("segment_id") REFERENCES "segments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "segment_memberships" ADD CONSTRAINT "segment_memberships_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "segment_membership_events" ADD CONSTRAINT "segment_membership_events_segment_id_fkey" FOREIGN KEY ("segment_id") REFERENCES "segments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "segment_membership_events" ADD CONSTRAINT "segment_membership_events_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "segment_size_history" ADD CONSTRAINT "segment_size_history_segment_id_fkey" FOREIGN KEY ("segment_id") REFERENCES "segments"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "segment_size_history"`);
    await queryRunner.query(`DROP TABLE "segment_membership_events"`);
    await queryRunner.query(`DROP TABLE "segment_memberships"`);
    await queryRunner.query(`DROP TABLE "segments"`);
  }
}

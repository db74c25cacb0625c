import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Early-warning alerts (src/modules/alerts).
 *
 * - `alert_rules`: a named trigger (a customer entering a segment, a score
 *   crossing a threshold or moving by more than an amount), its destinations,
 *   its cool-down and its owner. A rule on a segment goes with the segment.
 * - `alerts`: one firing of a rule for a customer: the relationship manager's
 *   worklist (OPEN, ACKNOWLEDGED, RESOLVED). An alert outlives its rule (the
 *   rule's name is kept); `suppressed` counts the firings the cool-down
 *   swallowed after it. `(rule_id, customer_id, triggered_at)` serves the
 *   cool-down check. Keyed by customer first, like every per-customer table
 *   (src/infra/distribution.ts).
 */
export class Alerts1765400000000 implements MigrationInterface {
  name = 'Alerts1765400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "alert_rules" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "name" text NOT NULL,
        "description" text,
        "trigger" text NOT NULL CHECK ("trigger" IN ('SEGMENT_ENTERED', 'SCORE_CROSSES', 'SCORE_CHANGES')),
        "segment_id" bigint REFERENCES "segments" ("id") ON DELETE CASCADE,
        "score_kind" text,
        "threshold" double precision,
        "min_change" double precision,
        "direction" text NOT NULL DEFAULT 'UP' CHECK ("direction" IN ('UP', 'DOWN', 'EITHER')),
        "destinations" text[] NOT NULL DEFAULT '{FEED}',
        "cooldown_seconds" integer NOT NULL CHECK ("cooldown_seconds" >= 0),
        "owner" text,
        "enabled" boolean NOT NULL DEFAULT true,
        "template" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "alert_rules_name_key" UNIQUE ("name"),
        CONSTRAINT "alert_rules_trigger_fields_check" CHECK (
          ("trigger" = 'SEGMENT_ENTERED' AND "segment_id" IS NOT NULL)
          OR ("trigger" = 'SCORE_CROSSES' AND "score_kind" IS NOT NULL AND "threshold" IS NOT NULL)
          OR ("trigger" = 'SCORE_CHANGES' AND "score_kind" IS NOT NULL AND "min_change" IS NOT NULL))
      )`,
    );
    await queryRunner.query(`CREATE INDEX "alert_rules_segment_idx" ON "alert_rules" ("segment_id") WHERE "segment_id" IS NOT NULL`);
    await queryRunner.query(
      `CREATE TABLE "alerts" (
        "id" bigint GENERATED ALWAYS AS IDENTITY,
        "rule_id" bigint REFERENCES "alert_rules" ("id") ON DELETE SET NULL,
        "rule_name" text NOT NULL,
        "customer_id" bigint NOT NULL,
        "trigger" text NOT NULL,
        "segment_id" bigint,
        "score_kind" text,
        "value" double precision,
        "previous_value" double precision,
        "status" text NOT NULL DEFAULT 'OPEN' CHECK ("status" IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
        "owner" text,
        "event_id" bigint NOT NULL,
        "triggered_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "fired_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "suppressed" integer NOT NULL DEFAULT 0,
        "acknowledged_at" TIMESTAMP WITH TIME ZONE,
        "acknowledged_by" text,
        "resolved_at" TIMESTAMP WITH TIME ZONE,
        "resolved_by" text,
        CONSTRAINT "alerts_pkey" PRIMARY KEY ("customer_id", "id")
      )`,
    );
    await queryRunner.query(`CREATE INDEX "alerts_rule_customer_idx" ON "alerts" ("rule_id", "customer_id", "triggered_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "alerts_id_idx" ON "alerts" ("id")`);
    await queryRunner.query(`CREATE INDEX "alerts_status_idx" ON "alerts" ("status", "id" DESC)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "alerts"`);
    await queryRunner.query(`DROP TABLE "alert_rules"`);
  }
}

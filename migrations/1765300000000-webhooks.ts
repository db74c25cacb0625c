import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbound webhooks (src/modules/webhooks, docs/realtime.md "Webhooks").
 *
 * `webhook_endpoints`: where events go, which event types and payload values
 * they take (`filter`), and their signing secrets, encrypted at rest
 * (`secret`, and `previous_secret` while a rotation's old secret is honoured).
 * `failing_since` is set by the first failed attempt after a success and
 * cleared by the next success: it is what disables an endpoint that keeps
 * failing.
 *
 * `webhook_deliveries`: one row per (endpoint, outbox event), written in the
 * transaction that records the outbox consumer's offset, so every committed
 * event an endpoint takes has its delivery. Keyed by `customer_id` like the
 * outbox (0 for events about no customer); a customer's deliveries to one
 * endpoint are sent in `event_id` order.
 *
 * `webhook_attempts`: every HTTP attempt with its status, latency and the
 * start of the answer's body.
 */
export class Webhooks1765300000000 implements MigrationInterface {
  name = 'Webhooks1765300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "webhook_endpoints" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "url" text NOT NULL, "description" text,
        "events" text[] NOT NULL, "filter" jsonb NOT NULL DEFAULT '{}', "secret" text NOT NULL, "previous_secret" text,
        "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE, "status" text NOT NULL DEFAULT 'ACTIVE',
        "failing_since" TIMESTAMP WITH TIME ZONE, "disabled_at" TIMESTAMP WITH TIME ZONE, "disabled_reason" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "webhook_endpoints_status_check" CHECK ("status" IN ('ACTIVE', 'DISABLED')),
        CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "webhook_deliveries" ("customer_id" bigint NOT NULL DEFAULT '0', "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "endpoint_id" bigint NOT NULL, "event_id" bigint NOT NULL, "event_type" text NOT NULL, "body" text NOT NULL,
        "event_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status" text NOT NULL DEFAULT 'PENDING', "attempts" integer NOT NULL DEFAULT '0',
        "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "locked_until" TIMESTAMP WITH TIME ZONE,
        "first_attempt_at" TIMESTAMP WITH TIME ZONE, "last_status_code" integer, "last_error" text,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "delivered_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "webhook_deliveries_status_check" CHECK ("status" IN ('PENDING', 'RETRYING', 'DELIVERED', 'DEAD')),
        CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("customer_id", "id"),
        CONSTRAINT "webhook_deliveries_event_key" UNIQUE ("customer_id", "endpoint_id", "event_id"),
        CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_id_idx" ON "webhook_deliveries" ("id")`);
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries" ("endpoint_id", "id")`);
    await queryRunner.query(
      `CREATE INDEX "webhook_deliveries_open_idx" ON "webhook_deliveries" ("endpoint_id", "customer_id", "event_id") WHERE "status" IN ('PENDING', 'RETRYING')`,
    );
    await queryRunner.query(`CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" ("next_attempt_at") WHERE "status" IN ('PENDING', 'RETRYING')`);
    await queryRunner.query(
      `CREATE TABLE "webhook_attempts" ("customer_id" bigint NOT NULL DEFAULT '0', "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "delivery_id" bigint NOT NULL, "attempted_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "status_code" integer,
        "latency_ms" integer NOT NULL, "response_body" text, "error" text,
        CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("customer_id", "id"),
        CONSTRAINT "webhook_attempts_delivery_fkey" FOREIGN KEY ("customer_id", "delivery_id") REFERENCES "webhook_deliveries"("customer_id", "id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(`CREATE INDEX "webhook_attempts_delivery_idx" ON "webhook_attempts" ("delivery_id", "id")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_attempts"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP TABLE "webhook_endpoints"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The domain-event outbox (see docs/architecture.md, "Domain events").
 *
 * `outbox_events`: one row per event, written in the transaction of the change
 * it reports, so an event exists exactly when its change committed. The
 * primary key leads with `customer_id`, the distribution key: events about one
 * customer live with that customer's rows. Events about no customer
 * (recompute.completed, connection.failed) carry customer_id 0, the
 * non-customer partition. `dispatched_at` is set once every subscriber has
 * handled the event; the retention sweep deletes dispatched events only.
 *
 * `outbox_consumer_offsets`: which consumer has applied which event, written
 * in the consumer's own transaction, so an at-least-once redelivery is
 * applied once. Keyed by customer too, and deleted with its event.
 */
export class Outbox1764800000000 implements MigrationInterface {
  name = 'Outbox1764800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "outbox_events" ("customer_id" bigint NOT NULL DEFAULT '0', "id" bigint GENERATED ALWAYS AS IDENTITY, "type" text NOT NULL, "version" smallint NOT NULL,
        "payload" jsonb NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "dispatched_at" TIMESTAMP WITH TIME ZONE,
        "attempts" integer NOT NULL DEFAULT '0', "last_error" text,
        CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("customer_id", "id"))`,
    );
    await queryRunner.query(`CREATE INDEX "outbox_events_pending_idx" ON "outbox_events" ("id") WHERE "dispatched_at" IS NULL`);
    await queryRunner.query(`CREATE INDEX "outbox_events_dispatched_at_idx" ON "outbox_events" ("dispatched_at") WHERE "dispatched_at" IS NOT NULL`);
    await queryRunner.query(
      `CREATE TABLE "outbox_consumer_offsets" ("customer_id" bigint NOT NULL, "consumer" text NOT NULL, "event_id" bigint NOT NULL,
        "processed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "outbox_consumer_offsets_pkey" PRIMARY KEY ("customer_id", "consumer", "event_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "outbox_consumer_offsets"`);
    await queryRunner.query(`DROP TABLE "outbox_events"`);
  }
}

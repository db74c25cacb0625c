import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `webhook_refusals`: per connection, how many webhook deliveries were refused
 * (signature invalid, connection paused, connector without webhooks or not
 * loaded), the last reason and when. Senders get one answer for every refusal,
 * so this is where operators see why (`Connection.refusedDeliveries`). One row
 * per connection, removed with it.
 */
export class WebhookRefusals1764700000000 implements MigrationInterface {
  name = 'WebhookRefusals1764700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "webhook_refusals" ("connection_id" bigint NOT NULL, "count" integer NOT NULL DEFAULT '0', "last_reason" text NOT NULL, "last_refused_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "webhook_refusals_last_reason_check" CHECK ("last_reason" IN ('SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE')), CONSTRAINT "webhook_refusals_pkey" PRIMARY KEY ("connection_id"))`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_refusals" ADD CONSTRAINT "webhook_refusals_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webhook_refusals"`);
  }
}

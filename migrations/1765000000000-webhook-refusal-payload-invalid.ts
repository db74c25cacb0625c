import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fifth reason a connection counts a refused webhook delivery:
 * `PAYLOAD_INVALID`, an authentic delivery whose body could not be parsed or
 * held invalid records (answered 400 WEBHOOK_PAYLOAD_INVALID).
 */
export class WebhookRefusalPayloadInvalid1765000000000 implements MigrationInterface {
  name = 'WebhookRefusalPayloadInvalid1765000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhook_refusals" DROP CONSTRAINT "webhook_refusals_last_reason_check"`);
    await queryRunner.query(
      `ALTER TABLE "webhook_refusals" ADD CONSTRAINT "webhook_refusals_last_reason_check" CHECK ("last_reason" IN ('SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE', 'PAYLOAD_INVALID'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "webhook_refusals" WHERE "last_reason" = 'PAYLOAD_INVALID'`);
    await queryRunner.query(`ALTER TABLE "webhook_refusals" DROP CONSTRAINT "webhook_refusals_last_reason_check"`);
    await queryRunner.query(
      `ALTER TABLE "webhook_refusals" ADD CONSTRAINT "webhook_refusals_last_reason_check" CHECK ("last_reason" IN ('SIGNATURE_INVALID', 'CONNECTION_PAUSED', 'NO_WEBHOOK', 'CONNECTOR_UNAVAILABLE'))`,
    );
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two settings of a connection, both validated by the connector service:
 *
 * - `default_country`: the country (ISO 3166-1 alpha-2) its phone numbers
 *   without a country code are read in; null falls back to
 *   RAPPORT_DEFAULT_PHONE_COUNTRY, and without either such numbers are refused.
 * - `source_key`: the remote account its config reaches, when the connector
 *   declares `sourceKey`. Interactions are stored under
 *   `connector:<connector>:<source_key>` instead of `connector:<id>`, so
 *   connections to the same account share deduplication.
 */
export class ConnectionSourceAndCountry1764900000000 implements MigrationInterface {
  name = 'ConnectionSourceAndCountry1764900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "connections" ADD "default_country" text`);
    await queryRunner.query(`ALTER TABLE "connections" ADD "source_key" text`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "source_key"`);
    await queryRunner.query(`ALTER TABLE "connections" DROP COLUMN "default_country"`);
  }
}

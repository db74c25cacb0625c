import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose primary key was their own identity column alone. */
const TABLES = ['customer_identifiers', 'score_history', 'segment_membership_events'] as const;

/**
 * Per-customer tables keyed by their own identity column get `customer_id`
 * in front of it in the primary key, so that they can be distributed by
 * customer on Citus (docs/scale-out.md: a distributed table's primary and
 * unique keys must hold its distribution column). No row is read by `id`
 * alone; the identity stays unique on its own.
 *
 * Each table's primary-key index is rebuilt under an exclusive lock on the
 * table: plan the migration for a quiet moment on a large `score_history`.
 */
export class CustomerKeyedPrimaryKeys1764760000000 implements MigrationInterface {
  name = 'CustomerKeyedPrimaryKeys1764760000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${table}_pkey", ADD CONSTRAINT "${table}_pkey" PRIMARY KEY ("customer_id", "id")`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of TABLES) {
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${table}_pkey", ADD CONSTRAINT "${table}_pkey" PRIMARY KEY ("id")`);
    }
  }
}

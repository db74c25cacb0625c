import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scores and score history reference customers without foreign keys. A full
 * recompute writes every customer's scores and history, and a foreign key
 * check takes a key-share lock on the customer row for every row written: a
 * large share of the run's time, for rows whose customer the run has just
 * read.
 * Erasure deletes both explicitly (it deletes from every table with a
 * `customer_id`), and score writers and erasure serialise on an advisory lock
 * (`SCORE_WRITERS_LOCK`), so a recompute batch can never write a score for a
 * customer erased meanwhile.
 */
export class ScoresWithoutForeignKeys1764300000000 implements MigrationInterface {
  name = 'ScoresWithoutForeignKeys1764300000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "score_history" DROP CONSTRAINT IF EXISTS "score_history_customer_id_fkey"`);
    await queryRunner.query(`ALTER TABLE "scores" DROP CONSTRAINT IF EXISTS "scores_customer_id_fkey"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "scores" s WHERE NOT EXISTS (SELECT 1 FROM "customers" c WHERE c.id = s.customer_id)`);
    await queryRunner.query(`DELETE FROM "score_history" h WHERE NOT EXISTS (SELECT 1 FROM "customers" c WHERE c.id = h.customer_id)`);
    await queryRunner.query(
      `ALTER TABLE "scores" ADD CONSTRAINT "scores_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "score_history" ADD CONSTRAINT "score_history_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }
}

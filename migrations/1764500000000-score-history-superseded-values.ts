import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A score's current value is not also a row of `score_history`:
 * `scores.changed_at` says since when the value holds, and `score_history`
 * keeps the values scores had before they changed or were removed (one row
 * per change, recorded at the instant the value had become current). A
 * score's history is its current row followed by those.
 *
 * The history does not repeat every current score: a full recompute of a
 * base never scored before writes no history at all, and the table holds
 * changes only.
 *
 * Up: each current score takes the instant of its newest history point (the
 * last one written: writers of one score append in turn), and that point,
 * which holds the same value, is removed. A score whose newest point differs
 * (a history cleared by hand) keeps every point and takes its `computed_at`.
 *
 * Stop the workers of the previous release before migrating: its writers
 * would go on appending the current value to the history.
 */
export class ScoreHistorySupersededValues1764500000000 implements MigrationInterface {
  name = 'ScoreHistorySupersededValues1764500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "scores" ADD "changed_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `WITH newest AS (
         SELECT DISTINCT ON (customer_id, kind) id, customer_id, kind, value, label, recorded_at
           FROM score_history ORDER BY customer_id, kind, id DESC),
       current AS (
         UPDATE scores s SET changed_at = h.recorded_at FROM newest h
          WHERE s.customer_id = h.customer_id AND s.kind = h.kind
            AND s.label IS NOT DISTINCT FROM h.label AND abs(s.value - h.value) <= 1e-9 * greatest(1, abs(s.value))
         RETURNING h.id)
       DELETE FROM score_history WHERE id IN (SELECT id FROM current)`,
    );
    await queryRunner.query(`UPDATE scores SET changed_at = computed_at WHERE changed_at IS NULL`);
    await queryRunner.query(`ALTER TABLE "scores" ALTER COLUMN "changed_at" SET DEFAULT now()`);
    await queryRunner.query(`ALTER TABLE "scores" ALTER COLUMN "changed_at" SET NOT NULL`);
    // A recompute's leftover rebuild has the old shape; the next run drops it anyway.
    await queryRunner.query(`DROP TABLE IF EXISTS scores_rebuild`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `INSERT INTO score_history (customer_id, kind, value, label, components, recorded_at)
       SELECT customer_id, kind, value, label, components, changed_at FROM scores ORDER BY customer_id, kind`,
    );
    await queryRunner.query(`DROP TABLE IF EXISTS scores_rebuild`);
    await queryRunner.query(`ALTER TABLE "scores" DROP COLUMN "changed_at"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `scores_kind_label_idx` covers only scores that have a label (RFM segments,
 * CHURN_RISK bands). ENGAGEMENT and CLV have none: indexing them would give
 * the index most of a full recompute's rows for nothing. Label filters
 * (`label = ANY(…)`) imply a label, so they still use the index.
 */
export class ScoreLabelsPartialIndex1764400000000 implements MigrationInterface {
  name = 'ScoreLabelsPartialIndex1764400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."scores_kind_label_idx"`);
    await queryRunner.query(`CREATE INDEX "scores_kind_label_idx" ON "scores" ("kind", "label") WHERE label IS NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."scores_kind_label_idx"`);
    await queryRunner.query(`CREATE INDEX "scores_kind_label_idx" ON "scores" ("kind", "label") `);
  }
}

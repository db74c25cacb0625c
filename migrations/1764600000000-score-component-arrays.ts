import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scores store their components as the kind's figures: `component_values`
 * (float8[], in the order the kind's definition reads them) and
 * `component_keys` (text[], ENGAGEMENT's channels; null for kinds with a
 * fixed set). The API's `components` object is built from them when read
 * (`ScoreKindDefinition.components`), the same object as before.
 *
 * A full recompute writes a score for every customer and kind: building a
 * jsonb object for each, through numeric, costs more than the rest of the
 * row (ENGAGEMENT's most, with its channels); an array of float8 costs next
 * to nothing, and the rows are smaller.
 *
 * `components` (jsonb) stays, nullable, for the rows written before: they are
 * read as they were, so the migration rewrites nothing (instant, whatever the
 * size of `score_history`). Scores written from now on leave it null; the
 * next full recompute replaces every current score. Down fills it from the
 * figures (rounded as the API shows them) where it is null.
 */
export class ScoreComponentArrays1764600000000 implements MigrationInterface {
  name = 'ScoreComponentArrays1764600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['scores', 'score_history']) {
      await queryRunner.query(
        `ALTER TABLE "${table}" ALTER COLUMN "components" DROP NOT NULL, ALTER COLUMN "components" DROP DEFAULT,
           ADD "component_values" double precision array NOT NULL DEFAULT '{}', ADD "component_keys" text array`,
      );
    }
    // A recompute's leftover rebuild has the old shape; the next run drops it anyway.
    await queryRunner.query(`DROP TABLE IF EXISTS scores_rebuild, score_history_rebuild`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // A session-local helper (pg_temp), dropped at the end.
    await queryRunner.query(
      `CREATE OR REPLACE FUNCTION pg_temp.rapport_components(kind text, v float8[], k text[]) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
         SELECT COALESCE(jsonb_strip_nulls(CASE kind
           WHEN 'RFM' THEN jsonb_build_object('recency', round(v[1]::numeric, 4), 'frequency', v[2], 'monetary', round(v[3]::numeric, 4),
                                              'r', v[4], 'f', v[5], 'm', v[6], 'code', v[4]::int::text || v[5]::int::text || v[6]::int::text)
           WHEN 'CLV' THEN jsonb_build_object('x', v[1], 'tx', round(v[2]::numeric, 4), 'T', round(v[3]::numeric, 4), 'm', round(v[4]::numeric, 4),
                                              'pAlive', round(v[5]::numeric, 6), 'expectedPurchases', round(v[6]::numeric, 6),
                                              'expectedAverageValue', round(v[7]::numeric, 4), 'clv', round(v[8]::numeric, 4), 'horizonWeeks', v[9])
           WHEN 'CHURN_RISK' THEN jsonb_build_object('x', v[1], 'tx', round(v[2]::numeric, 4), 'T', round(v[3]::numeric, 4), 'pAlive', round(v[4]::numeric, 6))
           WHEN 'ENGAGEMENT' THEN CASE WHEN v[1] IS NOT NULL THEN jsonb_build_object('raw', round(v[1]::numeric, 6), 'byChannel',
             (SELECT COALESCE(jsonb_object_agg(key, round((v[i + 2] * v[2])::numeric, 4)), '{}') FROM unnest(k) WITH ORDINALITY AS t(key, i) WHERE v[i + 2] IS NOT NULL)) END
         END), '{}') $$`,
    );
    for (const table of ['scores', 'score_history']) {
      await queryRunner.query(`UPDATE "${table}" SET components = pg_temp.rapport_components(kind, component_values, component_keys) WHERE components IS NULL`);
      await queryRunner.query(
        `ALTER TABLE "${table}" ALTER COLUMN "components" SET DEFAULT '{}', ALTER COLUMN "components" SET NOT NULL,
           DROP COLUMN "component_values", DROP COLUMN "component_keys"`,
      );
    }
    await queryRunner.query(`DROP FUNCTION pg_temp.rapport_components`);
    await queryRunner.query(`DROP TABLE IF EXISTS scores_rebuild, score_history_rebuild`);
  }
}

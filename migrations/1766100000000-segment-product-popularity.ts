import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The popular products within each segment, fitted with the recommendation
 * model: the cold-start fallback of a customer outside any organisation
 * with product history (docs/recommendations.md). Rows of a deleted
 * segment are never read (reads join `segments`) and go at the next fit.
 */
export class SegmentProductPopularity1766100000000 implements MigrationInterface {
  name = 'SegmentProductPopularity1766100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "segment_product_popularity" (
        "segment_id" bigint NOT NULL,
        "product" text NOT NULL,
        "weight" float8 NOT NULL,
        "rank" int NOT NULL,
        PRIMARY KEY ("segment_id", "rank")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "segment_product_popularity"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Product recommendations: the model (one row: settings, what the current
 * fit used, diagnostics), each product's top-K neighbours, the popular
 * products overall (organization_id 0) and per organisation for customers
 * without history, and each customer's current list (products and scores
 * as arrays, best first; a GIN index finds a product's audience).
 */
export class Recommendations1765600000000 implements MigrationInterface {
  name = 'Recommendations1765600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "recommendation_model" (
        "id" int PRIMARY KEY DEFAULT 1 CHECK ("id" = 1),
        "settings" jsonb NOT NULL DEFAULT '{}',
        "fitted" jsonb,
        "diagnostics" jsonb,
        "fitted_at" timestamptz,
        "sample_size" int,
        "version" int NOT NULL DEFAULT 0,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`INSERT INTO "recommendation_model" ("id") VALUES (1)`);
    await queryRunner.query(`
      CREATE TABLE "product_neighbours" (
        "product" text NOT NULL,
        "neighbour" text NOT NULL,
        "weight" float8 NOT NULL,
        "rank" int NOT NULL,
        PRIMARY KEY ("product", "rank")
      )`);
    await queryRunner.query(`
      CREATE TABLE "product_popularity" (
        "organization_id" bigint NOT NULL,
        "product" text NOT NULL,
        "weight" float8 NOT NULL,
        "rank" int NOT NULL,
        PRIMARY KEY ("organization_id", "rank")
      )`);
    await queryRunner.query(`
      CREATE TABLE "customer_recommendations" (
        "customer_id" bigint NOT NULL,
        "products" text[] NOT NULL,
        "scores" float8[] NOT NULL,
        "model_version" int NOT NULL,
        "computed_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "customer_recommendations_pkey" PRIMARY KEY ("customer_id")
      )`);
    await queryRunner.query(`CREATE INDEX "customer_recommendations_products" ON "customer_recommendations" USING gin ("products")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "customer_recommendations_rebuild"`);
    await queryRunner.query(`DROP TABLE "customer_recommendations"`);
    await queryRunner.query(`DROP TABLE "product_popularity"`);
    await queryRunner.query(`DROP TABLE "product_neighbours"`);
    await queryRunner.query(`DROP TABLE "recommendation_model"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Score models (settings, fitted parameters), current scores per customer and kind, and their history of changes. */
export class ScoresModel1763900000000 implements MigrationInterface {
  name = 'ScoresModel1763900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "score_models" ("kind" text NOT NULL, "settings" jsonb NOT NULL DEFAULT '{}', "parameters" jsonb, "fitted_at" TIMESTAMP WITH TIME ZONE, "as_of" TIMESTAMP WITH TIME ZONE, "sample_size" integer, "diagnostics" jsonb, "version" integer NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "score_models_pkey" PRIMARY KEY ("kind"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "scores" ("customer_id" bigint NOT NULL, "kind" text NOT NULL, "value" double precision NOT NULL, "label" text, "components" jsonb NOT NULL DEFAULT '{}', "model_version" integer NOT NULL, "computed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "scores_pkey" PRIMARY KEY ("customer_id", "kind"))`,
    );
    await queryRunner.query(`CREATE INDEX "scores_kind_value_idx" ON "scores" ("kind", "value") `);
    await queryRunner.query(`CREATE INDEX "scores_kind_label_idx" ON "scores" ("kind", "label") `);
    await queryRunner.query(
      `CREATE TABLE "score_history" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "customer_id" bigint NOT NULL, "kind" text NOT NULL, "value" double precision NOT NULL, "label" text, "components" jsonb NOT NULL DEFAULT '{}', "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "score_history_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "score_history_customer_id_kind_recorded_at_idx" ON "score_history" ("customer_id", "kind", "recorded_at" DESC) `);
    await queryRunner.query(
      `ALTER TABLE "scores" ADD CONSTRAINT "scores_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "score_history" ADD CONSTRAINT "score_history_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "score_history"`);
    await queryRunner.query(`DROP TABLE "scores"`);
    await queryRunner.query(`DROP TABLE "score_models"`);
  }
}

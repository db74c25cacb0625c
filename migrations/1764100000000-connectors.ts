import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Installed connectors (`connections`, secrets encrypted in `config`) and their runs (`connector_runs`). */
export class Connectors1764100000000 implements MigrationInterface {
  name = 'Connectors1764100000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "connections" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "connector" text NOT NULL, "name" text NOT NULL, "config" jsonb NOT NULL DEFAULT '{}', "state" jsonb, "status" text NOT NULL DEFAULT 'ACTIVE', "schedule" text, "last_run_at" TIMESTAMP WITH TIME ZONE, "last_error" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "connections_name_key" UNIQUE ("name"), CONSTRAINT "connections_status_check" CHECK ("status" IN ('ACTIVE', 'PAUSED', 'NEEDS_ATTENTION')), CONSTRAINT "connections_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "connector_runs" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "connection_id" bigint, "kind" text NOT NULL, "status" text NOT NULL DEFAULT 'RUNNING', "received" integer NOT NULL DEFAULT '0', "accepted" integer NOT NULL DEFAULT '0', "duplicates" integer NOT NULL DEFAULT '0', "rejected" integer NOT NULL DEFAULT '0', "errors" jsonb NOT NULL DEFAULT '[]', "error" text, "details" jsonb NOT NULL DEFAULT '{}', "started_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "connector_runs_status_check" CHECK ("status" IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED')), CONSTRAINT "connector_runs_kind_check" CHECK ("kind" IN ('SYNC', 'WEBHOOK', 'IMPORT')), CONSTRAINT "connector_runs_pkey" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "connector_runs_connection_id_started_at_idx" ON "connector_runs"  ("connection_id", "started_at") `);
    await queryRunner.query(
      `ALTER TABLE "connector_runs" ADD CONSTRAINT "connector_runs_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "connector_runs" DROP CONSTRAINT "connector_runs_connection_id_fkey"`);
    await queryRunner.query(`DROP INDEX "public"."connector_runs_connection_id_started_at_idx"`);
    await queryRunner.query(`DROP TABLE "connector_runs"`);
    await queryRunner.query(`DROP TABLE "connections"`);
  }
}

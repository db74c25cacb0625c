import { Client } from 'pg';
import { connectAndMigrate, createDataSource } from '../src/infra/database';
import { createTestDatabase } from './helpers/database';

describe('migrations', () => {
  test('entities and migrations agree: after migrating, TypeORM finds nothing to change', async () => {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url });
    try {
      const applied = await connectAndMigrate(dataSource);
      expect(applied.length).toBeGreaterThan(0);
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
      // Running again applies nothing.
      expect(await connectAndMigrate(dataSource)).toEqual([]);
      // TypeORM does not compare partial indexes' predicates: each entity index's WHERE must be the database's.
      const declared = dataSource.entityMetadatas.flatMap((m) => m.indices.filter((i) => i.name).map((i) => [i.name, i.where ?? null]));
      const actual = new Map<string, string | null>(
        (await dataSource.query(`SELECT indexname, pg_get_expr(x.indpred, x.indrelid) AS pred FROM pg_indexes p
                                   JOIN pg_class c ON c.relname = p.indexname JOIN pg_index x ON x.indexrelid = c.oid
                                  WHERE p.schemaname = 'public'`)).map((r: { indexname: string; pred: string | null }) => [r.indexname, r.pred]),
      );
      const normalise = (predicate: string | null) => predicate?.replace(/[()"]/g, '').replace(/\s+/g, ' ').trim() ?? null;
      expect(declared.map(([name, where]) => [name, normalise(where)])).toEqual(declared.map(([name]) => [name, normalise(actual.get(name!) ?? null)]));
      expect(declared.find(([name]) => name === 'scores_kind_label_idx')).toEqual(['scores_kind_label_idx', 'label IS NOT NULL']);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });

  test('migrations run down and up again cleanly', async () => {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url });
    try {
      await connectAndMigrate(dataSource);
      for (let i = 0; i < dataSource.migrations.length; i++) await dataSource.undoLastMigration();
      const client = new Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'customers'`);
      await client.end();
      expect(rows[0].n).toBe(0);
      expect((await connectAndMigrate(dataSource)).length).toBe(dataSource.migrations.length);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });
});

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

  test('score history: a current score leaves score_history for scores.changed_at, and comes back when undone', async () => {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url });
    try {
      await connectAndMigrate(dataSource);
      expect(dataSource.migrations.at(-1)!.name).toBe('ScoreHistorySupersededValues1764500000000');
      await dataSource.undoLastMigration();
      // Before: a score's newest history point repeats it. Customer 3's history was cleared by hand down to an older value.
      await dataSource.query(
        `INSERT INTO scores (customer_id, kind, value, label, components, model_version, computed_at) VALUES
           (1, 'RFM', 3, 'Loyal', '{}', 2, '2026-03-01Z'), (2, 'ENGAGEMENT', 5, NULL, '{}', 1, '2026-03-01Z'), (3, 'CLV', 9, NULL, '{}', 1, '2026-03-01Z')`,
      );
      await dataSource.query(
        `INSERT INTO score_history (customer_id, kind, value, label, components, recorded_at) VALUES
           (1, 'RFM', 2, 'Hibernating', '{}', '2026-01-01Z'), (1, 'RFM', 3, 'Loyal', '{}', '2026-02-01Z'), (3, 'CLV', 7, NULL, '{}', '2026-01-01Z')`,
      );
      const history = () => dataSource.query(`SELECT customer_id::int AS id, value, to_char(recorded_at AT TIME ZONE 'UTC', 'MM-DD') AS at FROM score_history ORDER BY 1, 3`);
      const state = async () => ({
        scores: await dataSource.query(`SELECT customer_id::int AS id, to_char(changed_at AT TIME ZONE 'UTC', 'MM-DD') AS "changedAt" FROM scores ORDER BY 1`),
        history: await history(),
      });
      await connectAndMigrate(dataSource);
      expect(await state()).toEqual({
        scores: [{ id: 1, changedAt: '02-01' }, { id: 2, changedAt: '03-01' }, { id: 3, changedAt: '03-01' }],
        history: [{ id: 1, value: 2, at: '01-01' }, { id: 3, value: 7, at: '01-01' }],
      });
      await dataSource.undoLastMigration();
      expect(await history()).toEqual([
        { id: 1, value: 2, at: '01-01' }, { id: 1, value: 3, at: '02-01' }, { id: 2, value: 5, at: '03-01' }, { id: 3, value: 7, at: '01-01' }, { id: 3, value: 9, at: '03-01' },
      ]);
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

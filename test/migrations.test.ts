import { Client } from 'pg';
import { connectAndMigrate, createDataSource } from '../src/infra/database';
import type { DataSource } from 'typeorm';
import { componentsOf } from '../src/modules/scores/score-loaders';
import { createTestDatabase } from './helpers/database';

/** Undoes the applied migrations down to `name`, that one included. */
async function undoTo(dataSource: DataSource, name: string): Promise<void> {
  expect(dataSource.migrations.some((m) => m.name === name)).toBe(true);
  for (;;) {
    const [last] = await dataSource.query(`SELECT name FROM typeorm_migrations ORDER BY id DESC LIMIT 1`);
    await dataSource.undoLastMigration();
    if (last.name === name) return;
  }
}

describe('migrations', () => {
  test('the migrations build the schema once: a second run applies nothing, and partial indexes keep their predicates', async () => {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url });
    try {
      const applied = await connectAndMigrate(dataSource);
      expect([...applied].sort()).toEqual(dataSource.migrations.map((m) => m.name).sort());
      expect(await connectAndMigrate(dataSource)).toEqual([]);
      // The migrations are the schema's only description: the partial indexes queries rely on are checked here.
      const partial = await dataSource.query(
        `SELECT c.relname AS name, pg_get_expr(x.indpred, x.indrelid) AS predicate
           FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relname IN ('scores_kind_label_idx', 'customers_dirty_since_idx') ORDER BY 1`,
      );
      expect(partial).toEqual([
        { name: 'customers_dirty_since_idx', predicate: '(dirty_since IS NOT NULL)' },
        { name: 'scores_kind_label_idx', predicate: '(label IS NOT NULL)' },
      ]);
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
      await undoTo(dataSource, 'ScoreHistorySupersededValues1764500000000');
      // Before: a score's newest history point repeats it. Customer 3's history was cleared by hand down to an older value.
      await dataSource.query(
        `INSERT INTO scores (customer_id, kind, value, label, components, model_version, computed_at) VALUES
           (1, 'RFM', 3, 'Loyal', '{}', 2, '2026-03-01Z'), (2, 'ENGAGEMENT', 5, NULL, '{}', 1, '2026-03-01Z'), (3, 'CLV', 9, NULL, '{}', 1, '2026-03-01Z')`,
      );
      await dataSource.query(
        `INSERT INTO score_history (customer_id, kind, value, label, components, recorded_at) VALUES
           (1, 'RFM', 2, 'Hibernating', '{}', '2026-01-01Z'), (1, 'RFM', 3, 'Loyal', '{}', '2026-02-01Z'), (3, 'CLV', 7, NULL, '{}', '2026-01-01Z')`,
      );
      const history = () =>
        dataSource.query(`SELECT customer_id::int AS id, value, to_char(recorded_at AT TIME ZONE 'UTC', 'MM-DD') AS at FROM score_history ORDER BY 1, 3`);
      const state = async () => ({
        scores: await dataSource.query(`SELECT customer_id::int AS id, to_char(changed_at AT TIME ZONE 'UTC', 'MM-DD') AS "changedAt" FROM scores ORDER BY 1`),
        history: await history(),
      });
      await connectAndMigrate(dataSource);
      expect(await state()).toEqual({
        scores: [
          { id: 1, changedAt: '02-01' },
          { id: 2, changedAt: '03-01' },
          { id: 3, changedAt: '03-01' },
        ],
        history: [
          { id: 1, value: 2, at: '01-01' },
          { id: 3, value: 7, at: '01-01' },
        ],
      });
      await undoTo(dataSource, 'ScoreHistorySupersededValues1764500000000');
      expect(await history()).toEqual([
        { id: 1, value: 2, at: '01-01' },
        { id: 1, value: 3, at: '02-01' },
        { id: 2, value: 5, at: '03-01' },
        { id: 3, value: 7, at: '01-01' },
        { id: 3, value: 9, at: '03-01' },
      ]);
    } finally {
      await dataSource.destroy();
      await database.drop();
    }
  });

  test('score components: rows written before keep their object; rows written as figures get one when undone', async () => {
    const database = await createTestDatabase();
    const dataSource = createDataSource({ url: database.url });
    try {
      await connectAndMigrate(dataSource);
      await undoTo(dataSource, 'ScoreComponentArrays1764600000000');
      // As the previous release wrote them (rounded for reading).
      const before: [number, string, Record<string, unknown>][] = [
        [1, 'RFM', { recency: 12.3457, frequency: 4, monetary: 250.5, r: 5, f: 4, m: 3, code: '543' }],
        [2, 'ENGAGEMENT', { raw: 3.141593, byChannel: { web: 12.5, email: 30.25 } }],
      ];
      for (const [id, kind, components] of before) {
        await dataSource.query(
          `INSERT INTO scores (customer_id, kind, value, label, components, model_version, computed_at) VALUES ($1, $2, 1, NULL, $3, 1, now())`,
          [id, kind, JSON.stringify(components)],
        );
      }
      await dataSource.query(
        `INSERT INTO score_history (customer_id, kind, value, label, components, recorded_at) SELECT customer_id, kind, 0, NULL, components, now() FROM scores`,
      );
      await connectAndMigrate(dataSource);
      // Nothing is rewritten: the objects stay and are what the API reads.
      type Row = { id: number; kind: string; components: Record<string, unknown> | null; values: number[]; keys: string[] | null };
      const read = (table: string) =>
        dataSource.query(`SELECT customer_id::int AS id, kind, components, component_values AS values, component_keys AS keys FROM ${table} ORDER BY 1`);
      for (const table of ['scores', 'score_history']) {
        const rows: Row[] = await read(table);
        expect(rows.map((r) => [r.values, r.keys])).toEqual([
          [[], null],
          [[], null],
        ]);
        expect(rows.map((r) => [r.id, r.kind, componentsOf(r.kind, r.components, r.values, r.keys)])).toEqual(before);
      }
      // Written since: figures only (unrounded; ENGAGEMENT's raw, points per raw unit, then each channel's raw sum).
      const figures: [number, string, number[], string[] | null, Record<string, unknown>][] = [
        [3, 'RFM', [12.345678, 4, 250.50004, 5, 4, 3], null, { recency: 12.3457, frequency: 4, monetary: 250.5, r: 5, f: 4, m: 3, code: '543' }],
        [4, 'ENGAGEMENT', [3.1415926, 10, 1.25, 3.025], ['web', 'email'], { raw: 3.141593, byChannel: { web: 12.5, email: 30.25 } }],
        [
          5,
          'CLV',
          [2, 30.428571, 38.857142, 21.5, 0.72727272, 1.2345671, 24.1, 28.43211, 52],
          null,
          { x: 2, tx: 30.4286, T: 38.8571, m: 21.5, pAlive: 0.727273, expectedPurchases: 1.234567, expectedAverageValue: 24.1, clv: 28.4321, horizonWeeks: 52 },
        ],
        [6, 'CHURN_RISK', [0, 0, 3.142857, 1], null, { x: 0, tx: 0, T: 3.1429, pAlive: 1 }],
        [7, 'CLV', [], null, {}],
      ];
      for (const [id, kind, values, keys] of figures) {
        await dataSource.query(
          `INSERT INTO scores (customer_id, kind, value, label, component_values, component_keys, model_version, computed_at) VALUES ($1, $2, 1, NULL, $3, $4, 1, now())`,
          [id, kind, values, keys],
        );
      }
      const rows: Row[] = (await read('scores')).slice(2);
      expect(rows.map((r) => r.components)).toEqual(figures.map(() => null));
      expect(rows.map((r) => [r.id, r.kind, componentsOf(r.kind, r.components, r.values, r.keys)])).toEqual(
        figures.map(([id, kind, , , components]) => [id, kind, components]),
      );
      await undoTo(dataSource, 'ScoreComponentArrays1764600000000');
      expect(await dataSource.query(`SELECT customer_id::int AS id, kind, components FROM scores ORDER BY 1`)).toEqual([
        ...before.map(([id, kind, components]) => ({ id, kind, components })),
        ...figures.map(([id, kind, , , components]) => ({ id, kind, components })),
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

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

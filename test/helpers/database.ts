import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A fresh database on the suite's embedded cluster; dropped by `drop()`. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.RAPPORT_TEST_PG_ADMIN_URL;
  if (!url) throw new Error('RAPPORT_TEST_PG_ADMIN_URL is not set: run the tests with `npm test` (Jest global setup starts Postgres)');
  return url;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = adminUrl().replace(/\/postgres$/, `/${name}`);
  return {
    url,
    name,
    async drop() {
      const client = new Client({ connectionString: adminUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** The Redis URL of the suite's redis-server; fails with the reason when it is not installed. */
export function testRedisUrl(): string {
  const url = process.env.RAPPORT_TEST_REDIS_URL;
  if (!url) throw new Error(process.env.RAPPORT_TEST_REDIS_MISSING ?? 'redis-server was not started by the global setup');
  return url;
}

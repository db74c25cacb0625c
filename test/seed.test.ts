import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../src/app';
import { seedDemoData } from '../src/seed/demo-data';
import { createTestDatabase, type TestDatabase } from './helpers/database';

const until = new Date('2026-06-30T00:00:00Z');

async function fingerprint(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`
      SELECT (SELECT md5(string_agg(kind || display_name || traits::text || COALESCE(organization_id::text, '-') || created_at::text || updated_at::text, ',' ORDER BY id))
                FROM customers) AS customers,
             (SELECT md5(string_agg(type || value, ',' ORDER BY type, value)) FROM customer_identifiers) AS identifiers,
             (SELECT md5(string_agg(channel || type || occurred_at::text || COALESCE(value::text, '-') || properties::text || external_id, ',' ORDER BY id))
                FROM interactions) AS interactions`);
    return rows[0];
  } finally {
    await client.end();
  }
}

describe('demo data seed', () => {
  const databases: TestDatabase[] = [];
  afterAll(() => Promise.all(databases.map((d) => d.drop())));

  async function seeded(seed: number) {
    const database = await createTestDatabase();
    databases.push(database);
    await (await openDatabase(database.url, 'seed-test')).destroy();
    const result = await seedDemoData(database.url, { customers: 400, interactions: 8000, seed, until });
    return { database, result };
  }

  test('is deterministic for a seed and different for another', async () => {
    const a = await seeded(11);
    const b = await seeded(11);
    const c = await seeded(12);
    expect(a.result).toMatchObject({ customers: 400, interactions: 8000 });
    expect(await fingerprint(a.database.url)).toEqual(await fingerprint(b.database.url));
    expect((await fingerprint(c.database.url)).interactions).not.toBe((await fingerprint(a.database.url)).interactions);
  });

  test('is realistic: organisations with members, multi-channel activity, valued purchases, quiet customers, consistent stats', async () => {
    const { database } = await seeded(21);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const q = async (sql: string) => (await client.query(sql)).rows[0];
      expect((await q(`SELECT count(*)::int n FROM customers WHERE kind = 'ORGANIZATION'`)).n).toBe(20);
      expect((await q(`SELECT count(*)::int n FROM customers WHERE organization_id IS NOT NULL`)).n).toBeGreaterThan(100);
      expect((await q(`SELECT count(DISTINCT channel)::int n FROM interactions`)).n).toBeGreaterThanOrEqual(6);
      expect((await q(`SELECT min(value)::float8 lo, count(*)::int n FROM interactions WHERE type = 'purchase'`)).lo).toBeGreaterThan(0);
      expect((await q(`SELECT count(*)::int n FROM interactions WHERE type = 'purchase' AND value IS NULL`)).n).toBe(0);
      expect((await q(`SELECT count(DISTINCT traits->>'industry')::int n FROM customers`)).n).toBeGreaterThan(3);
      // Some customers went quiet long before the end of the data set.
      expect((await q(`SELECT count(*)::int n FROM customer_stats WHERE last_seen_at < '2026-03-31'`)).n).toBeGreaterThan(20);
      // Stats agree with the interactions they summarise.
      const mismatches = await q(`
        SELECT count(*)::int n FROM customer_stats s
          JOIN (SELECT customer_id, count(*)::int c, COALESCE(sum(value) FILTER (WHERE type IN ('purchase', 'order')), 0) v
                  FROM interactions GROUP BY customer_id) t USING (customer_id)
         WHERE s.interaction_count <> t.c OR s.transaction_value <> t.v`);
      expect(mismatches.n).toBe(0);
      expect((await q(`SELECT count(*)::int n FROM customers WHERE dirty_since IS NOT NULL`)).n).toBe(0);
    } finally {
      await client.end();
    }
  });

  test('`rapport seed` prints rows per second and a bad flag is a clear error', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const root = path.join(__dirname, '..');
    const run = (args: string[]) =>
      spawnSync(process.execPath, [path.join(root, 'bin/rapport.js'), 'seed', ...args], {
        env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run(['--customers', '200', '--interactions', '3000', '--seed', '5']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/seeded 200 customers, 3,000 interactions, .* interactions\/s\)/);
    const bad = run(['--customers', 'lots']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--customers must be a non-negative integer');
    const badDay = run(['--until', '2026-02-30']);
    expect(badDay.status).toBe(2);
    expect(badDay.stderr).toContain('--until must be a date as YYYY-MM-DD, got "2026-02-30"');
  });

  test('`rapport seed` makes the same data set again: with --until, and from the command it prints', async () => {
    const root = path.join(__dirname, '..');
    const seedInto = async (args: string[]) => {
      const database = await createTestDatabase();
      databases.push(database);
      const result = spawnSync(process.execPath, [path.join(root, 'bin/rapport.js'), 'seed', ...args], {
        env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(0);
      return { url: database.url, stdout: result.stdout };
    };
    const fixed = ['--customers', '150', '--interactions', '2000', '--seed', '7', '--until', '2026-01-31'];
    const a = await seedInto(fixed);
    const b = await seedInto(fixed);
    expect(await fingerprint(b.url)).toEqual(await fingerprint(a.url));
    // The last interaction lies before the end of the --until day.
    const client = new Client({ connectionString: a.url });
    await client.connect();
    const { rows } = await client.query(`SELECT max(occurred_at) AS last FROM interactions`);
    await client.end();
    expect((rows[0].last as Date).getTime()).toBeLessThanOrEqual(Date.parse('2026-01-31T00:00:00Z'));

    // Without --until the data set ends today; the command it prints makes it again.
    const today = await seedInto(['--customers', '150', '--interactions', '2000', '--seed', '7']);
    const again = /same data set again: rapport seed (.*)$/m.exec(today.stdout);
    expect(again?.[1]).toMatch(/--seed 7 --until \d{4}-\d{2}-\d{2}$/);
    const repeated = await seedInto(again![1].split(' '));
    expect(await fingerprint(repeated.url)).toEqual(await fingerprint(today.url));
    expect((await fingerprint(today.url)).interactions).not.toBe((await fingerprint(a.url)).interactions);
  });
});

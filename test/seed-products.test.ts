import { Client } from 'pg';
import { openDatabase } from '../src/app';
import { seedDemoData } from '../src/seed/demo-data';
import { createTestDatabase, type TestDatabase } from './helpers/database';

const until = new Date('2026-06-30T00:00:00Z');

/** Customers, identifiers, and interactions with their product (if any) set apart. */
async function fingerprint(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`
      SELECT (SELECT md5(string_agg(kind || display_name || traits::text || COALESCE(organization_id::text, '-'), ',' ORDER BY id)) FROM customers) AS customers,
             (SELECT md5(string_agg(type || value, ',' ORDER BY type, value)) FROM customer_identifiers) AS identifiers,
             (SELECT md5(string_agg(channel || type || occurred_at::text || COALESCE(value::text, '-') || (properties - 'product')::text || external_id, ',' ORDER BY id))
                FROM interactions) AS interactions,
             (SELECT md5(COALESCE(string_agg(properties->>'product', ',' ORDER BY id), '')) FROM interactions) AS products`);
    return rows[0] as Record<string, string>;
  } finally {
    await client.end();
  }
}

describe('seed with planted products (rapport seed --products)', () => {
  const databases: TestDatabase[] = [];
  afterAll(() => Promise.all(databases.map((d) => d.drop())));

  async function seeded(products: number, seed = 5) {
    const database = await createTestDatabase();
    databases.push(database);
    await (await openDatabase(database.url, 'seed-products-test')).destroy();
    await seedDemoData(database.url, { customers: 300, interactions: 6000, seed, until, products });
    return database.url;
  }

  test('adds products to purchases and page views only, reproducibly, and leaves everything else as the same seed without products', async () => {
    const plain = await seeded(0);
    const a = await seeded(40);
    const b = await seeded(40);
    const [fp, fa, fb] = [await fingerprint(plain), await fingerprint(a), await fingerprint(b)];
    expect(fa).toEqual(fb);
    expect({ ...fa, products: null }).toEqual({ ...fp, products: null });
    expect(fa.products).not.toBe(fp.products);
    const client = new Client({ connectionString: a });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT type, count(*)::int AS n, count(*) FILTER (WHERE properties ? 'product')::int AS with_product, count(DISTINCT properties->>'product')::int AS products
           FROM interactions GROUP BY type ORDER BY type`,
      );
      for (const row of rows) {
        if (row.type === 'purchase' || row.type === 'page_view') expect(row.with_product).toBe(row.n);
        else expect(row.with_product).toBe(0);
      }
      // Names say the family: 40 products in 2 families.
      const names = await client.query(`SELECT DISTINCT properties->>'product' AS p FROM interactions WHERE properties ? 'product'`);
      for (const { p } of names.rows) expect(p).toMatch(/^F0[01]-P00[0-3]\d$/);
    } finally {
      await client.end();
    }
  });

  test('customers mostly take products of their tastes: a customer’s products concentrate in few families', async () => {
    const url = await seeded(200, 9);
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      // Share of each customer's purchases in their most frequent family, against the 1 / 10 of a uniform draw.
      const { rows } = await client.query(`
        SELECT avg(top_share)::float8 AS share FROM (
          SELECT customer_id, max(n)::float8 / sum(n) AS top_share FROM (
            SELECT customer_id, split_part(properties->>'product', '-', 1) AS family, count(*) AS n
              FROM interactions WHERE properties ? 'product' GROUP BY 1, 2) f
           GROUP BY customer_id HAVING sum(n) >= 10) c`);
      expect(rows[0].share).toBeGreaterThan(0.35);
    } finally {
      await client.end();
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { connectAndMigrate, createDataSource } from '../../src/infra/database';
import { DISTRIBUTION, type TableDistribution } from '../../src/infra/distribution';
import { indexRebuild, keepFeatures, startRebuild, dropRebuild } from '../../src/modules/scores/score-rebuild';
import { SCORE_KINDS } from '../../src/modules/scores/score-kind';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { createRecommendationRebuild } from '../../src/modules/recommendations';

interface Key {
  name: string;
  kind: 'primary' | 'unique' | 'foreign';
  columns: string[];
  refTable?: string;
  refColumns?: string[];
}
interface Table {
  name: string;
  columns: string[];
  keys: Key[];
}

/** The tables of `public` as the database has them: columns, primary and unique keys (constraints and unique indexes), foreign keys. */
async function readSchema(db: DataSource): Promise<Map<string, Table>> {
  const tables = new Map<string, Table>();
  const rows: { table: string; columns: string[] }[] = await db.query(
    `SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      GROUP BY c.relname`,
  );
  for (const r of rows) tables.set(r.table, { name: r.table, columns: r.columns, keys: [] });
  const constraints: { table: string; name: string; type: string; columns: string[]; ref_table: string | null; ref_columns: string[] | null }[] =
    await db.query(
      `SELECT t.relname AS table, k.conname AS name, k.contype AS type,
            (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n) AS columns,
            r.relname AS ref_table,
            (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n) AS ref_columns
       FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_class r ON r.oid = k.confrelid
      WHERE n.nspname = 'public' AND k.contype IN ('p', 'u', 'f')`,
    );
  // Unique indexes that back no constraint are unique keys too (CREATE UNIQUE INDEX, partial ones included).
  const indexes: { table: string; name: string; columns: (string | null)[] }[] = await db.query(
    `SELECT t.relname AS table, i.relname AS name,
            (SELECT array_agg(a.attname::text ORDER BY u.i) FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, i)
               LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n) AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND x.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)`,
  );
  const kinds = { p: 'primary', u: 'unique', f: 'foreign' } as const;
  for (const c of constraints) {
    tables.get(c.table)?.keys.push({
      name: c.name,
      kind: kinds[c.type as keyof typeof kinds],
      columns: c.columns,
      ...(c.ref_table ? { refTable: c.ref_table, refColumns: c.ref_columns ?? [] } : {}),
    });
  }
  for (const i of indexes) tables.get(i.table)?.keys.push({ name: i.name, kind: 'unique', columns: i.columns.map((c) => c ?? '(expression)') });
  return tables;
}

/** What keeps `table` from being laid out as `layout` says, one line per constraint (by name) or table-level rule. */
function violations(table: Table, layout: TableDistribution): { constraint: string; reason: string }[] {
  const out: { constraint: string; reason: string }[] = [];
  const perCustomer = table.columns.includes('customer_id');
  const distributed = layout.role === 'customer' || layout.role === 'own-hash';
  if (distributed) {
    const key = layout.key;
    if (!key || !table.columns.includes(key)) out.push({ constraint: '(table)', reason: `distribution column ${key} is not a column` });
    for (const k of table.keys) {
      if (k.kind !== 'foreign' && key && !k.columns.includes(key)) out.push({ constraint: k.name, reason: `${k.kind} key (${k.columns}) lacks ${key}` });
    }
  } else if (perCustomer) {
    out.push({ constraint: '(table)', reason: `has customer_id but is a ${layout.role} table` });
  }
  for (const k of table.keys.filter((k) => k.kind === 'foreign')) {
    const target = DISTRIBUTION[k.refTable!];
    if (!target) continue; // reported as unclassified
    if (target.role === 'reference') continue;
    if (layout.role === 'local' && target.role === 'local') continue;
    const colocated = layout.role === 'customer' && target.role === 'customer' && k.columns.some((c, i) => c === layout.key && k.refColumns![i] === target.key);
    if (!colocated)
      out.push({
        constraint: k.name,
        reason: `foreign key (${k.columns}) → ${k.refTable}(${k.refColumns}) does not join a ${layout.role} table on its distribution column`,
      });
  }
  return out;
}

describe('distribution: every table can be laid out on Citus as src/infra/distribution.ts says', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let schema: Map<string, Table>;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = createDataSource({ url: database.url });
    await connectAndMigrate(dataSource);
    // The tables a full recompute creates at run time, as it creates them.
    await startRebuild(dataSource);
    for (const kind of SCORE_KINDS) await keepFeatures(dataSource, kind, 'SELECT id AS customer_id FROM customers', []);
    await indexRebuild(dataSource);
    await createRecommendationRebuild(dataSource);
    schema = await readSchema(dataSource);
    await dropRebuild(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  test('every table is classified, and every classified table exists', () => {
    const unclassified = [...schema.keys()].filter((t) => !DISTRIBUTION[t]).sort();
    expect(unclassified).toEqual([]);
    const missing = Object.keys(DISTRIBUTION)
      .filter((t) => !schema.has(t))
      .sort();
    expect(missing).toEqual([]);
  });

  test('customers is the anchor, distributed by id; every per-customer table is distributed by customer_id', () => {
    expect(DISTRIBUTION.customers).toMatchObject({ role: 'customer', key: 'id' });
    const perCustomer = [...schema.values()].filter((t) => t.columns.includes('customer_id'));
    expect(perCustomer.length).toBeGreaterThan(5);
    for (const table of perCustomer) {
      const layout = DISTRIBUTION[table.name];
      if (!layout) continue;
      expect([table.name, layout.role === 'own-hash' || layout.key === 'customer_id']).toEqual([table.name, true]);
    }
  });

  test("primary, unique and foreign keys follow each table's role, apart from the pending constraints", () => {
    const found: string[] = [];
    for (const table of schema.values()) {
      const layout = DISTRIBUTION[table.name];
      if (!layout) continue;
      const pending = new Set(layout.pending?.constraints ?? []);
      for (const v of violations(table, layout)) if (!pending.has(v.constraint)) found.push(`${table.name}.${v.constraint}: ${v.reason}`);
    }
    expect(found).toEqual([]);
  });

  test('each pending constraint still breaks the rule (remove it once fixed) and names a step of docs/scale-out.md', () => {
    const doc = readFileSync(join(__dirname, '../../docs/scale-out.md'), 'utf8');
    const steps = [...doc.matchAll(/^### (.+)$/gm)].map((m) => m[1]!.trim());
    for (const [name, layout] of Object.entries(DISTRIBUTION)) {
      if (!layout.pending) continue;
      const table = schema.get(name)!;
      const broken = new Set(violations(table, layout).map((v) => v.constraint));
      expect([name, layout.pending.constraints.filter((c) => !broken.has(c))]).toEqual([name, []]);
      expect([name, steps.includes(layout.pending.step)]).toEqual([name, true]);
    }
  });

  test('the rule catches a per-customer table born with a key that leaves customer_id out', async () => {
    await dataSource.query(
      `CREATE TABLE probe_alerts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers(id))`,
    );
    try {
      const probe = (await readSchema(dataSource)).get('probe_alerts')!;
      expect(
        violations(probe, { role: 'customer', key: 'customer_id', why: '' })
          .map((v) => v.constraint)
          .sort(),
      ).toEqual(['probe_alerts_pkey']);
      expect(
        violations(probe, { role: 'local', why: '' })
          .map((v) => v.constraint)
          .sort(),
      ).toEqual(['(table)', 'probe_alerts_customer_id_fkey']);
    } finally {
      await dataSource.query(`DROP TABLE probe_alerts`);
    }
  });
});

import type { TestApp } from './app';

const DAY = 86_400_000;

/** A customer to insert directly (tests of segments build their own small data sets). */
export interface SeedCustomer {
  name: string;
  email?: string;
  lifecycleStage?: string | null;
  owner?: string | null;
  traits?: Record<string, unknown>;
  /** Interactions, `daysAgo` before now (use x.5 days to stay clear of window edges). */
  interactions?: { channel: string; type: string; daysAgo: number; value?: number | null; properties?: Record<string, unknown> }[];
  scores?: { kind: string; value: number; label: string | null }[];
}

/**
 * Inserts customers, identifiers, interactions and scores with SQL, then runs
 * the customer refresh (stats and every refresh step) for them. Returns
 * database ids by name.
 */
export async function seedCustomers(app: TestApp, customers: SeedCustomer[], { refresh = true } = {}): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const c of customers) {
    const [row] = await app.sql<{ id: string }>(
      `INSERT INTO customers (display_name, lifecycle_stage, owner, traits, dirty_since) VALUES ($1, $2, $3, $4::jsonb, now()) RETURNING id::text`,
      [c.name, c.lifecycleStage ?? null, c.owner ?? null, JSON.stringify(c.traits ?? {})],
    );
    ids.set(c.name, row.id);
    if (c.email) await app.sql(`INSERT INTO customer_identifiers (customer_id, type, value) VALUES ($1, 'email', $2)`, [row.id, c.email]);
    for (const [n, i] of (c.interactions ?? []).entries()) {
      await app.sql(
        `INSERT INTO interactions (customer_id, channel, type, occurred_at, value, properties, source, external_id)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'segments-test', $7)`,
        [
          row.id,
          i.channel,
          i.type,
          new Date(Date.now() - i.daysAgo * DAY).toISOString(),
          i.value ?? null,
          JSON.stringify(i.properties ?? {}),
          `${c.name}-${n}-${row.id}`,
        ],
      );
    }
  }
  if (refresh) await app.runtime.services.stats.refreshCustomers([...ids.values()]);
  for (const c of customers) {
    for (const s of c.scores ?? []) {
      await app.sql(
        `INSERT INTO scores (customer_id, kind, value, label, model_version, computed_at) VALUES ($1, $2, $3, $4, 1, now())
         ON CONFLICT (customer_id, kind) DO UPDATE SET value = EXCLUDED.value, label = EXCLUDED.label`,
        [ids.get(c.name), s.kind, s.value, s.label],
      );
    }
  }
  return ids;
}

export const gid = (typename: string, id: string) => Buffer.from(`${typename}:${id}`).toString('base64');

import { Pool } from 'pg';
import { copyRows } from './copy';
import { Random } from './random';

/** Options of {@link seedDemoData}. */
export interface SeedOptions {
  customers: number;
  interactions: number;
  seed: number;
  /** Customers per COPY batch. @defaultValue 10000 */
  batchSize?: number;
  /**
   * The data set ends here (most recent interactions). Everything generated
   * is a function of the seed, the sizes and this date.
   * @defaultValue the start of the current UTC day ({@link seedAnchor})
   */
  until?: Date;
  onProgress?: (progress: { phase: string; done: number; total: number }) => void;
  /**
   * With a catalogue of this many products, purchases and page views carry
   * `properties.product`, drawn from a planted structure (see
   * {@link ProductTastes}) that recommendation models can find and
   * `bench/recommendations.ts` scores them on. Drawn from a random stream of
   * its own, so every other field is the same as without products.
   * @defaultValue 0 (no products)
   */
  products?: number;
}

export interface SeedResult {
  customers: number;
  interactions: number;
  identifiers: number;
  seconds: number;
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Katherine',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
  'Edsger',
  'Hedy',
  'Tim',
  'Radia',
  'Guido',
  'Anita',
  'Bjarne',
  'Shafi',
  'Donald',
  'Sophie',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Johnson',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
  'Dijkstra',
  'Lamarr',
  'Berners-Lee',
  'Perlman',
  'van Rossum',
  'Borg',
  'Stroustrup',
  'Goldwasser',
  'Knuth',
  'Wilson',
];
const COMPANY = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Vandelay',
  'Stark',
  'Wayne',
  'Wonka',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Massive',
  'Aperture',
  'Oscorp',
];
const SUFFIX = ['Corp', 'Industries', 'Labs', 'Group', 'Holdings', 'GmbH', 'Ltd'];
const INDUSTRIES = ['finance', 'retail', 'healthcare', 'technology', 'manufacturing', 'education', 'media', 'logistics'] as const;
const SIZE_TIERS = [
  ['smb', 6],
  ['mid_market', 3],
  ['enterprise', 1],
] as const;
const RISK = [
  ['low', 6],
  ['medium', 3],
  ['high', 1],
] as const;
const CITIES = ['Berlin', 'London', 'New York', 'San Francisco', 'Paris', 'Tokyo', 'Toronto', 'Sydney', 'Madrid', 'Amsterdam'];
const STAGES = [
  ['lead', 2],
  ['prospect', 2],
  ['customer', 5],
  ['churned', 1],
] as const;
const AREA_CODES = ['212', '415', '312', '617', '206', '303', '512', '404'];
/** channel, type, weight, direction; purchases carry values. */
const EVENTS = [
  ['email', 'email_sent', 20, 'OUTBOUND'],
  ['email', 'open', 12, 'INBOUND'],
  ['email', 'click', 5, 'INBOUND'],
  ['web', 'page_view', 25, 'INBOUND'],
  ['web', 'session', 8, 'INBOUND'],
  ['payment', 'purchase', 8, 'INBOUND'],
  ['support', 'ticket_opened', 3, 'INBOUND'],
  ['support', 'ticket_resolved', 2, 'OUTBOUND'],
  ['phone', 'call', 3, 'INBOUND'],
  ['social', 'mention', 2, 'INBOUND'],
  ['in_person', 'meeting', 1, 'OUTBOUND'],
] as const;
const EVENT_WEIGHTS = EVENTS.map((e, i) => [i, e[2]] as const);
/** Retail seasonality: more activity towards year end. */
const MONTH_WEIGHT = [0.8, 0.75, 0.9, 0.9, 0.95, 0.9, 0.85, 0.9, 1.0, 1.1, 1.4, 1.6];

const DAY = 86_400_000;

/**
 * The planted structure of products: products belong to families
 * (`F03-P0012` is product 12, of family 3); families and the products in a
 * family are taken with Zipf-like popularity. Each customer has two taste
 * families (a person in an organisation shares the organisation's first one
 * more often than not), and half of them change their second taste at some
 * point in their history. A product interaction comes from one of the
 * customer's tastes at that time with probability 0.8, otherwise from the
 * catalogue at large by popularity.
 */
export class ProductTastes {
  readonly families: number;
  private readonly familyWeights: (readonly [number, number])[];
  private readonly inFamily: (readonly [number, number])[][];
  private readonly overall: (readonly [number, number])[];
  private readonly tastes = new Map<number, { first: number; second: number; next: number; switchAt: number }>();

  constructor(
    readonly products: number,
    private readonly random: Random,
  ) {
    this.families = Math.max(2, Math.round(products / 20));
    this.familyWeights = Array.from({ length: this.families }, (_, f) => [f, 1 / (f + 1) ** 0.7] as const);
    this.inFamily = Array.from({ length: this.families }, () => [] as (readonly [number, number])[]);
    for (let p = 0; p < products; p++) {
      const family = p % this.families;
      this.inFamily[family].push([p, 1 / (this.inFamily[family].length + 1) ** 0.8]);
    }
    this.overall = this.inFamily.flatMap((members, f) => members.map(([p, w]) => [p, w * this.familyWeights[f][1]] as const));
  }

  static productName(p: number, families: number): string {
    return `F${String(p % families).padStart(2, '0')}-P${String(p).padStart(4, '0')}`;
  }

  /** Draws the tastes of a customer; `organizationId` shares its first taste with the customer's (0.7). */
  assign(customerId: number, from: number, to: number, organizationId: number | null): void {
    const shared = organizationId !== null ? this.tastes.get(organizationId) : undefined;
    const first = shared && this.random.chance(0.7) ? shared.first : this.random.weighted(this.familyWeights);
    const second = this.random.weighted(this.familyWeights);
    const drifts = this.random.chance(0.5);
    const next = this.random.weighted(this.familyWeights);
    const switchAt = drifts ? from + this.random.next() * (to - from) : Infinity;
    this.tastes.set(customerId, { first, second, next, switchAt });
  }

  /** The product a customer's interaction at `at` is about. */
  product(customerId: number, at: number): string {
    const taste = this.tastes.get(customerId);
    let p: number;
    if (taste && this.random.chance(0.8)) {
      const family = this.random.chance(0.5) ? taste.first : at >= taste.switchAt ? taste.next : taste.second;
      p = this.random.weighted(this.inFamily[family]);
    } else p = this.random.weighted(this.overall);
    return ProductTastes.productName(p, this.families);
  }
}

/**
 * The default end of a data set: the start of the current UTC day, so that
 * two seeds with the same options on one day are identical, while the demo
 * data stays recent (a seed anchored on a fixed date would have no active
 * customers a year later).
 */
export function seedAnchor(now = new Date()): Date {
  return new Date(Math.floor(now.getTime() / DAY) * DAY);
}

/**
 * Builds a deterministic, realistic data set with COPY: organisations and
 * persons with traits, identifiers (email, phone, shop ids), and multi-channel
 * interactions over two years with seasonality, purchases with values, and a
 * share of customers that go quiet. Then computes `customer_stats` set-based.
 */
export async function seedDemoData(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const until = (options.until ?? seedAnchor()).getTime();
  const span = 730 * DAY;
  const batchSize = options.batchSize ?? 10_000;
  const pool = new Pool({ connectionString: databaseUrl, max: 2, application_name: 'rapport-seed' });
  const client = await pool.connect();
  const random = new Random(options.seed);
  const tastes = options.products ? new ProductTastes(options.products, new Random(options.seed * 7919 + 17)) : null;
  let identifiers = 0;
  let interactionsWritten = 0;
  try {
    const { rows } = await client.query(`SELECT nextval(pg_get_serial_sequence('customers', 'id'))::bigint AS first`);
    const firstId = Number(rows[0].first);
    await client.query(`SELECT setval(pg_get_serial_sequence('customers', 'id'), $1)`, [firstId + options.customers]);
    const seedTag = `seed-${options.seed}-${firstId}`;

    // Interactions are spread over customers by an activity weight with a heavy tail.
    const weights: number[] = [];
    const profiles: { start: number; quietFrom: number; org: boolean }[] = [];
    const orgIds: number[] = [];
    for (let i = 0; i < options.customers; i++) {
      const org = i % 20 === 0;
      const start = until - span + random.next() * span * 0.7;
      const quiet = random.chance(0.25) ? start + random.next() * (until - start) : until;
      profiles.push({ start, quietFrom: quiet, org });
      weights.push(org ? 0.2 : random.logNormal(0, 1));
    }
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    let remaining = options.interactions;
    const counts = weights.map((w, i) => {
      const n = i === weights.length - 1 ? remaining : Math.min(remaining, Math.round((w / totalWeight) * options.interactions));
      remaining -= n;
      return n;
    });

    let eventSeq = 0;
    for (let from = 0; from < options.customers; from += batchSize) {
      const to = Math.min(options.customers, from + batchSize);
      await client.query('BEGIN');
      const customerRows: unknown[][] = [];
      const identifierRows: unknown[][] = [];
      const interactionRows: unknown[][] = [];
      for (let i = from; i < to; i++) {
        const id = firstId + i;
        const p = profiles[i];
        if (p.org) {
          tastes?.assign(id, p.start, p.quietFrom, null);
          orgIds.push(id);
          const name = `${random.pick(COMPANY)} ${random.pick(SUFFIX)} ${Math.floor(i / 20) + 1}`;
          customerRows.push([
            id,
            'ORGANIZATION',
            name,
            null,
            'customer',
            random.pick(['sam', 'lee', 'kim', 'alex']),
            {
              industry: random.pick(INDUSTRIES),
              sizeTier: random.weighted(SIZE_TIERS),
              riskLevel: random.weighted(RISK),
              employees: random.int(5, 20_000),
              country: random.pick(['US', 'DE', 'GB', 'FR', 'JP']),
            },
            new Date(p.start),
          ]);
          identifierRows.push([id, 'crm', `org-${id}`]);
          identifiers++;
        } else {
          const first = random.pick(FIRST);
          const last = random.pick(LAST);
          const orgId = orgIds.length && random.chance(0.5) ? orgIds[orgIds.length - 1 - random.int(0, Math.min(orgIds.length - 1, 5))] : null;
          tastes?.assign(id, p.start, p.quietFrom, orgId);
          customerRows.push([
            id,
            'PERSON',
            `${first} ${last}`,
            orgId,
            random.weighted(STAGES),
            null,
            {
              age: random.int(18, 80),
              city: random.pick(CITIES),
              industry: random.pick(INDUSTRIES),
              riskLevel: random.weighted(RISK),
              plan: random.pick(['free', 'basic', 'pro']),
            },
            new Date(p.start),
          ]);
          identifierRows.push([id, 'email', `${first}.${last}.${id}@example.com`.toLowerCase().replace(/[^a-z0-9.@-]/g, '')]);
          identifiers++;
          if (random.chance(0.5)) {
            identifierRows.push([
              id,
              'phone',
              `+1${AREA_CODES[id % AREA_CODES.length]}${String(2_000_000 + (Math.floor(id / AREA_CODES.length) % 7_999_999)).padStart(7, '0')}`,
            ]);
            identifiers++;
          }
          if (random.chance(0.3)) {
            identifierRows.push([id, 'shopify', `shop-${id}`]);
            identifiers++;
          }
        }
        for (let k = 0; k < counts[i]; k++) {
          const [channel, type, , direction] = EVENTS[random.weighted(EVENT_WEIGHTS)];
          let at = p.start + random.next() * (p.quietFrom - p.start);
          // Rejection step for seasonality: resample months with low weight.
          if (random.next() > MONTH_WEIGHT[new Date(at).getUTCMonth()] / 1.6) at = p.start + random.next() * (p.quietFrom - p.start);
          const purchase = type === 'purchase';
          const product = tastes && (purchase || type === 'page_view') ? { product: tastes.product(id, at) } : {};
          interactionRows.push([
            id,
            channel,
            type,
            direction,
            new Date(at),
            purchase ? Math.round(random.logNormal(3.5, 0.8) * 100) / 100 : null,
            purchase ? 'USD' : null,
            channel === 'support' || channel === 'social' ? Math.round((random.next() * 2 - 1) * 100) / 100 : null,
            purchase
              ? { items: random.int(1, 5), ...product }
              : channel === 'web'
                ? { path: random.pick(['/', '/pricing', '/docs', '/blog', '/checkout']), ...product }
                : {},
            'seed',
            `${seedTag}-${eventSeq++}`,
          ]);
        }
      }
      // updated_at as created_at: a default of now() would differ between two seeds of the same data set.
      const customerCopy = customerRows.map((row) => [...row, row[row.length - 1]]);
      await copyRows(
        client,
        'customers',
        ['id', 'kind', 'display_name', 'organization_id', 'lifecycle_stage', 'owner', 'traits', 'created_at', 'updated_at'],
        customerCopy,
      );
      await copyRows(client, 'customer_identifiers', ['customer_id', 'type', 'value'], identifierRows);
      interactionsWritten += await copyRows(
        client,
        'interactions',
        ['customer_id', 'channel', 'type', 'direction', 'occurred_at', 'value', 'currency', 'sentiment', 'properties', 'source', 'external_id'],
        interactionRows,
      );
      await client.query('COMMIT');
      options.onProgress?.({ phase: 'customers', done: to, total: options.customers });
    }
    options.onProgress?.({ phase: 'stats', done: 0, total: 1 });
    await client.query(
      `INSERT INTO customer_stats (customer_id, interaction_count, first_seen_at, last_seen_at, transaction_count, transaction_value, channels)
       SELECT t.customer_id, t.n, t.first_seen, t.last_seen, t.tx, t.tv, c.channels
         FROM (SELECT customer_id, count(*)::int n, min(occurred_at) first_seen, max(occurred_at) last_seen,
                      (count(*) FILTER (WHERE type IN ('purchase', 'order')))::int tx,
                      COALESCE(sum(value) FILTER (WHERE type IN ('purchase', 'order')), 0) tv
                 FROM interactions WHERE customer_id BETWEEN $1 AND $2 GROUP BY customer_id) t
         JOIN (SELECT customer_id, jsonb_object_agg(channel, n) channels
                 FROM (SELECT customer_id, channel, count(*)::int n FROM interactions
                        WHERE customer_id BETWEEN $1 AND $2 GROUP BY 1, 2) x GROUP BY customer_id) c USING (customer_id)
       ON CONFLICT (customer_id) DO NOTHING`,
      [firstId, firstId + options.customers - 1],
    );
    await client.query('ANALYZE customers; ANALYZE interactions; ANALYZE customer_identifiers; ANALYZE customer_stats');
    options.onProgress?.({ phase: 'stats', done: 1, total: 1 });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await pool.end();
  }
  return { customers: options.customers, interactions: interactionsWritten, identifiers, seconds: (Date.now() - started) / 1000 };
}

/** A progress bar on a terminal, plain lines otherwise. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr) {
  const started = Date.now();
  let lastLine = 0;
  return ({ phase, done, total }: { phase: string; done: number; total: number }) => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
    const ratio = total ? done / total : 1;
    const bar = '#'.repeat(Math.round(ratio * 30)).padEnd(30, ' ');
    const text = `${phase.padEnd(9)} [${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${phase === 'customers' ? `${rate.toLocaleString('en-US')} customers/s` : ''}`;
    if (stream.isTTY) stream.write(`\r${text}${done === total ? '\n' : ''}`);
    else if (Date.now() - lastLine > 2_000 || done === total) {
      stream.write(text + '\n');
      lastLine = Date.now();
    }
  };
}

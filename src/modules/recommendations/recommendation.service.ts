import type { DataSource, EntityManager } from 'typeorm';
import { fail } from '../../errors/catalog';
import { inTransaction, openPooledSession } from '../../infra/database';
import type { Logger } from '../../infra/logger';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import { pageSize, SqlParams, type SortKey } from '../../infra/sql-filter';
import type { PersonalDataPolicy } from '../access';
import { publish } from '../events';
import { SCORE_WRITERS_LOCK, type RecomputeJobRecord } from '../scores';
import { fitNeighbours } from './model/fit';
import { columnTotals, type Interactions } from './model/matrix';
import { TopK, type Neighbours } from './model/neighbours';
import { readProductMatrix, type ProductMatrix } from './model/read';
import { Scorer } from './model/score';
import { copyText, fittedSettings, literal, ownedProductsSql, textArrayLiteral, type FittedSettings } from './recommendation-sql';
import { copyRows } from './copy';
import { DEFAULT_SETTINGS, validateRecommendationSettings, type RecommendationSettings } from './settings';

/** Session advisory lock held by a full recompute: one at a time (they share the rebuild tables). */
export const RECOMMENDATIONS_RECOMPUTE_LOCK = 727_274_020;

/** Working tables of a full recompute: left out of a customer's export, erased like the rest. */
export const RECOMMENDATION_REBUILD_TABLES: readonly string[] = ['customer_recommendations_rebuild'];

/**
 * Creates the working tables of a full recompute, empty and without indexes
 * (built after they are filled): the customers' new lists and the new
 * neighbours, swapped in at the end.
 */
export async function createRecommendationRebuild(db: { query(sql: string): Promise<unknown> }): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS customer_recommendations_rebuild, product_neighbours_rebuild`);
  await db.query(`CREATE TABLE customer_recommendations_rebuild (LIKE customer_recommendations INCLUDING DEFAULTS) WITH (autovacuum_enabled = false)`);
  await db.query(`CREATE TABLE product_neighbours_rebuild (LIKE product_neighbours)`);
}

/** The recommendation model as the API shows it. */
export interface RecommendationModelRecord {
  settings: RecommendationSettings;
  /** The settings the current fit used, its algorithm and catalogue; null before the first fit. */
  fitted: Record<string, unknown> | null;
  diagnostics: Record<string, unknown> | null;
  fittedAt: Date | null;
  version: number;
}

/** How a recommendation came about. */
export type RecommendationBasis = 'HISTORY' | 'ORGANIZATION' | 'POPULAR';

export interface RecommendationReasonRecord {
  kind: 'OWNED_PRODUCT' | 'POPULAR_IN_ORGANIZATION' | 'POPULAR';
  product: string | null;
  weight: number;
  text: string;
}

export interface ProductRecommendationRecord {
  product: string;
  score: number;
  rank: number;
  basis: RecommendationBasis;
  because: RecommendationReasonRecord[];
}

export interface SimilarProductRecord {
  product: string;
  weight: number;
  rank: number;
}

/** What a full recompute did: counts and seconds per step. */
export interface RecommendationOutcome {
  version: number;
  customers: number;
  products: number;
  pairs: number;
  seconds: Record<string, number>;
}

export const RECOMMENDATION_LIMITS = { defaultFirst: 10, maxSimilar: 200, maxReasons: 3 } as const;

const AUDIENCE_KEY: SortKey[] = [
  { sql: 'a.score', direction: 'DESC', cast: 'float8' },
  { sql: 'a.customer_id', direction: 'ASC', cast: 'bigint' },
];

interface StoredRow {
  settings: Record<string, unknown>;
  fitted: (FittedSettings & Record<string, unknown>) | null;
  diagnostics: Record<string, unknown> | null;
  fitted_at: Date | null;
  version: number;
}

/**
 * Product recommendations: the model's settings, the full recompute (fit
 * product neighbours in the worker, score every customer into a rebuild,
 * swap), the per-customer refresh in SQL after ingest, and the reads.
 */
export class RecommendationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    private readonly enqueueRecompute: () => Promise<RecomputeJobRecord>,
    private readonly personalData?: PersonalDataPolicy,
  ) {}

  /** Starts (or joins) a full recompute: the job `recomputeJob(id)` reports on. */
  requestRecompute(): Promise<RecomputeJobRecord> {
    return this.enqueueRecompute();
  }

  private async stored(db: Pick<EntityManager, 'query'> = this.dataSource): Promise<StoredRow> {
    const [row] = await db.query(`SELECT settings, fitted, diagnostics, fitted_at, version FROM recommendation_model WHERE id = 1`);
    return row ?? { settings: {}, fitted: null, diagnostics: null, fitted_at: null, version: 0 };
  }

  async model(): Promise<RecommendationModelRecord> {
    const row = await this.stored();
    return {
      settings: { ...DEFAULT_SETTINGS, ...row.settings } as RecommendationSettings,
      fitted: row.fitted,
      diagnostics: row.diagnostics,
      fittedAt: row.fitted_at,
      version: row.version,
    };
  }

  /** Merges settings into the stored ones (null resets one), validates them and schedules a recompute. */
  async updateModel(input: unknown, options: { schedule?: boolean } = {}): Promise<RecommendationModelRecord> {
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw fail('VALIDATION_FAILED', { detail: 'settings must be a JSON object' }, 'settings');
    const merged = new Map<string, unknown>(Object.entries((await this.stored()).settings));
    for (const [key, value] of Object.entries(input)) {
      if (value === null && key !== 'halfLifeDays') merged.delete(key);
      else merged.set(key, value);
    }
    const settings = validateRecommendationSettings(Object.fromEntries(merged));
    if (this.personalData?.properties.isPersonalPath(settings.productProperty)) {
      throw fail(
        'VALIDATION_FAILED',
        { detail: `settings.productProperty: ${settings.productProperty} is personal data, which is never a product` },
        'settings.productProperty',
      );
    }
    const explicit = Object.fromEntries([...merged.keys()].map((k) => [k, settings[k as keyof RecommendationSettings]]));
    await inTransaction(this.dataSource, (manager) =>
      manager.query(`UPDATE recommendation_model SET settings = $1::jsonb, updated_at = now() WHERE id = 1`, [JSON.stringify(explicit)]),
    );
    if (options.schedule !== false) {
      try {
        await this.enqueueRecompute();
      } catch (error) {
        this.logger.warn({ err: error }, 'could not schedule the recommendations recompute after a settings change');
      }
    }
    return this.model();
  }

  /**
   * Fits the model on every customer's products and scores every customer
   * who has some into `customer_recommendations_rebuild`, then swaps it in
   * with the new neighbours and popularity in one transaction. Customers
   * refreshed while it ran are refreshed again with the new model after the
   * swap. One runs at a time; a failed run leaves everything as it was.
   */
  async recompute(onProgress: (percent: number) => unknown = () => undefined): Promise<RecommendationOutcome> {
    const session = await openPooledSession(this.dataSource);
    const seconds: Record<string, number> = {};
    let step = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      seconds[name] = Math.round(now - step) / 1000;
      step = now;
    };
    try {
      await session.client.query(`SELECT pg_advisory_lock(${RECOMMENDATIONS_RECOMPUTE_LOCK})`);
      const stored = await this.stored(session.manager);
      const settings = validateRecommendationSettings(stored.settings);
      const [{ now: startedAt }] = (await session.client.query(`SELECT now() AS now`)).rows as { now: Date }[];
      const fitted = fittedSettings(settings, startedAt);
      await session.client.query(`SET work_mem = '256MB'`);
      const data = await readProductMatrix(session.client, ownedProductsSql(fitted, literal));
      lap('read');
      await onProgress(30);
      if (data.products.length < 2 || data.matrix.rows < 2) {
        throw fail(
          'MODEL_NOT_FITTED',
          {
            detail: `recommendations: too little data to fit (${data.matrix.rows} customers with ${data.products.length} products in interactions of types ${Object.keys(fitted.interactionTypes).join(', ')} naming properties.${fitted.productProperty})`,
          },
          'settings',
        );
      }
      const neighbours = fitNeighbours(data.matrix, settings);
      lap('fit');
      await onProgress(50);
      const popularity = await this.popularity(session.client, data);
      lap('popularity');
      await createRecommendationRebuild(session.client);
      const version = stored.version + 1;
      const scored = await this.writeRecommendations(session.client, data, neighbours, fitted, version);
      lap('score and write');
      await onProgress(80);
      await session.client.query(`SET maintenance_work_mem = '256MB'`);
      await session.client.query(`ALTER TABLE customer_recommendations_rebuild ADD CONSTRAINT customer_recommendations_rebuild_pkey PRIMARY KEY (customer_id)`);
      await session.client.query(`CREATE INDEX customer_recommendations_rebuild_products ON customer_recommendations_rebuild USING gin (products)`);
      await session.client.query(`ANALYZE customer_recommendations_rebuild`);
      await copyRows(session.client, 'product_neighbours_rebuild (product, neighbour, weight, rank)', neighbourLines(neighbours, data.products));
      await session.client.query(
        `ALTER TABLE product_neighbours_rebuild ADD CONSTRAINT product_neighbours_rebuild_pkey PRIMARY KEY (product, rank); ANALYZE product_neighbours_rebuild`,
      );
      lap('index');
      const diagnostics = {
        algorithm: settings.algorithm,
        customers: data.matrix.rows,
        products: data.products.length,
        pairs: data.matrix.items.length,
        productsWithNeighbours: countRows(neighbours),
        neighbourPairs: neighbours.items.length,
        customersScored: scored,
        seconds,
      };
      const refreshedMeanwhile = await inTransaction(this.dataSource, async (manager) => {
        await manager.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
        await manager.query(`LOCK TABLE customer_recommendations IN EXCLUSIVE MODE`);
        // Customers erased or merged away while the run went on.
        await manager.query(
          `DELETE FROM customer_recommendations_rebuild r WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id AND c.deleted_at IS NULL)`,
        );
        const meanwhile: { id: string }[] = await manager.query(
          `SELECT customer_id::text AS id FROM customer_recommendations WHERE computed_at >= $1 AND model_version < $2`,
          [startedAt, version],
        );
        await manager.query(`DROP TABLE customer_recommendations`);
        await manager.query(`ALTER TABLE customer_recommendations_rebuild RENAME TO customer_recommendations`);
        await manager.query(`ALTER TABLE customer_recommendations SET (autovacuum_enabled = true)`);
        await manager.query(`ALTER TABLE customer_recommendations RENAME CONSTRAINT customer_recommendations_rebuild_pkey TO customer_recommendations_pkey`);
        await manager.query(`ALTER INDEX customer_recommendations_rebuild_products RENAME TO customer_recommendations_products`);
        await manager.query(`DROP TABLE product_neighbours`);
        await manager.query(`ALTER TABLE product_neighbours_rebuild RENAME TO product_neighbours`);
        await manager.query(`ALTER TABLE product_neighbours RENAME CONSTRAINT product_neighbours_rebuild_pkey TO product_neighbours_pkey`);
        await manager.query(`DELETE FROM product_popularity`);
        await manager.query(
          `INSERT INTO product_popularity (organization_id, product, weight, rank) SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::int[])`,
          popularity,
        );
        await manager.query(
          `UPDATE recommendation_model SET fitted = $1::jsonb, diagnostics = $2::jsonb, fitted_at = now(), version = $3, sample_size = $4 WHERE id = 1`,
          [
            JSON.stringify({ ...fitted, algorithm: settings.algorithm, neighbours: settings.neighbours }),
            JSON.stringify(diagnostics),
            version,
            data.matrix.rows,
          ],
        );
        await publish(manager, 'recompute.completed', [{ payload: { kinds: ['RECOMMENDATIONS'], customers: scored } }]);
        return meanwhile.map((r) => r.id);
      });
      lap('swap');
      if (refreshedMeanwhile.length) {
        await inTransaction(this.dataSource, (manager) => this.refreshCustomers(manager, refreshedMeanwhile));
      }
      await onProgress(100);
      return { version, customers: scored, products: data.products.length, pairs: data.matrix.items.length, seconds };
    } finally {
      await session.client.query(`DROP TABLE IF EXISTS customer_recommendations_rebuild, product_neighbours_rebuild`).catch(() => undefined);
      await session.client.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
      await session.client.query(`RESET work_mem; RESET maintenance_work_mem`).catch(() => undefined);
      await session.release();
    }
  }

  /** Scores every customer of the matrix and appends their lists to the rebuild with COPY. */
  private async writeRecommendations(
    client: Parameters<typeof copyRows>[0],
    data: ProductMatrix,
    neighbours: Neighbours,
    fitted: FittedSettings,
    version: number,
  ): Promise<number> {
    const scorer = new Scorer(neighbours, fitted.excludeOwned);
    const top = new TopK(fitted.keep);
    const { products, matrix, customerIds } = data;
    let written = 0;
    function* lines(): Generator<string> {
      let chunk: string[] = [];
      for (let r = 0; r < matrix.rows; r++) {
        scorer.score(matrix, r, top);
        if (top.size === 0) continue;
        const names: string[] = [];
        const scores: string[] = [];
        for (let k = 0; k < top.size; k++) {
          names.push(products[top.index[k]]);
          scores.push(String(top.weight[k]));
        }
        chunk.push(`${customerIds[r]}\t${copyText(textArrayLiteral(names))}\t{${scores.join(',')}}\t${version}`);
        written++;
        if (chunk.length >= 2_000) {
          yield chunk.join('\n') + '\n';
          chunk = [];
        }
      }
      if (chunk.length) yield chunk.join('\n') + '\n';
    }
    await copyRows(client, 'customer_recommendations_rebuild (customer_id, products, scores, model_version)', lines());
    return written;
  }

  /**
   * The cold-start lists: the `keep` most popular products overall
   * (organisation 0) and within each organisation (its members' and its own
   * products), by total weight.
   */
  private async popularity(client: Parameters<typeof copyRows>[0], data: ProductMatrix): Promise<[string[], string[], number[], number[]]> {
    const keep = RECOMMENDATION_LIMITS.maxSimilar;
    const out: [string[], string[], number[], number[]] = [[], [], [], []];
    const push = (org: string, totals: Map<number, number> | Float64Array) => {
      const entries = totals instanceof Map ? [...totals] : [...totals.entries()].filter(([, w]) => w > 0);
      entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      entries.slice(0, keep).forEach(([p, w], i) => {
        out[0].push(org);
        out[1].push(data.products[p]);
        out[2].push(w);
        out[3].push(i + 1);
      });
    };
    push('0', columnTotals(data.matrix));
    const { rows } = await client.query(`SELECT id::float8 AS id, COALESCE(organization_id, id)::text AS org FROM customers
      WHERE deleted_at IS NULL AND (organization_id IS NOT NULL OR kind = 'ORGANIZATION')`);
    const orgOf = new Map<number, string>(rows.map((r: { id: number; org: string }) => [r.id, r.org]));
    const byOrg = new Map<string, Map<number, number>>();
    const m: Interactions = data.matrix;
    for (let r = 0; r < m.rows; r++) {
      const org = orgOf.get(data.customerIds[r]);
      if (!org) continue;
      let totals = byOrg.get(org);
      if (!totals) byOrg.set(org, (totals = new Map()));
      for (let k = m.start[r]; k < m.start[r + 1]; k++) totals.set(m.items[k], (totals.get(m.items[k]) ?? 0) + m.weights[k]);
    }
    for (const [org, totals] of byOrg) push(org, totals);
    return out;
  }

  /**
   * Rescores these customers with the current model (no refit), in the
   * caller's transaction: the customer refresh after ingest, so a purchase
   * shows in its customer's recommendations with their stats. One statement;
   * the same formula as the full recompute's scoring.
   */
  async refreshCustomers(manager: Pick<EntityManager, 'query'>, customerIds: string[]): Promise<void> {
    if (customerIds.length === 0) return;
    const { fitted, version } = await this.stored(manager);
    if (!fitted) return;
    const p = new SqlParams();
    const ids = p.add(customerIds);
    const owned = ownedProductsSql(fitted, (v, cast) => `${p.add(v)}::${cast}`, `${ids}::bigint[]`);
    await manager.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
    await manager.query(
      `WITH owned AS (${owned}),
       candidates AS (
         SELECT o.customer_id, n.neighbour AS product, sum(o.weight * n.weight) AS score
           FROM owned o JOIN product_neighbours n ON n.product = o.product
          GROUP BY 1, 2),
       ranked AS (
         SELECT c.*, row_number() OVER (PARTITION BY c.customer_id ORDER BY c.score DESC, c.product COLLATE "C") AS rank
           FROM candidates c
          WHERE c.score > 0
            AND NOT (${p.add(fitted.excludeOwned)}::boolean AND EXISTS (SELECT 1 FROM owned o WHERE o.customer_id = c.customer_id AND o.product = c.product))),
       fresh AS (
         SELECT r.customer_id, array_agg(r.product ORDER BY r.rank) AS products, array_agg(r.score ORDER BY r.rank) AS scores
           FROM ranked r JOIN customers cu ON cu.id = r.customer_id AND cu.deleted_at IS NULL
          WHERE r.rank <= ${p.add(fitted.keep)}::int GROUP BY 1),
       written AS (
         INSERT INTO customer_recommendations (customer_id, products, scores, model_version, computed_at)
         SELECT customer_id, products, scores, ${p.add(version)}::int, now() FROM fresh
         ON CONFLICT (customer_id) DO UPDATE SET products = EXCLUDED.products, scores = EXCLUDED.scores,
           model_version = EXCLUDED.model_version, computed_at = EXCLUDED.computed_at
         RETURNING customer_id)
       DELETE FROM customer_recommendations r WHERE r.customer_id = ANY(${ids}::bigint[]) AND r.customer_id NOT IN (SELECT customer_id FROM written)`,
      p.values,
    );
  }

  /**
   * A customer's recommendations, best first, each with the products of
   * theirs that contributed most. A customer without a list (no product
   * history under the model's settings) gets the products most popular in
   * their organisation, or overall, said so in `because`.
   */
  async recommendationsFor(customerId: string, first: number): Promise<ProductRecommendationRecord[]> {
    if (first === 0) return [];
    const [row]: { products: string[]; scores: number[] }[] = await this.dataSource.query(
      `SELECT products, scores FROM customer_recommendations WHERE customer_id = $1`,
      [customerId],
    );
    if (row) {
      const products = row.products.slice(0, first);
      const because = await this.explain(customerId, products);
      return products.map((product, i) => ({ product, score: row.scores[i], rank: i + 1, basis: 'HISTORY', because: because.get(product) ?? [] }));
    }
    return this.coldStart(customerId, first);
  }

  private async coldStart(customerId: string, first: number): Promise<ProductRecommendationRecord[]> {
    const { fitted } = await this.stored();
    if (!fitted) return [];
    const p = new SqlParams();
    const customer = p.add(customerId);
    const owned = ownedProductsSql(fitted, (v, cast) => `${p.add(v)}::${cast}`, `ARRAY[${customer}]::bigint[]`);
    const rows: { organization: string; product: string; weight: number; total: number; history: boolean }[] = await this.dataSource.query(
      `WITH me AS (SELECT COALESCE(c.organization_id, CASE WHEN c.kind = 'ORGANIZATION' THEN c.id END) AS org FROM customers c WHERE c.id = ${customer}::bigint AND c.deleted_at IS NULL),
            scope AS (
              SELECT pp.organization_id FROM product_popularity pp, me WHERE pp.organization_id = me.org
              UNION ALL SELECT 0 ORDER BY 1 DESC LIMIT 1),
            owned AS (${owned})
       SELECT pp.organization_id::text AS organization, pp.product, pp.weight, sum(pp.weight) OVER () AS total,
              EXISTS (SELECT 1 FROM owned) AS history
         FROM product_popularity pp JOIN scope USING (organization_id)
        WHERE EXISTS (SELECT 1 FROM me)
          AND NOT (${p.add(fitted.excludeOwned)}::boolean AND pp.product IN (SELECT product FROM owned))
        ORDER BY pp.rank LIMIT ${p.add(first)}::int`,
      p.values,
    );
    return rows.map((r, i) => {
      const inOrganization = r.organization !== '0';
      const share = r.total > 0 ? r.weight / r.total : 0;
      const why = r.history ? "nothing new that the customer's products point to" : 'no product history yet';
      return {
        product: r.product,
        score: share,
        rank: i + 1,
        basis: inOrganization ? 'ORGANIZATION' : 'POPULAR',
        because: [
          {
            kind: inOrganization ? 'POPULAR_IN_ORGANIZATION' : 'POPULAR',
            product: null,
            weight: share,
            text: inOrganization
              ? `${why}: popular in the customer's organisation (${(share * 100).toFixed(1)}% of its top products' weight)`
              : `${why}: popular with all customers (${(share * 100).toFixed(1)}% of the top products' weight)`,
          },
        ],
      };
    });
  }

  /** For each product, the customer's own products that contributed most to its score (weight: their contribution). */
  private async explain(customerId: string, products: string[]): Promise<Map<string, RecommendationReasonRecord[]>> {
    const { fitted } = await this.stored();
    const out = new Map<string, RecommendationReasonRecord[]>();
    if (!fitted || products.length === 0) return out;
    const p = new SqlParams();
    const owned = ownedProductsSql(fitted, (v, cast) => `${p.add(v)}::${cast}`, `ARRAY[${p.add(customerId)}]::bigint[]`);
    const rows: { target: string; product: string; weight: number }[] = await this.dataSource.query(
      `SELECT target, product, weight FROM (
         SELECT n.neighbour AS target, o.product, o.weight * n.weight AS weight,
                row_number() OVER (PARTITION BY n.neighbour ORDER BY o.weight * n.weight DESC, o.product COLLATE "C") AS k
           FROM (${owned}) o JOIN product_neighbours n ON n.product = o.product
          WHERE n.neighbour = ANY(${p.add(products)}::text[])) x
        WHERE k <= ${RECOMMENDATION_LIMITS.maxReasons} ORDER BY target, k`,
      p.values,
    );
    for (const r of rows) {
      const list = out.get(r.target) ?? [];
      list.push({ kind: 'OWNED_PRODUCT', product: r.product, weight: r.weight, text: `the customer has ${r.product} (contributes ${round(r.weight)})` });
      out.set(r.target, list);
    }
    return out;
  }

  /** The customers for whom a product ranks among their recommendations, highest score first. */
  async productAudience(product: string, args: { first?: number | null; after?: string | null }) {
    checkProduct(product);
    const first = pageSize(args.first);
    const p = new SqlParams();
    const name = p.add(product);
    const { orderBy, select, condition } = keysetClauses(AUDIENCE_KEY, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT a.customer_id::text AS "customerId", a.score, a.rank, ${select}
         FROM (SELECT r.customer_id, r.scores[array_position(r.products, ${name}::text)] AS score, array_position(r.products, ${name}::text) AS rank
                 FROM customer_recommendations r WHERE r.products @> ARRAY[${name}::text]) a
        WHERE ${condition} ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    const page: Page<{ customerId: string; score: number; rank: number }> = toPage(rows, AUDIENCE_KEY, first, args.after, (r) => ({
      customerId: r.customerId as string,
      score: Number(r.score),
      rank: Number(r.rank),
    }));
    return {
      ...page,
      edges: page.edges.map((e) => ({ cursor: e.cursor, score: e.node.score, rank: e.node.rank, customerId: e.node.customerId })),
      totalCount: async () =>
        (await this.dataSource.query(`SELECT count(*)::int AS n FROM customer_recommendations WHERE products @> ARRAY[$1::text]`, [product]))[0].n as number,
    };
  }

  /** Drops the popularity kept for an organisation (after its erasure). */
  async forgetOrganization(customerId: string, db: Pick<EntityManager, 'query'> = this.dataSource): Promise<void> {
    await db.query(`DELETE FROM product_popularity WHERE organization_id = $1`, [customerId]);
  }

  /** A product's nearest neighbours in the current model. */
  async similarProducts(product: string, first: number | null | undefined): Promise<SimilarProductRecord[]> {
    checkProduct(product);
    const n = first ?? RECOMMENDATION_LIMITS.defaultFirst;
    if (!Number.isInteger(n) || n < 0 || n > RECOMMENDATION_LIMITS.maxSimilar) {
      throw fail('PAGE_SIZE_EXCEEDED', { detail: `first must be from 0 to ${RECOMMENDATION_LIMITS.maxSimilar}` }, 'first');
    }
    return this.dataSource.query(`SELECT neighbour AS product, weight, rank FROM product_neighbours WHERE product = $1 ORDER BY rank LIMIT $2`, [product, n]);
  }
}

function checkProduct(product: string): void {
  if (product.length === 0 || product.length > 256) throw fail('VALIDATION_FAILED', { detail: 'product must be 1 to 256 characters' }, 'product');
}

function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}

function countRows(n: Neighbours): number {
  let count = 0;
  for (let i = 0; i < n.columns; i++) if (n.start[i + 1] > n.start[i]) count++;
  return count;
}

/** The neighbours as COPY text lines, a product at a time. */
function* neighbourLines(n: Neighbours, products: string[]): Generator<string> {
  for (let i = 0; i < n.columns; i++) {
    const lines: string[] = [];
    for (let k = n.start[i]; k < n.start[i + 1]; k++) {
      lines.push(`${copyText(products[i])}\t${copyText(products[n.items[k]])}\t${n.weights[k]}\t${k - n.start[i] + 1}\n`);
    }
    if (lines.length) yield lines.join('');
  }
}

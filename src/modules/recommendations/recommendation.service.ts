import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { fail } from '../../errors/catalog';
import { inTransaction, openPooledSession } from '../../infra/database';
import type { Logger } from '../../infra/logger';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import { pageSize, SqlParams, type SortKey } from '../../infra/sql-filter';
import { maskText, type PersonalDataPolicy } from '../access';
import { publish } from '../events';
import { SCORE_WRITERS_LOCK, type RecomputeJobRecord } from '../scores';
import { fitNeighbours } from './model/fit';
import { columnTotals, type Interactions } from './model/matrix';
import { TopK, type Neighbours } from './model/neighbours';
import { readProductMatrix, type ProductMatrix } from './model/read';
import { Scorer } from './model/score';
import { fittedSettings, literal, ownedProductsSql, type FittedSettings } from './recommendation-sql';
import { copyBinary, streamLines } from './copy';
import { ARRAY_OVERHEAD, BinaryCopyWriter } from './copy-binary';
import { DEFAULT_SETTINGS, validateRecommendationSettings, type RecommendationSettings } from './settings';

/** Session advisory lock held by a full recompute: one at a time (they share the rebuild tables). */
export const RECOMMENDATIONS_RECOMPUTE_LOCK = 727_274_020;

/** Connections a full recompute's read is split over (ranges of customers), so Postgres aggregates them in parallel. */
const READ_PARTS = 2;

/** Working tables of a full recompute: left out of a customer's export, erased like the rest. */
export const RECOMMENDATION_REBUILD_TABLES: readonly string[] = ['customer_recommendations_rebuild'];

/** The popular lists' tables, rebuilt and swapped in by a full recompute like the customers' lists. */
const POPULARITY_TABLES = ['product_popularity', 'segment_product_popularity'] as const;

/** Every working table of a full recompute. */
const REBUILD_TABLES = ['customer_recommendations_rebuild', 'product_neighbours_rebuild', ...POPULARITY_TABLES.map((t) => `${t}_rebuild`)];

/**
 * Creates the working tables of a full recompute, empty and without indexes
 * (built after they are filled): the customers' new lists, the new
 * neighbours and the new popular lists, swapped in at the end.
 */
export async function createRecommendationRebuild(db: { query(sql: string): Promise<unknown> }): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${REBUILD_TABLES.join(', ')}`);
  await db.query(`CREATE TABLE customer_recommendations_rebuild (LIKE customer_recommendations INCLUDING DEFAULTS) WITH (autovacuum_enabled = false)`);
  await db.query(`CREATE TABLE product_neighbours_rebuild (LIKE product_neighbours)`);
  for (const table of POPULARITY_TABLES) await db.query(`CREATE TABLE ${table}_rebuild (LIKE ${table})`);
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
export type RecommendationBasis = 'HISTORY' | 'ORGANIZATION' | 'SEGMENT' | 'POPULAR';

export interface RecommendationReasonRecord {
  kind: 'OWNED_PRODUCT' | 'POPULAR_IN_ORGANIZATION' | 'POPULAR_IN_SEGMENT' | 'POPULAR';
  product: string | null;
  weight: number;
  text: string;
  /** The text for a caller without `pii:read`, where it differs (the organisation's name masked like Customer.displayName). */
  maskedText?: string;
  /** POPULAR_IN_ORGANIZATION: the organisation's customer id. */
  organizationId?: string;
  /** POPULAR_IN_SEGMENT: the segment's id and name. */
  segmentId?: string;
  segmentName?: string;
}

/**
 * What the caller may learn through a cold start's basis: a segment is used
 * (and named) only if the caller may see the customer's segments
 * (`segments:read`), and one defined on personal data only with `pii:read`.
 */
export interface RecommendationAccess {
  segments: boolean;
  piiRead: boolean;
}

/** The segments module as recommendations need it (a structural type: segments imports this module's rule). */
export interface SegmentDirectory {
  /** Ids of the segments whose members say something about personal data. */
  personalSegmentIds(): Promise<Set<string>>;
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

/**
 * A segment gets a popular list only with at least this many members with
 * product history, so that a list never spells out one or two customers'
 * purchases.
 */
export const MIN_SEGMENT_CUSTOMERS = 3;

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
    private readonly segments?: SegmentDirectory,
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
      const data = await this.read(session.client, fitted);
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
      await createRecommendationRebuild(session.client);
      const version = stored.version + 1;
      const scored = await this.writeRecommendations(session.client, data, neighbours, fitted, version);
      lap('score and write');
      await onProgress(80);
      await this.indexAndPopularity(session.client, data, neighbours);
      lap('popularity and index');
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
        // Organisations erased while the run went on take their popular list with them.
        await manager.query(
          `DELETE FROM product_popularity_rebuild p WHERE p.organization_id <> 0
              AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p.organization_id AND c.deleted_at IS NULL)`,
        );
        for (const table of POPULARITY_TABLES) {
          await manager.query(`DROP TABLE ${table}`);
          await manager.query(`ALTER TABLE ${table}_rebuild RENAME TO ${table}`);
          await manager.query(`ALTER TABLE ${table} RENAME CONSTRAINT ${table}_rebuild_pkey TO ${table}_pkey`);
        }
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
      await session.client.query(`DROP TABLE IF EXISTS ${REBUILD_TABLES.join(', ')}`).catch(() => undefined);
      await session.client.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
      await session.client.query(`RESET work_mem; RESET maintenance_work_mem`).catch(() => undefined);
      await session.release();
    }
  }

  /**
   * Reads the customer × product matrix in {@link READ_PARTS} equal ranges
   * of the customer id span, each on its own connection.
   */
  private async read(client: PoolClient, fitted: FittedSettings): Promise<ProductMatrix> {
    const [{ low, high }] = (await client.query(`SELECT min(id)::float8 AS low, max(id)::float8 AS high FROM customers`)).rows as {
      low: number | null;
      high: number | null;
    }[];
    const bounds = [low ?? 0];
    for (let k = 1; k < READ_PARTS; k++) bounds.push(Math.floor((low ?? 0) + (((high ?? 0) - (low ?? 0) + 1) * k) / READ_PARTS));
    bounds.push((high ?? 0) + 1);
    const sessions: { client: PoolClient; release(): Promise<void> }[] = [{ client, release: async () => undefined }];
    try {
      // One at a time, so that a session opened before a failing one is released below.
      for (let k = 2; k < bounds.length; k++) sessions.push(await openPooledSession(this.dataSource));
      for (const s of sessions.slice(1)) await s.client.query(`SET work_mem = '256MB'`);
      return await readProductMatrix(
        sessions.map((s, k) => ({ client: s.client, selectSql: ownedProductsSql(fitted, literal, undefined, { from: bounds[k], to: bounds[k + 1] }) })),
      );
    } finally {
      for (const s of sessions.slice(1)) {
        await s.client.query(`RESET work_mem`).catch(() => undefined);
        await s.release();
      }
    }
  }

  /**
   * Indexes the customers' new lists and writes the other rebuilds. The GIN
   * index on the products, the longest step, is built on a second
   * connection while this one builds the primary key (a unique index, so
   * the two builds do not wait for each other), computes and writes the
   * popular lists and the neighbours; the second connection analyses the
   * table after its index.
   */
  private async indexAndPopularity(client: PoolClient, data: ProductMatrix, neighbours: Neighbours): Promise<void> {
    const side = await openPooledSession(this.dataSource);
    try {
      await side.client.query(`SET maintenance_work_mem = '256MB'`);
      const gin = side.client
        .query(`CREATE INDEX customer_recommendations_rebuild_products ON customer_recommendations_rebuild USING gin (products)`)
        .then(() => side.client.query(`ANALYZE customer_recommendations_rebuild`))
        .then(
          () => null,
          (error: unknown) => error,
        );
      let failure: unknown = null;
      try {
        await client.query(`SET maintenance_work_mem = '256MB'`);
        await client.query(`CREATE UNIQUE INDEX customer_recommendations_rebuild_pkey ON customer_recommendations_rebuild (customer_id)`);
        const popularity = await this.popularity(client, data);
        await writePopular(client, 'product_popularity_rebuild (organization_id, product, weight, rank)', popularity.organizations);
        await writePopular(client, 'segment_product_popularity_rebuild (segment_id, product, weight, rank)', popularity.segments);
        for (const [table, group] of [
          ['product_popularity', 'organization_id'],
          ['segment_product_popularity', 'segment_id'],
        ]) {
          await client.query(`ALTER TABLE ${table}_rebuild ADD CONSTRAINT ${table}_rebuild_pkey PRIMARY KEY (${group}, rank)`);
        }
        await copyBinary(client, 'product_neighbours_rebuild (product, neighbour, weight, rank)', neighbourChunks(neighbours, data.products));
        await client.query(`ALTER TABLE product_neighbours_rebuild ADD CONSTRAINT product_neighbours_rebuild_pkey PRIMARY KEY (product, rank)`);
        await client.query(`ANALYZE product_neighbours_rebuild`);
      } catch (error) {
        failure = error;
      }
      // The GIN build always ends before the connection goes back to the pool.
      const ginFailure = await gin;
      if (failure ?? ginFailure) throw failure ?? ginFailure;
      await client.query(
        `ALTER TABLE customer_recommendations_rebuild ADD CONSTRAINT customer_recommendations_rebuild_pkey PRIMARY KEY USING INDEX customer_recommendations_rebuild_pkey`,
      );
    } finally {
      await side.client.query(`RESET maintenance_work_mem`).catch(() => undefined);
      await side.release();
    }
  }

  /** Scores every customer of the matrix and appends their lists to the rebuild with a binary COPY. */
  private async writeRecommendations(
    client: PoolClient,
    data: ProductMatrix,
    neighbours: Neighbours,
    fitted: FittedSettings,
    version: number,
  ): Promise<number> {
    const scorer = new Scorer(neighbours, fitted.excludeOwned);
    const top = new TopK(fitted.keep);
    const { matrix, customerIds } = data;
    const names = data.products.map((p) => Buffer.from(p, 'utf8'));
    let longest = 0;
    for (const name of names) longest = Math.max(longest, name.length);
    const rowBytes = 2 + 12 + ARRAY_OVERHEAD + fitted.keep * (4 + longest) + ARRAY_OVERHEAD + fitted.keep * 12 + 8;
    let written = 0;
    function* chunks(): Generator<Buffer> {
      const out = new BinaryCopyWriter();
      for (let r = 0; r < matrix.rows; r++) {
        scorer.score(matrix, r, top);
        if (top.size === 0) continue;
        out
          .row(4, rowBytes)
          .int8(customerIds[r])
          .textArray(top.size, (k) => names[top.index[k]])
          .float8Array(top.size, (k) => top.weight[k])
          .int4(version);
        written++;
        yield* out.take();
      }
      yield* out.end();
    }
    await copyBinary(client, 'customer_recommendations_rebuild (customer_id, products, scores, model_version)', chunks());
    return written;
  }

  /**
   * The cold-start lists: the most popular products overall (organisation
   * 0), within each organisation (its members' and its own products) and
   * within each segment with at least {@link MIN_SEGMENT_CUSTOMERS} members
   * with product history, by total weight.
   */
  private async popularity(client: PoolClient, data: ProductMatrix): Promise<{ organizations: PopularLists; segments: PopularLists }> {
    const keep = RECOMMENDATION_LIMITS.maxSimilar;
    const lists = (): PopularLists => [[], [], [], []];
    const organizations = lists();
    const segments = lists();
    const push = (out: PopularLists, group: string, totals: Map<number, number> | Float64Array) => {
      const entries = totals instanceof Map ? [...totals] : [...totals.entries()].filter(([, w]) => w > 0);
      entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
      entries.slice(0, keep).forEach(([p, w], i) => {
        out[0].push(group);
        out[1].push(data.products[p]);
        out[2].push(w);
        out[3].push(i + 1);
      });
    };
    push(organizations, '0', columnTotals(data.matrix));
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
    for (const [org, totals] of byOrg) push(organizations, org, totals);
    // Segments: memberships streamed a segment at a time, each member found in the matrix by binary search.
    let segment = '';
    let totals = new Float64Array(m.columns);
    let members = 0;
    const flush = () => {
      if (segment && members >= MIN_SEGMENT_CUSTOMERS) push(segments, segment, totals);
      totals = new Float64Array(m.columns);
      members = 0;
    };
    await streamLines(client, `COPY (SELECT segment_id, customer_id FROM segment_memberships ORDER BY 1) TO STDOUT`, (line) => {
      const tab = line.indexOf('\t');
      const id = line.slice(0, tab);
      if (id !== segment) {
        flush();
        segment = id;
      }
      const r = findRow(data.customerIds, Number(line.slice(tab + 1)));
      if (r < 0 || m.start[r + 1] === m.start[r]) return;
      members++;
      for (let k = m.start[r]; k < m.start[r + 1]; k++) totals[m.items[k]] += m.weights[k];
    });
    flush();
    return { organizations, segments };
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
   * Customers' recommendations, best first, each with the products of
   * theirs that contributed most. A customer without a list (no product
   * history under the model's settings, or nothing new that it points to)
   * gets the products most popular in their organisation, else in the
   * smallest of their segments with a popular list that `access` lets the
   * caller know of, else overall, said so in `because`. A few statements
   * whatever the number of customers: the request's loader batches a page.
   */
  async recommendationsForMany(
    customerIds: readonly string[],
    first: number,
    access: RecommendationAccess,
  ): Promise<Map<string, ProductRecommendationRecord[]>> {
    const out = new Map<string, ProductRecommendationRecord[]>();
    if (first === 0 || customerIds.length === 0) return out;
    const { fitted } = await this.stored();
    if (!fitted) return out;
    const rows: { id: string; products: string[]; scores: number[] }[] = await this.dataSource.query(
      `SELECT customer_id::text AS id, products[1:$2], scores[1:$2] FROM customer_recommendations WHERE customer_id = ANY($1::bigint[])`,
      [customerIds, first],
    );
    const because = await this.explain(
      fitted,
      rows.flatMap((r) => r.products.map((product) => ({ customerId: r.id, product }))),
    );
    for (const r of rows) {
      out.set(
        r.id,
        r.products.map((product, i) => ({
          product,
          score: r.scores[i],
          rank: i + 1,
          basis: 'HISTORY',
          because: because.get(`${r.id}\t${product}`) ?? [],
        })),
      );
    }
    const cold = customerIds.filter((id) => !out.has(id));
    if (cold.length) for (const [id, list] of await this.coldStart(fitted, cold, first, access)) out.set(id, list);
    return out;
  }

  private async coldStart(
    fitted: FittedSettings,
    customerIds: string[],
    first: number,
    access: RecommendationAccess,
  ): Promise<Map<string, ProductRecommendationRecord[]>> {
    const hidden = access.segments && !access.piiRead && this.segments ? [...(await this.segments.personalSegmentIds())] : [];
    const p = new SqlParams();
    const ids = p.add(customerIds);
    const owned = ownedProductsSql(fitted, (v, cast) => `${p.add(v)}::${cast}`, `${ids}::bigint[]`);
    const rows: {
      customerId: string;
      basis: 'ORGANIZATION' | 'SEGMENT' | 'POPULAR';
      organization: string | null;
      organizationName: string | null;
      segment: string | null;
      segmentName: string | null;
      history: boolean;
      product: string;
      weight: number;
      total: number;
    }[] = await this.dataSource.query(
      `WITH owned AS (${owned}),
       me AS (
         SELECT c.id, COALESCE(c.organization_id, CASE WHEN c.kind = 'ORGANIZATION' THEN c.id END) AS org,
                EXISTS (SELECT 1 FROM owned o WHERE o.customer_id = c.id) AS history
           FROM customers c WHERE c.id = ANY(${ids}::bigint[]) AND c.deleted_at IS NULL),
       groups AS (
         SELECT me.id, 0::bigint AS level, 'ORGANIZATION' AS basis, me.org AS grp, NULL::text AS segment_name FROM me WHERE me.org IS NOT NULL
         UNION ALL
         SELECT me.id, row_number() OVER (PARTITION BY me.id ORDER BY sg.size, sg.id), 'SEGMENT', sg.id, sg.name
           FROM me JOIN segment_memberships sm ON sm.customer_id = me.id JOIN segments sg ON sg.id = sm.segment_id
          WHERE ${p.add(access.segments)}::boolean AND NOT (sg.id = ANY(${p.add(hidden)}::bigint[]))
            AND EXISTS (SELECT 1 FROM segment_product_popularity sp WHERE sp.segment_id = sg.id)
         UNION ALL
         SELECT me.id, ${Number.MAX_SAFE_INTEGER}, 'POPULAR', 0, NULL FROM me),
       items AS (
         SELECT g.*, x.product, x.weight, x.rank
           FROM groups g CROSS JOIN LATERAL (
             SELECT pp.product, pp.weight, pp.rank FROM product_popularity pp WHERE g.basis <> 'SEGMENT' AND pp.organization_id = g.grp
             UNION ALL
             SELECT sp.product, sp.weight, sp.rank FROM segment_product_popularity sp WHERE g.basis = 'SEGMENT' AND sp.segment_id = g.grp) x
          WHERE NOT (${p.add(fitted.excludeOwned)}::boolean AND (g.id, x.product) IN (SELECT o.customer_id, o.product FROM owned o))),
       chosen AS (
         SELECT i.*, sum(i.weight) OVER (PARTITION BY i.id) AS total, row_number() OVER (PARTITION BY i.id ORDER BY i.rank) AS n
           FROM (SELECT i.*, min(i.level) OVER (PARTITION BY i.id) AS best FROM items i) i WHERE i.level = i.best)
       SELECT c.id::text AS "customerId", c.basis, CASE WHEN c.basis = 'ORGANIZATION' THEN c.grp::text END AS organization,
              oc.display_name AS "organizationName", CASE WHEN c.basis = 'SEGMENT' THEN c.grp::text END AS segment,
              c.segment_name AS "segmentName", me.history, c.product, c.weight, c.total
         FROM chosen c JOIN me ON me.id = c.id
         LEFT JOIN customers oc ON c.basis = 'ORGANIZATION' AND oc.id = c.grp
        WHERE c.n <= ${p.add(first)}::int
        ORDER BY c.id, c.n`,
      p.values,
    );
    const out = new Map<string, ProductRecommendationRecord[]>();
    for (const r of rows) {
      const list = out.get(r.customerId) ?? [];
      const share = r.total > 0 ? r.weight / r.total : 0;
      const why = r.history ? "nothing new that the customer's products point to" : 'no product history yet';
      const percent = `${(share * 100).toFixed(1)}%`;
      const reason: RecommendationReasonRecord =
        r.basis === 'ORGANIZATION'
          ? {
              kind: 'POPULAR_IN_ORGANIZATION',
              product: null,
              weight: share,
              organizationId: r.organization ?? undefined,
              text: `${why}: popular in the customer's organisation${quoteName(r.organizationName)} (${percent} of its top products' weight)`,
              maskedText: `${why}: popular in the customer's organisation${quoteName(maskText(r.organizationName) as string | null)} (${percent} of its top products' weight)`,
            }
          : r.basis === 'SEGMENT'
            ? {
                kind: 'POPULAR_IN_SEGMENT',
                product: null,
                weight: share,
                segmentId: r.segment ?? undefined,
                segmentName: r.segmentName ?? undefined,
                text: `${why}: popular in the customer's segment${quoteName(r.segmentName)} (${percent} of its top products' weight)`,
              }
            : { kind: 'POPULAR', product: null, weight: share, text: `${why}: popular with all customers (${percent} of the top products' weight)` };
      list.push({
        product: r.product,
        score: share,
        rank: list.length + 1,
        basis: r.basis,
        because: [reason],
      });
      out.set(r.customerId, list);
    }
    return out;
  }

  /** For each (customer, product), the customer's own products that contributed most to its score (weight: their contribution), keyed `customer\tproduct`. */
  private async explain(fitted: FittedSettings, wanted: { customerId: string; product: string }[]): Promise<Map<string, RecommendationReasonRecord[]>> {
    const out = new Map<string, RecommendationReasonRecord[]>();
    if (wanted.length === 0) return out;
    const p = new SqlParams();
    const customers = p.add(wanted.map((w) => w.customerId));
    const products = p.add(wanted.map((w) => w.product));
    const owned = ownedProductsSql(fitted, (v, cast) => `${p.add(v)}::${cast}`, `${customers}::bigint[]`);
    const rows: { customerId: string; target: string; product: string; weight: number }[] = await this.dataSource.query(
      `SELECT "customerId", target, product, weight FROM (
         SELECT w.customer_id::text AS "customerId", w.product AS target, o.product, o.weight * n.weight AS weight,
                row_number() OVER (PARTITION BY w.customer_id, w.product ORDER BY o.weight * n.weight DESC, o.product COLLATE "C") AS k
           FROM unnest(${customers}::bigint[], ${products}::text[]) AS w(customer_id, product)
           JOIN product_neighbours n ON n.neighbour = w.product
           JOIN (${owned}) o ON o.customer_id = w.customer_id AND o.product = n.product) x
        WHERE k <= ${RECOMMENDATION_LIMITS.maxReasons} ORDER BY "customerId", target, k`,
      p.values,
    );
    for (const r of rows) {
      const key = `${r.customerId}\t${r.target}`;
      const list = out.get(key) ?? [];
      list.push({ kind: 'OWNED_PRODUCT', product: r.product, weight: r.weight, text: `the customer has ${r.product} (contributes ${round(r.weight)})` });
      out.set(key, list);
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

/** Popular lists as columns: group (organisation or segment id), product, weight, rank. */
type PopularLists = [string[], string[], number[], number[]];

/** Writes popular lists into a rebuild table with a binary COPY. */
async function writePopular(client: Parameters<typeof copyBinary>[0], target: string, [groups, products, weights, ranks]: PopularLists): Promise<void> {
  function* chunks(): Generator<Buffer> {
    const out = new BinaryCopyWriter();
    for (let k = 0; k < groups.length; k++) {
      const name = Buffer.from(products[k], 'utf8');
      out
        .row(4, 2 + 12 + 4 + name.length + 12 + 8)
        .int8(Number(groups[k]))
        .text(name)
        .float8(weights[k])
        .int4(ranks[k]);
      yield* out.take();
    }
    yield* out.end();
  }
  await copyBinary(client, target, chunks());
}

/** The row of a customer id in the matrix's ascending ids, or -1. */
function findRow(ids: Float64Array, id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < id) lo = mid + 1;
    else if (ids[mid] > id) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function checkProduct(product: string): void {
  if (product.length === 0 || product.length > 256) throw fail('VALIDATION_FAILED', { detail: 'product must be 1 to 256 characters' }, 'product');
}

/** A group's name for a reason's text: quoted after a space, or nothing. */
function quoteName(name: string | null): string {
  return name ? ` "${name}"` : '';
}

function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}

function countRows(n: Neighbours): number {
  let count = 0;
  for (let i = 0; i < n.columns; i++) if (n.start[i + 1] > n.start[i]) count++;
  return count;
}

/** The neighbours as binary COPY data. */
function* neighbourChunks(n: Neighbours, products: string[]): Generator<Buffer> {
  const names = products.map((p) => Buffer.from(p, 'utf8'));
  const out = new BinaryCopyWriter();
  for (let i = 0; i < n.columns; i++) {
    for (let k = n.start[i]; k < n.start[i + 1]; k++) {
      const neighbour = names[n.items[k]];
      out
        .row(4, 2 + 4 + names[i].length + 4 + neighbour.length + 12 + 8)
        .text(names[i])
        .text(neighbour)
        .float8(n.weights[k])
        .int4(k - n.start[i] + 1);
    }
    yield* out.take();
  }
  yield* out.end();
}

import type { DataSource, EntityManager } from 'typeorm';
import { writeFeatures } from './features';
import {
  comparePair,
  evidenceOf,
  fitModel,
  randomPairFrequencies,
  scorePattern,
  weightsOf,
  type FeatureRow,
  type MatchModel,
  type Weights,
} from './fellegi-sunter';
import type { KindSettings, MatchingSettings } from './settings';

/**
 * The matcher's two runs. The full run (`findDuplicates`) rebuilds every
 * customer's features and blocking keys, compares the pairs that share a key,
 * fits the Fellegi–Sunter model of each kind by EM and stores the pairs that
 * reach `reviewScore`. The incremental run (the customer refresh) does the same
 * for the refreshed customers only, against everyone, with the stored models.
 */

export type CustomerKindName = 'PERSON' | 'ORGANIZATION';
export const KINDS: readonly CustomerKindName[] = ['PERSON', 'ORGANIZATION'];

/** The fitted models, as stored in `identity_matching.models`. */
export type StoredModels = Partial<Record<CustomerKindName, MatchModel>>;

/** What a full run did, as `identityMatching.lastRun` shows it. */
export interface RunReport {
  startedAt: string;
  durationMs: number;
  customers: number;
  /** Distinct pairs that shared a blocking key and were compared. */
  pairsCompared: number;
  /** Blocking keys skipped because more than `maxBlockSize` customers shared them. */
  oversizedKeys: number;
  /** Pairs stored (at or above reviewScore). */
  pairsStored: number;
  /** Pairs at or above matchScore. */
  duplicates: number;
  /** EM outcome per kind. */
  fits: Record<string, { pairs: number; iterations: number; converged: boolean; lambda: number }>;
}

function kindSettings(settings: MatchingSettings, kind: CustomerKindName): KindSettings {
  return kind === 'PERSON' ? settings.person : settings.organization;
}

/** Pairs of a run, in growable typed arrays (a million customers give millions of pairs). */
class PairBuffer {
  a = new Float64Array(1 << 16);
  b = new Float64Array(1 << 16);
  pattern = new Uint32Array(1 << 16);
  length = 0;

  push(a: number, b: number, pattern: number): void {
    if (this.length === this.a.length) {
      const grow = <T extends Float64Array | Uint32Array>(array: T): T => {
        const next = new (array.constructor as new (n: number) => T)(array.length * 2);
        next.set(array);
        return next;
      };
      this.a = grow(this.a);
      this.b = grow(this.b);
      this.pattern = grow(this.pattern);
    }
    this.a[this.length] = a;
    this.b[this.length] = b;
    this.pattern[this.length] = pattern;
    this.length++;
  }
}

interface Pattern {
  kind: CustomerKindName;
  levels: Int8Array;
  count: number;
  score?: number;
  evidence?: string;
}

const FETCH = 20_000;
const WRITE_BATCH = 5_000;
const RANDOM_ROWS = 5_000;
const RANDOM_PAIRS = 20_000;

/** A seeded generator, so a run on the same data fits the same model. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Weights of a kind from its model (or, with no model, from hand-set weights alone). */
export function kindWeights(settings: MatchingSettings, kind: CustomerKindName, models: StoredModels): Weights {
  const fields = kindSettings(settings, kind).fields;
  const model = models[kind] ?? { lambda: 0.5, fields: [], iterations: 0, converged: false, pairs: 0 };
  return weightsOf(model, fields, settings);
}

export async function fullRun(
  dataSource: DataSource,
  settings: MatchingSettings,
  onProgress: (percent: number) => Promise<void> | void = () => undefined,
): Promise<{ models: StoredModels; report: RunReport }> {
  const started = Date.now();
  const [{ now: startedAt }] = await dataSource.query(`SELECT now() AS now`);
  const customers = await dataSource.transaction((manager) => writeFeatures(manager, settings, null));
  await onProgress(15);

  const patterns: Pattern[] = [];
  const patternIndex = new Map<string, number>();
  const pairs = new PairBuffer();
  let oversizedKeys: number;
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query(`SET LOCAL work_mem = '256MB'`);
    const [{ count }] = await runner.query(`SELECT count(*)::int AS count FROM (SELECT 1 FROM identity_block_keys GROUP BY key HAVING count(*) > $1) o`, [
      settings.maxBlockSize,
    ]);
    oversizedKeys = count;
    await runner.query(
      `CREATE TEMP TABLE identity_candidates ON COMMIT DROP AS
       SELECT DISTINCT x.customer_id AS a, y.customer_id AS b
         FROM (SELECT key FROM identity_block_keys GROUP BY key HAVING count(*) BETWEEN 2 AND ${Number(settings.maxBlockSize)}) k
         JOIN identity_block_keys x ON x.key = k.key
         JOIN identity_block_keys y ON y.key = k.key AND x.customer_id < y.customer_id`,
    );
    await onProgress(35);
    await runner.query(
      `DECLARE identity_pairs NO SCROLL CURSOR FOR
       SELECT c.a, c.b, fa.kind, fa.features AS fa, fb.features AS fb
         FROM identity_candidates c
         JOIN identity_features fa ON fa.customer_id = c.a
         JOIN identity_features fb ON fb.customer_id = c.b AND fb.kind = fa.kind`,
    );
    for (;;) {
      const rows: { a: string; b: string; kind: CustomerKindName; fa: FeatureRow; fb: FeatureRow }[] = await runner.query(`FETCH ${FETCH} FROM identity_pairs`);
      if (rows.length === 0) break;
      for (const row of rows) {
        const levels = comparePair(kindSettings(settings, row.kind).fields, row.fa, row.fb);
        const key = `${row.kind}:${levels.join(',')}`;
        let index = patternIndex.get(key);
        if (index === undefined) {
          index = patterns.length;
          patterns.push({ kind: row.kind, levels, count: 0 });
          patternIndex.set(key, index);
        }
        patterns[index].count++;
        pairs.push(Number(row.a), Number(row.b), index);
      }
    }
    await runner.commitTransaction();
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  } finally {
    await runner.release();
  }
  await onProgress(70);

  const models: StoredModels = {};
  const fits: RunReport['fits'] = {};
  const random = seededRandom(18);
  for (const kind of KINDS) {
    const fields = kindSettings(settings, kind).fields;
    const own = new Map<string, { levels: Int8Array; count: number }>();
    patterns.forEach((p, i) => {
      if (p.kind === kind) own.set(String(i), p);
    });
    if (own.size === 0) continue;
    const sample: { features: FeatureRow }[] = await dataSource.query(
      `SELECT features FROM identity_features WHERE kind = $1 ORDER BY md5(customer_id::text) LIMIT ${RANDOM_ROWS}`,
      [kind],
    );
    const uStart = randomPairFrequencies(
      fields,
      sample.map((s) => s.features),
      RANDOM_PAIRS,
      random,
    );
    const model = fitModel(fields, own, uStart, settings.emIterations);
    models[kind] = model;
    fits[kind] = { pairs: model.pairs, iterations: model.iterations, converged: model.converged, lambda: model.lambda };
  }
  for (const kind of KINDS) {
    const weights = kindWeights(settings, kind, models);
    for (const p of patterns) {
      if (p.kind !== kind) continue;
      p.score = scorePattern(weights, p.levels);
      p.evidence = JSON.stringify(evidenceOf(weights, p.levels));
    }
  }

  // Store the pairs that reach reviewScore, in key order (as every writer of duplicate_pairs does, so writers never deadlock).
  const keep: number[] = [];
  let duplicates = 0;
  for (let i = 0; i < pairs.length; i++) {
    const score = patterns[pairs.pattern[i]].score ?? 0;
    if (score >= settings.reviewScore) keep.push(i);
    if (score >= settings.matchScore) duplicates++;
  }
  keep.sort((x, y) => pairs.a[x] - pairs.a[y] || pairs.b[x] - pairs.b[y]);
  for (let start = 0; start < keep.length; start += WRITE_BATCH) {
    const slice = keep.slice(start, start + WRITE_BATCH);
    await upsertPairs(
      dataSource.manager,
      slice.map((i) => {
        const pattern = patterns[pairs.pattern[i]];
        return { a: String(pairs.a[i]), b: String(pairs.b[i]), score: pattern.score ?? 0, evidence: pattern.evidence ?? '[]' };
      }),
    );
    await onProgress(70 + Math.round((25 * (start + slice.length)) / keep.length));
  }
  // Pairs found by an earlier run and not by this one no longer score: gone, unless a person decided on them.
  await dataSource.query(`DELETE FROM duplicate_pairs WHERE status = 'OPEN' AND origin = 'MATCHING' AND updated_at < $1`, [startedAt]);

  return {
    models,
    report: {
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - started,
      customers,
      pairsCompared: pairs.length,
      oversizedKeys,
      pairsStored: keep.length,
      duplicates,
      fits,
    },
  };
}

/**
 * Upserts scored pairs (a < b); a pair already DISMISSED or MERGED keeps its
 * status and is not rescored. The rows go as one JSON document: the driver's
 * escaping of a text array of JSON strings costs more than the insert.
 */
export async function upsertPairs(
  manager: EntityManager,
  rows: { a: string; b: string; score: number; evidence: string }[],
  origin: 'MATCHING' | 'POLICY' = 'MATCHING',
): Promise<void> {
  if (rows.length === 0) return;
  const document = `[${rows.map((r) => `{"a":${JSON.stringify(r.a)},"b":${JSON.stringify(r.b)},"s":${Math.min(1, Math.max(0, r.score))},"e":${r.evidence}}`).join(',')}]`;
  await manager.query(
    `INSERT INTO duplicate_pairs (customer_a, customer_b, score, evidence, origin)
     SELECT v.a, v.b, v.s, v.e, $2 FROM jsonb_to_recordset($1::jsonb) AS v(a bigint, b bigint, s float8, e jsonb)
     ON CONFLICT (customer_a, customer_b) DO UPDATE SET score = EXCLUDED.score, evidence = EXCLUDED.evidence, updated_at = now()
      WHERE duplicate_pairs.status = 'OPEN'`,
    [document, origin],
  );
}

/**
 * The incremental run, inside the customer refresh's transaction: the
 * refreshed customers' features and keys are rewritten, and each is compared
 * with the customers sharing one of its keys (keys shared by more than
 * `maxBlockSize` customers are skipped, as in the full run), scored with the
 * stored models. Their open pairs that no longer reach reviewScore go.
 */
export async function matchCustomers(
  manager: EntityManager,
  settings: MatchingSettings,
  models: StoredModels,
  customerIds: readonly string[],
): Promise<number> {
  if (customerIds.length === 0) return 0;
  await writeFeatures(manager, settings, customerIds);
  const rows: { a: string; b: string; kind: CustomerKindName; fa: FeatureRow; fb: FeatureRow }[] = await manager.query(
    `WITH mine AS (
       SELECT DISTINCT k.key, k.customer_id FROM identity_block_keys k
        WHERE k.customer_id = ANY($1::bigint[])
          AND (SELECT count(*) FROM (SELECT 1 FROM identity_block_keys z WHERE z.key = k.key LIMIT $2 + 1) s) <= $2
     ), pairs AS (
       SELECT DISTINCT LEAST(m.customer_id, o.customer_id) AS a, GREATEST(m.customer_id, o.customer_id) AS b
         FROM mine m JOIN identity_block_keys o ON o.key = m.key AND o.customer_id <> m.customer_id
     )
     SELECT p.a, p.b, fa.kind, fa.features AS fa, fb.features AS fb
       FROM pairs p
       JOIN identity_features fa ON fa.customer_id = p.a
       JOIN identity_features fb ON fb.customer_id = p.b AND fb.kind = fa.kind
      ORDER BY p.a, p.b`,
    [customerIds, settings.maxBlockSize],
  );
  const weights = { PERSON: kindWeights(settings, 'PERSON', models), ORGANIZATION: kindWeights(settings, 'ORGANIZATION', models) };
  const scored = rows
    .map((row) => {
      const levels = comparePair(kindSettings(settings, row.kind).fields, row.fa, row.fb);
      const w = weights[row.kind];
      return { a: row.a, b: row.b, score: scorePattern(w, levels), evidence: JSON.stringify(evidenceOf(w, levels)) };
    })
    .filter((p) => p.score >= settings.reviewScore);
  await manager.query(
    `DELETE FROM duplicate_pairs d
      WHERE d.status = 'OPEN' AND d.origin = 'MATCHING' AND (d.customer_a = ANY($1::bigint[]) OR d.customer_b = ANY($1::bigint[]))
        AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS k(a, b) WHERE k.a = d.customer_a AND k.b = d.customer_b)`,
    [customerIds, scored.map((p) => p.a), scored.map((p) => p.b)],
  );
  await upsertPairs(manager, scored);
  return scored.length;
}

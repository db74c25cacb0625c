import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { BLOCKS_TABLE, rewriteAllFeatures, writeFeatures } from './features';
import {
  comparePair,
  compareValues,
  evidenceOf,
  fitModel,
  randomPairFrequencies,
  scorePattern,
  weightsOf,
  type FeatureRow,
  type MatchModel,
  type Weights,
} from './fellegi-sunter';
import { levelsOf, type KindSettings, type MatchingSettings } from './settings';

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
  /** Each phase of the run: wall time and the CPU time of this Node process (Postgres' own CPU is not visible from here). */
  phases: PhaseReport[];
}

export interface PhaseReport {
  phase: string;
  ms: number;
  nodeCpuMs: number;
}

/** Called as each phase of a full run starts (and with null when the run ends), so a caller can sample what it can see (bench/identity: Postgres CPU). */
export type PhaseListener = (phase: string | null) => void;

/** Wall and Node CPU time per phase of a run. */
class PhaseClock {
  readonly phases: PhaseReport[] = [];
  private current: { phase: string; at: number; cpu: NodeJS.CpuUsage } | null = null;

  constructor(private readonly listener: PhaseListener) {}

  start(phase: string | null): void {
    if (this.current) {
      const cpu = process.cpuUsage(this.current.cpu);
      this.phases.push({
        phase: this.current.phase,
        ms: Math.round(performance.now() - this.current.at),
        nodeCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      });
    }
    this.listener(phase);
    this.current = phase === null ? null : { phase, at: performance.now(), cpu: process.cpuUsage() };
  }
}

function kindSettings(settings: MatchingSettings, kind: CustomerKindName): KindSettings {
  return kind === 'PERSON' ? settings.person : settings.organization;
}

interface Pattern {
  kind: CustomerKindName;
  levels: Int8Array;
  count: number;
  score?: number;
  evidence?: string;
}

const FETCH = 20_000;
/** Pairs are coded `low * PAIR_BASE + high` (dense customer numbers): exact in a double up to 2^26 customers in blocks. */
const PAIR_BASE = 2 ** 26;
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

/** A growable array of doubles (a million customers give millions of candidate pairs). */
class DoubleBuffer {
  data = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
}

/**
 * Runs `FETCH` on a cursor and hands each batch to `handle` while the next
 * batch is already being fetched, so Postgres produces rows while Node
 * works on the previous ones.
 */
async function drainCursor<Row>(runner: QueryRunner, cursor: string, handle: (rows: Row[]) => void): Promise<void> {
  const fetch = () => runner.query(`FETCH ${FETCH} FROM ${cursor}`) as Promise<Row[]>;
  let pending = fetch();
  for (;;) {
    const rows = await pending;
    if (rows.length === 0) return;
    pending = fetch();
    try {
      handle(rows);
    } catch (error) {
      await pending.catch(() => undefined);
      throw error;
    }
  }
}

/**
 * The candidate pairs: every pair of customers that share a blocking key
 * held by at most `maxBlockSize` customers. Postgres groups the keys (one
 * pass over the key index); Node expands each group into its pairs, numbers
 * the customers densely in the order they appear, and removes the pairs
 * found through several keys by sorting their numeric codes (`low *
 * PAIR_BASE + high`) — cheaper than a DISTINCT over the self-join in SQL.
 */
async function candidatePairs(
  runner: QueryRunner,
  maxBlockSize: number,
): Promise<{ ids: number[]; dense: Map<number, number>; codes: Float64Array; oversizedKeys: number }> {
  const dense = new Map<number, number>();
  const ids: number[] = [];
  const codes = new DoubleBuffer();
  let oversizedKeys = 0;
  const number = (id: number) => {
    let d = dense.get(id);
    if (d === undefined) {
      d = ids.length;
      if (d >= PAIR_BASE) throw new Error(`identity: more than ${PAIR_BASE} customers in blocks`);
      ids.push(id);
      dense.set(id, d);
    }
    return d;
  };
  await runner.query(
    `DECLARE identity_pairs_blocks NO SCROLL CURSOR FOR
     SELECT CASE WHEN cardinality(ids) <= $1 THEN array_to_string(ids, ',') END AS ids FROM ${BLOCKS_TABLE} WHERE cardinality(ids) >= 2`,
    [maxBlockSize],
  );
  const members: number[] = [];
  await drainCursor<{ ids: string | null }>(runner, 'identity_pairs_blocks', (rows) => {
    for (const row of rows) {
      if (row.ids === null) {
        oversizedKeys++;
        continue;
      }
      members.length = 0;
      for (const id of row.ids.split(',')) members.push(number(Number(id)));
      for (let i = 0; i < members.length; i++) {
        for (let j = i + 1; j < members.length; j++) {
          const x = members[i];
          const y = members[j];
          codes.push(x < y ? x * PAIR_BASE + y : y * PAIR_BASE + x);
        }
      }
    }
  });
  await runner.query(`CLOSE identity_pairs_blocks`);
  const sorted = codes.data.subarray(0, codes.length).sort();
  let unique = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i];
  return { ids, dense, codes: sorted.subarray(0, unique), oversizedKeys };
}

/**
 * The compared fields of the customers in candidate pairs, by dense number:
 * `values[d * stride + f]` is field f of the customer's kind (and `phonetic`
 * its phonetic code), read once per customer rather than once per pair.
 */
async function loadFeatures(
  runner: QueryRunner,
  settings: MatchingSettings,
  dense: Map<number, number>,
  count: number,
): Promise<{ kinds: Uint8Array; values: (string | null)[]; phonetic: (string | null)[]; stride: number }> {
  const stride = Math.max(...KINDS.map((kind) => kindSettings(settings, kind).fields.length));
  const kinds = new Uint8Array(count); // 0: no features (erased meanwhile), else 1 + index in KINDS
  const values: (string | null)[] = new Array<string | null>(count * stride).fill(null);
  const phonetic: (string | null)[] = new Array<string | null>(count * stride).fill(null);
  await runner.query(`DECLARE identity_rows NO SCROLL CURSOR FOR SELECT customer_id, kind, features::text AS features FROM identity_features`);
  await drainCursor<{ customer_id: string; kind: CustomerKindName; features: string }>(runner, 'identity_rows', (rows) => {
    for (const row of rows) {
      const d = dense.get(Number(row.customer_id));
      if (d === undefined) continue;
      const kind = KINDS.indexOf(row.kind);
      if (kind < 0) continue;
      const features = JSON.parse(row.features) as FeatureRow;
      const fields = kindSettings(settings, row.kind).fields;
      kinds[d] = kind + 1;
      for (let f = 0; f < fields.length; f++) {
        const spec = fields[f];
        values[d * stride + f] = features[spec.field] ?? null;
        if (spec.comparison === 'phonetic') phonetic[d * stride + f] = features[`${spec.field}:phonetic`] ?? null;
      }
    }
  });
  await runner.query(`CLOSE identity_rows`);
  return { kinds, values, phonetic, stride };
}

/**
 * Compares the candidate pairs: finds them, loads the features of their
 * customers once, and gives each pair its agreement pattern. Returns the
 * patterns (with their counts) and, for each pair kept (both customers still
 * have features, of one kind), its code and pattern.
 */
async function compareCandidates(
  runner: QueryRunner,
  settings: MatchingSettings,
  clock: PhaseClock,
  onProgress: (percent: number) => Promise<void> | void,
): Promise<{ patterns: Pattern[]; ids: number[]; codes: Float64Array; pairPattern: Uint32Array; oversizedKeys: number }> {
  const patterns: Pattern[] = [];
  // Agreement patterns by a numeric code (levels + 1 in mixed radix), or by their text when the code would not fit a double.
  const patternIndex = new Map<number | string, number>();
  try {
    await runner.startTransaction('REPEATABLE READ');
    clock.start('candidates');
    const candidates = await candidatePairs(runner, settings.maxBlockSize);
    const { ids, oversizedKeys } = candidates;
    await onProgress(35);
    clock.start('load');
    const rows = await loadFeatures(runner, settings, candidates.dense, ids.length);
    await runner.commitTransaction();
    await onProgress(45);

    clock.start('compare');
    const { kinds, values, phonetic, stride } = rows;
    const perKind = KINDS.map((kind) => {
      const fields = kindSettings(settings, kind).fields;
      const radix = fields.map((spec) => levelsOf(spec).length + 1);
      return { kind, fields, radix, numeric: radix.reduce((p, r) => p * r, 2) <= Number.MAX_SAFE_INTEGER, levels: new Int8Array(fields.length) };
    });
    const codes = candidates.codes;
    const pairPattern = new Uint32Array(codes.length);
    let kept = 0;
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i];
      const x = Math.floor(code / PAIR_BASE);
      const y = code - x * PAIR_BASE;
      const kind = kinds[x];
      if (kind === 0 || kind !== kinds[y]) continue;
      const k = perKind[kind - 1];
      const { fields, levels, radix } = k;
      let key = 0;
      for (let f = 0; f < fields.length; f++) {
        const level = compareValues(fields[f], values[x * stride + f], values[y * stride + f], phonetic[x * stride + f], phonetic[y * stride + f]);
        levels[f] = level;
        key = key * radix[f] + level + 1;
      }
      const patternKey: number | string = k.numeric ? key * 2 + kind - 1 : `${k.kind}:${levels.join(',')}`;
      let index = patternIndex.get(patternKey);
      if (index === undefined) {
        index = patterns.length;
        patterns.push({ kind: k.kind, levels: levels.slice(), count: 0 });
        patternIndex.set(patternKey, index);
      }
      patterns[index].count++;
      codes[kept] = code;
      pairPattern[kept++] = index;
    }
    return { patterns, ids, codes: codes.subarray(0, kept), pairPattern: pairPattern.subarray(0, kept), oversizedKeys };
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  }
}

export async function fullRun(
  dataSource: DataSource,
  settings: MatchingSettings,
  onProgress: (percent: number) => Promise<void> | void = () => undefined,
  onPhase: PhaseListener = () => undefined,
): Promise<{ models: StoredModels; report: RunReport }> {
  const started = Date.now();
  const clock = new PhaseClock(onPhase);
  const [{ now: startedAt }] = await dataSource.query(`SELECT now() AS now`);
  // One session for the features and the candidates: the candidates are read from the temporary table the rewrite leaves on it.
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  let customers: number;
  let compared: Awaited<ReturnType<typeof compareCandidates>>;
  try {
    clock.start('features');
    await runner.startTransaction();
    try {
      customers = await rewriteAllFeatures(runner.manager, settings);
      await runner.commitTransaction();
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    }
    await onProgress(15);
    compared = await compareCandidates(runner, settings, clock, onProgress);
  } finally {
    // The grouped keys are the run's own: never left on a pooled connection.
    if (!runner.isTransactionActive) await runner.query(`DROP TABLE IF EXISTS ${BLOCKS_TABLE}`).catch(() => undefined);
    await runner.release();
  }
  const { patterns, ids, codes, pairPattern, oversizedKeys } = compared;
  await onProgress(70);
  clock.start('fit');

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

  clock.start('store');
  // Store the pairs that reach reviewScore, in key order (as every writer of duplicate_pairs does, so writers never deadlock).
  const keep: { a: number; b: number; pattern: Pattern }[] = [];
  let duplicates = 0;
  for (let i = 0; i < codes.length; i++) {
    const pattern = patterns[pairPattern[i]];
    const score = pattern.score ?? 0;
    if (score >= settings.matchScore) duplicates++;
    if (score < settings.reviewScore) continue;
    const x = Math.floor(codes[i] / PAIR_BASE);
    const y = ids[codes[i] - x * PAIR_BASE];
    keep.push({ a: Math.min(ids[x], y), b: Math.max(ids[x], y), pattern });
  }
  keep.sort((p, q) => p.a - q.a || p.b - q.b);
  for (let start = 0; start < keep.length; start += WRITE_BATCH) {
    const slice = keep.slice(start, start + WRITE_BATCH);
    await upsertPairs(
      dataSource.manager,
      slice.map(({ a, b, pattern }) => ({ a: String(a), b: String(b), score: pattern.score ?? 0, evidence: pattern.evidence ?? '[]' })),
    );
    await onProgress(70 + Math.round((25 * (start + slice.length)) / keep.length));
  }
  // Pairs found by an earlier run and not by this one no longer score: gone, unless a person decided on them.
  await dataSource.query(`DELETE FROM duplicate_pairs WHERE status = 'OPEN' AND origin = 'MATCHING' AND updated_at < $1`, [startedAt]);
  clock.start(null);

  return {
    models,
    report: {
      startedAt: new Date(startedAt).toISOString(),
      durationMs: Date.now() - started,
      customers,
      pairsCompared: codes.length,
      oversizedKeys,
      pairsStored: keep.length,
      duplicates,
      fits,
      phases: clock.phases,
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
 * stored models. Their open pairs that no longer reach reviewScore go, except
 * those whose two customers a merge made one, which its consumer settles.
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
  // A pair whose two customers are now one (merged into the same survivor) is left to the merge's consumer, which
  // marks it MERGED and may not have run yet: a merge asks for this refresh of its customers when it commits.
  await manager.query(
    `DELETE FROM duplicate_pairs d
      WHERE d.status = 'OPEN' AND d.origin = 'MATCHING' AND (d.customer_a = ANY($1::bigint[]) OR d.customer_b = ANY($1::bigint[]))
        AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS k(a, b) WHERE k.a = d.customer_a AND k.b = d.customer_b)
        AND coalesce((SELECT r.survivor_id FROM customer_redirects r WHERE r.customer_id = d.customer_a), d.customer_a)
         <> coalesce((SELECT r.survivor_id FROM customer_redirects r WHERE r.customer_id = d.customer_b), d.customer_b)`,
    [customerIds, scored.map((p) => p.a), scored.map((p) => p.b)],
  );
  await upsertPairs(manager, scored);
  return scored.length;
}

import type { DataSource, EntityManager } from 'typeorm';
import type { z } from 'zod';
import { ErrorCode, fail, RapportError } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import type { Logger } from '../../infra/logger';
import { present } from '../../infra/present';
import { SqlParams } from '../../infra/sql-filter';
import { ModelFitError } from './models';
import {
  kindDefinition,
  SCORE_KIND_DEFINITIONS,
  type CustomerRules,
  type FitResult,
  type KindContext,
  type Queryable,
  type ScoreContext,
  type ScoreKindDefinition,
  type ScoreScope,
  type StoredModel,
} from './kinds';
import { SCORE_KINDS, type ScoreKind } from './score-kind';
import {
  appendScores,
  checkFeatures,
  dropRebuild,
  FULL_RECOMPUTE_LOCK,
  indexRebuild,
  keepFeatures as keepRunFeatures,
  keepScores,
  startRebuild,
  swapRebuild,
} from './score-rebuild';
import { MemoTable } from './memo-table';
import { scoreRowsInput, writeScoreInput, type ScoreInput } from './score-writer';
import { publish } from '../events';

/** A customer's current score of one kind. */
export interface ScoreRecord {
  customerId: string;
  kind: ScoreKind;
  value: number;
  label: string | null;
  components: Record<string, unknown>;
  modelVersion: number;
  computedAt: Date;
  /** When the value or label became what it is. */
  changedAt: Date;
}

/** One bucket of a score histogram: [lower, upper), the last one closed. */
export interface ScoreBucket {
  lower: number;
  upper: number;
  count: number;
}

/** What a full recompute did, per kind. */
export interface RecomputeOutcome {
  kinds: { kind: ScoreKind; fitted: boolean; modelVersion: number; scored: number; fitSeconds: number; scoreSeconds: number }[];
  errors: { kind: ScoreKind; code: string; message: string }[];
}

/** Options of {@link ScoreService.recompute}. */
export interface RecomputeOptions {
  /** Customers per id-range batch (one transaction each, all kinds). @defaultValue {@link DEFAULT_RECOMPUTE_BATCH} */
  batchSize?: number;
  /**
   * Batches of the SQL-scored kinds at once, each in its own transaction on its own connection (one more
   * connection scores the worker-scored kinds). @defaultValue {@link DEFAULT_RECOMPUTE_CONCURRENCY}
   */
  concurrency?: number;
  /** Called with the share of the work done, 0–100. */
  onProgress?: (percent: number) => Promise<void> | void;
}

/** Asks for a `scores.recompute` job (the module manifest passes one over the queue; services never talk to queues directly). */
export type RecomputeRequester = (kinds: ScoreKind[]) => Promise<unknown>;

/** Customers per id-range batch of a full recompute: large enough that per-statement costs vanish, small enough to bound memory and lock time. */
export const DEFAULT_RECOMPUTE_BATCH = 25_000;

/**
 * Batches of a full recompute in flight at once, each on its own Postgres
 * backend: size it to the cores the database can give a recompute.
 */
export const DEFAULT_RECOMPUTE_CONCURRENCY = 2;

/** Postgres sort/hash memory of a fit's and of a batch's statements (SET LOCAL, per transaction; the server default of 4 MB spills to disk). */
const FIT_WORK_MEM = '256MB';
const BATCH_WORK_MEM = '64MB';

export const DISTRIBUTION_LIMITS = { defaultBuckets: 10, maxBuckets: 100 } as const;

const MODEL_COLUMNS = `kind, settings, parameters, fitted_at AS "fittedAt", as_of AS "asOf", sample_size AS "sampleSize",
  diagnostics, version, updated_at AS "updatedAt"`;

/**
 * Score models and scores: settings, fitting, full recomputes batched by id
 * range, refreshes of given customers with the current models, and reads
 * that are not per customer (distributions).
 */
export class ScoreService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    /** Enqueues a recompute of kinds whose settings changed (the module's job; nothing without a queue). */
    private readonly requestRecompute: RecomputeRequester = async () => undefined,
    /** The segment rule language, for kinds with rules in their settings (CHURN_PROPENSITY). */
    private readonly rules?: CustomerRules,
  ) {}

  /** Every model, stored or default, with its settings parsed (defaults filled in). */
  async models(db: Queryable = this.dataSource.manager): Promise<Map<ScoreKind, StoredModel>> {
    const rows: StoredModel[] = await db.query(`SELECT ${MODEL_COLUMNS} FROM score_models`);
    const byKind = new Map(rows.map((r) => [r.kind, r]));
    const models = new Map<ScoreKind, StoredModel>();
    for (const definition of SCORE_KIND_DEFINITIONS) {
      const stored = byKind.get(definition.kind);
      const model: StoredModel = stored ?? {
        kind: definition.kind,
        settings: {},
        parameters: null,
        fittedAt: null,
        asOf: null,
        sampleSize: null,
        diagnostics: null,
        version: 0,
        updatedAt: new Date(0),
      };
      models.set(definition.kind, { ...model, settings: this.effectiveSettings(definition, model.settings) as Record<string, unknown> });
    }
    return models;
  }

  async listModels(): Promise<StoredModel[]> {
    return [...(await this.models()).values()];
  }

  /**
   * Merges `input` into the stored settings of `kind` (a key set to null
   * returns to its default), validates the result, saves it and schedules a
   * recompute of the kind.
   *
   * @throws RapportError VALIDATION_FAILED naming the setting (`settings.<name>`);
   *   for rules in settings SEGMENT_RULE_INVALID, or FORBIDDEN when they read
   *   personal data and `access.piiRead` is false.
   */
  async updateModel(kind: ScoreKind, input: unknown, access: { piiRead: boolean } = { piiRead: false }): Promise<StoredModel> {
    const definition = kindDefinition(kind);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw fail('VALIDATION_FAILED', { detail: 'settings must be a JSON object' }, 'settings');
    }
    const [stored] = await this.dataSource.query(`SELECT settings FROM score_models WHERE kind = $1`, [kind]);
    // A null setting drops the stored value (back to the default).
    const merged = new Map<string, unknown>(Object.entries(stored?.settings ?? {}));
    for (const [key, value] of Object.entries(input)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    let settings = validateSettings(definition, Object.fromEntries(merged));
    if (definition.checkSettings) settings = await definition.checkSettings(settings, { rules: this.rules, piiRead: access.piiRead });
    // In a transaction so the audit entry of the mutation commits with it.
    await inTransaction(this.dataSource, (manager) =>
      manager.query(
        `INSERT INTO score_models (kind, settings, updated_at) VALUES ($1, $2::jsonb, now())
         ON CONFLICT (kind) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
        [kind, JSON.stringify(settings)],
      ),
    );
    try {
      await this.requestRecompute(expandKinds([kind]));
    } catch (error) {
      // The settings are saved; the nightly recompute applies them if the queue is down now.
      this.logger.warn({ err: error, kind }, 'could not schedule the recompute after a settings change');
    }
    // models() has every kind: the stored model, or the default.
    return modelOf(await this.models(), kind);
  }

  /**
   * Fits every requested kind that fits (and the kinds sharing its model),
   * then scores all customers batch by batch over id ranges into a rebuild of
   * the scores table, which replaces `scores` at the end in one transaction,
   * the scores it changed or removed going to history (see score-rebuild.ts).
   * A batch is one transaction over an id range for a group of kinds: those
   * scored in SQL (one statement each), or those scored in the worker from
   * one read of shared summaries (CLV and CHURN_RISK, from CLV's fit). A kind
   * whose fit fails is reported and left as it was; the others go on. One
   * full recompute runs at a time. Idempotent: a rerun writes the same scores
   * and no history, and a run stopped anywhere before the swap leaves scores
   * and history as they were.
   */
  async recompute(requested: readonly ScoreKind[], options: RecomputeOptions = {}): Promise<RecomputeOutcome> {
    const session = this.dataSource.createQueryRunner();
    await session.connect();
    try {
      await session.query(`SELECT pg_advisory_lock(${FULL_RECOMPUTE_LOCK})`);
      return await this.recomputeAlone(expandKinds(requested), options);
    } finally {
      // A run that stopped (or had nothing to score) leaves no rebuild behind; after a swap there is none.
      await inTransaction(this.dataSource, (manager) => dropRebuild(manager)).catch((error) =>
        this.logger.warn({ err: error }, 'could not drop the rebuild of a stopped recompute'),
      );
      // A connection that broke has lost its session lock with it; the pool discards it.
      await session.query(`SELECT pg_advisory_unlock(${FULL_RECOMPUTE_LOCK})`).catch(() => undefined);
      await session.release();
    }
  }

  /** A full recompute, the lock held: plan, fits, batches, then the index build and swap. */
  private async recomputeAlone(kinds: ScoreKind[], options: RecomputeOptions): Promise<RecomputeOutcome> {
    const plan = await this.planRecompute(kinds, options.batchSize ?? DEFAULT_RECOMPUTE_BATCH);
    // Fits, batches, then the index build and swap.
    const progress = new RecomputeProgress(kinds.length + plan.groups.length * plan.ranges.length + 1, options.onProgress);
    const errors: RecomputeOutcome['errors'] = [];
    const fits = this.startFits(plan, progress, errors);
    const groupReady = plan.groups.map((group) => fittedKindsOf(group, fits, progress, plan.ranges.length));
    const kept = this.keepUnfittedScores(plan.kinds, fits);
    for (const pending of [...groupReady, kept]) void pending.catch(() => undefined); // awaited below
    await this.runBatches(plan, groupReady, progress, options.concurrency ?? DEFAULT_RECOMPUTE_CONCURRENCY);
    const results = await settleFits(plan.kinds, fits, kept, progress);
    errors.sort((a, b) => kinds.indexOf(a.kind) - kinds.indexOf(b.kind));
    const outcome: RecomputeOutcome = { kinds: results, errors };
    if (results.length === 0) {
      await options.onProgress?.(100);
      return outcome;
    }
    await this.swapIn(
      plan.since,
      progress,
      results.map((r) => r.kind),
    );
    return outcome;
  }

  /** What a full recompute works on, read before the fits: the clock, the models, the rebuild, the id ranges and the groups of kinds. */
  private async planRecompute(kinds: ScoreKind[], batchSize: number): Promise<RecomputePlan> {
    const now = await this.databaseNow();
    const models = await this.models();
    // Before the fits: the run scores as of their snapshots (CLV's batches use its fit's summaries).
    const since = await inTransaction(this.dataSource, (manager) => startRebuild(manager));
    // Every customer, and every customer with a score (the batches set aside the scores they supersede); read
    // after `since`, so a customer scored for the first time by a refresh after this is one the swap keeps.
    const [{ lo, hi }] = await this.dataSource.query(
      `SELECT least((SELECT min(id) FROM customers), (SELECT min(customer_id) FROM scores))::text AS lo,
              greatest((SELECT max(id) FROM customers), (SELECT max(customer_id) FROM scores))::text AS hi`,
    );
    const ranges = lo === null ? [] : await customerIdRanges(this.dataSource.manager, lo, hi, batchSize);
    // Batches score a group of kinds over an id range: the kinds scored in SQL, or those scored in the worker.
    const groups = [kinds.filter((k) => kindDefinition(k).scoreSql), kinds.filter((k) => !kindDefinition(k).scoreSql)].filter((g) => g.length > 0);
    const everyKind = SCORE_KINDS.every((k) => kinds.includes(k));
    return { kinds, everyKind, now, models, since, ranges, groups, runMemo: new MemoTable(), features: new Map() };
  }

  /**
   * Starts every fit at once, each in its own transaction (SQL fits overlap CLV's optimiser in the worker);
   * a kind that fits after others (CHURN_RISK takes over CLV's fit) waits for them.
   */
  private startFits(plan: RecomputePlan, progress: RecomputeProgress, errors: RecomputeOutcome['errors']): Map<ScoreKind, Promise<KindOutcome | null>> {
    const fits = new Map<ScoreKind, Promise<KindOutcome | null>>();
    for (const kind of plan.kinds) {
      const waitFor = (kindDefinition(kind).fitAfter ?? []).map((other) => fits.get(other));
      fits.set(
        kind,
        Promise.all(waitFor).then(() => this.fitKind(kind, plan, progress, errors)),
      );
    }
    return fits;
  }

  /** Fits one kind and saves its model; a failed fit is reported in `errors` and leaves the kind as it was (null). */
  private async fitKind(kind: ScoreKind, plan: RecomputePlan, progress: RecomputeProgress, errors: RecomputeOutcome['errors']): Promise<KindOutcome | null> {
    const definition = kindDefinition(kind);
    const fitStarted = performance.now();
    const { fit } = definition;
    if (definition.configured && !definition.configured(modelOf(plan.models, kind).settings)) {
      // Not configured: a recompute of every kind (nightly) leaves it alone; one that names it says why.
      if (!plan.everyKind) {
        errors.push({ kind, code: ErrorCode.MODEL_NOT_FITTED, message: `${kind}: not configured; set its settings with updateScoreModel` });
      }
      await progress.step();
      return null;
    }
    if (fit) {
      try {
        const model = modelOf(plan.models, kind);
        const result = await inTransaction(this.dataSource, async (manager) => {
          // Fits aggregate every customer at once: enough sort/hash memory that they do not spill to disk.
          // No parallel workers: the fits run side by side and already keep the cores busy; workers would add
          // their start-up and tuple-queue cost for no gain.
          await manager.query(`SET LOCAL work_mem = '${FIT_WORK_MEM}'; SET LOCAL max_parallel_workers_per_gather = 0`);
          const keepFeatures = async (select: string, params: unknown[]) => {
            const table = await keepRunFeatures(manager, kind, select, params);
            plan.features.set(kind, table);
            return table;
          };
          return fit({ ...this.context(manager, model, plan.models, plan.now), runMemo: plan.runMemo, keepFeatures });
        });
        plan.models.set(kind, await this.saveFit(kind, result));
      } catch (error) {
        errors.push(describeFitError(kind, error));
        this.logger.warn({ err: error, kind }, 'score model fit failed; scores of this kind are left as they were');
        await progress.step();
        return null;
      }
    }
    await progress.step();
    return {
      kind,
      fitted: !!fit,
      modelVersion: modelOf(plan.models, kind).version,
      scored: 0,
      fitSeconds: (performance.now() - fitStarted) / 1000,
      scoreSeconds: 0,
    };
  }

  /** Copies the scores of the kinds left as they were (not requested, or their fit failed) once every fit is settled. */
  private async keepUnfittedScores(kinds: ScoreKind[], fits: ReadonlyMap<ScoreKind, Promise<KindOutcome | null>>): Promise<void> {
    const results = await Promise.all(kinds.map((kind) => fitOf(fits, kind)));
    const rebuilt = new Set(results.filter((r) => r !== null).map((r) => r.kind));
    await inTransaction(this.dataSource, (manager) =>
      keepScores(
        manager,
        SCORE_KINDS.filter((k) => !rebuilt.has(k)),
      ),
    );
  }

  /**
   * Batches are independent (disjoint id ranges or kinds, one transaction each): `concurrency` lanes take SQL
   * batches first and one more takes the worker-scored kinds' batches first (its JavaScript runs while Postgres
   * works for the others), each on its own connection. After a failure no new batch starts.
   */
  private async runBatches(plan: RecomputePlan, groupReady: Promise<KindOutcome[]>[], progress: RecomputeProgress, concurrency: number): Promise<void> {
    const queue = new BatchQueue(plan.groups.length, plan.ranges.length);
    const lane = async (preferred: number) => {
      for (let batch = queue.take(preferred); batch && !progress.failure; batch = queue.take(preferred)) {
        try {
          const fitted = await groupReady[batch.group];
          if (fitted.length === 0) continue;
          await this.scoreBatch(plan, plan.ranges[batch.range], fitted, progress);
          // After the commit, outside any transaction: nothing a batch wrote is visible until the swap.
          await progress.step();
        } catch (error) {
          if (error !== RECOMPUTE_STOPPED) progress.fail(error);
        }
      }
    };
    const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, plan.ranges.length)) }, () => lane(0));
    if (plan.groups.length > 1) lanes.push(lane(1));
    await Promise.all(lanes);
  }

  /** Scores one id range for the fitted kinds of a group, in one transaction; rolls back when the run failed meanwhile. */
  private async scoreBatch(plan: RecomputePlan, range: [string, string], fitted: KindOutcome[], progress: RecomputeProgress): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      // The lanes already keep the cores busy: a parallel worker per batch would only add its tuple-queue overhead.
      await manager.query(`SET LOCAL work_mem = '${BATCH_WORK_MEM}'; SET LOCAL max_parallel_workers_per_gather = 0`);
      const scopeMemo = new MemoTable();
      for (const result of fitted) {
        const started = performance.now();
        const input = await this.scoreInput(manager, result.kind, plan.models, plan.now, { idRange: range }, scopeMemo, {
          runMemo: plan.runMemo,
          keptFeatures: plan.features.get(result.kind),
        });
        // No input (no parameters): like a kind that returns no rows, the range is left without scores of it.
        const scored = await appendScores(manager, result.kind, modelOf(plan.models, result.kind).version, { idRange: range }, input ?? scoreRowsInput([]));
        result.scored += scored;
        result.scoreSeconds += (performance.now() - started) / 1000;
      }
      // A batch still running when another failed rolls back (the rebuild is dropped anyway).
      if (progress.failure) throw RECOMPUTE_STOPPED;
    });
  }

  /** Builds the rebuild's indexes, swaps it in (publishing recompute.completed with it), and rescores the customers a refresh scored meanwhile. */
  private async swapIn(since: Awaited<ReturnType<typeof startRebuild>>, progress: RecomputeProgress, rebuilt: ScoreKind[]): Promise<void> {
    await indexRebuild(this.dataSource);
    const touched = await inTransaction(this.dataSource, async (manager) => {
      await checkFeatures(manager);
      const swapped = await swapRebuild(manager, since, () => progress.step());
      const [{ customers }] = await manager.query(`SELECT count(DISTINCT customer_id)::int AS customers FROM scores`);
      await publish(manager, 'recompute.completed', [{ payload: { kinds: rebuilt, customers } }]);
      return swapped;
    });
    // Scored by a refresh while the run went on (they kept those scores, maybe of the previous model): scored
    // again now with the new models, as a refresh would, in short transactions on the table readers use.
    await this.rescoreCustomers(touched, SCORE_KINDS);
  }

  /**
   * Scores the given customers with the current fitted models (no refit), in
   * the caller's transaction: the `customer.refresh` step and targeted
   * recomputes. Kinds whose model was never fitted are skipped; a kind that
   * fails is rolled back to a savepoint and logged, so stats and other kinds
   * still commit.
   */
  async scoreCustomers(manager: EntityManager, customerIds: string[], kinds: readonly ScoreKind[] = SCORE_KINDS): Promise<void> {
    if (customerIds.length === 0) return;
    const models = await this.models(manager);
    const now = await this.databaseNow(manager);
    const scope = { customerIds };
    const scopeMemo = new MemoTable();
    for (const kind of expandKinds(kinds)) {
      const definition = kindDefinition(kind);
      const model = modelOf(models, kind);
      if (definition.fit && !model.fittedAt) continue;
      await manager.query(`SAVEPOINT score_refresh`);
      try {
        await this.scoreScope(manager, kind, models, now, scope, scopeMemo);
        await manager.query(`RELEASE SAVEPOINT score_refresh`);
      } catch (error) {
        await manager.query(`ROLLBACK TO SAVEPOINT score_refresh`);
        scopeMemo.clear();
        this.logger.warn({ err: error, kind, customers: customerIds.length }, 'score refresh failed for a kind; the others went on');
      }
    }
  }

  /** Scores and writes one kind over one scope (upserted into `scores`, with history): in one statement when the kind scores in SQL. */
  private async scoreScope(
    manager: Queryable,
    kind: ScoreKind,
    models: ReadonlyMap<ScoreKind, StoredModel>,
    now: Date,
    scope: ScoreScope,
    scopeMemo: MemoTable,
  ): Promise<number> {
    const input = await this.scoreInput(manager, kind, models, now, scope, scopeMemo);
    // No input (no parameters yet): like a kind that returns no rows, the scope is left without scores of this kind.
    return writeScoreInput(manager, kind, modelOf(models, kind).version, scope, input ?? scoreRowsInput([]));
  }

  /** One kind's scores over one scope, as SQL (computed in the statement that writes them); null when the kind cannot score yet. */
  private async scoreInput(
    manager: Queryable,
    kind: ScoreKind,
    models: ReadonlyMap<ScoreKind, StoredModel>,
    now: Date,
    scope: ScoreScope,
    scopeMemo: MemoTable,
    run: Pick<ScoreContext<unknown>, 'runMemo' | 'keptFeatures'> = {},
  ): Promise<ScoreInput | null> {
    const definition = kindDefinition(kind);
    const ctx: ScoreContext<unknown> = { ...this.context(manager, modelOf(models, kind), models, now), scopeMemo, ...run };
    if (definition.scoreSql) {
      const p = new SqlParams();
      const sql = definition.scoreSql(ctx, scope, p);
      return sql === null ? null : { sql, params: p.values };
    }
    // A kind that does not score in SQL scores in JavaScript.
    const score = present(definition.score, `the score function of ${kind}`);
    return scoreRowsInput(await score(ctx, scope));
  }

  /**
   * A targeted recompute (`recomputeScores` with customerIds): scores the
   * customers with the current models, after any full recompute running now.
   * A full recompute's swap keeps what refreshes wrote meanwhile, but it
   * cannot see a score that a rescore only removed (no row left to find), and
   * would bring it back; its models would also replace the ones used here. So
   * this waits for it (the full recompute's lock, shared: targeted rescores
   * run side by side), then scores with the models it fitted. Publishes
   * `recompute.completed` (targeted) when done.
   */
  async rescoreAfterFullRecompute(customerIds: string[], kinds: readonly ScoreKind[]): Promise<number> {
    const session = this.dataSource.createQueryRunner();
    await session.connect();
    try {
      await session.query(`SELECT pg_advisory_lock_shared(${FULL_RECOMPUTE_LOCK})`);
      const rescored = await this.rescoreCustomers(customerIds, kinds);
      // Once every batch committed; a run that dies before rescores (idempotently) and publishes on its retry.
      await inTransaction(this.dataSource, (manager) =>
        publish(manager, 'recompute.completed', [{ payload: { kinds: [...kinds], customers: rescored, targeted: true } }]),
      );
      return rescored;
    } finally {
      await session.query(`SELECT pg_advisory_unlock_shared(${FULL_RECOMPUTE_LOCK})`).catch(() => undefined);
      await session.release();
    }
  }

  /** Scores given customers in batches, each in its own transaction (after a full recompute's swap, and targeted recomputes). */
  async rescoreCustomers(customerIds: string[], kinds: readonly ScoreKind[], batchSize = 1_000): Promise<number> {
    const ids = [...new Set(customerIds)];
    for (let i = 0; i < ids.length; i += batchSize) {
      const chunk = ids.slice(i, i + batchSize);
      await inTransaction(this.dataSource, (manager) => this.scoreCustomers(manager, chunk, kinds));
    }
    return ids.length;
  }

  /**
   * Drops the score history older than `days`: every superseded value
   * followed by another point (a later superseded value, or the current
   * score) that was already in force at the cutoff. The value in force at the
   * cutoff stays, so a score's history still says what it was at any time
   * since; current scores are never touched. By customer id range, one short
   * transaction each, through the (customer_id, kind, recorded_at) index.
   * Returns how many rows went.
   */
  async pruneHistory(days: number, batchSize = DEFAULT_RECOMPUTE_BATCH): Promise<number> {
    const [{ cutoff, lo, hi }] = await this.dataSource.query(
      `SELECT now() - $1::int * interval '1 day' AS cutoff, min(customer_id)::text AS lo, max(customer_id)::text AS hi FROM score_history`,
      [days],
    );
    if (lo === null) return 0;
    let pruned = 0;
    for (const [from, to] of await customerIdRanges(this.dataSource.manager, lo, hi, batchSize)) {
      const [{ n }] = await this.dataSource.query(
        `WITH gone AS (
           DELETE FROM score_history h
            WHERE h.customer_id BETWEEN $1::bigint AND $2::bigint AND h.recorded_at < $3
              AND (EXISTS (SELECT 1 FROM score_history l
                            WHERE l.customer_id = h.customer_id AND l.kind = h.kind AND l.recorded_at <= $3
                              AND (l.recorded_at, l.id) > (h.recorded_at, h.id))
                   -- The range again: the planner may hash this subquery, which then reads only the range's scores.
                   OR EXISTS (SELECT 1 FROM scores s WHERE s.customer_id BETWEEN $1::bigint AND $2::bigint
                                 AND s.customer_id = h.customer_id AND s.kind = h.kind AND s.changed_at <= $3))
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [from, to, cutoff],
      );
      pruned += n;
    }
    return pruned;
  }

  /**
   * The stored settings of `kinds`, as one comparable string (to notice a
   * settings change during a run). A kind with no model row yet has the
   * column's default settings (`{}`): the row a first fit creates is not a
   * settings change.
   */
  async settingsSnapshot(kinds: readonly ScoreKind[]): Promise<string> {
    const rows: { kind: string; settings: unknown }[] = await this.dataSource.query(
      `SELECT k.kind, COALESCE(m.settings, '{}'::jsonb) AS settings
         FROM unnest($1::text[]) AS k(kind) LEFT JOIN score_models m ON m.kind = k.kind
        ORDER BY k.kind`,
      [expandKinds(kinds)],
    );
    return JSON.stringify(rows);
  }

  /** Histogram of one kind's values in `buckets` equal-width buckets (SQL width_bucket) over the kind's range, or the data's. */
  async distribution(kind: ScoreKind, buckets: number = DISTRIBUTION_LIMITS.defaultBuckets): Promise<ScoreBucket[]> {
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > DISTRIBUTION_LIMITS.maxBuckets) {
      throw fail('VALIDATION_FAILED', { detail: `buckets must be an integer from 1 to ${DISTRIBUTION_LIMITS.maxBuckets}` }, 'buckets');
    }
    let [lower, upper] = kindDefinition(kind).range ?? [NaN, NaN];
    if (Number.isNaN(lower)) {
      const [row] = await this.dataSource.query(`SELECT min(value) AS lo, max(value) AS hi FROM scores WHERE kind = $1`, [kind]);
      lower = row.lo ?? 0;
      upper = row.hi ?? 1;
    }
    if (!(upper > lower)) upper = lower + 1;
    return this.dataSource.query(
      `WITH counted AS (
         SELECT least(greatest(width_bucket(value, $2::float8, $3::float8, $4::int), 1), $4::int) AS bucket, count(*)::int AS n
           FROM scores WHERE kind = $1 GROUP BY 1)
       SELECT ($2::float8 + (g - 1) * ($3::float8 - $2::float8) / $4::int) AS lower,
              ($2::float8 + g * ($3::float8 - $2::float8) / $4::int) AS upper,
              COALESCE(counted.n, 0) AS count
         FROM generate_series(1, $4::int) g LEFT JOIN counted ON counted.bucket = g ORDER BY g`,
      [kind, lower, upper, buckets],
    );
  }

  /** What every kind sees, fitting or scoring; the run's memo and features are added by the caller that owns them. */
  private context(db: Queryable, model: StoredModel, models: ReadonlyMap<ScoreKind, StoredModel>, now: Date): KindContext<unknown> {
    return { db, settings: model.settings, model, models, now, rules: this.rules };
  }

  private effectiveSettings(definition: ScoreKindDefinition<unknown>, stored: Record<string, unknown>): unknown {
    const parsed = definition.settings.safeParse(stored);
    if (parsed.success) return parsed.data;
    this.logger.warn({ kind: definition.kind, issues: parsed.error.issues }, 'stored score settings no longer validate; using the defaults');
    return definition.settings.parse({});
  }

  private async saveFit(kind: ScoreKind, fit: FitResult): Promise<StoredModel> {
    const [row] = await this.dataSource.query(
      `INSERT INTO score_models AS m (kind, parameters, diagnostics, sample_size, as_of, fitted_at, version, updated_at)
       VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, now(), 1, now())
       ON CONFLICT (kind) DO UPDATE SET parameters = EXCLUDED.parameters, diagnostics = EXCLUDED.diagnostics,
         sample_size = EXCLUDED.sample_size, as_of = EXCLUDED.as_of, fitted_at = now(), version = m.version + 1, updated_at = now()
       RETURNING ${MODEL_COLUMNS}`,
      [kind, JSON.stringify(fit.parameters), JSON.stringify(fit.diagnostics), fit.sampleSize, fit.asOf.toISOString()],
    );
    return { ...row, settings: this.effectiveSettings(kindDefinition(kind), row.settings) as Record<string, unknown> };
  }

  private async databaseNow(db: Queryable = this.dataSource.manager): Promise<Date> {
    const [{ now }] = await db.query(`SELECT now() AS now`);
    return now as Date;
  }
}

/** The requested kinds plus those sharing their model, in registry order. */
export function expandKinds(kinds: readonly ScoreKind[]): ScoreKind[] {
  const wanted = new Set<ScoreKind>(kinds);
  for (const kind of kinds) for (const other of kindDefinition(kind).recomputeWith ?? []) wanted.add(other);
  return SCORE_KIND_DEFINITIONS.map((d) => d.kind).filter((k) => wanted.has(k));
}

/** Validates settings against a kind's schema; the error names the first setting at fault. */
export function validateSettings<S>(definition: { kind: ScoreKind; settings: z.ZodType<S> }, input: Record<string, unknown>): S {
  const parsed = definition.settings.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const unknownKey = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys[0] : undefined;
  const path = unknownKey ?? issue.path.map(String).join('.');
  const field = path ? `settings.${path}` : 'settings';
  const message = unknownKey ? `${field}: ${definition.kind} has no setting "${unknownKey}"` : `${field}: ${issue.message}`;
  throw fail('VALIDATION_FAILED', { detail: message }, field, { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) });
}

function describeFitError(kind: ScoreKind, error: unknown): RecomputeOutcome['errors'][number] {
  if (error instanceof ModelFitError)
    return { kind, code: error.code === 'INSUFFICIENT_DATA' ? ErrorCode.MODEL_NOT_FITTED : ErrorCode.MODEL_FIT_FAILED, message: `${kind}: ${error.message}` };
  if (error instanceof RapportError) return { kind, code: error.code, message: `${kind}: ${error.message}` };
  return { kind, code: ErrorCode.MODEL_FIT_FAILED, message: `${kind}: ${error instanceof Error ? error.message : String(error)}` };
}

type KindOutcome = RecomputeOutcome['kinds'][number];

/** What a full recompute works on; `models`, `runMemo` and `features` fill in as the fits run. */
interface RecomputePlan {
  kinds: ScoreKind[];
  /** Every kind is recomputed (the nightly run, or a request naming none): kinds not configured are skipped quietly. */
  everyKind: boolean;
  now: Date;
  models: Map<ScoreKind, StoredModel>;
  since: Awaited<ReturnType<typeof startRebuild>>;
  ranges: [string, string][];
  groups: ScoreKind[][];
  /** Values a fit shares with its batches (CLV's summaries), and batches with later ones; the kinds see it as a `Memo`. */
  runMemo: MemoTable;
  /** The features each fit kept for its batches (committed with the fit). */
  features: Map<ScoreKind, string>;
}

/** Thrown inside a batch to roll it back once another batch failed. */
const RECOMPUTE_STOPPED = new Error('recompute stopped after another batch failed');

/**
 * The steps of a full recompute done so far, reported as a percentage, and
 * its first failure. Nothing is reported once the run failed; a failure to
 * report (e.g. the job's lock is lost) fails the run.
 */
class RecomputeProgress {
  private done = 0;
  private failed: { error: unknown } | null = null;

  constructor(
    private readonly totalSteps: number,
    private readonly onProgress: RecomputeOptions['onProgress'],
  ) {}

  get failure(): { error: unknown } | null {
    return this.failed;
  }

  /** Records the run's first failure. */
  fail(error: unknown): void {
    this.failed ??= { error };
  }

  /** Counts steps that will not run (a group with nothing to score). */
  skip(steps: number): void {
    this.done += steps;
  }

  async step(): Promise<void> {
    if (this.failed) return;
    this.done++;
    try {
      await this.onProgress?.(Math.min(100, Math.round((100 * this.done) / this.totalSteps)));
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }
}

/** The model of a kind in a map from {@link ScoreService.models}, which holds every kind. */
function modelOf(models: ReadonlyMap<ScoreKind, StoredModel>, kind: ScoreKind): StoredModel {
  return present(models.get(kind), `the score model ${kind}`);
}

/** The fit of a kind of the run: {@link ScoreService.startFits} starts one for every kind it plans. */
function fitOf(fits: ReadonlyMap<ScoreKind, Promise<KindOutcome | null>>, kind: ScoreKind): Promise<KindOutcome | null> {
  return present(fits.get(kind), `the fit of ${kind}`);
}

/** Hands out each group's id ranges in order, to a lane's preferred group first. */
class BatchQueue {
  private readonly next: number[];

  constructor(
    groups: number,
    private readonly ranges: number,
  ) {
    this.next = Array.from({ length: groups }, () => 0);
  }

  take(preferred: number): { group: number; range: number } | undefined {
    const group = [preferred, ...this.next.keys()].find((g) => this.next[g] < this.ranges);
    if (group === undefined) return undefined;
    return { group, range: this.next[group]++ };
  }
}

/** The kinds of a group whose fit succeeded, once they are done: SQL kinds do not wait for CLV's optimiser. */
async function fittedKindsOf(
  group: ScoreKind[],
  fits: ReadonlyMap<ScoreKind, Promise<KindOutcome | null>>,
  progress: RecomputeProgress,
  ranges: number,
): Promise<KindOutcome[]> {
  const fitted = (await Promise.all(group.map((kind) => fitOf(fits, kind)))).filter((r) => r !== null);
  if (fitted.length === 0) progress.skip(ranges); // nothing to score in this group: its steps are skipped
  return fitted;
}

/** Waits for everything started (fits, the copy of kept scores), then raises the run's failure or returns the fitted kinds. */
async function settleFits(
  kinds: ScoreKind[],
  fits: ReadonlyMap<ScoreKind, Promise<KindOutcome | null>>,
  kept: Promise<void>,
  progress: RecomputeProgress,
): Promise<KindOutcome[]> {
  const [settledFits, settledKept] = await Promise.all([Promise.allSettled(kinds.map((kind) => fitOf(fits, kind))), Promise.allSettled([kept])]);
  if (progress.failure) throw progress.failure.error;
  for (const settled of [...settledFits, ...settledKept]) if (settled.status === 'rejected') throw settled.reason;
  return settledFits.map((r) => (r as PromiseFulfilledResult<KindOutcome | null>).value).filter((r) => r !== null);
}

/**
 * Id ranges from `lo` to `hi` (inclusive, as text) with `size` customers each
 * (the last may have fewer): each starts at every size-th customer id. Gaps in
 * the ids (erased customers, ids a failed import used up, one stray large id)
 * therefore make no empty batches. The first range starts at `lo` and the last
 * ends at `hi`, which may lie beyond every customer (scores whose customer is
 * gone). One pass over the primary key of `customers`.
 */
async function customerIdRanges(db: Queryable, lo: string, hi: string, size: number): Promise<[string, string][]> {
  const rows: { id: string }[] = await db.query(
    `SELECT id::text AS id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM customers) c WHERE (n - 1) % $1 = 0 ORDER BY n`,
    [size],
  );
  const starts = [lo, ...rows.map((r) => r.id).filter((id) => BigInt(id) > BigInt(lo) && BigInt(id) <= BigInt(hi))];
  return starts.map((start, i) => [start, i + 1 < starts.length ? (BigInt(starts[i + 1]) - 1n).toString() : hi]);
}

import { z } from 'zod';
import { fail } from '../../../errors/catalog';
import { SqlParams } from '../../../infra/sql-filter';
import { calibrationTable, crossValidate, fitLogistic, linearPredictor, runYielding, sigmoid, type Design } from '../models';
import { contributions, encodeRows, learnEncoding, type Encoding, type FeatureRow } from './churn-encoding';
import { defineScoreKind, scopeCondition, type CustomerRules, type KindContext, type ScoreRow, type ScoreScope } from './kind';
import { round } from './settings';

/** Fewest customers of either outcome a fit accepts. */
export const MIN_OUTCOMES_PER_CLASS = 50;
/** Features listed per direction in a customer's explanation. */
export const TOP_FEATURES = 5;
/** Training customers read per statement. */
const PAGE = 20_000;
/** Channels whose interaction counts are stats features, the most used first. */
const MAX_CHANNELS = 20;
/** Interaction types that are transactions, as `customer_stats` counts them. */
const TRANSACTION_TYPES = ['purchase', 'order'];
const DAY_MS = 86_400_000;

const traitPath = z.string().regex(/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/, 'a trait path: up to 8 dot-separated names of letters, digits, _ or -');

/** A behaviour feature: the segment language's `behavior` shape without op and value, and a name to show. */
const behaviorFeature = z.object({ name: z.string().min(1).max(64).optional() }).catchall(z.unknown());

/** CHURN_PROPENSITY settings; see docs/scores.md. */
export const churnPropensitySettings = z
  .object({
    /** Segment rule selecting the customers whose outcome is known: the training set. @defaultValue null (not configured) */
    population: z.record(z.string(), z.unknown()).nullable().default(null),
    /** Segment rule selecting the training customers who left (the positive class). @defaultValue null (not configured) */
    outcome: z.record(z.string(), z.unknown()).nullable().default(null),
    /**
     * Days over which a time-based outcome is observed: training features are then computed as of
     * now − labelWindowDays (the cutoff), so nothing the outcome window holds feeds them. Null: the
     * outcome is not time-based, features as of now. @defaultValue null
     */
    labelWindowDays: z.number().int().positive().max(3650).nullable().default(null),
    features: z
      .object({
        /** Trait paths; numbers stay numeric, anything else is categorical. @defaultValue [] */
        traits: z.array(traitPath).max(60).default([]),
        /** interactionCount, transactionCount, transactionValue, days since first and last seen, interactions per channel. @defaultValue false */
        stats: z.boolean().default(false),
        /** Windowed aggregates in the segment language's behaviour shape (lastDays only), with a name. @defaultValue [] */
        behavior: z.array(behaviorFeature).max(20).default([]),
      })
      .strict()
      .default({ traits: [], stats: false, behavior: [] }),
    /** Lower bounds of the MEDIUM and HIGH bands on the probability. @defaultValue { medium: 0.3, high: 0.6 } */
    bands: z
      .object({ medium: z.number().gt(0).lt(1).default(0.3), high: z.number().gt(0).lt(1).default(0.6) })
      .strict()
      .refine((b) => b.medium < b.high, { message: 'bands.medium must be below bands.high', path: ['medium'] })
      .default({ medium: 0.3, high: 0.6 }),
    /** Folds of the cross-validation. @defaultValue 5 */
    folds: z.number().int().min(2).max(10).default(5),
    /** L2 penalties tried (per customer, on standardised features); the one with the lowest out-of-fold log loss is kept. */
    lambdas: z.array(z.number().positive().max(100)).min(1).max(20).default([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]),
    /** Training customers a categorical level needs not to be pooled into (other). @defaultValue 20 */
    minLevelCount: z.number().int().min(1).max(1_000_000).default(20),
    /** Most training customers the cross-validation uses (a stratified sample above it); the final fit uses all. @defaultValue 20000 */
    cvMaxCustomers: z.number().int().min(100).max(10_000_000).default(20_000),
  })
  .strict();
export type ChurnPropensitySettings = z.infer<typeof churnPropensitySettings>;

/** What a fit stores. */
export interface ChurnPropensityParameters {
  encoding: Encoding;
  beta: number[];
  lambda: number;
  /** Names of the number features, in the order of a feature row's `numbers`. */
  numberNames: string[];
  /** Channels counted by the stats features. */
  channels: string[];
  /** The features the model was fitted on (scoring reads these, whatever the settings say until the next fit). */
  features: ChurnPropensitySettings['features'];
}

/** The band of a probability under the settings' cut-offs. */
export function propensityBand(probability: number, bands: ChurnPropensitySettings['bands']): 'LOW' | 'MEDIUM' | 'HIGH' {
  return probability < bands.medium ? 'LOW' : probability < bands.high ? 'MEDIUM' : 'HIGH';
}

function rulesOf(ctx: { rules?: CustomerRules }): CustomerRules {
  if (!ctx.rules) throw fail('MODEL_NOT_FITTED', { detail: 'CHURN_PROPENSITY needs the segment rule language, which this process does not have' }, 'kinds');
  return ctx.rules;
}

/** Names of the stats features, in the order {@link featureSql} computes them. */
function statsNames(channels: readonly string[]): string[] {
  return ['interactionCount', 'transactionCount', 'transactionValue', 'daysSinceFirstSeen', 'daysSinceLastSeen', ...channels.map((c) => `${c} interactions`)];
}

function behaviorName(b: Record<string, unknown>): string {
  if (typeof b.name === 'string') return b.name;
  const what = [b.aggregate === 'SUM' ? 'value of' : b.aggregate === 'DISTINCT_DAYS' ? 'days with' : 'count of', b.type ?? 'interactions'];
  if (b.channel) what.push(`on ${String(b.channel)}`);
  return `${what.join(' ')} in ${String(b.lastDays)} days`;
}

/**
 * Each customer's raw features as of `until` (an SQL timestamptz
 * expression): the traits (current: traits have no history), the stats
 * and behaviour aggregates over interactions before `until`. Customers: the
 * live ones matching `restrict` (SQL on `c.id`); interactions are read for
 * them only (`interactionRestrict`, SQL on `i.customer_id`).
 */
function featureSql(
  rules: CustomerRules,
  settings: ChurnPropensitySettings,
  channels: readonly string[],
  p: SqlParams,
  untilInstant: () => string,
  restrict: (column: string) => string | null,
): string {
  // Bound only when a feature reads interactions: an unused parameter has no type Postgres can infer.
  let bound: string | undefined;
  const until = () => (bound ??= untilInstant());
  const traits = settings.features.traits.map((path) => `(c.traits #> ${p.add(path.split('.'))}::text[])::text`);
  const numbers: string[] = [];
  const joins: string[] = [];
  let restricted: string | null | undefined;
  const interactionRestrict = () => (restricted === undefined ? (restricted = restrict('i.customer_id')) : restricted);
  if (settings.features.stats) {
    const perChannel = channels.map((channel, k) => `count(*) FILTER (WHERE i.channel = ${p.add(channel)}::text) AS ch${k}`);
    joins.push(`LEFT JOIN (
      SELECT i.customer_id, count(*) AS n, count(*) FILTER (WHERE i.type = ANY(${p.add(TRANSACTION_TYPES)}::text[])) AS tc,
             COALESCE(sum(i.value) FILTER (WHERE i.type = ANY(${p.add(TRANSACTION_TYPES)}::text[])), 0)::float8 AS tv,
             min(i.occurred_at) AS first_seen, max(i.occurred_at) AS last_seen${perChannel.length ? ', ' + perChannel.join(', ') : ''}
        FROM interactions i WHERE i.occurred_at < ${until()}${interactionRestrict() ? ` AND ${interactionRestrict()}` : ''}
       GROUP BY i.customer_id) st ON st.customer_id = c.id`);
    numbers.push(
      'COALESCE(st.n, 0)::float8',
      'COALESCE(st.tc, 0)::float8',
      'COALESCE(st.tv, 0)::float8',
      `(extract(epoch FROM ${until()} - st.first_seen) / 86400)::float8`,
      `(extract(epoch FROM ${until()} - st.last_seen) / 86400)::float8`,
      ...channels.map((_, k) => `COALESCE(st.ch${k}, 0)::float8`),
    );
  }
  settings.features.behavior.forEach((b, k) => {
    const { name: _name, ...shape } = b;
    joins.push(`LEFT JOIN (${rules.aggregate(shape, p, { until: until(), restrict: interactionRestrict() ?? undefined })}) b${k} ON b${k}.customer_id = c.id`);
    numbers.push(`COALESCE(b${k}.v, 0)::float8`);
  });
  const customerRestrict = restrict('c.id');
  return `SELECT c.id AS customer_id, ARRAY[${traits.join(', ')}]::text[] AS traits, ARRAY[${numbers.join(', ')}]::float8[] AS numbers
            FROM customers c ${joins.join(' ')}
           WHERE c.deleted_at IS NULL${customerRestrict ? ` AND ${customerRestrict}` : ''}`;
}

interface RawFeatureRow {
  customer_id: string;
  traits: (string | null)[];
  numbers: (number | null)[];
}

const toFeatureRow = (r: RawFeatureRow): FeatureRow => ({ customerId: String(r.customer_id), traits: r.traits, numbers: r.numbers });

/** Reads a table of feature rows (with `y` when `labelled`) page by page in customer order. */
async function readPaged(ctx: KindContext<ChurnPropensitySettings>, table: string): Promise<{ rows: FeatureRow[]; y: number[] }> {
  const rows: FeatureRow[] = [];
  const y: number[] = [];
  let after = '-9223372036854775808';
  for (;;) {
    const page: (RawFeatureRow & { y: boolean })[] = await ctx.db.query(
      `SELECT customer_id::text AS customer_id, traits, numbers, y FROM ${table} WHERE customer_id > $1::bigint ORDER BY customer_id LIMIT ${PAGE}`,
      [after],
    );
    for (const r of page) {
      rows.push(toFeatureRow(r));
      y.push(r.y ? 1 : 0);
    }
    if (page.length < PAGE) return { rows, y };
    after = page[page.length - 1].customer_id;
  }
}

/** A stratified, seeded sample of at most `size` of the rows (all of them when fewer). */
function stratifiedSample(y: Uint8Array, size: number): Int32Array {
  const all = Int32Array.from({ length: y.length }, (_, i) => i);
  if (y.length <= size) return all;
  // Every k-th row of each class in a fixed pseudo-random order keeps the balance and is the same on every run.
  const keyed = [...all].map((i) => ({ i, key: Math.imul(i + 1, 2654435761) >>> 0 })).sort((a, b) => a.key - b.key);
  const share = size / y.length;
  const taken: number[] = [];
  for (const cls of [0, 1]) {
    const members = keyed.filter((r) => y[r.i] === cls);
    taken.push(...members.slice(0, Math.round(members.length * share)).map((r) => r.i));
  }
  return Int32Array.from(taken.sort((a, b) => a - b));
}

/**
 * The components of a score: stored figures [probability, logit, intercept,
 * rest, contribution…] and keys (JSON [feature, trait, level]) of the
 * contributions listed.
 */
function explanation(values: readonly number[], keys: readonly string[] | null): Record<string, unknown> {
  if (values.length < 4) return {};
  const [probability, logit, intercept, rest] = values as [number, number, number, number];
  const terms = (keys ?? []).flatMap((key, k) => {
    const contribution = values[4 + k];
    if (contribution === undefined) return [];
    const [feature, trait, level] = JSON.parse(key) as [string, string | null, string | null];
    return [{ feature, ...(trait !== null ? { trait } : {}), ...(level !== null ? { level } : {}), contribution: round(contribution, 6) }];
  });
  return {
    probability: round(probability, 6),
    logit: round(logit, 6),
    intercept: round(intercept, 6),
    up: terms.filter((t) => t.contribution > 0),
    down: terms.filter((t) => t.contribution <= 0),
    rest: round(rest, 6),
  };
}

/** Scores feature rows with a fitted model: probability, band and explanation. */
export function scoreFeatureRows(parameters: ChurnPropensityParameters, bands: ChurnPropensitySettings['bands'], rows: readonly FeatureRow[]): ScoreRow[] {
  const design = encodeRows(parameters.encoding, rows);
  const { beta } = parameters;
  const keys = parameters.encoding.columns.map((c) => JSON.stringify([c.feature, c.trait ?? null, c.level ?? null]));
  return rows.map((row, i) => {
    const logit = linearPredictor(design, beta, i);
    const probability = sigmoid(logit);
    const terms = contributions(design, beta, i);
    const up = terms
      .filter((t) => t.contribution > 0)
      .sort((a, b) => b.contribution - a.contribution)
      .slice(0, TOP_FEATURES);
    const down = terms
      .filter((t) => t.contribution < 0)
      .sort((a, b) => a.contribution - b.contribution)
      .slice(0, TOP_FEATURES);
    const listed = [...up, ...down];
    const rest = logit - beta[0] - listed.reduce((sum, t) => sum + t.contribution, 0);
    return {
      customerId: row.customerId,
      value: round(probability, 6),
      label: propensityBand(probability, bands),
      componentValues: [probability, logit, beta[0], rest, ...listed.map((t) => t.contribution)],
      componentKeys: listed.map((t) => keys[t.column]),
    };
  });
}

/**
 * CHURN_PROPENSITY: the probability that a customer belongs to the outcome
 * (e.g. leaves), from an L2-regularised logistic regression trained on the
 * customers whose outcome is known (the population), fitted by Newton/IRLS
 * with the penalty chosen by k-fold cross-validation; banded LOW, MEDIUM,
 * HIGH at configurable cut-offs, explained per customer by the features
 * pushing the probability up and down.
 */
export const churnPropensityKind = defineScoreKind<ChurnPropensitySettings>({
  kind: 'CHURN_PROPENSITY',
  description:
    'Probability of the configured outcome (e.g. churn) from an L2-regularised logistic regression trained on customers with a known outcome; LOW, MEDIUM or HIGH at configurable cut-offs.',
  settings: churnPropensitySettings,
  range: [0, 1],

  configured: (settings) => settings.population !== null && settings.outcome !== null,

  async checkSettings(settings, { rules, piiRead }) {
    // Refused here, not at the next fit: a model with an outcome and nothing to predict it from cannot be fitted.
    const { traits, stats, behavior: aggregates } = settings.features;
    if (settings.population !== null && settings.outcome !== null && traits.length === 0 && !stats && aggregates.length === 0) {
      throw fail(
        'VALIDATION_FAILED',
        { detail: 'CHURN_PROPENSITY has no features: list traits, behavior aggregates, or set stats: true' },
        'settings.features',
      );
    }
    if (!rules) return settings;
    const population =
      settings.population === null ? null : ((await rules.check(settings.population, { root: 'settings.population', piiRead })) as Record<string, unknown>);
    const outcome =
      settings.outcome === null ? null : ((await rules.check(settings.outcome, { root: 'settings.outcome', piiRead })) as Record<string, unknown>);
    settings.features.traits.forEach((path, i) => {
      if (!piiRead && rules.isPersonalTrait(path)) {
        throw fail(
          'FORBIDDEN',
          { detail: `settings.features.traits[${i}]: ${path} is personal data; using it as a feature requires the scope pii:read` },
          `settings.features.traits[${i}]`,
        );
      }
      // The leakage rule for traits: a trait the outcome reads is the outcome, not a predictor of it.
      if (outcome && JSON.stringify(outcome).includes(`"traits.${path}"`)) {
        throw fail(
          'VALIDATION_FAILED',
          { detail: `settings.features.traits[${i}]: traits.${path} is what the outcome rule reads; a feature must not be the outcome` },
          `settings.features.traits[${i}]`,
        );
      }
    });
    const names = new Set<string>();
    const behavior = [];
    for (const [i, b] of settings.features.behavior.entries()) {
      const root = `settings.features.behavior[${i}]`;
      const { name, ...shape } = b;
      if ('from' in shape || 'to' in shape || typeof shape.lastDays !== 'number') {
        throw fail(
          'VALIDATION_FAILED',
          { detail: `${root}: a behaviour feature needs lastDays (its window ends at the cutoff); from and to are not accepted` },
          `${root}.lastDays`,
        );
      }
      const checked = (await rules.checkBehavior(shape, { root, piiRead })) as Record<string, unknown>;
      const feature = { ...checked, ...(name ? { name } : {}) };
      const featureName = behaviorName(feature);
      if (names.has(featureName)) throw fail('VALIDATION_FAILED', { detail: `${root}: two behaviour features are named "${featureName}"` }, `${root}.name`);
      names.add(featureName);
      behavior.push(feature);
    }
    return { ...settings, population, outcome, features: { ...settings.features, behavior } };
  },

  async fit(ctx) {
    const rules = rulesOf(ctx);
    const s = ctx.settings;
    if (!s.population || !s.outcome) {
      throw fail('MODEL_NOT_FITTED', { detail: 'CHURN_PROPENSITY is not configured: set population and outcome with updateScoreModel' }, 'settings');
    }
    if (s.features.traits.length === 0 && !s.features.stats && s.features.behavior.length === 0) {
      throw fail('MODEL_FIT_FAILED', { detail: 'CHURN_PROPENSITY has no features: list traits, behavior aggregates, or set stats: true' }, 'settings.features');
    }
    const channels: string[] = s.features.stats
      ? (
          await ctx.db.query(
            `SELECT k AS channel FROM customer_stats st, jsonb_object_keys(st.channels) k GROUP BY k ORDER BY count(*) DESC, k LIMIT ${MAX_CHANNELS}`,
          )
        ).map((r: { channel: string }) => r.channel)
      : [];
    const numberNames = [...(s.features.stats ? statsNames(channels) : []), ...s.features.behavior.map(behaviorName)];
    const nowSql = (p: SqlParams) => () => `${p.add(ctx.now.toISOString())}::timestamptz`;

    // Every customer's features as of now, kept for the run's batches (scoring).
    const kept = new SqlParams();
    const keptTable = await ctx.keepFeatures(
      featureSql(rules, s, channels, kept, nowSql(kept), () => null),
      kept.values,
    );

    // The training set: the population with its outcome, features as of the cutoff.
    const p = new SqlParams();
    const population = rules.matching(s.population, p);
    const outcome = rules.matching(s.outcome, p);
    const cutoff = new Date(ctx.now.getTime() - (s.labelWindowDays ?? 0) * DAY_MS);
    const features =
      s.labelWindowDays === null
        ? `SELECT k.* FROM ${keptTable} k WHERE k.customer_id IN (SELECT customer_id FROM population)`
        : featureSql(
            rules,
            s,
            channels,
            p,
            () => `${p.add(cutoff.toISOString())}::timestamptz`,
            (column) => `${column} IN (SELECT customer_id FROM population)`,
          );
    await ctx.db.query(`DROP TABLE IF EXISTS churn_propensity_training`);
    await ctx.db.query(
      `CREATE TEMP TABLE churn_propensity_training ON COMMIT DROP AS
       WITH population AS MATERIALIZED (${population}), outcome AS MATERIALIZED (${outcome})
       SELECT f.customer_id, f.traits, f.numbers, EXISTS (SELECT 1 FROM outcome o WHERE o.customer_id = f.customer_id) AS y FROM (${features}) f`,
      p.values,
    );
    const training = await readPaged(ctx, 'churn_propensity_training');
    const y = Uint8Array.from(training.y);
    const positives = training.y.reduce((a, b) => a + b, 0);
    const negatives = y.length - positives;
    if (positives < MIN_OUTCOMES_PER_CLASS || negatives < MIN_OUTCOMES_PER_CLASS) {
      throw fail(
        'MODEL_FIT_FAILED',
        {
          detail: `CHURN_PROPENSITY: the training set (population) has ${positives} customers in the outcome and ${negatives} outside it; at least ${MIN_OUTCOMES_PER_CLASS} of each are needed`,
        },
        'settings.population',
      );
    }

    const encoding = learnEncoding(training.rows, s.features.traits, numberNames, s.minLevelCount);
    const design: Design = encodeRows(encoding, training.rows);
    training.rows.length = 0;
    const cvRows = stratifiedSample(y, s.cvMaxCustomers);
    const cv = await runYielding(crossValidate(design, y, cvRows, s.lambdas, s.folds));
    const fit = await runYielding(fitLogistic(design, y, cv.best.lambda));
    const cvY = Uint8Array.from(cvRows, (i) => y[i]);
    const coefficients = encoding.columns.map((c, j) => ({ ...c, coefficient: round(fit.beta[j], 6) }));
    const parameters: ChurnPropensityParameters = { encoding, beta: [...fit.beta], lambda: cv.best.lambda, numberNames, channels, features: s.features };
    return {
      parameters: { ...parameters },
      diagnostics: {
        trainingSize: y.length,
        classBalance: { outcome: positives, other: negatives, outcomeShare: round(positives / y.length, 6) },
        crossValidation: {
          folds: cv.folds,
          customers: cvRows.length,
          rocAuc: round(cv.best.auc, 6),
          logLoss: round(cv.best.logLoss, 6),
          lambda: cv.best.lambda,
          path: cv.path.map((r) => ({ lambda: r.lambda, rocAuc: round(r.auc, 6), logLoss: round(r.logLoss, 6) })),
          calibration: calibrationTable(cv.predictions, cvY).map((b) => ({
            ...b,
            meanPredicted: b.meanPredicted === null ? null : round(b.meanPredicted, 6),
            observedRate: b.observedRate === null ? null : round(b.observedRate, 6),
          })),
        },
        coefficients,
        iterations: fit.iterations,
        converged: fit.converged,
        featuresAsOf: cutoff.toISOString(),
      },
      sampleSize: y.length,
      asOf: ctx.now,
    };
  },

  components: ({ values, keys }) => explanation(values, keys),

  async score(ctx, scope: ScoreScope) {
    const parameters = ctx.model.parameters as ChurnPropensityParameters | null;
    if (!parameters) return [];
    const p = new SqlParams();
    let sql: string;
    if (ctx.keptFeatures) {
      sql = `SELECT customer_id::text AS customer_id, traits, numbers FROM ${ctx.keptFeatures} f
              WHERE ${scopeCondition('f.customer_id', scope, p)} AND EXISTS (SELECT 1 FROM customers c WHERE c.id = f.customer_id AND c.deleted_at IS NULL)`;
    } else {
      const fitted = { ...ctx.settings, features: parameters.features };
      const now = () => `${p.add(ctx.now.toISOString())}::timestamptz`;
      sql = featureSql(rulesOf(ctx), fitted, parameters.channels, p, now, (column) => scopeCondition(column, scope, p));
      sql = `SELECT customer_id::text AS customer_id, traits, numbers FROM (${sql}) f`;
    }
    const rows: RawFeatureRow[] = await ctx.db.query(`${sql} ORDER BY customer_id`, p.values);
    return scoreFeatureRows(parameters, ctx.settings.bands, rows.map(toFeatureRow));
  },
});

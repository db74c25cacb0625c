import { z } from 'zod';
import { SqlParams } from '../../../infra/sql-filter';
import { defineScoreKind, liveCustomer, scopeCondition, type KindContext, type ScoreScope } from './kind';
import { daysSetting, round } from './settings';

const { exp, LN2 } = Math;

const weights = z.record(z.string().min(1).max(64), z.number().min(0).max(1_000));

/** Engagement settings. */
export const engagementSettings = z
  .object({
    /** Days after which an interaction counts half. @defaultValue 30 */
    halfLifeDays: daysSetting(30),
    /** Interactions older than this many days are ignored (they would count less than 2⁻¹² at the defaults). @defaultValue 365 */
    lookbackDays: daysSetting(365),
    /** Weight per channel; channels not listed weigh 1. @defaultValue {} */
    channelWeights: weights.default({}),
    /** Weight per interaction type; types not listed weigh 1. @defaultValue { purchase: 5, order: 5, ticket_opened: 2, call: 2, click: 2, open: 1 } */
    typeWeights: weights.default({ purchase: 5, order: 5, ticket_opened: 2, call: 2, click: 2, open: 1 }),
    /** The raw score at this percentile of the customers with any engagement maps to 100. @defaultValue 0.99 */
    scalePercentile: z.number().gt(0).max(1).default(0.99),
  })
  .strict();
export type EngagementSettings = z.infer<typeof engagementSettings>;

/** The raw score that maps to 100, as of `scaledAt`; it decays like every raw score. */
interface EngagementParameters {
  scale: number;
  scaledAt: string;
}

/**
 * A weight lookup as a CASE over the setting's entries, keys and weights as
 * parameters: per row a few text comparisons, no join and no array to unpack.
 */
function weightOf(column: string, table: Record<string, number>, p: SqlParams): string {
  const entries = Object.entries(table);
  if (entries.length === 0) return '1';
  const whens = entries.map(([key, weight]) => `WHEN ${p.add(key)}::text THEN ${p.add(weight)}::float8`);
  return `(CASE ${column} ${whens.join(' ')} ELSE 1 END)`;
}

/**
 * The decayed, weighted interactions of the window, one row each:
 * channelWeight · typeWeight · 2^(−age / halfLife), age in days, as
 * `weighted`, with `customer_id` and `channel`. The weights are CASE lookups
 * and the decay is exp((t − now) · ln 2 / halfLife) over epoch seconds
 * (float8 throughout), so a row costs a few comparisons and one exp.
 * Customers that do not exist or are deleted are left out after
 * aggregation, by the callers ({@link liveCustomer}).
 */
function weightedInteractions(ctx: KindContext<EngagementSettings>, scope: ScoreScope | null, p: SqlParams): string {
  const s = ctx.settings;
  const nowEpoch = ctx.now.getTime() / 1000;
  const [now, days, epoch, rate] = [ctx.now.toISOString(), s.lookbackDays, nowEpoch, LN2 / (s.halfLifeDays * 86_400)].map((v) => p.add(v));
  const channelWeight = weightOf('i.channel', s.channelWeights, p);
  const typeWeight = weightOf('i.type', s.typeWeights, p);
  const scoped = scope ? `AND ${scopeCondition('i.customer_id', scope, p)}` : '';
  return `SELECT i.customer_id, i.channel,
                 ${channelWeight} * ${typeWeight}
                   * exp((date_part('epoch', i.occurred_at) - ${epoch}::float8) * ${rate}::float8) AS weighted
            FROM interactions i
           WHERE i.occurred_at <= ${now}::timestamptz AND i.occurred_at > ${now}::timestamptz - (${days}::float8 * interval '1 day') ${scoped}`;
}

/**
 * Each customer's raw score and its sums by channel (`channels` and `raws`
 * in the same order), from {@link weightedInteractions}. Grouped by customer
 * over the (customer, channel) sums in customer order: a full recompute keeps
 * them sorted by customer anyway, and its batches then read one row per
 * customer instead of grouping again.
 */
function perCustomer(weighted: string): string {
  return `SELECT customer_id, sum(raw) AS raw, array_agg(channel) AS channels, array_agg(raw) AS raws
            FROM (SELECT customer_id, channel, sum(weighted) AS raw FROM (${weighted}) w GROUP BY customer_id, channel ORDER BY customer_id) c
           GROUP BY customer_id`;
}

/**
 * ENGAGEMENT: an exponentially decayed, weighted sum of interactions, scaled
 * 0–100: the raw score at the `scalePercentile` (99th by default) of
 * customers with any engagement, as of the last recompute, is 100 and higher
 * raw scores are capped there. Because every raw score decays by the same
 * factor, the scale is carried forward in time by that factor, so a refresh
 * between recomputes scores on the same scale.
 */
export const engagementKind = defineScoreKind<EngagementSettings>({
  kind: 'ENGAGEMENT',
  description: 'Exponentially decayed, weighted sum of interactions by channel and type, scaled 0–100 (the 99th percentile of the base is 100).',
  settings: engagementSettings,
  range: [0, 100],

  async fit(ctx) {
    // One pass keeps each customer's sums, which the scale here and the run's batches read.
    const kept = new SqlParams();
    const sums = `SELECT * FROM ${await ctx.keepFeatures(perCustomer(weightedInteractions(ctx, null, kept)), kept.values)}`;
    const p = new SqlParams();
    const percentile = p.add(ctx.settings.scalePercentile);
    const [row] = await ctx.db.query(
      `SELECT COALESCE(percentile_cont(${percentile}::float8) WITHIN GROUP (ORDER BY raw), 0)::float8 AS scale, count(*)::int AS n
         FROM (${sums}) per_customer
        WHERE raw > 0 AND ${liveCustomer('per_customer.customer_id', null, p)}`,
      p.values,
    );
    const parameters: EngagementParameters = { scale: row.scale, scaledAt: ctx.now.toISOString() };
    return { parameters: { ...parameters }, diagnostics: { percentile: ctx.settings.scalePercentile }, sampleSize: row.n, asOf: ctx.now };
  },

  // Stored: the raw score, the points per raw unit it was scaled with, then each channel's raw sum (keys: the
  // channels). byChannel is each channel's contribution in score points.
  components({ values, keys }) {
    if (values.length < 2) return {};
    const [raw, perRaw] = values as [number, number];
    const channels = (keys ?? []).flatMap((channel, i) => {
      const v: number | undefined = values[i + 2];
      return v === undefined ? [] : [[channel, v] as const];
    });
    channels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { raw: round(raw, 6), byChannel: Object.fromEntries(channels.map(([channel, v]) => [channel, round(v * perRaw, 4)])) };
  },

  scoreSql(ctx, scope, p) {
    const parameters = ctx.model.parameters as EngagementParameters | null;
    if (!parameters) return null;
    const sql = ctx.keptFeatures
      ? `SELECT customer_id, raw, channels, raws FROM ${ctx.keptFeatures} WHERE ${scopeCondition('customer_id', scope, p)}`
      : perCustomer(weightedInteractions(ctx, scope, p));
    const elapsedDays = (ctx.now.getTime() - Date.parse(parameters.scaledAt)) / 86_400_000;
    const scaleNow = parameters.scale * exp((-LN2 * elapsedDays) / ctx.settings.halfLifeDays);
    // Score points per raw unit; 0 when nobody had engagement at the last recompute.
    const perRaw = `${p.add(scaleNow > 0 ? 100 / scaleNow : 0)}::float8`;
    // Hundredths of a point: finer moves are decay noise and would only add history points. Rounded in float8
    // (round(x · 10ᵏ) / 10ᵏ, ties to even).
    return `SELECT customer_id, least(100, round(raw * ${perRaw} * 100) / 100) AS value, NULL::text AS label,
                   ARRAY[raw, ${perRaw}] || raws AS component_values, channels AS component_keys
              FROM (${sql}) e
             WHERE ${liveCustomer('e.customer_id', scope, p)}`;
  },
});

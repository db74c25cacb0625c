import { z } from 'zod';
import { defineScoreKind, scopeCondition, type KindContext, type ScoreScope } from './kind';
import { daysSetting } from './settings';

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
 * The decayed, weighted interactions of the window, one row each:
 * channelWeight · typeWeight · 2^(−age / halfLife), age in days, as
 * `weighted`, with `customer_id` and `channel`. The weights come from two
 * small parameter tables hash-joined to the interactions, and the decay is
 * exp((t − now) · ln 2 / halfLife) over epoch seconds (float8 throughout), so
 * a row costs one lookup per weight and one exp.
 */
function weightedInteractions(ctx: KindContext<EngagementSettings>, scope: ScoreScope | null, params: unknown[]): string {
  const s = ctx.settings;
  const nowEpoch = ctx.now.getTime() / 1000;
  params.push(
    ctx.now.toISOString(), s.lookbackDays, nowEpoch, LN2 / (s.halfLifeDays * 86_400),
    Object.keys(s.channelWeights), Object.values(s.channelWeights), Object.keys(s.typeWeights), Object.values(s.typeWeights),
  );
  const [now, days, epoch, rate, channels, channelW, types, typeW] = [8, 7, 6, 5, 4, 3, 2, 1].map((k) => `$${params.length - k + 1}`);
  const scoped = scope ? `AND ${scopeCondition('i.customer_id', scope, params)} AND ${scopeCondition('c.id', scope, params)}` : '';
  return `SELECT i.customer_id, i.channel,
                 COALESCE(cw.weight, 1) * COALESCE(tw.weight, 1)
                   * exp((date_part('epoch', i.occurred_at) - ${epoch}::float8) * ${rate}::float8) AS weighted
            FROM interactions i
            JOIN customers c ON c.id = i.customer_id AND c.deleted_at IS NULL
            LEFT JOIN unnest(${channels}::text[], ${channelW}::float8[]) AS cw(channel, weight) ON cw.channel = i.channel
            LEFT JOIN unnest(${types}::text[], ${typeW}::float8[]) AS tw(type, weight) ON tw.type = i.type
           WHERE i.occurred_at <= ${now}::timestamptz AND i.occurred_at > ${now}::timestamptz - (${days}::float8 * interval '1 day') ${scoped}`;
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
    const params: unknown[] = [];
    const sql = weightedInteractions(ctx, null, params);
    params.push(ctx.settings.scalePercentile);
    // One pass, grouped by customer only: the fit needs each customer's total, not the channels.
    const [row] = await ctx.db.query(
      `SELECT COALESCE(percentile_cont($${params.length}::float8) WITHIN GROUP (ORDER BY raw), 0)::float8 AS scale, count(*)::int AS n
         FROM (SELECT customer_id, sum(weighted) AS raw FROM (${sql}) w GROUP BY customer_id) per_customer WHERE raw > 0`,
      params,
    );
    const parameters: EngagementParameters = { scale: row.scale, scaledAt: ctx.now.toISOString() };
    return { parameters: { ...parameters }, diagnostics: { percentile: ctx.settings.scalePercentile }, sampleSize: row.n, asOf: ctx.now };
  },

  scoreSql(ctx, scope, params) {
    const parameters = ctx.model.parameters as EngagementParameters | null;
    if (!parameters) return null;
    const sql = `SELECT customer_id, channel, sum(weighted) AS raw FROM (${weightedInteractions(ctx, scope, params)}) w GROUP BY customer_id, channel`;
    const elapsedDays = (ctx.now.getTime() - Date.parse(parameters.scaledAt)) / 86_400_000;
    const scaleNow = parameters.scale * exp((-LN2 * elapsedDays) / ctx.settings.halfLifeDays);
    // Score points per raw unit; 0 when nobody had engagement at the last recompute.
    params.push(scaleNow > 0 ? 100 / scaleNow : 0);
    const perRaw = `$${params.length}::float8`;
    // Hundredths of a point: finer moves are decay noise and would only add history points.
    return `SELECT customer_id, least(100, round((sum(raw) * ${perRaw})::numeric, 2))::float8 AS value, NULL::text AS label,
                   jsonb_build_object('raw', round(sum(raw)::numeric, 6),
                                      'byChannel', jsonb_object_agg(channel, round((raw * ${perRaw})::numeric, 4))) AS components
              FROM (${sql}) c GROUP BY customer_id`;
  },
});

import { z } from 'zod';
import { rfmLabel } from '../models';
import { defineScoreKind, scopeCondition, type KindContext, type ScoreScope } from './kind';
import { daysSetting, round, transactionTypesSetting } from './settings';

/** RFM settings. */
export const rfmSettings = z
  .object({
    /** Interaction types that are transactions. @defaultValue ['purchase', 'order'] */
    transactionTypes: transactionTypesSetting,
    /** Only transactions in the last this many days count. @defaultValue 365 */
    lookbackDays: daysSetting(365),
  })
  .strict();
export type RfmSettings = z.infer<typeof rfmSettings>;

/**
 * Upper bounds of quintiles 1–4 of each dimension over all customers with
 * transactions, from SQL `ntile(5)` at the last recompute. Recency is the
 * epoch second of the last transaction (later = better).
 */
interface RfmParameters {
  recency: number[];
  frequency: number[];
  monetary: number[];
}

/** Per-customer aggregates over the transactions in the window. */
function aggregates(ctx: KindContext<RfmSettings>, scope: ScoreScope | null, params: unknown[]): string {
  params.push(ctx.settings.transactionTypes, ctx.now.toISOString(), ctx.settings.lookbackDays);
  const [types, now, days] = [params.length - 2, params.length - 1, params.length];
  const scoped = scope ? `AND ${scopeCondition('i.customer_id', scope, params)}` : '';
  return `SELECT i.customer_id, max(i.occurred_at) AS last_at,
                 extract(epoch FROM max(i.occurred_at))::float8 AS recency_key,
                 count(*)::float8 AS frequency, COALESCE(sum(i.value), 0)::float8 AS monetary
            FROM interactions i JOIN customers c ON c.id = i.customer_id AND c.deleted_at IS NULL
           WHERE i.type = ANY($${types}::text[]) AND i.occurred_at <= $${now}::timestamptz
             AND i.occurred_at > $${now}::timestamptz - ($${days}::float8 * interval '1 day') ${scoped}
           GROUP BY i.customer_id`;
}

/** Quintile upper bounds 1–4; buckets ntile left empty (fewer than five customers) repeat the previous bound. */
function upperBounds(rows: { dim: string; q: number; upper: number }[], dim: string): number[] {
  const byQ = new Map(rows.filter((r) => r.dim === dim).map((r) => [Number(r.q), Number(r.upper)]));
  const bounds: number[] = [];
  let previous = -Number.MAX_VALUE;
  for (let q = 1; q <= 4; q++) {
    previous = byQ.get(q) ?? previous;
    bounds.push(previous);
  }
  return bounds;
}

/**
 * RFM: recency, frequency and monetary value of transactions, each scored 1–5
 * by quintile over all customers with transactions (5 = most recent, most
 * frequent, highest spend). `value` is the mean of the three, `label` the
 * segment name of {@link rfmLabel}.
 */
export const rfmKind = defineScoreKind<RfmSettings>({
  kind: 'RFM',
  description: 'Recency, frequency and monetary quintiles (1–5) of transactions; value = mean of R, F, M; label = RFM segment.',
  settings: rfmSettings,
  range: [1, 5],

  async fit(ctx) {
    const params: unknown[] = [];
    const rows: { dim: string; q: number; upper: number; n: number }[] = await ctx.db.query(
      `WITH tx AS (${aggregates(ctx, null, params)}),
       ranked AS (
         SELECT recency_key, frequency, monetary,
                ntile(5) OVER (ORDER BY recency_key, customer_id) AS r,
                ntile(5) OVER (ORDER BY frequency, customer_id) AS f,
                ntile(5) OVER (ORDER BY monetary, customer_id) AS m,
                count(*) OVER () AS n
           FROM tx)
       SELECT 'r' AS dim, r AS q, max(recency_key) AS upper, max(n)::int AS n FROM ranked GROUP BY r
       UNION ALL SELECT 'f', f, max(frequency), max(n)::int FROM ranked GROUP BY f
       UNION ALL SELECT 'm', m, max(monetary), max(n)::int FROM ranked GROUP BY m`,
      params,
    );
    const parameters: RfmParameters = { recency: upperBounds(rows, 'r'), frequency: upperBounds(rows, 'f'), monetary: upperBounds(rows, 'm') };
    return { parameters: { ...parameters }, diagnostics: { quintiles: 'ntile(5)' }, sampleSize: rows[0]?.n ?? 0, asOf: ctx.now };
  },

  async score(ctx, scope) {
    const parameters = ctx.model.parameters as RfmParameters | null;
    if (!parameters) return [];
    const params: unknown[] = [];
    const tx = aggregates(ctx, scope, params);
    params.push(ctx.now.toISOString(), parameters.recency, parameters.frequency, parameters.monetary);
    const [now, r, f, m] = [params.length - 3, params.length - 2, params.length - 1, params.length];
    const rows: { customerId: string; recency: number; frequency: number; monetary: number; r: number; f: number; m: number }[] = await ctx.db.query(
      `SELECT customer_id::text AS "customerId",
              (extract(epoch FROM $${now}::timestamptz - last_at) / 86400)::float8 AS recency,
              frequency, monetary,
              1 + (SELECT count(*) FROM unnest($${r}::float8[]) b WHERE recency_key > b)::int AS r,
              1 + (SELECT count(*) FROM unnest($${f}::float8[]) b WHERE frequency > b)::int AS f,
              1 + (SELECT count(*) FROM unnest($${m}::float8[]) b WHERE monetary > b)::int AS m
         FROM (${tx}) tx`,
      params,
    );
    return rows.map(({ customerId, recency, frequency, monetary, r, f, m }) => ({
      customerId,
      value: (r + f + m) / 3,
      label: rfmLabel(r, f, m),
      components: { recency: round(recency, 4), frequency, monetary: round(monetary, 4), r, f, m, code: `${r}${f}${m}` },
    }));
  },
});

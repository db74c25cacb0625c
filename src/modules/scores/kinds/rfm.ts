import { z } from 'zod';
import { SqlParams } from '../../../infra/sql-filter';
import { rfmLabel } from '../models';
import { defineScoreKind, liveCustomer, scopeCondition, type KindContext, type ScoreScope } from './kind';
import { daysSetting, namedFigures, transactionTypesSetting } from './settings';

/** rfmLabel(r, f, m) at index (r − 1)·25 + (f − 1)·5 + m − 1, for SQL (1-based arrays). */
const RFM_LABEL_TABLE: string[] = [1, 2, 3, 4, 5].flatMap((r) => [1, 2, 3, 4, 5].flatMap((f) => [1, 2, 3, 4, 5].map((m) => rfmLabel(r, f, m))));

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

/**
 * Per-customer aggregates over the transactions in the window (customers that
 * exist and are not deleted). Spend is summed in float8 (a numeric sum costs
 * about 100 ns a row and a large per-customer state) and rounded to the four
 * decimals of `value`: the exact sum, whatever order the rows are added in, so
 * a refresh and a recompute place a customer on a quintile bound alike.
 */
function aggregates(ctx: KindContext<RfmSettings>, scope: ScoreScope | null, p: SqlParams): string {
  const [types, now, days] = [ctx.settings.transactionTypes, ctx.now.toISOString(), ctx.settings.lookbackDays].map((v) => p.add(v));
  const scoped = scope ? `AND ${scopeCondition('i.customer_id', scope, p)}` : '';
  return `SELECT * FROM (
            SELECT i.customer_id, max(i.occurred_at) AS last_at,
                   extract(epoch FROM max(i.occurred_at))::float8 AS recency_key,
                   count(*)::float8 AS frequency, COALESCE(round(sum(i.value::float8) * 1e4) / 1e4, 0) AS monetary
              FROM interactions i
             WHERE i.type = ANY(${types}::text[]) AND i.occurred_at <= ${now}::timestamptz
               AND i.occurred_at > ${now}::timestamptz - (${days}::float8 * interval '1 day') ${scoped}
             GROUP BY i.customer_id) a
           WHERE ${liveCustomer('a.customer_id', scope, p)}`;
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
    // The aggregates are kept, for the quintiles here and for the run's batches.
    const kept = new SqlParams();
    const tx = `SELECT * FROM ${await ctx.keepFeatures(aggregates(ctx, null, kept), kept.values)}`;
    const p = new SqlParams();
    const rows: { dim: string; q: number; upper: number; n: number }[] = await ctx.db.query(
      `WITH tx AS (${tx}),
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
      p.values,
    );
    const parameters: RfmParameters = { recency: upperBounds(rows, 'r'), frequency: upperBounds(rows, 'f'), monetary: upperBounds(rows, 'm') };
    return { parameters: { ...parameters }, diagnostics: { quintiles: 'ntile(5)' }, sampleSize: rows[0]?.n ?? 0, asOf: ctx.now };
  },

  // Stored: recency (days since the last transaction), frequency, monetary, r, f, m.
  components({ values }) {
    const named: Record<string, unknown> = namedFigures(values, [
      ['recency', 4],
      ['frequency', null],
      ['monetary', 4],
      ['r', null],
      ['f', null],
      ['m', null],
    ]);
    if (values.length >= 6) named.code = `${values[3]}${values[4]}${values[5]}`;
    return named;
  },

  scoreSql(ctx, scope, p) {
    const parameters = ctx.model.parameters as RfmParameters | null;
    if (!parameters) return null;
    // A full recompute's batches take the aggregates its fit kept (customers deleted since are left out).
    const tx = ctx.keptFeatures
      ? `SELECT * FROM ${ctx.keptFeatures} a WHERE ${scopeCondition('a.customer_id', scope, p)} AND ${liveCustomer('a.customer_id', scope, p)}`
      : aggregates(ctx, scope, p);
    const [now, labels] = [ctx.now.toISOString(), RFM_LABEL_TABLE].map((v) => p.add(v));
    // Quintile = 1 + the number of bounds strictly below the value (ties at a bound go to the lower quintile): one
    // comparison per bound, the bounds as scalar parameters (a subquery over the array ran per row and per use).
    const quintile = (column: string, bounds: number[]) => `(1${bounds.map((bound) => ` + ((${column} > ${p.add(bound)}::float8) IS TRUE)::int`).join('')})`;
    // OFFSET 0 keeps the quintiles computed once per customer, not once per use in the outer query.
    return `SELECT customer_id, (r + f + m)::float8 / 3 AS value, (${labels}::text[])[(r - 1) * 25 + (f - 1) * 5 + m] AS label,
                   ARRAY[recency, frequency, monetary, r, f, m]::float8[] AS component_values, NULL::text[] AS component_keys
              FROM (SELECT customer_id, date_part('epoch', ${now}::timestamptz - last_at) / 86400 AS recency,
                           frequency, monetary,
                           ${quintile('recency_key', parameters.recency)} AS r, ${quintile('frequency', parameters.frequency)} AS f,
                           ${quintile('monetary', parameters.monetary)} AS m
                      FROM (${tx}) tx OFFSET 0) q`;
  },
});

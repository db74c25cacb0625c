import { SqlParams } from '../../../infra/sql-filter';
import { scopeCondition, type Memo, type Queryable, type ScoreScope } from './kind';

/** One customer's purchase history as BG/NBD and Gamma-Gamma see it (time in weeks). */
export interface CustomerPurchaseSummary {
  customerId: string;
  /** Repeat purchases: distinct purchase days after the first. */
  x: number;
  /** Weeks from the first to the last purchase day. */
  tx: number;
  /** Weeks from the first purchase day to `asOf`. */
  T: number;
  /** Mean value of the repeat purchase days (each day's purchases summed); 0 when x = 0. */
  m: number;
}

const DAY_MS = 86_400_000;

/** The UTC calendar day of an instant, at midnight UTC. */
export function utcDay(date: Date): Date {
  return new Date(Math.floor(date.getTime() / DAY_MS) * DAY_MS);
}

/**
 * Per-customer summaries as of the end of the UTC day `asOfDay`, in one
 * statement: purchases are grouped into purchase days (several on one day
 * are one purchase whose value is their sum, as the CDNOW literature does),
 * then x, t_x, T and m per customer. Spend is summed in float8 and rounded
 * to the four decimals of `value`, which is the exact sum whatever the order
 * of the rows (a recompute and a refresh read them in different orders).
 */
export async function purchaseSummaries(
  db: Queryable,
  options: {
    transactionTypes: string[];
    asOfDay: Date;
    scope: ScoreScope | null;
    /** The memo of the kinds scored over this scope (a scoring context's `scopeMemo`). */
    scopeMemo?: Memo;
    /** The memo of a full recompute (a context's `runMemo`). */
    runMemo?: Memo;
  },
): Promise<CustomerPurchaseSummary[]> {
  if (options.runMemo) {
    // A full recompute reads every customer's summaries once (CLV's fit); its batches take their id range of them.
    const key = `purchaseSummaries:${JSON.stringify([options.transactionTypes, options.asOfDay.toISOString()])}`;
    const all = options.runMemo.get(key, () => purchaseSummaries(db, { ...options, scope: null, scopeMemo: undefined, runMemo: undefined }));
    const scope = options.scope;
    if (scope === null) return all;
    if ('idRange' in scope) return idRangeOf(await all, scope.idRange);
  }
  if (options.scopeMemo) {
    // CLV and CHURN_RISK scored over the same scope read the summaries once.
    const key = `purchaseSummaries:${JSON.stringify([options.transactionTypes, options.asOfDay.toISOString(), options.scope])}`;
    return options.scopeMemo.get(key, () => purchaseSummaries(db, { ...options, scopeMemo: undefined, runMemo: undefined }));
  }
  const p = new SqlParams();
  const [types, asOfDay] = [options.transactionTypes, options.asOfDay.toISOString().slice(0, 10)].map((v) => p.add(v));
  const scoped = options.scope ? `AND ${scopeCondition('i.customer_id', options.scope, p)} AND ${scopeCondition('c.id', options.scope, p)}` : '';
  return db.query(
    `WITH days AS (
       SELECT i.customer_id, (i.occurred_at AT TIME ZONE 'UTC')::date AS day, COALESCE(round(sum(i.value::float8) * 1e4) / 1e4, 0) AS spend
         FROM interactions i JOIN customers c ON c.id = i.customer_id AND c.deleted_at IS NULL
        WHERE i.type = ANY(${types}::text[]) AND i.occurred_at < ((${asOfDay}::date + 1)::timestamp AT TIME ZONE 'UTC') ${scoped}
        GROUP BY 1, 2),
     numbered AS (SELECT customer_id, day, spend, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n FROM days)
     SELECT customer_id::text AS "customerId", (count(*) - 1)::int AS x,
            ((max(day) - min(day))::float8 / 7) AS tx,
            ((${asOfDay}::date - min(day))::float8 / 7) AS "T",
            COALESCE(round(sum(spend) FILTER (WHERE n > 1) * 1e4) / 1e4 / NULLIF(count(*) - 1, 0), 0) AS m
       FROM numbered GROUP BY customer_id ORDER BY customer_id`,
    p.values,
  );
}

/** The summaries (in customer id order) whose customer id is in the inclusive range, found by binary search. */
export function idRangeOf(summaries: readonly CustomerPurchaseSummary[], [lo, hi]: [string, string]): CustomerPurchaseSummary[] {
  const first = (bound: bigint, inclusive: boolean) => {
    let a = 0;
    let b = summaries.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const id = BigInt(summaries[mid].customerId);
      if (id < bound || (!inclusive && id === bound)) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  return summaries.slice(first(BigInt(lo), true), first(BigInt(hi), false));
}

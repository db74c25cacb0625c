import { scopeCondition, type Queryable, type ScoreRow, type ScoreScope } from './kinds/kind';
import type { ScoreKind } from './score-kind';

/**
 * Writes one kind's scores for a scope, set-based: upserts the rows, appends
 * a history point only where the value or label changed (so running the same
 * job twice adds nothing), and removes scores of customers in the scope that
 * no longer get one (e.g. their last transaction left the lookback window).
 * Rows are written in customer order so concurrent writers lock alike.
 */
export async function writeScores(db: Queryable, kind: ScoreKind, modelVersion: number, scope: ScoreScope, rows: ScoreRow[]): Promise<number> {
  const sorted = [...rows].sort((a, b) => (BigInt(a.customerId) < BigInt(b.customerId) ? -1 : 1));
  if (sorted.length > 0) {
    await db.query(
      `WITH input AS (
         SELECT t.* FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::jsonb[]) AS t(customer_id, value, label, components)
          WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)),
       previous AS (SELECT s.customer_id, s.value, s.label FROM scores s JOIN input USING (customer_id) WHERE s.kind = $5),
       written AS (
         INSERT INTO scores AS s (customer_id, kind, value, label, components, model_version, computed_at)
         SELECT customer_id, $5, value, label, components, $6, now() FROM input ORDER BY customer_id
         ON CONFLICT (customer_id, kind) DO UPDATE SET
           value = EXCLUDED.value, label = EXCLUDED.label, components = EXCLUDED.components,
           model_version = EXCLUDED.model_version, computed_at = EXCLUDED.computed_at
         RETURNING customer_id)
       INSERT INTO score_history (customer_id, kind, value, label, components, recorded_at)
       SELECT i.customer_id, $5, i.value, i.label, i.components, now()
         FROM input i LEFT JOIN previous p USING (customer_id)
        WHERE p.customer_id IS NULL OR p.label IS DISTINCT FROM i.label
           OR abs(p.value - i.value) > 1e-9 * greatest(1, abs(i.value))`,
      [
        sorted.map((r) => r.customerId),
        sorted.map((r) => r.value),
        sorted.map((r) => r.label),
        sorted.map((r) => JSON.stringify(r.components)),
        kind,
        modelVersion,
      ],
    );
  }
  const params: unknown[] = [kind, sorted.map((r) => r.customerId)];
  await db.query(`DELETE FROM scores WHERE kind = $1 AND ${scopeCondition('customer_id', scope, params)} AND customer_id <> ALL($2::bigint[])`, params);
  return sorted.length;
}

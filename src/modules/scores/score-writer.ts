import { pgArray } from '../../infra/pg-array';
import { SqlParams } from '../../infra/sql-filter';
import { scopeCondition, type Queryable, type ScoreRow, type ScoreScope } from './kinds/kind';
import type { ScoreKind } from './score-kind';
import { outboxInsertSql } from '../events';

/**
 * Advisory lock key between score writers (shared, per transaction) and
 * erasure (exclusive): `scores` and `score_history` have no foreign key to
 * `customers`, so this is what keeps a recompute batch from writing a score
 * for a customer erased while the batch ran.
 */
export const SCORE_WRITERS_LOCK = 727_274_002;

/**
 * The scores to write for a scope, as SQL: a SELECT of `customer_id` (bigint),
 * `value` (float8), `label` (text), `component_values` (float8[]) and
 * `component_keys` (text[] or NULL), one row per customer that gets a score,
 * using `params` as $1…$n.
 */
export interface ScoreInput {
  sql: string;
  params: unknown[];
}

/**
 * SQL condition: the score in `next` differs from the one in `prev` (row
 * aliases with `value` and `label`), by its label or by more than float
 * noise. Only such a change moves `changed_at` and adds a history point.
 */
export function scoreChanged(prev: string, next: string): string {
  return `(${prev}.label IS DISTINCT FROM ${next}.label OR abs(${prev}.value - ${next}.value) > 1e-9 * greatest(1, abs(${next}.value)))`;
}

/**
 * Writes one kind's scores for a scope in ONE statement, set-based (refreshes
 * and targeted rescores; a full recompute rebuilds the table instead, see
 * score-rebuild.ts): upserts the rows, and removes scores of customers in the
 * scope that no longer get one (e.g. their last transaction left the
 * lookback window). A score whose value or label changed gets a new
 * `changed_at`, and the value it replaces, or removes, goes to
 * `score_history` with the instant it had become current: the history holds
 * superseded values, one row per change, and the current value is the newest
 * point (so running the same job twice adds nothing, and a first score adds
 * no history row). The scores are computed in the same statement (`input`),
 * so nothing goes through the worker.
 *
 * Whether a score changed is read from the upsert itself (`RETURNING old.…`,
 * PostgreSQL 18): the old row is the one the upsert locked, i.e. the latest
 * committed version, not the statement's snapshot. Two writers racing on one
 * customer (two `customer.refresh` steps, or one and a targeted rescore)
 * therefore record each change once: the second waits for the first to
 * commit and then sees its value. Rows are written in customer order so
 * concurrent writers lock alike; lookups go through the primary key
 * (customer_id, kind), so a batch costs the same whatever the size of the
 * tables. One statement per kind and batch replaces a round trip of every
 * row through the worker plus separate upsert, history and delete statements.
 */
export async function writeScoreInput(db: Queryable, kind: ScoreKind, modelVersion: number, scope: ScoreScope, input: ScoreInput): Promise<number> {
  // Before the write's snapshot is taken: an erasure that committed first has its customer gone from it,
  // and one that comes later waits for this transaction (scores have no foreign key to customers).
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  const p = new SqlParams(input.params);
  const k = p.add(kind);
  const v = p.add(modelVersion);
  const scoped = scopeCondition('p.customer_id', scope, p);
  const [row] = await db.query(
    `WITH input AS MATERIALIZED (${input.sql}),
     written AS (
       INSERT INTO scores AS s (customer_id, kind, value, label, component_values, component_keys, model_version, computed_at, changed_at)
       SELECT customer_id, ${k}, value, label, component_values, component_keys, ${v}, now(), now() FROM input ORDER BY customer_id
       ON CONFLICT (customer_id, kind) DO UPDATE SET
         value = EXCLUDED.value, label = EXCLUDED.label, components = NULL, component_values = EXCLUDED.component_values, component_keys = EXCLUDED.component_keys,
         model_version = EXCLUDED.model_version, computed_at = EXCLUDED.computed_at,
         -- now() is the transaction's start: a writer that started before the one it replaces still moves forward.
         changed_at = CASE WHEN ${scoreChanged('s', 'EXCLUDED')} THEN greatest(EXCLUDED.changed_at, s.changed_at + interval '1 microsecond')
                           ELSE s.changed_at END
       RETURNING new.customer_id, old.customer_id IS NOT NULL AND ${scoreChanged('old', 'new')} AS replaced, old.customer_id IS NULL AS first,
                 new.value AS new_value, new.label AS new_label,
                 old.value, old.label, old.components, old.component_values, old.component_keys, old.changed_at),
     -- (kind = $k) IS TRUE is not indexable on purpose: the scope's range of the primary key is read, never
     -- every row of the kind through scores_kind_label_idx (which the planner may prefer for wide batches).
     removed AS (
       DELETE FROM scores s
        WHERE s.kind = ${k}
          AND s.customer_id = ANY (ARRAY(
                SELECT p.customer_id FROM scores p
                 WHERE ${scoped} AND (p.kind = ${k}) IS TRUE
                   AND NOT EXISTS (SELECT 1 FROM input i WHERE i.customer_id = p.customer_id)))
       RETURNING s.customer_id, s.value, s.label, s.components, s.component_values, s.component_keys, s.changed_at),
     history AS (
       INSERT INTO score_history (customer_id, kind, value, label, components, component_values, component_keys, recorded_at)
       SELECT customer_id, ${k}, value, label, components, component_values, component_keys, changed_at
         FROM (SELECT customer_id, value, label, components, component_values, component_keys, changed_at FROM written WHERE replaced
               UNION ALL SELECT customer_id, value, label, components, component_values, component_keys, changed_at FROM removed) superseded
        ORDER BY customer_id
       RETURNING 1),
     -- score.changed for the scores that appeared, changed value or label, or were removed: not for rewrites of the same value.
     published AS (${outboxInsertSql(
       'score.changed',
       `
       SELECT customer_id, ${scoreChangedPayload(k, 'new_value', 'new_label', 'CASE WHEN first THEN NULL ELSE value END', 'CASE WHEN first THEN NULL ELSE label END')} AS payload
         FROM written WHERE replaced OR first
       UNION ALL
       SELECT customer_id, ${scoreChangedPayload(k, 'NULL', 'NULL', 'value', 'label')} FROM removed`,
     )})
     SELECT (SELECT count(*) FROM written)::int AS scored, (SELECT count(*) FROM history)::int AS changed,
            (SELECT count(*) FROM removed)::int AS removed`,
    p.values,
  );
  return row.scored;
}

/** The score.changed payload built in SQL from a kind parameter and value/label expressions. */
function scoreChangedPayload(kind: string, value: string, label: string, previousValue: string, previousLabel: string): string {
  return `jsonb_build_object('customerId', customer_id::text, 'kind', ${kind}::text, 'value', ${value}::float8, 'label', ${label}::text,
            'previousValue', ${previousValue}::float8, 'previousLabel', ${previousLabel}::text)`;
}

/** The most figures a row may have for them to travel as one float8 array per position. */
const MAX_POSITIONAL_FIGURES = 40;

/**
 * Scores computed in the worker (kinds whose closed forms run in JS, e.g.
 * CLV) as a {@link ScoreInput}: the rows go in as arrays, and only customers
 * that still exist get a score. When every row has the same number of finite
 * figures (CLV, CHURN_RISK), they travel as one float8 array per position,
 * put back together per row in SQL; otherwise as one array literal per row.
 */
export function scoreRowsInput(rows: ScoreRow[]): ScoreInput {
  const p = new SqlParams();
  const base = [p.add(pgArray(rows.map((r) => r.customerId))), p.add(pgArray(rows.map((r) => r.value))), p.add(pgArray(rows.map((r) => r.label)))];
  const [ids, values, labels] = base;
  const width = rows[0]?.componentValues.length ?? 0;
  const keyed = rows.some((r) => r.componentKeys);
  const positional =
    !keyed && width > 0 && width <= MAX_POSITIONAL_FIGURES && rows.every((r) => r.componentValues.length === width && r.componentValues.every(Number.isFinite));
  if (positional) {
    const columns = Array.from({ length: width }, (_, i) => `c${i}`);
    const figures = columns.map((_, i) => `${p.add(pgArray(rows.map((r) => r.componentValues[i])))}::float8[]`);
    return {
      sql: `SELECT t.customer_id, t.value, t.label, ARRAY[${columns.map((c) => `t.${c}`).join(', ')}] AS component_values, NULL::text[] AS component_keys
              FROM unnest(${ids}::bigint[], ${values}::float8[], ${labels}::text[], ${figures.join(', ')})
                   AS t(customer_id, value, label, ${columns.join(', ')})
             WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)`,
      params: p.values,
    };
  }
  const figures = p.add(pgArray(rows.map((r) => `{${r.componentValues.map(String).join(',')}}`)));
  // Keys (CHURN_PROPENSITY's feature names) as one text[] literal per row, the rows' keys being text of any kind.
  const keys = keyed ? p.add(pgArray(rows.map((r) => (r.componentKeys ? pgArray(r.componentKeys) : null)))) : null;
  return {
    sql: `SELECT t.customer_id, t.value, t.label, t.component_values::float8[] AS component_values,
                 ${keys ? 't.component_keys::text[]' : 'NULL::text[]'} AS component_keys
            FROM unnest(${ids}::bigint[], ${values}::float8[], ${labels}::text[], ${figures}::text[]${keys ? `, ${keys}::text[]` : ''})
                 AS t(customer_id, value, label, component_values${keys ? ', component_keys' : ''})
           WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)`,
    params: p.values,
  };
}

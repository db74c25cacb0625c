import type { DataSource } from 'typeorm';
import { inTransaction } from '../../infra/database';
import { pgArray } from '../../infra/pg-array';
import { SqlParams } from '../../infra/sql-filter';
import { scopeCondition, type Queryable, type ScoreScope } from './kinds/kind';
import { SCORE_KINDS, type ScoreKind } from './score-kind';
import { SCORE_WRITERS_LOCK, scoreChanged, type ScoreInput } from './score-writer';
import { outboxInsertSql } from '../events';

/**
 * Where a full recompute writes its scores before they replace `scores`. It
 * has a `customer_id` column, so an erasure during a recompute removes the
 * customer from it too (erasure deletes from every such table).
 */
export const SCORES_REBUILD_TABLE = 'scores_rebuild';

/**
 * Where a full recompute's batches put the current scores they supersede
 * (changed or gone) until the swap moves them to `score_history`. Logged like
 * the rebuild: a crash of Postgres during the run empties unlogged tables but
 * keeps logged ones, and a run that goes on after it would swap in scores
 * whose superseded values were lost. It has a `customer_id` column too.
 */
export const HISTORY_REBUILD_TABLE = 'score_history_rebuild';

/**
 * Where a full recompute's fit keeps a kind's per-customer features for the
 * run's batches ({@link keepFeatures}). It has a `customer_id` column too.
 */
export function featuresTable(kind: ScoreKind): string {
  return `score_features_${kind.toLowerCase()}`;
}

const FEATURE_TABLES = SCORE_KINDS.map(featuresTable);

/**
 * One row, unlogged like the features tables, written when the rebuild
 * starts: a Postgres crash empties every unlogged table, this one included,
 * so the swap can tell features that were lost from features an erasure
 * emptied ({@link checkFeatures}).
 */
const FEATURES_INTACT = 'score_features_intact';

/** Every table a full recompute creates and drops. */
const RUN_TABLES = [SCORES_REBUILD_TABLE, HISTORY_REBUILD_TABLE, ...FEATURE_TABLES, FEATURES_INTACT];

/** The tables a full recompute writes before its swap: not what Rapport holds yet (an export skips them; an erasure does not). */
export const REBUILD_TABLES: readonly string[] = [SCORES_REBUILD_TABLE, HISTORY_REBUILD_TABLE, ...FEATURE_TABLES];

/** Session advisory lock held for a whole full recompute: runs share the rebuild table, so one runs at a time. */
export const FULL_RECOMPUTE_LOCK = 727_274_003;

/** Sort memory of the rebuild's index builds (SET LOCAL): enough that sorting a large base's scores does not spill to disk. */
const INDEX_BUILD_MEMORY = '256MB';

const T = SCORES_REBUILD_TABLE;
const H = HISTORY_REBUILD_TABLE;

/**
 * A full recompute rebuilds the scores table instead of upserting into it.
 *
 * Upserting every customer's scores costs, per row, a heap tuple plus random
 * inserts into three indexes and the old version left for vacuum; a rebuild
 * appends rows to a table without indexes, builds the indexes once by sorting,
 * and swaps the table in. Readers see the old scores until the swap and then
 * every new one at once: never a base half scored with the new model.
 *
 * 1. {@link startRebuild}, before the fits: a fresh `scores_rebuild` shaped
 *    like `scores` but without indexes, an empty
 *    `score_history_rebuild`, the marker of {@link checkFeatures}, and the
 *    instant from which a write to `scores` may be one this run does not
 *    see. Fits may then keep features for the batches ({@link keepFeatures}).
 * 2. {@link appendScores}: batches append their kinds' scores (any number of
 *    concurrent transactions; each customer and kind once), each beside the
 *    current scores of its range, so the ones it changes or drops are set
 *    aside for history as it goes; {@link keepScores} copies the kinds not
 *    recomputed.
 * 3. {@link indexRebuild}: the indexes of `scores`, built on the rebuild.
 * 4. {@link swapRebuild}: in one transaction, the superseded scores go to
 *    history, then the rebuild becomes `scores`. Customers whose scores were
 *    written meanwhile (a `customer.refresh` during the recompute) keep what
 *    is in `scores` (and none of the history set aside for them) and are
 *    returned, to be scored again with the new models once the swap has
 *    committed.
 *
 * A run that stops before the swap leaves `scores` and `score_history` as
 * they were; the next run drops the leftover rebuild.
 */
export async function startRebuild(db: Queryable): Promise<Date> {
  // An erasure lists the tables holding customers, then deletes from each: the rebuild is not dropped in between.
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  // A writer stamps its rows with its transaction's start (now()), which may be earlier than this instant if it
  // started before and writes later: the oldest transaction open now bounds every write this run may not see.
  const [{ since }] = await db.query(
    `SELECT least(now(), (SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend')) AS since`,
  );
  await db.query(`DROP TABLE IF EXISTS ${RUN_TABLES.join(', ')}`);
  await db.query(`CREATE UNLOGGED TABLE ${FEATURES_INTACT} AS SELECT true AS intact`);
  // Columns, defaults, NOT NULL and CHECK constraints; indexes come after the rows: a sorted build costs less than
  // maintaining an index row by row while the lanes append. No autovacuum while it fills: the run analyzes it
  // itself, and a worker vacuuming it would hold up the swap's rename until the deadlock check cancels it. The
  // swap turns autovacuum back on.
  await db.query(
    `CREATE TABLE ${T} (LIKE scores INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)
       WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)`,
  );
  await db.query(
    `CREATE TABLE ${H} WITH (autovacuum_enabled = false)
       AS SELECT customer_id, kind, value, label, components, component_values, component_keys, recorded_at FROM score_history WITH NO DATA`,
  );
  return since as Date;
}

/** Drops the rebuild of a run that stopped before its swap (the next run would drop it too), in the caller's transaction. */
export async function dropRebuild(db: Queryable): Promise<void> {
  // Like every change to the rebuild: never between an erasure's listing of the tables and its deletes.
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  await db.query(`DROP TABLE IF EXISTS ${RUN_TABLES.join(', ')}`);
}

/**
 * Keeps a kind's per-customer features for a full recompute's batches, in the
 * caller's transaction (the fit's): the rows of `select` (with a
 * `customer_id` column) in {@link featuresTable}, sorted by customer id, with
 * a BRIN index on it, so a batch reads only its id range's pages. Returns the
 * table's name.
 *
 * The fit reads every interaction once, in storage order; batches that read
 * their id range of the interactions instead visit pages across the whole
 * table when interactions are stored as they arrive (time order). Unlogged:
 * a Postgres crash during the run empties the table, which the swap notices
 * ({@link checkFeatures}).
 */
export async function keepFeatures(db: Queryable, kind: ScoreKind, select: string, params: unknown[]): Promise<string> {
  // Like the rebuild: never created between an erasure's listing of the tables and its deletes.
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  const table = featuresTable(kind);
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`CREATE UNLOGGED TABLE ${table} WITH (autovacuum_enabled = false) AS SELECT * FROM (${select}) f ORDER BY customer_id`, params);
  await db.query(`CREATE INDEX ON ${table} USING brin (customer_id) WITH (pages_per_range = 16)`);
  await db.query(`ANALYZE ${table}`);
  return table;
}

/**
 * Before the swap, in its transaction: checks that Postgres did not crash
 * while the run went on. A crash empties unlogged tables, and
 * a batch that ran after it would have scored nobody from them; the swap would
 * then remove those scores. An erasure may empty a features table; it cannot
 * empty {@link FEATURES_INTACT}.
 */
export async function checkFeatures(db: Queryable): Promise<void> {
  const [row] = await db.query(`SELECT intact FROM ${FEATURES_INTACT}`);
  if (!row) throw new Error("the recompute's unlogged features were lost during the run (Postgres restarted); nothing was swapped in");
}

/** Copies the current scores of the kinds this run does not recompute into the rebuild (later changes are scored again at the swap). */
export async function keepScores(db: Queryable, keptKinds: readonly ScoreKind[]): Promise<void> {
  if (keptKinds.length === 0) return;
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  await db.query(`INSERT INTO ${T} SELECT * FROM scores WHERE kind = ANY($1::text[])`, [keptKinds]);
}

/**
 * Appends one kind's scores for a scope (computed by `input` in the same
 * statement) to the rebuild; returns how many. Each is set beside the
 * customer's current score of the kind: one equal to it keeps its
 * `changed_at`; a new or changed one gets this transaction's instant, and the
 * current score it replaces, like one of the scope that gets no score now,
 * is set aside for history (moved there at the swap, with the instant it had
 * become current). The scope must cover every customer of the kind's current
 * scores once over the run (a full recompute's id ranges do).
 */
export async function appendScores(db: Queryable, kind: ScoreKind, modelVersion: number, scope: ScoreScope, input: ScoreInput): Promise<number> {
  // Shared with score writers, exclusive for erasure: a customer erased while this batch ran has none of its rows here.
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  const p = new SqlParams(input.params);
  const k = p.add(kind);
  const v = p.add(modelVersion);
  // The current scores of the scope and kind only.
  const scoped = scopeCondition('o.customer_id', scope, p);
  const [row] = await db.query(
    `WITH old AS MATERIALIZED (
       -- For a batch's id range the kind is a condition of the primary key's scan (customer_id, kind): the heap
       -- pages that hold the range's other kinds are not read (a range wide enough takes the kind's index).
       SELECT o.customer_id, o.value, o.label, o.changed_at FROM scores o WHERE ${scoped} AND o.kind = ${k}),
     written AS (
       INSERT INTO ${T} (customer_id, kind, value, label, component_values, component_keys, model_version, computed_at, changed_at)
       SELECT n.customer_id, ${k}, n.value, n.label, n.component_values, n.component_keys, ${v}, now(),
              CASE WHEN o.customer_id IS NULL OR ${scoreChanged('o', 'n')} THEN now() ELSE o.changed_at END
         FROM (${input.sql}) n LEFT JOIN old o ON o.customer_id = n.customer_id
       RETURNING customer_id, value, label),
     -- The current scores that the rows appended change or leave out (on a first run, none): the range of
     -- scores is read once (above, without components); a superseded score's components by its primary key,
     -- for those rows only (OFFSET 0: the lookup is not planned below the filter, for every current score).
     superseded AS (
       INSERT INTO ${H} (customer_id, kind, value, label, components, component_values, component_keys, recorded_at)
       SELECT g.customer_id, ${k}, g.value, g.label, s.components, s.component_values, s.component_keys, g.changed_at
         FROM (SELECT o.* FROM old o LEFT JOIN written n ON n.customer_id = o.customer_id
                WHERE n.customer_id IS NULL OR ${scoreChanged('o', 'n')} OFFSET 0) g
         JOIN scores s ON s.customer_id = g.customer_id AND s.kind = ${k})
     SELECT count(*)::int AS scored FROM written`,
    p.values,
  );
  return row.scored;
}

interface ScoreIndex {
  name: string;
  definition: string;
  primary: boolean;
}

/** The indexes of `scores` as they are now (whatever migrations made them), and their names on the rebuild. */
async function scoreIndexes(db: Queryable): Promise<(ScoreIndex & { rebuildName: string })[]> {
  const rows: ScoreIndex[] = await db.query(
    `SELECT c.relname AS name, pg_get_indexdef(x.indexrelid) AS definition, x.indisprimary AS primary
       FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
      WHERE x.indrelid = 'scores'::regclass
      -- Longest builds first: full secondary indexes sort every row from scratch; partial ones fewer rows; the
      -- primary key's input is already nearly in order (batches append by id range).
      ORDER BY x.indisprimary, x.indpred IS NOT NULL, c.relname`,
  );
  return rows.map((r) => ({ ...r, rebuildName: r.name.startsWith('scores_') ? `${T}_${r.name.slice('scores_'.length)}` : `${T}_${r.name}` }));
}

/**
 * Builds the indexes of `scores` on the rebuild (sorted builds, several at
 * once on their own connections), the primary key included, then its planner
 * statistics.
 */
export async function indexRebuild(dataSource: DataSource, connections = 2): Promise<void> {
  const indexes = await scoreIndexes(dataSource.manager);
  let next = 0;
  const lane = async () => {
    while (next < indexes.length) {
      const index = indexes[next++];
      const definition = index.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ /, `CREATE $1INDEX ${index.rebuildName} ON ${T} `);
      if (definition === index.definition) throw new Error(`cannot rebuild index ${index.name}: unexpected definition ${index.definition}`);
      await inTransaction(dataSource, async (manager) => {
        await manager.query(`SET LOCAL maintenance_work_mem = '${INDEX_BUILD_MEMORY}'`);
        await manager.query(definition);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, indexes.length) }, lane));
  const primary = indexes.find((index) => index.primary);
  if (primary) await dataSource.query(`ALTER TABLE ${T} ADD CONSTRAINT ${primary.rebuildName} PRIMARY KEY USING INDEX ${primary.rebuildName}`);
  await dataSource.query(`ANALYZE ${T}`);
}

/**
 * Replaces `scores` by the rebuild (indexed), in the caller's transaction:
 * moves the scores the batches set aside (those the rebuild changes or no
 * longer has) to `score_history`, then swaps the tables. Score writers wait
 * from the start of the swap, readers only for the drop and rename.
 * Customers whose scores were written since `since` keep those rows (and
 * get no history from the run) and are returned: the caller scores them
 * again on the new table, after the commit (which also notices scores
 * removed meanwhile).
 */
export async function swapRebuild(db: Queryable, since: Date, beforeSwap: () => Promise<void> = async () => undefined): Promise<string[]> {
  await db.query(`SELECT pg_advisory_xact_lock_shared(${SCORE_WRITERS_LOCK})`);
  await db.query(`LOCK TABLE scores IN EXCLUSIVE MODE`);
  // Written by a refresh or a targeted rescore since the run started; a refresh also stamps the customer's stats,
  // which finds one that removed every score of its customer (and so wrote no score row).
  const touchedIds: string[] = (
    await db.query(
      `SELECT customer_id::text AS id FROM scores WHERE computed_at >= $1
     UNION SELECT customer_id::text FROM customer_stats WHERE updated_at >= $1`,
      [since],
    )
  ).map((r: { id: string }) => r.id);
  if (touchedIds.length > 0) {
    const touched = pgArray(touchedIds);
    await db.query(`DELETE FROM ${T} WHERE customer_id = ANY($1::bigint[])`, [touched]);
    await db.query(`INSERT INTO ${T} SELECT * FROM scores WHERE customer_id = ANY($1::bigint[])`, [touched]);
    await db.query(`DELETE FROM ${H} WHERE customer_id = ANY($1::bigint[])`, [touched]);
  }

  // The scores this run replaces or removes become history, with the instant they had become current; in the
  // order of history's index.
  await db.query(
    `INSERT INTO score_history (customer_id, kind, value, label, components, component_values, component_keys, recorded_at)
     SELECT customer_id, kind, value, label, components, component_values, component_keys, recorded_at FROM ${H} ORDER BY customer_id, kind`,
  );

  // score.changed for what the swap changes: the scores set aside (replaced or removed) and the ones that appear.
  await db.query(
    `${outboxInsertSql(
      'score.changed',
      `
       SELECT h.customer_id, jsonb_build_object('customerId', h.customer_id::text, 'kind', h.kind, 'value', t.value::float8, 'label', t.label,
                'previousValue', h.value::float8, 'previousLabel', h.label) AS payload
         FROM ${H} h LEFT JOIN ${T} t ON t.customer_id = h.customer_id AND t.kind = h.kind
       UNION ALL
       SELECT t.customer_id, jsonb_build_object('customerId', t.customer_id::text, 'kind', t.kind, 'value', t.value::float8, 'label', t.label,
                'previousValue', NULL::float8, 'previousLabel', NULL::text)
         FROM ${T} t WHERE NOT EXISTS (SELECT 1 FROM scores s WHERE s.customer_id = t.customer_id AND s.kind = t.kind)`,
    )}`,
  );

  const indexes = await scoreIndexes(db);
  // The last moment readers are not waiting (progress is reported here: a failure to report still rolls back).
  await beforeSwap();
  await db.query(`LOCK TABLE scores IN ACCESS EXCLUSIVE MODE`);
  await db.query(`DROP TABLE scores`);
  await db.query(`ALTER TABLE ${T} RENAME TO scores`);
  for (const index of indexes) await db.query(`ALTER INDEX ${index.rebuildName} RENAME TO ${index.name}`);
  await db.query(`ALTER TABLE scores RESET (autovacuum_enabled, toast.autovacuum_enabled)`);
  await db.query(`DROP TABLE ${H}`);
  await db.query(`DROP TABLE IF EXISTS ${[...FEATURE_TABLES, FEATURES_INTACT].join(', ')}`);
  return touchedIds;
}

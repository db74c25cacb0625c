import type { EntityManager } from 'typeorm';
import { PHONETIC_FIELDS, type KindSettings, type MatchingSettings } from './settings';

/**
 * The normalised fields of customers (`identity_features`) and their
 * blocking keys (`identity_block_keys`), computed in Postgres: unaccent and
 * lower case for text, Double Metaphone (fuzzystrmatch) for phonetic keys,
 * digits and letters only for ids. Two customers are compared when they share
 * a blocking key: grouping customers by key is what keeps matching
 * sub-quadratic.
 */

const norm = (expr: string) => `NULLIF(btrim(regexp_replace(lower(unaccent(${expr})), '[^a-z0-9]+', ' ', 'g')), '')`;
const compact = (expr: string) => `NULLIF(upper(regexp_replace(${expr}, '[^0-9A-Za-z]+', '', 'g')), '')`;
const address = (part: string) => `s.traits->'address'->>'${part}'`;

/** SQL of each field over `s` (a customer `c` with its first email and phone). */
const FIELD_SQL: Record<string, string> = {
  givenName: norm(`s.traits->>'givenName'`),
  familyName: norm(`s.traits->>'familyName'`),
  birthDate: `CASE WHEN s.traits->>'birthDate' ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN s.traits->>'birthDate' END`,
  streetNumber: norm(address('streetNumber')),
  street: norm(address('street')),
  line2: norm(address('line2')),
  locality: norm(address('locality')),
  postcode: compact(address('postcode')),
  region: norm(address('region')),
  country: norm(address('country')),
  nationalId: compact(`s.traits->>'nationalId'`),
  email: `s.email`,
  phone: `s.phone`,
  displayName: norm(`s.display_name`),
  registrationNumber: compact(`s.traits->>'registrationNumber'`),
  domain: `NULLIF(lower(COALESCE(s.traits->>'domain', split_part(s.email, '@', 2))), '')`,
};

const column = (name: string) => `"${name}"`;

/** The blocking keys of one kind's rules over the feature columns of `f`, `P0|…` for persons' first rule. */
function keysSql(prefix: string, kind: KindSettings): string {
  const rules = kind.blocking.map((rule, i) => {
    const values = rule.map((key) => `f.${column(key)}`);
    return `CASE WHEN ${values.map((v) => `${v} IS NOT NULL`).join(' AND ')} THEN '${prefix}${i}|' || ${values.join(` || '|' || `)} END`;
  });
  return `array_remove(ARRAY[${rules.join(', ')}]::text[], NULL)`;
}

/**
 * One row per live customer (all of them when `only` is empty, else those it
 * selects): `customer_id`, `kind`, `features` (jsonb) and `keys` (text[]).
 * Three levels, each computing its expressions once per customer: the
 * normalised fields, their phonetic codes, then the document and the keys
 * from those columns. The `generate_series(1, 1)` in the two inner levels is
 * a set-returning function: it keeps the planner from inlining them (which
 * would run each normalisation once per use), and unlike `OFFSET 0` it lets
 * the whole query run on parallel workers.
 */
export function featureRowsSql(settings: MatchingSettings, only: string): string {
  const fields = Object.keys(FIELD_SQL);
  const phonetic = PHONETIC_FIELDS.map((f) => `NULLIF(dmetaphone(n.${column(f)}), '') AS ${column(`${f}:phonetic`)}`);
  const document = [...fields, ...PHONETIC_FIELDS.map((f) => `${f}:phonetic`)].map((f) => `'${f}', f.${column(f)}`);
  return `SELECT f.id AS customer_id, f.kind, jsonb_strip_nulls(jsonb_build_object(${document.join(', ')})) AS features,
            CASE f.kind WHEN 'PERSON' THEN ${keysSql('P', settings.person)} ELSE ${keysSql('O', settings.organization)} END AS keys
       FROM (
         SELECT n.*, ${phonetic.join(', ')}, generate_series(1, 1) AS phonetic_fence
           FROM (
             SELECT s.id, s.kind, ${fields.map((f) => `${FIELD_SQL[f]} AS ${column(f)}`).join(', ')}, generate_series(1, 1) AS norm_fence
               FROM (
                 SELECT c.id, c.kind, c.traits, c.display_name, i.email, i.phone
                   FROM customers c
                   LEFT JOIN (
                     SELECT customer_id, min(value) FILTER (WHERE type = 'email') AS email, min(value) FILTER (WHERE type = 'phone') AS phone
                       FROM customer_identifiers
                      WHERE type IN ('email', 'phone') ${only.replace(/c\.id/g, 'customer_id')}
                      GROUP BY customer_id
                   ) i ON i.customer_id = c.id
                  WHERE c.deleted_at IS NULL ${only}
               ) s
           ) n
       ) f`;
}

/**
 * Writes the features and blocking keys of `customerIds`, replacing what
 * was there (the incremental run). Erased or merged-away customers lose
 * theirs.
 */
export async function writeFeatures(manager: EntityManager, settings: MatchingSettings, customerIds: readonly string[]): Promise<number> {
  const params = [customerIds];
  await manager.query(`DELETE FROM identity_block_keys WHERE customer_id = ANY($1::bigint[])`, params);
  await manager.query(`DELETE FROM identity_features WHERE customer_id = ANY($1::bigint[])`, params);
  const inserted: { count: number }[] = await manager.query(
    `WITH written AS (
       INSERT INTO identity_features (customer_id, kind, features, keys)
       ${featureRowsSql(settings, 'AND c.id = ANY($1::bigint[])')}
       RETURNING customer_id, keys
     ), keyed AS (
       INSERT INTO identity_block_keys (key, customer_id)
       SELECT k, w.customer_id FROM written w, unnest(w.keys) AS k
     )
     SELECT count(*)::int AS count FROM written`,
    params,
  );
  return inserted[0]?.count ?? 0;
}

/** The temporary table {@link rewriteAllFeatures} leaves on its session: each blocking key and its customers. */
export const BLOCKS_TABLE = 'identity_blocks';

/**
 * Rewrites every live customer's features and blocking keys (the full run),
 * in the caller's transaction, and leaves on the session a temporary table
 * of the keys and their customers (`identity_blocks (key, ids bigint[])`, in
 * key order) for the run to read its candidate pairs from.
 *
 * The tables are emptied first (TRUNCATE locks them until the transaction
 * ends, so a concurrent refresh waits for the new rows), which also lets the
 * block keys' indexes be dropped and built again after the bulk insert.
 * The features are computed into a temporary table by one query Postgres
 * can spread over parallel workers (the normalisations and phonetic codes
 * are most of the cost). The keys are sorted once, grouped into
 * `identity_blocks`, and inserted from it in key order, so the primary key
 * is built from presorted rows; reading the blocks afterwards is a scan of a
 * temporary table (no index, no visits to the shared heap).
 */
export async function rewriteAllFeatures(manager: EntityManager, settings: MatchingSettings): Promise<number> {
  // Parallel plans even for a small table: the per-row functions are what costs, and the planner cannot see that.
  await manager.query(`SET LOCAL parallel_setup_cost = 0`);
  await manager.query(`SET LOCAL parallel_tuple_cost = 0`);
  await manager.query(`SET LOCAL min_parallel_table_scan_size = 0`);
  await manager.query(`SET LOCAL work_mem = '256MB'`);
  await manager.query(`SET LOCAL maintenance_work_mem = '256MB'`);
  await manager.query(`TRUNCATE identity_block_keys, identity_features`);
  await manager.query(`ALTER TABLE identity_block_keys DROP CONSTRAINT identity_block_keys_pkey`);
  await manager.query(`DROP INDEX identity_block_keys_customer_idx`);
  await manager.query(`DROP TABLE IF EXISTS ${BLOCKS_TABLE}`);
  await manager.query(`CREATE TEMP TABLE identity_features_next ON COMMIT DROP AS ${featureRowsSql(settings, '')}`);
  const [{ count }]: { count: number }[] = await manager.query(
    `WITH written AS (
       INSERT INTO identity_features (customer_id, kind, features, keys)
       SELECT customer_id, kind, features, keys FROM identity_features_next
       RETURNING 1
     )
     SELECT count(*)::int AS count FROM written`,
  );
  await manager.query(
    `CREATE TEMP TABLE ${BLOCKS_TABLE} AS
     SELECT k AS key, array_agg(n.customer_id ORDER BY n.customer_id) AS ids
       FROM identity_features_next n, unnest(n.keys) AS k
      GROUP BY k ORDER BY k`,
  );
  await manager.query(`INSERT INTO identity_block_keys (key, customer_id) SELECT b.key, id FROM ${BLOCKS_TABLE} b, unnest(b.ids) AS id`);
  await manager.query(`ALTER TABLE identity_block_keys ADD CONSTRAINT identity_block_keys_pkey PRIMARY KEY (key, customer_id)`);
  await manager.query(`CREATE INDEX identity_block_keys_customer_idx ON identity_block_keys (customer_id)`);
  return count;
}

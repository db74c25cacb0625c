import type { EntityManager } from 'typeorm';
import { PHONETIC_FIELDS, type KindSettings, type MatchingSettings } from './settings';

/**
 * The normalised fields of customers (`identity_features`) and their
 * blocking keys (`identity_block_keys`), computed in Postgres: unaccent and
 * lower case for text, Double Metaphone (fuzzystrmatch) for phonetic keys,
 * digits and letters only for ids. Two customers are compared when they share
 * a blocking key: the self-join on keys is what keeps matching sub-quadratic.
 */

const norm = (expr: string) => `NULLIF(btrim(regexp_replace(lower(unaccent(${expr})), '[^a-z0-9]+', ' ', 'g')), '')`;
const compact = (expr: string) => `NULLIF(upper(regexp_replace(${expr}, '[^0-9A-Za-z]+', '', 'g')), '')`;
const address = (part: string) => `s.traits->'address'->>'${part}'`;

/** SQL of each field over `s` (customers with their first email and phone). */
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

function featuresSql(): string {
  const parts = Object.entries(FIELD_SQL).map(([name, sql]) => `'${name}', ${sql}`);
  return `jsonb_build_object(${parts.join(', ')})`;
}

/** The blocking keys of one kind's rules over `f` (a row with `features` jsonb), `P0|…` for persons' first rule. */
function keysSql(prefix: string, kind: KindSettings): string {
  const rules = kind.blocking.map((rule, i) => {
    const values = rule.map((key) => `(f.features->>'${key}')`);
    return `CASE WHEN ${values.map((v) => `${v} IS NOT NULL`).join(' AND ')} THEN '${prefix}${i}|' || ${values.join(` || '|' || `)} END`;
  });
  return `array_remove(ARRAY[${rules.join(', ')}]::text[], NULL)`;
}

/**
 * Writes the features and blocking keys of `customerIds` (every live
 * customer when null), replacing what was there. Erased or merged-away
 * customers lose theirs.
 */
export async function writeFeatures(manager: EntityManager, settings: MatchingSettings, customerIds: readonly string[] | null): Promise<number> {
  const only = customerIds ? `AND c.id = ANY($1::bigint[])` : '';
  const params = customerIds ? [customerIds] : [];
  if (customerIds) {
    await manager.query(`DELETE FROM identity_block_keys WHERE customer_id = ANY($1::bigint[])`, params);
    await manager.query(`DELETE FROM identity_features WHERE customer_id = ANY($1::bigint[])`, params);
  } else {
    await manager.query(`TRUNCATE identity_block_keys, identity_features`);
  }
  const phonetic = PHONETIC_FIELDS.map((f) => `'${f}:phonetic', NULLIF(dmetaphone(r.features->>'${f}'), '')`).join(', ');
  const inserted: { count: number }[] = await manager.query(
    `WITH s AS (
       SELECT c.id, c.kind, c.traits, c.display_name,
              (SELECT min(i.value) FROM customer_identifiers i WHERE i.customer_id = c.id AND i.type = 'email') AS email,
              (SELECT min(i.value) FROM customer_identifiers i WHERE i.customer_id = c.id AND i.type = 'phone') AS phone
         FROM customers c
        WHERE c.deleted_at IS NULL ${only}
     ), r AS MATERIALIZED (
       SELECT s.id, s.kind, jsonb_strip_nulls(${featuresSql()}) AS features FROM s
     ), f AS MATERIALIZED (
       SELECT r.id, r.kind, r.features || jsonb_strip_nulls(jsonb_build_object(${phonetic})) AS features FROM r
     ), written AS (
       INSERT INTO identity_features (customer_id, kind, features, keys)
       SELECT f.id, f.kind, f.features,
              CASE f.kind WHEN 'PERSON' THEN ${keysSql('P', settings.person)} ELSE ${keysSql('O', settings.organization)} END
         FROM f
       RETURNING customer_id, keys
     ), keyed AS (
       INSERT INTO identity_block_keys (key, customer_id)
       SELECT DISTINCT k, w.customer_id FROM written w, unnest(w.keys) AS k
     )
     SELECT count(*)::int AS count FROM written`,
    params,
  );
  return inserted[0]?.count ?? 0;
}

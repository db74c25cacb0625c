import type { EntityManager } from 'typeorm';
import { ErrorCode, errorMessage } from '../../errors/catalog';
import { pgArray } from '../../infra/pg-array';
import { present } from '../../infra/present';
import { identifierKey, type Identifier } from './identity';
import { TombstoneHasher } from './tombstones';
import type { CustomerKind } from './customer-kind';
import { outboxInsertSql, type EventBus } from '../events';

/** What an IDENTITY_CONFLICT does per identifier type (the `identity_policies` table, set by the merges module); REJECT when not set. */
export type ConflictPolicy = 'REJECT' | 'MERGE' | 'FLAG';

/** A demand whose identifiers named several customers, accepted under MERGE or FLAG: it goes to `survivorId`. */
interface AcceptedConflict {
  policy: 'MERGE' | 'FLAG';
  survivorId: string;
  customerIds: string[];
  identifierTypes: string[];
}

/** Profile fields used when a demand creates a customer. */
export interface NewCustomerProfile {
  kind?: CustomerKind;
  displayName?: string | null;
  traits?: Record<string, unknown> | null;
  lifecycleStage?: string | null;
  owner?: string | null;
}

/** One row's need for a customer: by id, or by (already normalised) identifiers. */
export interface CustomerDemand {
  customerId?: string;
  identifiers?: Identifier[];
  /** The demand may create a customer with this profile when nothing matches. */
  profile?: NewCustomerProfile;
  /**
   * The sender is not authenticated as the customer (a public write key): the
   * demand resolves only to a new customer, or to one known by nothing but
   * identifiers of the types it gives itself (its anonymous profile); anything
   * else is IDENTITY_UNVERIFIED.
   */
  unverified?: boolean;
}

export type Resolution =
  { ok: true; customerId: string; created: boolean; kind?: CustomerKind } | { ok: false; code: ErrorCode; field: string; message: string };

/** What resolving a set of demands will write: new customers and the identifiers they gain. */
export interface ResolutionPlan {
  resolutions: Resolution[];
  /** Whether `apply` may create customers (and so lose a race for their identifiers). */
  createsCustomers: boolean;
  /** Writes the planned customers and identifiers; only demands at `include` indexes are written. */
  apply(manager: EntityManager, include: (index: number) => boolean): Promise<Resolution[]>;
}

export interface ResolveOptions {
  /** Take the identity-creation lock exclusively (after repeated lost races). */
  serialize?: boolean;
  /**
   * A component whose new identifiers a concurrent batch created first uses
   * that batch's customer instead of failing the apply (the caller has no
   * per-kind checks that the planned `created` flag would have answered).
   */
  adoptLostRaces?: boolean;
  /** How erased identifiers are hashed (unkeyed when not given). */
  tombstones?: TombstoneHasher;
  /**
   * Where an identity conflict under a MERGE or FLAG policy is handed over
   * (the in-transaction event `identity.conflicted`, settled by the merges
   * module). Without it every conflict is REJECT.
   */
  events?: Pick<EventBus, 'emitInTransaction'>;
}

const UNKEYED_TOMBSTONES = new TombstoneHasher(undefined);

/** Advisory lock key that serialises identity creation after repeated races. */
export const IDENTITY_CREATION_LOCK = 727_274_001;

/** From this attempt on, a retried transaction serialises its identity creation. */
export const SERIALIZE_AFTER_ATTEMPT = 3;

/**
 * Thrown when a concurrent transaction claimed an identifier this one planned
 * to create; the caller retries the whole transaction, which then matches it.
 */
export class IdentityRaceError extends Error {
  constructor() {
    super('an identifier was created concurrently');
  }
}

/**
 * Resolves demands to customers in two steps: look up (one statement for all
 * identifiers, one for all ids), then plan. Demands whose identifiers overlap
 * (directly or through other demands of the batch) land on one customer; a
 * demand whose identifiers reach two existing customers is an
 * IDENTITY_CONFLICT, never a silent pick (merging is an explicit operation).
 */
export async function planCustomerResolution(
  manager: EntityManager,
  demands: CustomerDemand[],
  { serialize = false, adoptLostRaces = false, tombstones = UNKEYED_TOMBSTONES, events }: ResolveOptions = {},
): Promise<ResolutionPlan> {
  // Creators share one advisory lock; after lost races a transaction takes it exclusively, which
  // waits for the creators in flight and holds new ones back: guaranteed progress under contention.
  await manager.query(serialize ? 'SELECT pg_advisory_xact_lock($1)' : 'SELECT pg_advisory_xact_lock_shared($1)', [IDENTITY_CREATION_LOCK]);
  const lookup = await lookUpDemands(manager, demands, tombstones);
  let checked = checkDemands(demands, lookup, null);
  // Policies are read only when a row conflicts: ingest without conflicts pays nothing for them.
  if (checked.conflicted && events) checked = checkDemands(demands, lookup, await conflictPolicies(manager));
  const { resolutions, links, accepted } = checked;
  // A conflict accepted under MERGE or FLAG keeps only the identifiers of its first customer and new ones.
  const keptOf = (i: number) => accepted.get(i)?.identifiers;
  const effective = accepted.size === 0 ? demands : demands.map((d, i) => (accepted.has(i) ? { ...d, identifiers: keptOf(i) } : d));
  const effectiveLookup: DemandLookup = accepted.size === 0 ? lookup : { ...lookup, keysOf: lookup.keysOf.map((k, i) => keptOf(i)?.map(identifierKey) ?? k) };
  const { componentOf, componentCustomer } = await planComponents(manager, effective, effectiveLookup, resolutions, links);
  const planned = resolutions.map(
    (r) => r ?? { ok: false as const, code: ErrorCode.INVALID_FIELD, field: 'identifiers', message: 'at least one identifier is required' },
  );

  const conflicts = new Map([...accepted].map(([index, a]) => [index, a.conflict]));
  const plan: PlannedComponents = { demands: effective, lookup: effectiveLookup, planned, componentOf, componentCustomer, conflicts, events };
  return {
    resolutions: planned,
    createsCustomers: [...componentCustomer.values()].some((owner) => owner === null),
    apply: (tx, include) => applyResolutionPlan(tx, include, plan, adoptLostRaces),
  };
}

/** What the lookup step read for a batch of demands. */
interface DemandLookup {
  /** Each demand's identifier keys, computed once. */
  keysOf: (string[] | undefined)[];
  /** Identifier key → the customer that owns it. */
  existing: Map<string, string>;
  /** Keys of identifiers that belonged to erased customers. */
  erased: Set<string>;
  /** The live customers named by id: the id asked → the customer (its survivor when it was merged) and its kind. */
  kinds: Map<string, { id: string; kind: CustomerKind }>;
}

/** The plan `apply` writes: the planned resolutions and the component of each demand to write. */
interface PlannedComponents {
  demands: CustomerDemand[];
  lookup: DemandLookup;
  planned: Resolution[];
  componentOf: Map<number, string>;
  /** Component root → its existing customer, or null when it creates one. */
  componentCustomer: Map<string, string | null>;
  /** Demands accepted under a MERGE or FLAG policy, by index, settled when written. */
  conflicts: Map<number, AcceptedConflict>;
  events?: Pick<EventBus, 'emitInTransaction'>;
}

/** The identity policies by identifier type (a few rows). */
async function conflictPolicies(manager: EntityManager): Promise<Map<string, ConflictPolicy>> {
  const rows: { identifier_type: string; policy: ConflictPolicy }[] = await manager.query(`SELECT identifier_type, policy FROM identity_policies`);
  return new Map(rows.map((r) => [r.identifier_type, r.policy]));
}

/** The policy of a conflict between identifiers of `types`: every type must allow it; the most conservative wins (REJECT, then FLAG, then MERGE). */
function policyOf(types: string[], policies: Map<string, ConflictPolicy>): ConflictPolicy {
  const of = types.map((t) => policies.get(t) ?? 'REJECT');
  if (of.includes('REJECT')) return 'REJECT';
  return of.includes('FLAG') ? 'FLAG' : 'MERGE';
}

/** Looks up, in one statement each, who owns the demands' identifiers, which are tombstoned, and the customers named by id. */
async function lookUpDemands(manager: EntityManager, demands: CustomerDemand[], tombstones: TombstoneHasher): Promise<DemandLookup> {
  // Each identifier's key, computed once (a batch resolves up to 5,000 demands).
  const keysOf: (string[] | undefined)[] = demands.map((d) => d.identifiers?.map(identifierKey));
  const allIdentifiers = new Map<string, Identifier>();
  demands.forEach((demand, index) => {
    const keys = keysOf[index];
    const { identifiers } = demand;
    if (keys && identifiers) for (let j = 0; j < keys.length; j++) allIdentifiers.set(keys[j], identifiers[j]);
  });
  const ids = [...new Set(demands.flatMap((d) => (d.customerId ? [d.customerId] : [])))];

  // identifier key -> customer id
  const existing = allIdentifiers.size > 0 ? await identifierOwners(manager, [...allIdentifiers.values()]) : new Map<string, string>();
  // Identifiers of erased customers are tombstoned: they do not silently come back.
  const erased = new Set<string>();
  const freshEntries = [...allIdentifiers].filter(([key]) => !existing.has(key));
  const freshKeys = freshEntries.map(([key]) => key);
  const fresh = freshEntries.map(([, identifier]) => identifier);
  if (fresh.length > 0) {
    // Each identifier under every hash its tombstone may carry (keyed, and the legacy unkeyed one).
    const probes = fresh.flatMap((identifier, n) => tombstones.candidates(identifier).map((hash) => ({ type: identifier.type, hash, key: freshKeys[n] })));
    const rows: { type: string; value_hash: string }[] = await manager.query(
      `SELECT t.type, t.value_hash FROM identifier_tombstones t
         JOIN unnest($1::text[], $2::text[]) AS w(type, value_hash) ON w.type = t.type AND w.value_hash = t.value_hash`,
      [pgArray(probes.map((p) => p.type)), pgArray(probes.map((p) => p.hash))],
    );
    const hashes = new Set(rows.map((r) => `${r.type}:${r.value_hash}`));
    if (hashes.size > 0) for (const probe of probes) if (hashes.has(`${probe.type}:${probe.hash}`)) erased.add(probe.key);
  }
  const kinds = new Map<string, { id: string; kind: CustomerKind }>();
  if (ids.length > 0) {
    // A merged customer's id names its survivor (customer_redirects, kept by the merges module): writes by old ids keep working.
    const rows: { asked: string; id: string; kind: CustomerKind }[] = await manager.query(
      `SELECT r.asked::text AS asked, c.id::text AS id, c.kind
         FROM unnest($1::bigint[]) AS r(asked)
         LEFT JOIN customer_redirects m ON m.customer_id = r.asked
         JOIN customers c ON c.id = COALESCE(m.survivor_id, r.asked) AND c.deleted_at IS NULL`,
      [ids],
    );
    for (const row of rows) kinds.set(String(row.asked), { id: String(row.id), kind: row.kind });
  }

  return { keysOf, existing, erased, kinds };
}

/**
 * Resolves the demands that need no component (by id, erased identifiers,
 * identifiers of two customers) and links the identifiers of the others.
 */
function checkDemands(
  demands: CustomerDemand[],
  { keysOf, existing, erased, kinds }: DemandLookup,
  policies: Map<string, ConflictPolicy> | null,
): {
  resolutions: (Resolution | undefined)[];
  links: UnionFind;
  /** Whether a demand was refused as IDENTITY_CONFLICT without policies. */
  conflicted: boolean;
  /** Demands accepted under MERGE or FLAG: the identifiers they keep (their first customer's and new ones) and the conflict. */
  accepted: Map<number, { identifiers: Identifier[]; conflict: AcceptedConflict }>;
} {
  const resolutions: (Resolution | undefined)[] = new Array(demands.length);
  const uf = new UnionFind();
  let conflicted = false;
  const accepted = new Map<number, { identifiers: Identifier[]; conflict: AcceptedConflict }>();
  demands.forEach((demand, index) => {
    if (demand.customerId !== undefined) {
      const live = kinds.get(demand.customerId);
      resolutions[index] = live
        ? { ok: true, customerId: live.id, created: false, kind: live.kind }
        : { ok: false, code: ErrorCode.CUSTOMER_NOT_FOUND, field: 'id', message: `no customer with id ${demand.customerId}` };
      return;
    }
    const identifiers = demand.identifiers ?? [];
    const keys = keysOf[index] ?? [];
    const tombstoned = erased.size > 0 ? keys.findIndex((key) => erased.has(key)) : -1;
    if (tombstoned >= 0) {
      resolutions[index] = {
        ok: false,
        code: ErrorCode.IDENTIFIER_ERASED,
        field: `identifiers[${tombstoned}]`,
        message: errorMessage('IDENTIFIER_ERASED', { type: identifiers[tombstoned].type }),
      };
      return;
    }
    // One identifier reaches at most one customer; only several can conflict.
    const matched = keys.length < 2 ? [] : [...new Set(keys.flatMap((key) => existing.get(key) ?? []))];
    if (matched.length > 1 && policies) {
      const types = [...new Set(identifiers.filter((_, j) => existing.has(keys[j])).map((i) => i.type))].sort();
      const policy = policyOf(types, policies);
      if (policy !== 'REJECT') {
        // The first customer named (in the row's order) is the one the row goes to, and the survivor of a merge.
        const survivorId = matched[0];
        const kept = keys.flatMap((key, j) => (existing.get(key) === undefined || existing.get(key) === survivorId ? [j] : []));
        for (let j = 1; j < kept.length; j++) uf.union(keys[kept[0]], keys[kept[j]]);
        accepted.set(index, {
          identifiers: kept.map((j) => identifiers[j]),
          conflict: { policy, survivorId, customerIds: matched, identifierTypes: types },
        });
        return;
      }
    }
    if (matched.length > 1) {
      conflicted = true;
      resolutions[index] = {
        ok: false,
        code: ErrorCode.IDENTITY_CONFLICT,
        field: 'identifiers',
        // The message names no customer: a caller without pii:read must not learn who the identifiers belong to.
        message: 'these identifiers belong to different customers; merge them first',
      };
      return;
    }
    for (let j = 1; j < keys.length; j++) uf.union(keys[0], keys[j]);
  });

  return { resolutions, links: uf, conflicted, accepted };
}

/**
 * Groups the unresolved demands into components of shared identifiers and
 * gives each its customer (existing, or null: to be created), resolving the
 * demands of each component in `resolutions`.
 */
async function planComponents(
  manager: EntityManager,
  demands: CustomerDemand[],
  { keysOf, existing }: DemandLookup,
  resolutions: (Resolution | undefined)[],
  uf: UnionFind,
): Promise<{ componentOf: Map<number, string>; componentCustomer: Map<string, string | null> }> {
  // Group the remaining demands into components of shared identifiers.
  const components = new Map<string, number[]>();
  demands.forEach((demand, index) => {
    // A demand's keys are its identifiers' keys, one each.
    const keys = keysOf[index];
    if (resolutions[index] || !keys?.length) return;
    const root = uf.find(keys[0]);
    const members = components.get(root);
    if (members) members.push(index);
    else components.set(root, [index]);
  });
  const componentOf = new Map<number, string>();
  const componentCustomer = new Map<string, string | null>(); // null: to be created
  // Every member of a component has identifiers, and keys for them.
  const keysAt = (index: number) => present(keysOf[index], 'the identifier keys of a demand');
  const identifiersAt = (index: number) => present(demands[index].identifiers, 'the identifiers of a demand');
  const ownerTypes = demands.some((d) => d.unverified) ? await identifierTypesOf(manager, [...new Set(existing.values())]) : new Map<string, string[]>();
  for (const [root, members] of components) {
    const owners = new Set<string>();
    for (const index of members)
      for (const key of keysAt(index)) {
        const owner = existing.get(key);
        if (owner) owners.add(owner);
      }
    if (owners.size > 1) {
      for (const index of members) {
        resolutions[index] = {
          ok: false,
          code: ErrorCode.IDENTITY_CONFLICT,
          field: 'identifiers',
          message: 'rows of this batch link identifiers of different customers; merge them first',
        };
      }
      continue;
    }
    const owner = owners.size === 1 ? [...owners][0] : null;
    componentCustomer.set(root, owner);
    for (const index of members) {
      if (demands[index].unverified) {
        // Everything the component's customer is or will be known by must be of a type this demand gives itself.
        const allowed = new Set(identifiersAt(index).map((i) => i.type));
        const foreign =
          (owner ? (ownerTypes.get(owner) ?? []) : []).some((type) => !allowed.has(type)) ||
          members.some((m) => identifiersAt(m).some((i) => !allowed.has(i.type)));
        if (foreign) {
          resolutions[index] = {
            ok: false,
            code: ErrorCode.IDENTITY_UNVERIFIED,
            field: 'identifiers',
            message: errorMessage('IDENTITY_UNVERIFIED', {}),
          };
          continue;
        }
      }
      componentOf.set(index, root);
      resolutions[index] = owner
        ? { ok: true, customerId: owner, created: false }
        : { ok: true, customerId: '', created: true, kind: demands[index].profile?.kind };
    }
  }

  return { componentOf, componentCustomer };
}

/** Writes the planned customers and identifiers of the demands at `include` indexes; see {@link ResolutionPlan.apply}. */
async function applyResolutionPlan(
  tx: EntityManager,
  include: (index: number) => boolean,
  plan: PlannedComponents,
  adoptLostRaces: boolean,
): Promise<Resolution[]> {
  const { demands, planned, componentOf, componentCustomer } = plan;
  const { keysOf, existing } = plan.lookup;
  // Written demands get new resolution objects below; the others keep the plan's.
  const result = planned.slice();
  // Components to write: those with at least one included demand.
  const roots = new Map<string, number[]>();
  for (const [index, root] of componentOf) {
    if (!include(index)) continue;
    const members = roots.get(root);
    if (members) members.push(index);
    else roots.set(root, [index]);
  }
  await settleConflicts(tx, plan, roots);
  const toCreateEntries = [...roots].filter(([root]) => componentCustomer.get(root) === null);
  const toCreate = toCreateEntries.map(([root]) => root);
  const newIds = new Map<string, string>();
  if (toCreate.length > 0) {
    const allocated: { id: string }[] = await tx.query(`SELECT nextval(pg_get_serial_sequence('customers', 'id'))::text AS id FROM generate_series(1, $1)`, [
      toCreate.length,
    ]);
    toCreate.forEach((root, i) => newIds.set(root, allocated[i].id));
  }
  // A component has an existing customer or one allocated above. The message names no identifier (personal data).
  const customerOfComponent = (root: string) => present(componentCustomer.get(root) ?? newIds.get(root), 'the customer of an identifier component');
  // Identifiers every written component gains.
  const newIdentifiers: { root: string; customerId: string; identifier: Identifier; key: string }[] = [];
  const seen = new Set<string>();
  for (const [root, members] of roots) {
    const customerId = customerOfComponent(root);
    for (const index of members) {
      // A member of a component has identifiers, and keys for them.
      const keys = present(keysOf[index], 'the identifier keys of a demand');
      const identifiers = present(demands[index].identifiers, 'the identifiers of a demand');
      for (let j = 0; j < keys.length; j++) {
        const key = keys[j];
        if (existing.has(key) || seen.has(key)) continue;
        seen.add(key);
        newIdentifiers.push({ root, customerId, identifier: identifiers[j], key });
      }
    }
  }
  // A fixed order of unique-index inserts keeps concurrent batches from deadlocking.
  newIdentifiers.sort((x, y) => (x.key < y.key ? -1 : 1));
  const profiles = toCreateEntries.map(([, members]) => mergeProfiles(members.map((index) => demands[index].profile)));
  // One statement claims the identifiers and creates the customers of the components that got theirs (the
  // identifiers' foreign key is checked at its end). An identifier a concurrent batch created first waits for
  // that batch's commit and is then not claimed.
  const claimed: { type: string; value: string }[] =
    newIdentifiers.length === 0
      ? []
      : await tx.query(
          `WITH claimed AS (
       INSERT INTO customer_identifiers (customer_id, type, value)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])
       ON CONFLICT (type, value) DO NOTHING
       RETURNING customer_id, type, value),
     created AS (
       INSERT INTO customers (id, kind, display_name, traits, lifecycle_stage, owner, dirty_since)
       OVERRIDING SYSTEM VALUE
       SELECT id, kind, display_name, traits, lifecycle_stage, owner, now()
         FROM unnest($4::bigint[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::text[])
              AS v(id, kind, display_name, traits, lifecycle_stage, owner)
        WHERE v.id IN (SELECT customer_id FROM claimed)
       RETURNING id, kind),
     published AS (${outboxInsertSql('customer.created', `SELECT id AS customer_id, jsonb_build_object('customerId', id::text, 'kind', kind) AS payload FROM created`)})
     SELECT type, value FROM claimed`,
          [
            pgArray(newIdentifiers.map((n) => n.customerId)),
            pgArray(newIdentifiers.map((n) => n.identifier.type)),
            pgArray(newIdentifiers.map((n) => n.identifier.value)),
            pgArray(toCreate.map((root) => newIds.get(root))),
            pgArray(profiles.map((p) => p.kind ?? 'PERSON')),
            pgArray(profiles.map((p) => p.displayName ?? null)),
            pgArray(profiles.map((p) => JSON.stringify(p.traits ?? {}))),
            pgArray(profiles.map((p) => p.lifecycleStage ?? null)),
            pgArray(profiles.map((p) => p.owner ?? null)),
          ],
        );
  const customerOf = new Map<string, string>();
  for (const root of roots.keys()) customerOf.set(root, customerOfComponent(root));
  if (claimed.length !== newIdentifiers.length) {
    if (!adoptLostRaces) throw new IdentityRaceError();
    for (const [root, winner] of await adoptWinners(tx, newIdentifiers, claimed, componentCustomer)) customerOf.set(root, winner);
  }
  for (const [root, members] of roots) {
    const customerId = present(customerOf.get(root), 'the customer of an identifier component');
    const adopted = componentCustomer.get(root) === null && customerId !== newIds.get(root);
    for (const index of members) {
      const planned = result[index] as Extract<Resolution, { ok: true }>;
      result[index] = adopted ? { ok: true, customerId, created: false } : { ...planned, customerId };
    }
  }
  return result;
}

/**
 * Hands the written demands' accepted conflicts to the merges module (the
 * in-transaction event `identity.conflicted`), then points every written
 * component whose customer was merged away meanwhile at its survivor, so new
 * identifiers and the rows' results go to a live customer.
 */
async function settleConflicts(tx: EntityManager, plan: PlannedComponents, roots: Map<string, number[]>): Promise<void> {
  const { conflicts, events, componentCustomer } = plan;
  if (conflicts.size === 0 || !events) return;
  const written = [...roots.values()].flat().filter((index) => conflicts.has(index));
  if (written.length === 0) return;
  for (const index of written.sort((a, b) => a - b)) {
    const conflict = present(conflicts.get(index), 'an accepted conflict');
    await events.emitInTransaction(tx, 'identity.conflicted', conflict);
  }
  const owners = [...new Set([...roots.keys()].flatMap((root) => componentCustomer.get(root) ?? []))];
  const redirects: { customer_id: string; survivor_id: string }[] = await tx.query(
    `SELECT customer_id::text, survivor_id::text FROM customer_redirects WHERE customer_id = ANY($1::bigint[])`,
    [pgArray(owners)],
  );
  const survivor = new Map(redirects.map((r) => [r.customer_id, r.survivor_id]));
  for (const root of roots.keys()) {
    const owner = componentCustomer.get(root);
    if (owner && survivor.has(owner)) componentCustomer.set(root, survivor.get(owner) ?? owner);
  }
}

/** Lost identity races resolved again inside the caller's transaction before the error goes to its retry. */
const REPAIRS_IN_TRANSACTION = 2;

/**
 * Plans, lets the caller decide what to write (a filter of demand indexes) or
 * to stop (say, an ATOMIC batch with invalid rows), and applies, in the
 * caller's transaction. A concurrent batch may create the same new customers
 * first; losing that race costs the wait for its commit. With
 * `adoptLostRaces` the components that lost use the winners' customers
 * (nothing of theirs was created); otherwise, and whenever adopting is not
 * clear-cut, the savepoint saves redoing the whole transaction: the plan is
 * made again, now seeing the winners' identifiers. After
 * {@link REPAIRS_IN_TRANSACTION} repairs, or when serialised, the
 * IdentityRaceError goes to the caller's transaction retry.
 */
export async function resolveCustomers<S>(
  manager: EntityManager,
  demands: CustomerDemand[],
  options: ResolveOptions,
  decide: (plan: ResolutionPlan) => ((index: number) => boolean) | { stop: S },
): Promise<{ plan: ResolutionPlan; resolutions: Resolution[] } | { plan: ResolutionPlan; stop: S }> {
  for (let round = 1; ; round++) {
    const plan = await planCustomerResolution(manager, demands, options);
    const decision = decide(plan);
    if (typeof decision !== 'function') return { plan, stop: decision.stop };
    const repairable = plan.createsCustomers && !options.serialize && round <= REPAIRS_IN_TRANSACTION;
    if (repairable) await manager.query('SAVEPOINT identity_race');
    try {
      const resolutions = await plan.apply(manager, decision);
      if (repairable) await manager.query('RELEASE SAVEPOINT identity_race');
      return { plan, resolutions };
    } catch (error) {
      if (!repairable || !(error instanceof IdentityRaceError)) throw error;
      await manager.query('ROLLBACK TO SAVEPOINT identity_race');
    }
  }
}

/** The identifier types each of `customerIds` is known by, in one statement. */
async function identifierTypesOf(manager: EntityManager, customerIds: string[]): Promise<Map<string, string[]>> {
  if (customerIds.length === 0) return new Map();
  const rows: { customer_id: string; types: string[] }[] = await manager.query(
    `SELECT customer_id::text AS customer_id, array_agg(DISTINCT type) AS types FROM customer_identifiers WHERE customer_id = ANY($1::bigint[]) GROUP BY customer_id`,
    [pgArray(customerIds)],
  );
  return new Map(rows.map((r) => [r.customer_id, r.types]));
}

/** The customer owning each of `identifiers` that exists, by identifier key, in one statement. */
async function identifierOwners(manager: EntityManager, identifiers: readonly Identifier[]): Promise<Map<string, string>> {
  const rows: { type: string; value: string; customer_id: string }[] = await manager.query(
    `SELECT i.type, i.value, i.customer_id::text AS customer_id
       FROM customer_identifiers i
       JOIN unnest($1::text[], $2::text[]) AS w(type, value) ON w.type = i.type AND w.value = i.value`,
    [pgArray(identifiers.map((i) => i.type)), pgArray(identifiers.map((i) => i.value))],
  );
  return new Map(rows.map((r) => [identifierKey(r), r.customer_id]));
}

/**
 * After a lost race: the customers that concurrent batches created, by
 * component, for the components that lost every new identifier to one
 * customer (or lost identifiers to the customer they already had). Anything
 * else (a component that kept some identifiers and lost others, or lost them
 * to two customers) is an IdentityRaceError: planned again, it gets the
 * answer a fresh plan gives (including IDENTITY_CONFLICT).
 */
async function adoptWinners(
  tx: EntityManager,
  wanted: { root: string; key: string; identifier: Identifier }[],
  claimed: { type: string; value: string }[],
  componentCustomer: Map<string, string | null>,
): Promise<Map<string, string>> {
  const got = new Set(claimed.map((c) => identifierKey(c)));
  const lost = wanted.filter((w) => !got.has(w.key));
  const keptBy = new Set(wanted.filter((w) => got.has(w.key)).map((w) => w.root));
  // Read after the wait for the winners' commits: a new statement sees them.
  const owner = await identifierOwners(
    tx,
    lost.map((l) => l.identifier),
  );
  const winners = new Map<string, string>();
  for (const l of lost) {
    const winner = owner.get(l.key);
    const previous = winners.get(l.root) ?? componentCustomer.get(l.root) ?? null;
    const isNew = componentCustomer.get(l.root) === null;
    if (!winner || (previous !== null && previous !== winner) || (isNew && keptBy.has(l.root))) throw new IdentityRaceError();
    winners.set(l.root, winner);
  }
  return winners;
}

function mergeProfiles(profiles: (NewCustomerProfile | undefined)[]): NewCustomerProfile {
  const merged: NewCustomerProfile = {};
  for (const p of profiles) {
    if (!p) continue;
    merged.kind = p.kind ?? merged.kind;
    merged.displayName = p.displayName ?? merged.displayName;
    merged.lifecycleStage = p.lifecycleStage ?? merged.lifecycleStage;
    merged.owner = p.owner ?? merged.owner;
    if (p.traits) merged.traits = { ...(merged.traits ?? {}), ...p.traits };
  }
  return merged;
}

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let root = this.parent.get(x) ?? x;
    if (root !== x) {
      root = this.find(root);
      this.parent.set(x, root);
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

/** The tables of a staged batch that {@link resolveStagedIdentifiers} reads and fills. */
export interface StagedIdentifierTables {
  /** The batch's rows, each naming its customer by one identifier in `id_type` and `id_value` (normalised). */
  staged: string;
  /** Receives `(id_type, id_value, customer_id)` for every identifier that resolved. */
  resolved: string;
}

/** A refused identifier of a staged batch: why, by identifier key. */
export type StagedRefusal = Extract<Resolution, { ok: false }>;

/**
 * Resolves the identifiers of a batch staged in a table, as
 * {@link resolveCustomers} does for one-identifier demands. An identifier
 * that already names a customer resolves to it in one set-based statement
 * inside Postgres (for a demand with a single known identifier that is the
 * whole of resolution: no conflict, no tombstone, no creation is possible);
 * only the identifiers not known yet, usually a small part of a backfill,
 * go through {@link resolveCustomers}, which creates their customers, refuses
 * erased ones and settles races with concurrent writers.
 *
 * `identifierOf` gives each identifier of the staged rows from its
 * {@link identifierKey}. Returns the refused ones by key; the rows of those
 * have no line in `resolved`.
 */
export async function resolveStagedIdentifiers(
  manager: EntityManager,
  tables: StagedIdentifierTables,
  identifierOf: (key: string) => Identifier | undefined,
  options: ResolveOptions,
): Promise<Map<string, StagedRefusal>> {
  const { staged, resolved } = tables;
  await manager.query(`ANALYZE ${staged}`);
  await manager.query(
    `INSERT INTO ${resolved} (id_type, id_value, customer_id)
     SELECT DISTINCT s.id_type, s.id_value, i.customer_id
       FROM ${staged} s JOIN customer_identifiers i ON i.type = s.id_type AND i.value = s.id_value`,
  );
  const unknown: { id_type: string; id_value: string }[] = await manager.query(
    `SELECT DISTINCT s.id_type, s.id_value FROM ${staged} s
      WHERE NOT EXISTS (SELECT 1 FROM ${resolved} r WHERE r.id_type = s.id_type AND r.id_value = s.id_value)`,
  );
  const refused = new Map<string, StagedRefusal>();
  if (unknown.length === 0) return refused;
  const fresh = unknown.map((row) => present(identifierOf(identifierKey({ type: row.id_type, value: row.id_value })), 'a staged identifier'));
  const outcome = await resolveCustomers(
    manager,
    fresh.map((identifier) => ({ identifiers: [identifier] })),
    options,
    (plan) => (i) => plan.resolutions[i].ok,
  );
  if (!('resolutions' in outcome)) throw new Error('identity resolution stopped');
  const ok: { identifier: Identifier; customerId: string }[] = [];
  outcome.resolutions.forEach((resolution, i) => {
    if (resolution.ok) ok.push({ identifier: fresh[i], customerId: resolution.customerId });
    else refused.set(identifierKey(fresh[i]), resolution);
  });
  await manager.query(`INSERT INTO ${resolved} (id_type, id_value, customer_id) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`, [
    pgArray(ok.map((o) => o.identifier.type)),
    pgArray(ok.map((o) => o.identifier.value)),
    pgArray(ok.map((o) => o.customerId)),
  ]);
  return refused;
}

import type { DataSource, EntityManager } from 'typeorm';
import { fail } from '../../errors/catalog';
import { afterCommit, inTransaction } from '../../infra/database';
import { isDatabaseId } from '../../infra/db-values';
import { present } from '../../infra/present';
import { auditRecords } from '../access';
import type { RefreshRequester } from '../customers';
import { publish } from '../events';
import type { SegmentService } from '../segments';
import { parseSurvivorship, pick, PROFILE_FIELDS, type Candidate, type ProfileField, type Survivorship } from './survivorship';

/** Most customers one merge takes in (the survivor aside): a bound on one transaction's locks and snapshot. */
export const MAX_MERGED = 1000;

export interface MergeRequest {
  survivorId: string;
  mergedIds: readonly string[];
  /** Survivorship rules (see survivorship.ts); null for the defaults. */
  survivorship?: unknown;
  /** Who merges: the API key or user, or the automatic policy. */
  actor: string;
  reason?: string | null;
  /** An automatic merge (ingest policy, matching): the guard rails apply. */
  automatic?: boolean;
}

export interface MergeResult {
  mergeId: string;
  survivorId: string;
  mergedIds: string[];
  moved: { identifiers: number; interactions: number; consents: number; members: number; segments: number };
}

export interface UnmergeRequest {
  mergeId: string;
  actor: string;
}

export interface UnmergeResult {
  mergeId: string;
  survivorId: string;
  restoredIds: string[];
}

/** A merge as the API shows it. */
export interface MergeRecord {
  id: string;
  survivorId: string;
  mergedIds: string[];
  automatic: boolean;
  actor: string;
  reason: string | null;
  mergedAt: Date;
  unmergedAt: Date | null;
  unmergedBy: string | null;
}

/** A customer's profile as a merge snapshots it. */
interface Profile {
  kind: string;
  displayName: string | null;
  organizationId: string | null;
  lifecycleStage: string | null;
  owner: string | null;
  traits: Record<string, unknown>;
  updatedAt: string;
}

interface ConsentRow {
  purpose: string;
  channel: string;
  status: string;
  source: string;
  recorded_at: string;
}

/** What the survivor held before the merge and what the merge wrote, for an unmerge to tell later changes apart. */
interface SurvivorState {
  profile: Profile;
  consents: ConsentRow[];
  staticSegmentIds: string[];
}

interface LockedCustomer {
  id: string;
  kind: string;
  display_name: string | null;
  organization_id: string | null;
  lifecycle_stage: string | null;
  owner: string | null;
  traits: Record<string, unknown>;
  updated_at: Date;
  deleted_at: Date | null;
}

const FIELD_COLUMNS: Record<ProfileField, keyof LockedCustomer> = {
  displayName: 'display_name',
  lifecycleStage: 'lifecycle_stage',
  owner: 'owner',
  organizationId: 'organization_id',
};

function profileOf(row: LockedCustomer): Profile {
  return {
    kind: row.kind,
    displayName: row.display_name,
    organizationId: row.organization_id,
    lifecycleStage: row.lifecycle_stage,
    owner: row.owner,
    traits: row.traits ?? {},
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

const CONSENT_COLUMNS = `purpose, channel, status, source, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at`;

/** JSON text with object keys sorted: values read back from jsonb (which reorders keys) compare equal to the same values read from columns. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sameJson = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/**
 * Merges customers into a survivor and undoes merges. Everything runs in the
 * caller's transaction (`manager`), so an automatic merge commits or rolls
 * back with the ingest that asked for it; the GraphQL mutations open their own.
 */
export class MergeService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly segments: Pick<SegmentService, 'memberships'>,
    private readonly requestRefresh: RefreshRequester,
  ) {}

  /** `mergeCustomers` in a transaction of its own. */
  merge(request: MergeRequest): Promise<MergeResult> {
    return inTransaction(this.dataSource, (manager) => this.mergeCustomers(manager, request));
  }

  /** `unmergeCustomer` in a transaction of its own. */
  unmerge(request: UnmergeRequest): Promise<UnmergeResult> {
    return inTransaction(this.dataSource, (manager) => this.unmergeCustomer(manager, request));
  }

  /**
   * Merges `mergedIds` into `survivorId` in the caller's transaction:
   * identifiers, interactions, consents (most restrictive wins), organisation
   * members, static segment memberships and redirects move to the survivor;
   * traits and profile fields are combined by the survivorship rules; the
   * merged customers leave their segments (with events) and are kept, deleted,
   * behind a redirect to the survivor; their snapshot is kept for an unmerge.
   * Stats, scores and dynamic segments of everyone involved are refreshed
   * after commit (their dirty mark is set here, so the sweep catches up).
   */
  async mergeCustomers(manager: EntityManager, request: MergeRequest): Promise<MergeResult> {
    const { survivorId } = request;
    const mergedIds = [...request.mergedIds].map(String);
    if (!isDatabaseId(String(survivorId))) throw fail('CUSTOMER_NOT_FOUND', { detail: `no customer with id ${survivorId}` }, 'survivorId');
    if (mergedIds.length === 0) throw fail('MERGE_INVALID', { detail: 'name at least one customer to merge into the survivor' }, 'mergedIds');
    if (mergedIds.length > MAX_MERGED) throw fail('INPUT_TOO_COMPLEX', { detail: `one merge takes at most ${MAX_MERGED} customers` }, 'mergedIds');
    const seen = new Set<string>();
    mergedIds.forEach((id, i) => {
      if (!isDatabaseId(id)) throw fail('CUSTOMER_NOT_FOUND', { detail: `no customer with id ${id}` }, `mergedIds[${i}]`);
      if (id === survivorId) throw fail('MERGE_INVALID', { detail: 'the survivor cannot be merged into itself' }, `mergedIds[${i}]`);
      if (seen.has(id)) throw fail('MERGE_INVALID', { detail: `customer ${id} is named twice` }, `mergedIds[${i}]`);
      seen.add(id);
    });
    const rules = parseSurvivorship(request.survivorship);
    const all = [survivorId, ...mergedIds];

    // Rows locked in id order: concurrent merges and refreshes lock customers in the same order.
    const rows: LockedCustomer[] = await manager.query(
      `SELECT id::text, kind, display_name, organization_id::text, lifecycle_stage, owner, traits, updated_at, deleted_at
         FROM customers WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [all],
    );
    const found = new Map(rows.map((r) => [r.id, r]));
    // Every id was checked to be found just below; this reads a locked row.
    const row = (id: string) => present(found.get(id), `locked customer ${id}`);
    const fieldOf = (id: string) => (id === survivorId ? 'survivorId' : `mergedIds[${mergedIds.indexOf(id)}]`);
    for (const id of all) {
      const locked = found.get(id);
      if (!locked) throw fail('CUSTOMER_NOT_FOUND', { detail: `no customer with id ${id}` }, fieldOf(id));
      if (locked.deleted_at) throw fail('MERGE_INVALID', { detail: `customer ${id} was merged into another customer: name its survivor` }, fieldOf(id));
    }
    const survivor = row(survivorId);
    for (const id of mergedIds) {
      if (row(id).kind !== survivor.kind) {
        throw fail('MERGE_INVALID', { detail: 'persons and organisations are not merged together' }, fieldOf(id));
      }
    }
    if (request.automatic) await this.checkGuardRails(manager, all);

    // Snapshots, read before anything moves.
    const [survivorBefore, members] = await Promise.all([this.survivorState(manager, survivor), this.memberSnapshots(manager, mergedIds)]);
    const sources = await this.sourcesOf(manager, rules, all);

    const [{ id: mergeId }]: { id: string }[] = await manager.query(
      `INSERT INTO customer_merges (survivor_id, merged_ids, survivorship, survivor_before, survivor_after, automatic, actor, reason)
       VALUES ($1, $2::bigint[], $3, $4, '{}', $5, $6, $7) RETURNING id::text`,
      [
        survivorId,
        mergedIds,
        JSON.stringify(request.survivorship ?? {}),
        JSON.stringify(survivorBefore),
        request.automatic ?? false,
        request.actor,
        request.reason ?? null,
      ],
    );
    await manager.query(
      `INSERT INTO customer_merge_members (customer_id, merge_id, profile, consents, identifier_ids, interaction_ids, member_ids, segment_ids, redirected_ids)
       SELECT m.customer_id, $1, m.profile, m.consents, m.identifier_ids, m.interaction_ids, m.member_ids, m.segment_ids, m.redirected_ids
         FROM jsonb_to_recordset($2::jsonb) AS m(customer_id bigint, profile jsonb, consents jsonb, identifier_ids bigint[], interaction_ids bigint[],
                                                member_ids bigint[], segment_ids bigint[], redirected_ids bigint[])`,
      [
        mergeId,
        JSON.stringify(
          mergedIds.map((id) => {
            const m = present(members.get(id), `snapshot of ${id}`);
            return { customer_id: id, profile: profileOf(row(id)), ...m };
          }),
        ),
      ],
    );

    // Rows move to the survivor.
    const [, identifiers] = await manager.query(`UPDATE customer_identifiers SET customer_id = $1 WHERE customer_id = ANY($2::bigint[])`, [
      survivorId,
      mergedIds,
    ]);
    const [, interactions] = await manager.query(`UPDATE interactions SET customer_id = $1 WHERE customer_id = ANY($2::bigint[])`, [survivorId, mergedIds]);
    const [, orgMembers] = await manager.query(`UPDATE customers SET organization_id = $1 WHERE organization_id = ANY($2::bigint[]) AND id <> $1`, [
      survivorId,
      mergedIds,
    ]);
    await manager.query(`UPDATE customer_redirects SET survivor_id = $1 WHERE survivor_id = ANY($2::bigint[])`, [survivorId, mergedIds]);
    await manager.query(`INSERT INTO customer_redirects (customer_id, survivor_id, merge_id) SELECT unnest($2::bigint[]), $1, $3`, [
      survivorId,
      mergedIds,
      mergeId,
    ]);
    const consents = await this.combineConsents(manager, survivorId, mergedIds);
    const segments = await this.moveSegments(manager, survivorId, mergedIds, members);

    // The survivor's profile by the survivorship rules.
    const candidates = (value: (row: LockedCustomer) => unknown): Candidate[] =>
      all.map((id) => {
        const customer = row(id);
        return {
          customerId: id,
          isSurvivor: id === survivorId,
          updatedAt: new Date(customer.updated_at),
          sources: sources.get(id) ?? [],
          value: value(customer),
        };
      });
    const traitNames = new Set(all.flatMap((id) => Object.keys(row(id).traits ?? {})));
    const traits: Record<string, unknown> = {};
    for (const name of [...traitNames].sort()) {
      const value = pick(
        rules.traits[name] ?? rules.default,
        candidates((c) => c.traits?.[name]),
        rules.trust,
      );
      if (value !== undefined) traits[name] = value;
    }
    const fields = {} as Record<ProfileField, unknown>;
    for (const field of PROFILE_FIELDS) {
      const column = FIELD_COLUMNS[field];
      // The organisation a survivor belongs to is never one of the customers merged into it.
      const value = pick(
        rules.fields[field] ?? rules.default,
        candidates((c) => (field === 'organizationId' && all.includes(String(c[column])) ? null : c[column])),
        rules.trust,
      );
      fields[field] = value ?? null;
    }
    const [[after]]: [LockedCustomer[], number] = await manager.query(
      `UPDATE customers SET traits = $2, display_name = $3, lifecycle_stage = $4, owner = $5, organization_id = $6,
              updated_at = now(), dirty_since = COALESCE(dirty_since, now())
        WHERE id = $1
        RETURNING id::text, kind, display_name, organization_id::text, lifecycle_stage, owner, traits, updated_at, deleted_at`,
      [survivorId, JSON.stringify(traits), fields.displayName, fields.lifecycleStage, fields.owner, fields.organizationId],
    );
    await manager.query(
      `UPDATE customers SET deleted_at = now(), organization_id = NULL, dirty_since = COALESCE(dirty_since, now()) WHERE id = ANY($1::bigint[])`,
      [mergedIds],
    );
    const survivorAfter: SurvivorState = {
      profile: profileOf(after),
      consents: await manager.query(`SELECT ${CONSENT_COLUMNS} FROM customer_consents WHERE customer_id = $1 ORDER BY purpose, channel`, [survivorId]),
      staticSegmentIds: await this.staticSegmentsOf(manager, survivorId),
    };
    await manager.query(`UPDATE customer_merges SET survivor_after = $2 WHERE id = $1`, [mergeId, JSON.stringify(survivorAfter)]);

    await publish(manager, 'customer.merged', [
      { customerId: survivorId, payload: { customerId: survivorId, mergeId, mergedIds, automatic: request.automatic ?? false } },
    ]);
    auditRecords('customer', all);
    auditRecords('merge', [mergeId]);
    afterCommit(() => this.requestRefresh(all).catch(() => undefined));
    return {
      mergeId,
      survivorId,
      mergedIds,
      moved: { identifiers: Number(identifiers ?? 0), interactions: Number(interactions ?? 0), consents, members: Number(orgMembers ?? 0), segments },
    };
  }

  /**
   * Undoes a merge in the caller's transaction: the merged customers come back
   * with their profile, consents, identifiers, interactions, organisation
   * members and static segment memberships as they were; what the survivor
   * gained after the merge (interactions, identifiers, consent decisions,
   * trait changes) stays with it. Merges are undone last first: one whose
   * survivor was since merged into another customer is UNMERGE_BLOCKED.
   */
  async unmergeCustomer(manager: EntityManager, { mergeId, actor }: UnmergeRequest): Promise<UnmergeResult> {
    if (!isDatabaseId(String(mergeId))) throw fail('MERGE_NOT_FOUND', { id: String(mergeId) }, 'mergeId');
    const [merge]: { survivor_id: string; merged_ids: string[]; survivor_before: SurvivorState; survivor_after: SurvivorState; unmerged_at: Date | null }[] =
      await manager.query(
        `SELECT survivor_id::text, merged_ids::text[], survivor_before, survivor_after, unmerged_at FROM customer_merges WHERE id = $1 FOR UPDATE`,
        [mergeId],
      );
    if (!merge) throw fail('MERGE_NOT_FOUND', { id: String(mergeId) }, 'mergeId');
    if (merge.unmerged_at) throw fail('UNMERGE_BLOCKED', { detail: `merge ${mergeId} was already undone` }, 'mergeId');
    const survivorId = merge.survivor_id;
    const restoredIds = merge.merged_ids;
    const all = [survivorId, ...restoredIds];
    const locked: { id: string; deleted_at: Date | null }[] = await manager.query(
      `SELECT id::text, deleted_at FROM customers WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [all],
    );
    const survivorRow = locked.find((r) => r.id === survivorId);
    if (!survivorRow || survivorRow.deleted_at) {
      const [later]: { merge_id: string }[] = await manager.query(`SELECT merge_id::text FROM customer_redirects WHERE customer_id = $1`, [survivorId]);
      throw fail(
        'UNMERGE_BLOCKED',
        { detail: `the survivor was merged again later${later ? ` (merge ${later.merge_id})` : ''}: undo that merge first` },
        'mergeId',
      );
    }
    const members: {
      customer_id: string;
      profile: Profile;
      consents: ConsentRow[];
      identifier_ids: string[];
      interaction_ids: string[];
      member_ids: string[];
      segment_ids: string[];
      redirected_ids: string[];
    }[] = await manager.query(
      `SELECT customer_id::text, profile, consents, identifier_ids::text[], interaction_ids::text[], member_ids::text[], segment_ids::text[], redirected_ids::text[]
         FROM customer_merge_members WHERE merge_id = $1 ORDER BY customer_id`,
      [mergeId],
    );
    for (const m of members) {
      const p = m.profile;
      await manager.query(
        `UPDATE customers SET deleted_at = NULL, kind = $2, display_name = $3, lifecycle_stage = $4, owner = $5, traits = $6, updated_at = $7,
                organization_id = (SELECT o.id FROM customers o WHERE o.id = $8::bigint AND o.deleted_at IS NULL), dirty_since = COALESCE(dirty_since, now())
          WHERE id = $1`,
        [m.customer_id, p.kind, p.displayName, p.lifecycleStage, p.owner, JSON.stringify(p.traits), p.updatedAt, p.organizationId],
      );
      // Rows go back only from the survivor: what a later merge or erasure took elsewhere is not pulled back.
      await manager.query(`UPDATE customer_identifiers SET customer_id = $1 WHERE customer_id = $2 AND id = ANY($3::bigint[])`, [
        m.customer_id,
        survivorId,
        m.identifier_ids,
      ]);
      await manager.query(`UPDATE interactions SET customer_id = $1 WHERE customer_id = $2 AND id = ANY($3::bigint[])`, [
        m.customer_id,
        survivorId,
        m.interaction_ids,
      ]);
      await manager.query(`UPDATE customers SET organization_id = $1 WHERE organization_id = $2 AND id = ANY($3::bigint[])`, [
        m.customer_id,
        survivorId,
        m.member_ids,
      ]);
      await manager.query(`UPDATE customer_redirects SET survivor_id = $1 WHERE survivor_id = $2 AND customer_id = ANY($3::bigint[])`, [
        m.customer_id,
        survivorId,
        m.redirected_ids,
      ]);
      await this.insertConsents(manager, m.customer_id, m.consents);
    }
    await manager.query(`DELETE FROM customer_redirects WHERE merge_id = $1 AND customer_id = ANY($2::bigint[])`, [mergeId, restoredIds]);
    await this.restoreSurvivor(manager, survivorId, merge.survivor_before, merge.survivor_after);

    // Static segments: each restored customer rejoins its own; the survivor leaves those it gained by the merge.
    const staticIds = new Set(
      await this.staticSegmentIdsAmong(
        manager,
        members.flatMap((m) => m.segment_ids),
      ),
    );
    for (const m of members) {
      for (const segmentId of m.segment_ids.filter((s) => staticIds.has(s))) await this.segments.memberships.addMembers(manager, segmentId, [m.customer_id]);
    }
    const gained = merge.survivor_after.staticSegmentIds.filter((s) => !merge.survivor_before.staticSegmentIds.includes(s));
    for (const segmentId of gained) await this.segments.memberships.removeMembers(manager, segmentId, [survivorId]);

    // The snapshot is no longer needed: its personal data goes; the merge row stays as history (ids only).
    await manager.query(`DELETE FROM customer_merge_members WHERE merge_id = $1 AND customer_id = ANY($2::bigint[])`, [mergeId, restoredIds]);
    await manager.query(
      `UPDATE customer_merges SET unmerged_at = now(), unmerged_by = $2, survivor_before = '{}', survivor_after = '{}', survivorship = '{}' WHERE id = $1`,
      [mergeId, actor],
    );
    await manager.query(`UPDATE customers SET dirty_since = COALESCE(dirty_since, now()), updated_at = now() WHERE id = $1`, [survivorId]);
    await publish(manager, 'customer.unmerged', [{ customerId: survivorId, payload: { customerId: survivorId, mergeId, restoredIds } }]);
    auditRecords('customer', all);
    auditRecords('merge', [mergeId]);
    afterCommit(() => this.requestRefresh(all).catch(() => undefined));
    return { mergeId, survivorId, restoredIds };
  }

  /** The survivor of `customerId` when it was merged (redirects are kept flat: one hop), else null. */
  async survivorOf(manager: EntityManager | DataSource, customerId: string): Promise<string | null> {
    if (!isDatabaseId(customerId)) return null;
    const [row]: { survivor_id: string }[] = await manager.query(`SELECT survivor_id::text FROM customer_redirects WHERE customer_id = $1`, [customerId]);
    return row?.survivor_id ?? null;
  }

  /** Every customer merged into `survivorId` (directly or through merges since flattened), not yet unmerged. */
  async mergedInto(manager: EntityManager | DataSource, survivorId: string): Promise<string[]> {
    const rows: { customer_id: string }[] = await manager.query(
      `SELECT customer_id::text FROM customer_redirects WHERE survivor_id = $1 ORDER BY customer_id`,
      [survivorId],
    );
    return rows.map((r) => r.customer_id);
  }

  /**
   * Removes every trace of merges that involve `customerIds` (an erasure):
   * their snapshots, redirects and merge records, which hold the erased
   * customers' personal data.
   */
  async forget(manager: EntityManager, customerIds: string[]): Promise<number> {
    const merges: { id: string }[] = await manager.query(
      `SELECT id::text FROM customer_merges WHERE survivor_id = ANY($1::bigint[]) OR merged_ids && $1::bigint[]`,
      [customerIds],
    );
    const ids = merges.map((m) => m.id);
    await manager.query(`DELETE FROM customer_merge_members WHERE merge_id = ANY($1::bigint[]) OR customer_id = ANY($2::bigint[])`, [ids, customerIds]);
    await manager.query(
      `DELETE FROM customer_redirects WHERE merge_id = ANY($1::bigint[]) OR customer_id = ANY($2::bigint[]) OR survivor_id = ANY($2::bigint[])`,
      [ids, customerIds],
    );
    await manager.query(`DELETE FROM customer_merges WHERE id = ANY($1::bigint[])`, [ids]);
    return ids.length;
  }

  async findMerges(ids: readonly string[]): Promise<Map<string, MergeRecord>> {
    const valid = ids.filter((id) => isDatabaseId(id));
    if (valid.length === 0) return new Map();
    const rows: MergeRecord[] = await this.dataSource.query(
      `SELECT id::text, survivor_id::text AS "survivorId", merged_ids::text[] AS "mergedIds", automatic, actor, reason, merged_at AS "mergedAt",
              unmerged_at AS "unmergedAt", unmerged_by AS "unmergedBy"
         FROM customer_merges WHERE id = ANY($1::bigint[])`,
      [valid],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** Merges whose survivor is `customerId` (or that merged it), newest first. */
  async mergesOf(customerId: string, first = 50): Promise<MergeRecord[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id::text FROM customer_merges WHERE survivor_id = $1 OR merged_ids @> ARRAY[$1::bigint] ORDER BY id DESC LIMIT $2`,
      [customerId, first],
    );
    const found = await this.findMerges(rows.map((r) => r.id));
    return rows.flatMap((r) => found.get(r.id) ?? []);
  }

  /** Unique identifier types never joined, and the cluster cap (automatic merges only). */
  private async checkGuardRails(manager: EntityManager, all: string[]): Promise<void> {
    const [settings]: { unique_types: string[]; max_cluster_size: number }[] = await manager.query(
      `SELECT unique_types, max_cluster_size FROM identity_settings WHERE id`,
    );
    const uniqueTypes = settings?.unique_types ?? [];
    const maxClusterSize = settings?.max_cluster_size ?? DEFAULT_MAX_CLUSTER_SIZE;
    if (uniqueTypes.length > 0) {
      const clashes: { type: string }[] = await manager.query(
        `SELECT type FROM customer_identifiers WHERE customer_id = ANY($1::bigint[]) AND type = ANY($2::text[]) GROUP BY type HAVING count(DISTINCT value) > 1 ORDER BY type`,
        [all, uniqueTypes],
      );
      if (clashes.length > 0) {
        throw fail('MERGE_GUARD_RAIL', { detail: `these customers have different ${clashes[0].type} identifiers: never merged automatically` }, 'mergedIds');
      }
      // The same name as a trait (the matching module's conventional `nationalId`), its key compared lower-case and its value without spaces, dots or dashes.
      const traitClashes: { name: string }[] = await manager.query(
        `SELECT lower(t.key) AS name FROM customers c CROSS JOIN LATERAL jsonb_each_text(c.traits) AS t(key, value)
          WHERE c.id = ANY($1::bigint[]) AND lower(t.key) = ANY($2::text[]) AND t.value IS NOT NULL
          GROUP BY lower(t.key) HAVING count(DISTINCT upper(regexp_replace(t.value, '[[:space:].-]', '', 'g'))) > 1 ORDER BY 1`,
        [all, uniqueTypes],
      );
      if (traitClashes.length > 0) {
        throw fail('MERGE_GUARD_RAIL', { detail: `these customers have different ${traitClashes[0].name} traits: never merged automatically` }, 'mergedIds');
      }
    }
    const [{ size }]: { size: number }[] = await manager.query(
      `SELECT ($2::int + (SELECT count(*) FROM customer_redirects WHERE survivor_id = ANY($1::bigint[])))::int AS size`,
      [all, all.length],
    );
    if (size > maxClusterSize) {
      throw fail('MERGE_GUARD_RAIL', { detail: `the merged cluster would hold ${size} customers; automatic merges stop at ${maxClusterSize}` }, 'mergedIds');
    }
  }

  private async survivorState(manager: EntityManager, survivor: LockedCustomer): Promise<SurvivorState> {
    return {
      profile: profileOf(survivor),
      consents: await manager.query(`SELECT ${CONSENT_COLUMNS} FROM customer_consents WHERE customer_id = $1 ORDER BY purpose, channel`, [survivor.id]),
      staticSegmentIds: await this.staticSegmentsOf(manager, survivor.id),
    };
  }

  private async staticSegmentsOf(manager: EntityManager, customerId: string): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      `SELECT m.segment_id::text AS id FROM segment_memberships m JOIN segments s ON s.id = m.segment_id AND s.kind = 'STATIC' WHERE m.customer_id = $1 ORDER BY 1`,
      [customerId],
    );
    return rows.map((r) => r.id);
  }

  private async staticSegmentIdsAmong(manager: EntityManager, segmentIds: string[]): Promise<string[]> {
    if (segmentIds.length === 0) return [];
    const rows: { id: string }[] = await manager.query(`SELECT id::text FROM segments WHERE id = ANY($1::bigint[]) AND kind = 'STATIC'`, [
      [...new Set(segmentIds)],
    ]);
    return rows.map((r) => r.id);
  }

  /** The ids of each merged customer's rows that will move, in one statement per table. */
  private async memberSnapshots(
    manager: EntityManager,
    mergedIds: string[],
  ): Promise<
    Map<
      string,
      { consents: ConsentRow[]; identifier_ids: string[]; interaction_ids: string[]; member_ids: string[]; segment_ids: string[]; redirected_ids: string[] }
    >
  > {
    const grouped = async (sql: string): Promise<Map<string, string[]>> => {
      const rows: { customer_id: string; ids: string[] }[] = await manager.query(sql, [mergedIds]);
      return new Map(rows.map((r) => [r.customer_id, r.ids]));
    };
    const identifiers = await grouped(
      `SELECT customer_id::text, array_agg(id::text ORDER BY id) AS ids FROM customer_identifiers WHERE customer_id = ANY($1::bigint[]) GROUP BY customer_id`,
    );
    const interactions = await grouped(
      `SELECT customer_id::text, array_agg(id::text ORDER BY id) AS ids FROM interactions WHERE customer_id = ANY($1::bigint[]) GROUP BY customer_id`,
    );
    const members = await grouped(
      `SELECT organization_id::text AS customer_id, array_agg(id::text ORDER BY id) AS ids FROM customers WHERE organization_id = ANY($1::bigint[]) GROUP BY organization_id`,
    );
    const segments = await grouped(
      `SELECT customer_id::text, array_agg(segment_id::text ORDER BY segment_id) AS ids FROM segment_memberships WHERE customer_id = ANY($1::bigint[]) GROUP BY customer_id`,
    );
    const redirected = await grouped(
      `SELECT survivor_id::text AS customer_id, array_agg(customer_id::text ORDER BY customer_id) AS ids FROM customer_redirects WHERE survivor_id = ANY($1::bigint[]) GROUP BY survivor_id`,
    );
    const consentRows: (ConsentRow & { customer_id: string })[] = await manager.query(
      `SELECT customer_id::text, ${CONSENT_COLUMNS} FROM customer_consents WHERE customer_id = ANY($1::bigint[]) ORDER BY customer_id, purpose, channel`,
      [mergedIds],
    );
    return new Map(
      mergedIds.map((id) => [
        id,
        {
          consents: consentRows.filter((c) => c.customer_id === id).map(({ customer_id: _, ...c }) => c),
          identifier_ids: identifiers.get(id) ?? [],
          interaction_ids: interactions.get(id) ?? [],
          member_ids: members.get(id) ?? [],
          segment_ids: segments.get(id) ?? [],
          redirected_ids: redirected.get(id) ?? [],
        },
      ]),
    );
  }

  /** Each customer's sources (its interactions'), read only when a rule ranks sources. */
  private async sourcesOf(manager: EntityManager, rules: Survivorship, ids: string[]): Promise<Map<string, string[]>> {
    const ranked = rules.default === 'MOST_TRUSTED_SOURCE' || [...Object.values(rules.traits), ...Object.values(rules.fields)].includes('MOST_TRUSTED_SOURCE');
    if (!ranked) return new Map();
    const rows: { customer_id: string; sources: string[] }[] = await manager.query(
      `SELECT customer_id::text, array_agg(DISTINCT source) AS sources FROM interactions WHERE customer_id = ANY($1::bigint[]) GROUP BY customer_id`,
      [ids],
    );
    return new Map(rows.map((r) => [r.customer_id, r.sources]));
  }

  /**
   * Consents of the merged customers move to the survivor. Where two
   * customers decided on the same purpose and channel, the most restrictive
   * decision wins: any DENIED or WITHDRAWN beats GRANTED (the most recent of
   * the refusals is kept); among GRANTED ones the most recent is kept.
   */
  private async combineConsents(manager: EntityManager, survivorId: string, mergedIds: string[]): Promise<number> {
    const [, moved] = await manager.query(
      `WITH picked AS (
         SELECT DISTINCT ON (purpose, channel) purpose, channel, status, source, recorded_at
           FROM customer_consents WHERE customer_id = ANY($2::bigint[]) OR customer_id = $1
          ORDER BY purpose, channel, (status = 'GRANTED'), recorded_at DESC),
       removed AS (DELETE FROM customer_consents WHERE customer_id = ANY($2::bigint[]))
       INSERT INTO customer_consents AS c (customer_id, purpose, channel, status, source, recorded_at)
       SELECT $1, purpose, channel, status, source, recorded_at FROM picked
       ON CONFLICT (customer_id, purpose, channel) DO UPDATE SET status = EXCLUDED.status, source = EXCLUDED.source, recorded_at = EXCLUDED.recorded_at`,
      [survivorId, mergedIds],
    );
    return Number(moved ?? 0);
  }

  /** The merged customers leave every segment (with events); the survivor joins the STATIC ones they were in. Returns the segments left. */
  private async moveSegments(
    manager: EntityManager,
    survivorId: string,
    mergedIds: string[],
    members: Map<string, { segment_ids: string[] }>,
  ): Promise<number> {
    const bySegment = new Map<string, string[]>();
    for (const id of mergedIds) for (const s of members.get(id)?.segment_ids ?? []) bySegment.set(s, [...(bySegment.get(s) ?? []), id]);
    const segmentIds = [...bySegment.keys()].sort((a, b) => Number(a) - Number(b));
    const staticIds = new Set(await this.staticSegmentIdsAmong(manager, segmentIds));
    for (const segmentId of segmentIds) {
      await this.segments.memberships.removeMembers(manager, segmentId, bySegment.get(segmentId) ?? []);
      if (staticIds.has(segmentId)) await this.segments.memberships.addMembers(manager, segmentId, [survivorId]);
    }
    return segmentIds.length;
  }

  private async insertConsents(manager: EntityManager, customerId: string, consents: ConsentRow[]): Promise<void> {
    await manager.query(`DELETE FROM customer_consents WHERE customer_id = $1`, [customerId]);
    if (consents.length === 0) return;
    await manager.query(
      `INSERT INTO customer_consents (customer_id, purpose, channel, status, source, recorded_at)
       SELECT $1, purpose, channel, status, source, recorded_at FROM jsonb_to_recordset($2::jsonb)
              AS c(purpose text, channel text, status text, source text, recorded_at timestamptz)`,
      [customerId, JSON.stringify(consents)],
    );
  }

  /**
   * The survivor gets back, field by field and trait by trait, what it had
   * before the merge, where it still holds what the merge gave it; a value
   * changed since (by a later write) is kept. Consents likewise: a decision
   * still as the merge left it goes back to the survivor's own.
   */
  private async restoreSurvivor(manager: EntityManager, survivorId: string, before: SurvivorState, after: SurvivorState): Promise<void> {
    const [current]: LockedCustomer[] = await manager.query(
      `SELECT id::text, kind, display_name, organization_id::text, lifecycle_stage, owner, traits, updated_at, deleted_at FROM customers WHERE id = $1`,
      [survivorId],
    );
    const now = profileOf(current);
    const traits: Record<string, unknown> = {};
    const names = new Set([...Object.keys(now.traits), ...Object.keys(before.profile.traits)]);
    for (const name of names) {
      // Still as the merge left it: the survivor's own value comes back (or none); otherwise a later write is kept.
      const value = sameJson(now.traits[name], after.profile.traits[name]) ? before.profile.traits[name] : now.traits[name];
      if (value !== undefined) traits[name] = value;
    }
    const field = (key: ProfileField) => (sameJson(now[key], after.profile[key]) ? before.profile[key] : now[key]);
    await manager.query(
      `UPDATE customers SET traits = $2, display_name = $3, lifecycle_stage = $4, owner = $5,
              organization_id = (SELECT o.id FROM customers o WHERE o.id = $6::bigint AND o.deleted_at IS NULL) WHERE id = $1`,
      [survivorId, JSON.stringify(traits), field('displayName'), field('lifecycleStage'), field('owner'), field('organizationId')],
    );
    const currentConsents: ConsentRow[] = await manager.query(`SELECT ${CONSENT_COLUMNS} FROM customer_consents WHERE customer_id = $1`, [survivorId]);
    const key = (c: ConsentRow) => `${c.purpose}\u0000${c.channel}`;
    const afterByKey = new Map(after.consents.map((c) => [key(c), c]));
    const beforeByKey = new Map(before.consents.map((c) => [key(c), c]));
    const restored = currentConsents.flatMap((c) => {
      const merged = afterByKey.get(key(c));
      // Decided after the merge: kept as it is.
      if (!merged || !sameJson(merged, c)) return [c];
      const own = beforeByKey.get(key(c));
      return own ? [own] : [];
    });
    await this.insertConsents(manager, survivorId, restored);
  }
}

/** The cluster cap of automatic merges when none is configured. */
export const DEFAULT_MAX_CLUSTER_SIZE = 10;

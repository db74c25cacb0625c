import type { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from '../../infra/database';
import { SqlParams } from '../../infra/sql-filter';
import { compileRule } from './rules/compile';
import { referencedSegments, type SegmentRule } from './rules/rule';
import { outboxInsertSql, type EventBus } from '../events';

/** The segment.entered / segment.exited payload of a row with `customer_id`, the segment id given as SQL. */
const SEGMENT_PAYLOAD = (segmentId: string) => `jsonb_build_object('customerId', customer_id::text, 'segmentId', ${segmentId}::text) AS payload`;

/** What one membership diff changed. */
export interface MembershipChange {
  segmentId: string;
  entered: number;
  exited: number;
  size: number;
}

interface DynamicSegment {
  id: string;
  rule: SegmentRule;
}

/**
 * Keeps `segment_memberships` exact. A diff is one statement: the compiled
 * rule gives the target set; members no longer in it are deleted, new ones
 * inserted, and an ENTERED or EXITED event written for each, all in the
 * caller's transaction. Incremental diffs move the size by their counted
 * delta (each row change is counted once, by whoever made it); a full
 * refresh recounts. A full refresh or a hand-made change that moves members
 * publishes the in-transaction event `memberships.changed` (segments that
 * use the segment are refreshed after commit).
 */
export class SegmentMembershipService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: Pick<EventBus, 'emitInTransaction'>,
  ) {}

  /**
   * Full refresh of one dynamic segment (the `segments.refresh` job): diff,
   * events, size and a size-history point in one transaction; status FRESH.
   * Returns null when the segment no longer exists or is STATIC.
   */
  async refreshSegment(segmentId: string): Promise<MembershipChange | null> {
    await this.dataSource.query(`UPDATE segments SET status = 'REFRESHING' WHERE id = $1 AND kind = 'DYNAMIC' AND status <> 'REFRESHING'`, [segmentId]);
    const change = await inTransaction(this.dataSource, async (manager) => {
      // Two full refreshes of one segment take turns; incremental diffs do not take this lock.
      await manager.query(`SELECT pg_advisory_xact_lock(1764000000, hashtext($1::text))`, [segmentId]);
      const [segment]: { id: string; rule: SegmentRule | null; kind: string }[] = await manager.query(
        `SELECT id::text, rule, kind FROM segments WHERE id = $1`,
        [segmentId],
      );
      if (!segment || segment.kind !== 'DYNAMIC' || !segment.rule) return null;
      const [diff] = await this.diff(manager, [{ id: segment.id, rule: segment.rule }]);
      const size = await this.recount(manager, segment.id);
      // A rule changed meanwhile (its own refresh is queued) leaves the segment STALE.
      await manager.query(`UPDATE segments SET status = CASE WHEN rule = $2::jsonb THEN 'FRESH' ELSE 'STALE' END, refreshed_at = now() WHERE id = $1`, [
        segment.id,
        JSON.stringify(segment.rule),
      ]);
      if (diff.entered + diff.exited > 0) await this.events.emitInTransaction(manager, 'memberships.changed', { segmentIds: [segment.id] });
      return { ...diff, size };
    });
    return change;
  }

  /**
   * Re-evaluates `customerIds` against every dynamic segment inside the
   * caller's transaction (a customer refresh, on customers.refreshed): one statement per
   * dependency level, segments that others refer to first, so that
   * `inSegment` sees this refresh's own changes.
   */
  async refreshCustomers(manager: EntityManager, customerIds: string[]): Promise<MembershipChange[]> {
    if (customerIds.length === 0) return [];
    const segments: DynamicSegment[] = await manager.query(`SELECT id::text, rule FROM segments WHERE kind = 'DYNAMIC' AND rule IS NOT NULL ORDER BY id`);
    const changes: MembershipChange[] = [];
    for (const level of dependencyLevels(segments)) {
      for (let i = 0; i < level.length; i += MAX_SEGMENTS_PER_STATEMENT) {
        for (const diff of await this.diff(manager, level.slice(i, i + MAX_SEGMENTS_PER_STATEMENT), customerIds)) {
          if (diff.entered + diff.exited > 0) changes.push({ ...diff, size: 0 });
        }
      }
    }
    // Sizes are written in id order: concurrent refreshes lock segment rows in the same order.
    changes.sort((a, b) => Number(a.segmentId) - Number(b.segmentId));
    for (const change of changes) change.size = await this.applySize(manager, change.segmentId, change.entered - change.exited, false);
    return changes;
  }

  /** Adds customers to a segment by hand (STATIC); returns those that were not members yet. */
  async addMembers(manager: EntityManager, segmentId: string, customerIds: string[]): Promise<string[]> {
    const rows: { customer_id: string }[] = await manager.query(
      `WITH added AS (
         INSERT INTO segment_memberships (segment_id, customer_id, entered_at)
         SELECT $1, id, now() FROM unnest($2::bigint[]) AS id
         ON CONFLICT DO NOTHING RETURNING customer_id),
       events AS (
         INSERT INTO segment_membership_events (segment_id, customer_id, kind, occurred_at)
         SELECT $1, customer_id, 'ENTERED', now() FROM added),
       published AS (${outboxInsertSql('segment.entered', `SELECT customer_id, ${SEGMENT_PAYLOAD('$1')} FROM added`)})
       SELECT customer_id::text FROM added`,
      [segmentId, customerIds],
    );
    if (rows.length > 0) await this.recounted(manager, segmentId);
    return rows.map((r) => r.customer_id);
  }

  /** Removes customers from a segment by hand (STATIC); returns those that were members. */
  async removeMembers(manager: EntityManager, segmentId: string, customerIds: string[]): Promise<string[]> {
    const rows: { customer_id: string }[] = await manager.query(
      `WITH removed AS (
         DELETE FROM segment_memberships WHERE segment_id = $1 AND customer_id = ANY($2::bigint[]) RETURNING customer_id),
       events AS (
         INSERT INTO segment_membership_events (segment_id, customer_id, kind, occurred_at)
         SELECT $1, customer_id, 'EXITED', now() FROM removed),
       published AS (${outboxInsertSql('segment.exited', `SELECT customer_id, ${SEGMENT_PAYLOAD('$1')} FROM removed`)})
       SELECT customer_id::text FROM removed`,
      [segmentId, customerIds],
    );
    if (rows.length > 0) await this.recounted(manager, segmentId);
    return rows.map((r) => r.customer_id);
  }

  /** After a hand-made change: the new size, and the change published. */
  private async recounted(manager: EntityManager, segmentId: string): Promise<void> {
    await this.recount(manager, segmentId);
    await this.events.emitInTransaction(manager, 'memberships.changed', { segmentIds: [segmentId] });
  }

  /**
   * One set-based diff of the memberships of `segments` against their rules,
   * optionally for some customers only: one statement however many segments.
   */
  private async diff(manager: EntityManager, segments: DynamicSegment[], customerIds?: string[]): Promise<Omit<MembershipChange, 'size'>[]> {
    if (segments.length === 0) return [];
    const p = new SqlParams();
    const segmentIds = p.add(segments.map((s) => s.id));
    const ids = customerIds ? p.add(customerIds) : undefined;
    const targets = segments.map((segment, i) => {
      const compiled = compileRule(segment.rule, p, { customerIdsParam: ids });
      return `SELECT ${p.add(segment.id)}::bigint AS segment_id, t${i}.customer_id FROM (${compiled.sql}) t${i}`;
    });
    const rows: { segment_id: string; entered: number; exited: number }[] = await manager.query(
      `WITH target AS MATERIALIZED (${targets.join(' UNION ALL ')}),
       removed AS (
         DELETE FROM segment_memberships m
          WHERE m.segment_id = ANY(${segmentIds}::bigint[])${ids ? ` AND m.customer_id = ANY(${ids}::bigint[])` : ''}
            AND NOT EXISTS (SELECT 1 FROM target t WHERE t.segment_id = m.segment_id AND t.customer_id = m.customer_id)
         RETURNING m.segment_id, m.customer_id),
       added AS (
         INSERT INTO segment_memberships (segment_id, customer_id, entered_at)
         SELECT t.segment_id, t.customer_id, now() FROM target t
          WHERE NOT EXISTS (SELECT 1 FROM segment_memberships m WHERE m.segment_id = t.segment_id AND m.customer_id = t.customer_id)
         ON CONFLICT DO NOTHING
         RETURNING segment_id, customer_id),
       events AS (
         INSERT INTO segment_membership_events (segment_id, customer_id, kind, occurred_at)
         SELECT segment_id, customer_id, 'EXITED', now() FROM removed
         UNION ALL
         SELECT segment_id, customer_id, 'ENTERED', now() FROM added),
       published_exits AS (${outboxInsertSql('segment.exited', `SELECT customer_id, segment_id, ${SEGMENT_PAYLOAD('segment_id')} FROM removed`, 'customer_id, segment_id')}),
       published_entries AS (${outboxInsertSql('segment.entered', `SELECT customer_id, segment_id, ${SEGMENT_PAYLOAD('segment_id')} FROM added`, 'customer_id, segment_id')})
       SELECT s.id::text AS segment_id,
              (SELECT count(*) FROM added a WHERE a.segment_id = s.id)::int AS entered,
              (SELECT count(*) FROM removed r WHERE r.segment_id = s.id)::int AS exited
         FROM unnest(${segmentIds}::bigint[]) AS s(id)`,
      p.values,
    );
    return rows.map((r) => ({ segmentId: r.segment_id, entered: r.entered, exited: r.exited }));
  }

  /**
   * Sets the stored size to the member count (full refreshes, hand-made
   * changes), which also repairs drift, e.g. from customers erased with their
   * memberships. The row lock comes first so that the count, a later
   * statement, sees every incremental diff that already moved the size;
   * later ones add their delta after us.
   */
  private async recount(manager: EntityManager, segmentId: string): Promise<number> {
    await manager.query(`SELECT 1 FROM segments WHERE id = $1 FOR NO KEY UPDATE`, [segmentId]);
    const [row]: { size: number }[] = await manager.query(
      `WITH u AS (UPDATE segments SET size = (SELECT count(*) FROM segment_memberships WHERE segment_id = $1) WHERE id = $1 RETURNING id, size),
       h AS (
         INSERT INTO segment_size_history (segment_id, recorded_at, size)
         SELECT id, date_trunc('minute', now()), size FROM u
         ON CONFLICT (segment_id, recorded_at) DO UPDATE SET size = EXCLUDED.size)
       SELECT size FROM u`,
      [segmentId],
    );
    return row?.size ?? 0;
  }

  /** Moves the stored size by `delta` and records it (one size-history point per segment and minute). */
  private async applySize(manager: EntityManager, segmentId: string, delta: number, record: boolean): Promise<number> {
    const [row]: { size: number }[] = await manager.query(
      `WITH u AS (UPDATE segments SET size = size + $2 WHERE id = $1 RETURNING id, size),
       h AS (
         INSERT INTO segment_size_history (segment_id, recorded_at, size)
         SELECT id, date_trunc('minute', now()), size FROM u WHERE $3 OR $2 <> 0
         ON CONFLICT (segment_id, recorded_at) DO UPDATE SET size = EXCLUDED.size)
       SELECT size FROM u`,
      [segmentId, delta, record],
    );
    return row?.size ?? 0;
  }
}

/** Segments whose incremental diff shares one statement (bounds the statement's size and planning time). */
const MAX_SEGMENTS_PER_STATEMENT = 50;

/**
 * Groups segments into levels: level 0 refers to no dynamic segment; level n
 * only to segments of lower levels (rules are acyclic; a reference to a
 * segment outside `segments`, e.g. a STATIC one, does not count).
 */
export function dependencyLevels<T extends { id: string; rule: SegmentRule | null }>(segments: T[]): T[][] {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const levelOf = new Map<string, number>();
  const level = (s: T, trail: Set<string>): number => {
    const known = levelOf.get(s.id);
    if (known !== undefined) return known;
    if (trail.has(s.id)) return 0;
    trail.add(s.id);
    let n = 0;
    for (const ref of referencedSegments(s.rule)) {
      const dep = byId.get(ref);
      if (dep) n = Math.max(n, level(dep, trail) + 1);
    }
    levelOf.set(s.id, n);
    return n;
  };
  const levels: T[][] = [];
  for (const s of segments) (levels[level(s, new Set())] ??= []).push(s);
  return levels.filter(Boolean);
}

import type { DataSource } from 'typeorm';
import { ErrorCode, fail } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import { pageSize, SqlParams, type SortKey } from '../../infra/sql-filter';
import { CUSTOMER_COLUMNS, toCustomerRecord, type CustomerRecord } from '../customers';
import { isIdentifierProblem, normalizeIdentifier, type IdentifierInput } from '../customers';
import { SegmentMembershipService } from './segment-membership.service';
import { SEGMENT_TEMPLATES, type SegmentTemplate } from './segment-templates';
import { compileRule } from './rules/compile';
import { describeComposite, describeLeaf } from './rules/describe';
import { hasMovingWindow, referencedScoreKinds, referencedSegments, usesRecommendations, type SegmentRule } from './rules/rule';
import { validateRuleShape, type RuleProblem } from './rules/validate';
import { maskFigure, maskRule, personalConditions } from './rules/personal';
import { PersonalDataPolicy } from '../access';
import type { RecomputeJobRecord } from '../scores';
import { loadConfig } from '../../config';
import { isDatabaseId } from '../../infra/db-values';
import { present } from '../../infra/present';

/** The values of `segments.kind`, `segments.status` and `segment_membership_events.kind` (check constraints in migrations). */
export const SEGMENT_KINDS = ['DYNAMIC', 'STATIC'] as const;
export type SegmentKind = (typeof SEGMENT_KINDS)[number];

export const SEGMENT_STATUSES = ['FRESH', 'REFRESHING', 'STALE'] as const;
export type SegmentStatus = (typeof SEGMENT_STATUSES)[number];

export const MEMBERSHIP_EVENT_KINDS = ['ENTERED', 'EXITED'] as const;
export type MembershipEventKind = (typeof MEMBERSHIP_EVENT_KINDS)[number];

/** A segment as reads return it. */
export interface SegmentRecord {
  id: string;
  name: string;
  description: string | null;
  kind: SegmentKind;
  rule: SegmentRule | null;
  size: number;
  status: SegmentStatus;
  refreshedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A segment to create or replace. `rule` is required for DYNAMIC segments and refused for STATIC ones. */
export interface SegmentInput {
  name: string;
  description?: string | null;
  kind?: SegmentKind | null;
  rule?: unknown;
}

export interface MembershipEventRecord {
  id: string;
  segmentId: string;
  customerId: string;
  kind: MembershipEventKind;
  occurredAt: Date;
}

export interface SizePointRecord {
  recordedAt: Date;
  size: number;
}

export interface SegmentPreviewResult {
  count: number;
  sampleIds: string[];
}

/** A customer named by id or by identifiers (one of them). */
export interface MemberRef {
  id?: string | null;
  identifiers?: IdentifierInput[] | null;
}

export type MemberRowStatus = 'ADDED' | 'REMOVED' | 'UNCHANGED' | 'REJECTED';

export interface MemberRowResult {
  index: number;
  status: MemberRowStatus;
  customerId: string | null;
  error: { code: ErrorCode; field?: string; message: string } | null;
}

/** One line of an explanation: a node of the rule, whether it holds, and the figure behind it. */
export interface ConditionExplanation {
  path: string;
  kind: 'AND' | 'OR' | 'NOT' | 'ATTRIBUTE' | 'BEHAVIOR' | 'SCORE' | 'IN_SEGMENT' | 'CONSENT' | 'RECOMMENDED';
  holds: boolean;
  figure: unknown;
  description: string;
  /** The figure and description as a caller without `pii:read` sees them (personal values masked). */
  masked: { figure: unknown; description: string };
}

export interface MembershipExplanation {
  segmentId: string;
  customerId: string;
  /** Whether the customer is a member now (materialised). */
  isMember: boolean;
  memberSince: Date | null;
  /** Whether the rule holds for the customer right now (STATIC: equals isMember). */
  matchesRule: boolean;
  conditions: ConditionExplanation[];
}

/** Options of {@link SegmentService}. */
export interface SegmentServiceOptions {
  /**
   * Statement timeout of `previewSegment`, in milliseconds.
   * @defaultValue 5000
   */
  previewTimeoutMs?: number;
  /** Customers in a preview's sample. @defaultValue 20 */
  sampleSize?: number;
  /** Enqueues a full refresh of a segment (`segments.refresh`), failures logged; the module manifest passes the queue's. */
  requestRefresh?: (segmentId: string) => Promise<void>;
  /** Enqueues a full refresh and returns its job, failures raised (`refreshSegment`). */
  enqueueRefresh?: (segmentId: string) => Promise<RecomputeJobRecord>;
  /** Which traits and interaction properties are personal. @defaultValue the defaults of RAPPORT_PERSONAL_TRAITS and RAPPORT_PERSONAL_PROPERTIES */
  personalData?: PersonalDataPolicy;
}

/**
 * What the caller of a rule-taking operation may read. Without `pii:read`, a
 * rule may not test personal data (names, personal traits and properties) nor
 * use a segment that does: the matches would tell the values.
 */
export interface RuleAccess {
  piiRead: boolean;
}

const NO_PII: RuleAccess = { piiRead: false };

/** Most customers one addToSegment / removeFromSegment call takes. */
export const MAX_MEMBERS_PER_CALL = 1000;

const SEGMENT_COLUMNS = `s.id::text AS id, s.name, s.description, s.kind, s.rule, s.size, s.status, s.refreshed_at AS "refreshedAt",
  s.created_at AS "createdAt", s.updated_at AS "updatedAt"`;

const ID_KEY: SortKey[] = [{ sql: 's.id', direction: 'ASC', cast: 'bigint' }];
const MEMBER_KEY: SortKey[] = [{ sql: 'm.customer_id', direction: 'ASC', cast: 'bigint' }];

/**
 * Segments: definitions (validated rule trees), previews, explanations and
 * hand-picked memberships. Rule evaluation into memberships lives in
 * {@link SegmentMembershipService}.
 */
export class SegmentService {
  private readonly previewTimeoutMs: number;
  private readonly sampleSize: number;
  private scoresAvailable = false;
  readonly personalData: PersonalDataPolicy;

  constructor(
    private readonly dataSource: DataSource,
    readonly memberships: SegmentMembershipService,
    private readonly options: SegmentServiceOptions = {},
  ) {
    this.previewTimeoutMs = options.previewTimeoutMs ?? 5_000;
    this.sampleSize = options.sampleSize ?? 20;
    this.personalData = options.personalData ?? new PersonalDataPolicy(loadConfig({}).auth);
  }

  /**
   * Validates a rule tree: structure, fields and types, limits, segment
   * references (they must exist, and must not lead back to `selfId`), and,
   * without `pii:read`, that it reads no personal data (FORBIDDEN naming the
   * condition). Throws a {@link RapportError} naming the path of the first
   * problem; every problem is listed in `details.problems`.
   */
  async validateRule(
    input: unknown,
    { selfId, root = 'rule', access = NO_PII }: { selfId?: string; root?: string; access?: RuleAccess } = {},
  ): Promise<SegmentRule> {
    const shape = validateRuleShape(input, root);
    const problems: RuleProblem[] = [...shape.problems];
    if (shape.segmentRefs.length > 0) {
      const found: { id: string }[] = await this.dataSource.query(`SELECT id::text FROM segments WHERE id = ANY($1::bigint[])`, [
        shape.segmentRefs.map((r) => r.id),
      ]);
      const existing = new Set(found.map((r) => r.id));
      for (const ref of shape.segmentRefs) {
        if (!existing.has(ref.id)) problems.push({ field: ref.field, message: `${ref.field}: segment ${ref.id} does not exist` });
      }
    }
    if (problems.length > 0) {
      const [{ field, message }] = problems;
      const reason = message.startsWith(field) ? message.slice(field.length).replace(/^[:\s]+/, '') : message;
      throw fail('SEGMENT_RULE_INVALID', { detail: `invalid rule at ${field}: ${reason}` }, field, { problems });
    }
    const { rule } = shape;
    if (!rule) throw new Error(`rule validation at ${root} reported neither a rule nor a problem`);
    if (!access.piiRead) await this.refusePersonal(rule, shape.segmentRefs, root);
    if (referencedScoreKinds(rule).length > 0 && !(await this.hasScoresTable())) {
      throw fail('SEGMENT_RULE_INVALID', { detail: 'score conditions need the scores module, which is not installed in this database' }, root);
    }
    if (selfId) await this.checkCycles(selfId, shape.segmentRefs);
    return rule;
  }

  /** Refuses a rule that reads personal data, directly or through a segment it uses. */
  private async refusePersonal(rule: SegmentRule, refs: { id: string; field: string }[], root: string): Promise<void> {
    const [personal] = personalConditions(rule, this.personalData, root);
    if (personal) {
      throw fail('FORBIDDEN', { detail: `${personal.field}: conditions on personal data (${personal.what}) require the scope pii:read` }, personal.field);
    }
    if (refs.length === 0) return;
    const personalSegments = await this.personalSegmentIds();
    const ref = refs.find((r) => personalSegments.has(r.id));
    if (ref) {
      throw fail('FORBIDDEN', { detail: `${ref.field}: segment ${ref.id} is defined on personal data; using it requires the scope pii:read` }, ref.field);
    }
  }

  /**
   * Ids of the DYNAMIC segments whose members say something about personal
   * data: their rule has a personal condition, or uses (`inSegment`, at any
   * distance) a segment that does. Their members are shown only with `pii:read`.
   */
  async personalSegmentIds(): Promise<Set<string>> {
    const rows: { id: string; rule: SegmentRule }[] = await this.dataSource.query(
      `SELECT id::text, rule FROM segments WHERE kind = 'DYNAMIC' AND rule IS NOT NULL`,
    );
    const personal = new Set(rows.filter((r) => personalConditions(r.rule, this.personalData).length > 0).map((r) => r.id));
    for (let grew = personal.size > 0; grew;) {
      grew = false;
      for (const r of rows) {
        if (!personal.has(r.id) && referencedSegments(r.rule).some((id) => personal.has(id))) {
          personal.add(r.id);
          grew = true;
        }
      }
    }
    return personal;
  }

  /** Count and sample of the customers a rule matches now, under a statement timeout. */
  async preview(ruleInput: unknown, access: RuleAccess = NO_PII): Promise<SegmentPreviewResult> {
    const rule = await this.validateRule(ruleInput, { access });
    const p = new SqlParams();
    const compiled = compileRule(rule, p);
    try {
      return await this.dataSource.transaction(async (manager) => {
        await manager.query(`SELECT set_config('statement_timeout', $1, true)`, [String(this.previewTimeoutMs)]);
        const [row]: { count: number; sample: string[] }[] = await manager.query(
          `WITH t AS MATERIALIZED (${compiled.sql})
           SELECT (SELECT count(*) FROM t)::int AS count,
                  ARRAY(SELECT customer_id::text FROM t ORDER BY customer_id LIMIT ${this.sampleSize}) AS sample`,
          p.values,
        );
        return { count: row.count, sampleIds: row.sample };
      });
    } catch (error) {
      if (sqlState(error) === '57014') {
        throw fail('SEGMENT_PREVIEW_TIMEOUT', { limitMs: this.previewTimeoutMs }, 'rule');
      }
      throw error;
    }
  }

  async create(input: SegmentInput, access: RuleAccess = NO_PII): Promise<SegmentRecord> {
    const { name, description, kind, rule } = await this.checkInput(input, access);
    const row = await this.writeUnique(name, async () => {
      // Writes go through inTransaction so the mutation's audit entry commits with them.
      const [created] = await inTransaction(this.dataSource, (manager) =>
        manager.query(
          `INSERT INTO segments AS s (name, description, kind, rule, status)
           VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING ${SEGMENT_COLUMNS}`,
          [name, description, kind, rule ? JSON.stringify(rule) : null, kind === 'DYNAMIC' ? 'STALE' : 'FRESH'],
        ),
      );
      return created;
    });
    if (kind === 'DYNAMIC') await this.requestRefresh(row.id);
    return toSegmentRecord(row);
  }

  /** Replaces a segment's definition; a changed rule is re-evaluated in the background. The kind cannot change. */
  async update(id: string, input: SegmentInput, access: RuleAccess = NO_PII): Promise<SegmentRecord> {
    const current = await this.get(id);
    if (!current) throw fail('SEGMENT_NOT_FOUND', { id }, 'id');
    if (input.kind && input.kind !== current.kind) {
      throw fail(
        'SEGMENT_KIND_MISMATCH',
        { detail: `segment "${current.name}" is ${current.kind}; its kind cannot change (create a new segment)` },
        'input.kind',
      );
    }
    const { name, description, rule } = await this.checkInput({ ...input, kind: current.kind }, access, id);
    const ruleChanged = JSON.stringify(rule) !== JSON.stringify(current.rule);
    const row = await this.writeUnique(name, async () => {
      const [[updated]] = await inTransaction(this.dataSource, (manager) =>
        manager.query(
          `UPDATE segments s SET name = $2, description = $3, rule = $4::jsonb, updated_at = now(),
                  status = CASE WHEN $5 THEN 'STALE' ELSE status END
            WHERE id = $1 RETURNING ${SEGMENT_COLUMNS}`,
          [id, name, description, rule ? JSON.stringify(rule) : null, ruleChanged && current.kind === 'DYNAMIC'],
        ),
      );
      return updated;
    });
    if (!row) throw fail('SEGMENT_NOT_FOUND', { id }, 'id');
    if (ruleChanged && current.kind === 'DYNAMIC') await this.requestRefresh(id);
    return toSegmentRecord(row);
  }

  /** Deletes a segment with its memberships and history; refused while other segments refer to it. */
  async delete(id: string): Promise<boolean> {
    const users = await this.dependents([id]);
    if (users.length > 0) {
      throw fail('SEGMENT_IN_USE', { id, users: users.map((u) => `"${u.name}"`).join(', ') }, 'id');
    }
    // TypeORM answers a DELETE with [rows, affected].
    const [, affected]: [unknown[], number] = await inTransaction(this.dataSource, (manager) => manager.query(`DELETE FROM segments WHERE id = $1`, [id]));
    return affected > 0;
  }

  /** Marks the segment STALE and enqueues its full refresh. */
  /** Queues a full refresh of segment `id` and returns its job. */
  async queueRefresh(id: string): Promise<RecomputeJobRecord> {
    if (!this.options.enqueueRefresh) throw new Error('this SegmentService has no queue to refresh segments on');
    return this.options.enqueueRefresh(id);
  }

  async requestRefresh(id: string): Promise<void> {
    await this.dataSource.query(`UPDATE segments SET status = 'STALE' WHERE id = $1 AND kind = 'DYNAMIC'`, [id]);
    await this.options.requestRefresh?.(id);
  }

  /** Segments whose rule refers to one of `ids`. */
  async dependents(ids: string[]): Promise<{ id: string; name: string }[]> {
    return this.dataSource.query(
      `SELECT id::text, name FROM segments
        WHERE kind = 'DYNAMIC' AND rule IS NOT NULL
          AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS ref(id)
                       WHERE jsonb_path_exists(rule, '$.** ? (@.inSegment == $id)', jsonb_build_object('id', ref.id)))
        ORDER BY id`,
      [ids],
    );
  }

  /** After a membership change, segments that use the changed ones go STALE and get refreshed. */
  async refreshDependents(changedIds: string[]): Promise<void> {
    for (const dependent of await this.dependents(changedIds)) await this.requestRefresh(dependent.id);
  }

  /**
   * What the scheduled sweep refreshes: dynamic segments whose truth moves
   * with the clock (lastDays windows) or with scores, and any left STALE (an
   * enqueue that failed) or REFRESHING (a worker may have died; refreshes are idempotent).
   */
  async sweepCandidates(): Promise<string[]> {
    const rows: { id: string; rule: SegmentRule; status: SegmentStatus; refreshedAt: Date | null }[] = await this.dataSource.query(
      `SELECT id::text, rule, status, refreshed_at AS "refreshedAt" FROM segments WHERE kind = 'DYNAMIC' AND rule IS NOT NULL ORDER BY id`,
    );
    const usesScores = rows.some((r) => referencedScoreKinds(r.rule).length > 0);
    const scoredAt = new Map<string, Date>(
      usesScores && (await this.hasScoresTable())
        ? (await this.dataSource.query(`SELECT kind, max(computed_at) AS at FROM scores GROUP BY kind`)).map((r: { kind: string; at: Date }) => [r.kind, r.at])
        : [],
    );
    // A score segment needs a full pass only when scores were written after its last one (a recompute); per-customer changes are incremental.
    const scoresMoved = (r: (typeof rows)[number]) =>
      referencedScoreKinds(r.rule).some((kind) => {
        const at = scoredAt.get(kind);
        return at !== undefined && (!r.refreshedAt || at > r.refreshedAt);
      });
    // Recommendation rules likewise, after a full recommendations recompute.
    const recommendedAt: Date | null = rows.some((r) => usesRecommendations(r.rule))
      ? ((await this.dataSource.query(`SELECT max(computed_at) AS at FROM customer_recommendations`))[0]?.at ?? null)
      : null;
    const recommendationsMoved = (r: (typeof rows)[number]) =>
      usesRecommendations(r.rule) && recommendedAt !== null && (!r.refreshedAt || recommendedAt > r.refreshedAt);
    return rows.filter((r) => r.status !== 'FRESH' || hasMovingWindow(r.rule) || scoresMoved(r) || recommendationsMoved(r)).map((r) => r.id);
  }

  /**
   * Queues a full refresh of the dynamic segments whose rule uses one of these
   * score kinds; for a full scores recompute to call when it finishes (the
   * sweep catches up within minutes otherwise). Returns their ids.
   */
  async refreshSegmentsUsingScores(kinds: readonly string[]): Promise<string[]> {
    const rows: { id: string; rule: SegmentRule }[] = await this.dataSource.query(
      `SELECT id::text, rule FROM segments WHERE kind = 'DYNAMIC' AND rule IS NOT NULL ORDER BY id`,
    );
    const ids = rows
      .filter((r) => referencedScoreKinds(r.rule).some((k) => kinds.includes(k)) || (kinds.includes('RECOMMENDATIONS') && usesRecommendations(r.rule)))
      .map((r) => r.id);
    for (const id of ids) await this.requestRefresh(id);
    return ids;
  }

  async get(id: string): Promise<SegmentRecord | null> {
    if (!isDatabaseId(id)) return null;
    const [row] = await this.dataSource.query(`SELECT ${SEGMENT_COLUMNS} FROM segments s WHERE s.id = $1`, [id]);
    return row ? toSegmentRecord(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Map<string, SegmentRecord>> {
    const valid = ids.filter((id) => isDatabaseId(id));
    if (valid.length === 0) return new Map();
    const rows = await this.dataSource.query(`SELECT ${SEGMENT_COLUMNS} FROM segments s WHERE s.id = ANY($1::bigint[])`, [valid]);
    return new Map(rows.map((r: Record<string, unknown>) => [String(r.id), toSegmentRecord(r)]));
  }

  /** Segments by id, oldest first. */
  async list(args: { first?: number | null; after?: string | null }) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const { orderBy, select, condition } = keysetClauses(ID_KEY, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT ${SEGMENT_COLUMNS}, ${select} FROM segments s WHERE ${condition} ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    const page: Page<SegmentRecord> = toPage(rows, ID_KEY, first, args.after, toSegmentRecord);
    return {
      ...page,
      totalCount: async () => (await this.dataSource.query(`SELECT count(*)::int AS n FROM segments`))[0].n as number,
    };
  }

  /** Current members, by customer id. */
  async members(segmentId: string, args: { first?: number | null; after?: string | null }) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const segment = p.add(segmentId);
    const { orderBy, select, condition } = keysetClauses(MEMBER_KEY, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT ${CUSTOMER_COLUMNS}, ${select}
         FROM segment_memberships m JOIN customers c ON c.id = m.customer_id
        WHERE m.segment_id = ${segment}::bigint AND c.deleted_at IS NULL AND ${condition}
        ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    const page: Page<CustomerRecord> = toPage(rows, MEMBER_KEY, first, args.after, toCustomerRecord);
    return {
      ...page,
      totalCount: async () =>
        (await this.dataSource.query(`SELECT count(*)::int AS n FROM segment_memberships WHERE segment_id = $1`, [segmentId]))[0].n as number,
    };
  }

  /** Entered/exited events of a segment, newest first. */
  async history(segmentId: string, first: number | null | undefined): Promise<MembershipEventRecord[]> {
    return this.dataSource.query(
      `SELECT id::text, segment_id::text AS "segmentId", customer_id::text AS "customerId", kind, occurred_at AS "occurredAt"
         FROM segment_membership_events WHERE segment_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [segmentId, pageSize(first)],
    );
  }

  /** Size over time, oldest first (the last `first` points). */
  async sizeHistory(segmentId: string, first: number | null | undefined): Promise<SizePointRecord[]> {
    const rows: SizePointRecord[] = await this.dataSource.query(
      `SELECT recorded_at AS "recordedAt", size FROM segment_size_history WHERE segment_id = $1 ORDER BY recorded_at DESC LIMIT $2`,
      [segmentId, pageSize(first)],
    );
    return rows.reverse();
  }

  /** Current segments of each customer (batched: one statement for any number of customers). */
  async segmentsOfCustomers(customerIds: readonly string[]): Promise<Map<string, SegmentRecord[]>> {
    const rows: (Record<string, unknown> & { customerId: string })[] = await this.dataSource.query(
      `SELECT m.customer_id::text AS "customerId", ${SEGMENT_COLUMNS}
         FROM segment_memberships m JOIN segments s ON s.id = m.segment_id
        WHERE m.customer_id = ANY($1::bigint[]) ORDER BY s.id`,
      [customerIds],
    );
    const out = new Map<string, SegmentRecord[]>();
    for (const r of rows) out.set(r.customerId, [...(out.get(r.customerId) ?? []), toSegmentRecord(r)]);
    return out;
  }

  /** The latest `first` membership events of each customer, newest first (batched). */
  async historyOfCustomers(customerIds: readonly string[], first: number | null | undefined): Promise<Map<string, MembershipEventRecord[]>> {
    const rows: MembershipEventRecord[] = await this.dataSource.query(
      `SELECT e.id::text, e.segment_id::text AS "segmentId", e.customer_id::text AS "customerId", e.kind, e.occurred_at AS "occurredAt"
         FROM unnest($1::bigint[]) AS ids(id)
         CROSS JOIN LATERAL (
           SELECT * FROM segment_membership_events x WHERE x.customer_id = ids.id ORDER BY x.occurred_at DESC, x.id DESC LIMIT $2) e
        ORDER BY e.customer_id, e.occurred_at DESC, e.id DESC`,
      [customerIds, pageSize(first)],
    );
    const out = new Map<string, MembershipEventRecord[]>();
    for (const r of rows) out.set(r.customerId, [...(out.get(r.customerId) ?? []), r]);
    return out;
  }

  /** Adds customers to a STATIC segment, one result per row; the whole call is one transaction. */
  async addMembers(segmentId: string, refs: MemberRef[]): Promise<MemberRowResult[]> {
    return this.changeMembers(segmentId, refs, 'add');
  }

  async removeMembers(segmentId: string, refs: MemberRef[]): Promise<MemberRowResult[]> {
    return this.changeMembers(segmentId, refs, 'remove');
  }

  /**
   * For every node of the segment's rule: whether it holds for the customer
   * now, and the figure behind it. One statement evaluates all conditions.
   */
  async explain(segmentId: string, customerId: string): Promise<MembershipExplanation | null> {
    const segment = await this.get(segmentId);
    if (!segment) throw fail('SEGMENT_NOT_FOUND', { id: segmentId }, 'segmentId');
    const [customer] = await this.dataSource.query(`SELECT 1 FROM customers WHERE id = $1 AND deleted_at IS NULL`, [customerId]);
    if (!customer) return null;
    const [membership]: { entered_at: Date }[] = await this.dataSource.query(
      `SELECT entered_at FROM segment_memberships WHERE segment_id = $1 AND customer_id = $2`,
      [segmentId, customerId],
    );
    const base = { segmentId, customerId, isMember: Boolean(membership), memberSince: membership?.entered_at ?? null };
    if (!segment.rule) return { ...base, matchesRule: Boolean(membership), conditions: [] };

    const p = new SqlParams();
    const ids = p.add([customerId]);
    const compiled = compileRule(segment.rule, p, { customerIdsParam: ids, explain: true });
    const [row]: Record<string, unknown>[] = await this.dataSource.query(compiled.sql, p.values);
    const names = new Map([...(await this.findByIds(referencedSegments(segment.rule))).values()].map((s) => [s.id, s.name]));
    const byPath = new Map(compiled.leaves.map((l, i) => [l.path, { holds: row[`h${i}`] === true, figure: row[`f${i}`] ?? null }]));

    const conditions: ConditionExplanation[] = [];
    const walk = (node: SegmentRule, path: string): boolean => {
      if ('and' in node || 'or' in node || 'not' in node) {
        const index = conditions.length;
        conditions.push(undefined as never);
        const children =
          'and' in node
            ? node.and.map((n, i) => walk(n, `${path}.and[${i}]`))
            : 'or' in node
              ? node.or.map((n, i) => walk(n, `${path}.or[${i}]`))
              : [walk(node.not, `${path}.not`)];
        const holds = 'and' in node ? children.every(Boolean) : 'or' in node ? children.some(Boolean) : !children[0];
        const description = describeComposite(node, children);
        conditions[index] = {
          path,
          kind: 'and' in node ? 'AND' : 'or' in node ? 'OR' : 'NOT',
          holds,
          figure: null,
          description,
          masked: { figure: null, description },
        };
        return holds;
      }
      const key = Object.keys(node)[0];
      const leafPath = `${path}.${key}`;
      const result = present(byPath.get(leafPath), `the compiled rule's result for ${leafPath}`);
      const kind = key === 'inSegment' ? 'IN_SEGMENT' : (key.toUpperCase() as ConditionExplanation['kind']);
      const maskedFigure = maskFigure(node, result.figure, this.personalData);
      conditions.push({
        path: leafPath,
        kind,
        holds: result.holds,
        figure: result.figure,
        description: describeLeaf(node, result.figure, names),
        masked: { figure: maskedFigure, description: describeLeaf(maskRule(node, this.personalData) as SegmentRule, maskedFigure, names) },
      });
      return result.holds;
    };
    const matchesRule = walk(segment.rule, 'rule');
    return { ...base, matchesRule, conditions };
  }

  templates(): readonly SegmentTemplate[] {
    return SEGMENT_TEMPLATES;
  }

  async createFromTemplate(
    key: string,
    overrides: { name?: string | null; description?: string | null } = {},
    access: RuleAccess = NO_PII,
  ): Promise<SegmentRecord> {
    const template = SEGMENT_TEMPLATES.find((t) => t.key === key);
    if (!template) throw fail('NOT_FOUND', { detail: `no segment template "${key}"; see segmentTemplates` }, 'key');
    return this.create(
      { name: overrides.name ?? template.name, description: overrides.description ?? template.description, kind: 'DYNAMIC', rule: template.rule },
      access,
    );
  }

  private async changeMembers(segmentId: string, refs: MemberRef[], action: 'add' | 'remove'): Promise<MemberRowResult[]> {
    if (refs.length > MAX_MEMBERS_PER_CALL) {
      throw fail('BATCH_TOO_LARGE', { detail: `${refs.length} customers; the limit is ${MAX_MEMBERS_PER_CALL} per call` }, 'customers');
    }
    const segment = await this.get(segmentId);
    if (!segment) throw fail('SEGMENT_NOT_FOUND', { id: segmentId }, 'segmentId');
    if (segment.kind !== 'STATIC') {
      throw fail(
        'SEGMENT_KIND_MISMATCH',
        { detail: `segment "${segment.name}" is DYNAMIC: its members follow its rule; only STATIC segments take members by hand` },
        'segmentId',
      );
    }
    const resolved = await this.resolveRefs(refs);
    const ids = [...new Set(resolved.flatMap((r) => (r.customerId ? [r.customerId] : [])))];
    const changed = await inTransaction(this.dataSource, (manager) =>
      action === 'add' ? this.memberships.addMembers(manager, segmentId, ids) : this.memberships.removeMembers(manager, segmentId, ids),
    );
    const pending = new Set(changed);
    return resolved.map((r) => {
      if (!r.customerId) return r;
      const did = pending.delete(r.customerId);
      return { ...r, status: did ? (action === 'add' ? 'ADDED' : 'REMOVED') : 'UNCHANGED' };
    });
  }

  /** Resolves each reference to an existing customer (identifiers are looked up, never created). */
  private async resolveRefs(refs: MemberRef[]): Promise<MemberRowResult[]> {
    const results: MemberRowResult[] = [];
    const byIdentifier: { index: number; identifiers: { type: string; value: string }[] }[] = [];
    const byId: { index: number; id: string }[] = [];
    refs.forEach((ref, index) => {
      const reject = (code: ErrorCode, field: string, message: string) => {
        results[index] = { index, status: 'REJECTED', customerId: null, error: { code, field, message } };
      };
      const { id, identifiers: given } = ref;
      const neitherOrBoth = () => reject(ErrorCode.INVALID_FIELD, `customers[${index}]`, 'give exactly one of id or identifiers');
      if (id != null) {
        if (given != null) return neitherOrBoth();
        if (!isDatabaseId(id)) return reject(ErrorCode.CUSTOMER_NOT_FOUND, `customers[${index}].id`, `"${id}" is not a customer id`);
        byId.push({ index, id });
        return;
      }
      if (given == null) return neitherOrBoth();
      if (given.length === 0) return reject(ErrorCode.INVALID_IDENTIFIER, `customers[${index}].identifiers`, 'at least one identifier is needed');
      const identifiers = [];
      for (const [i, input] of given.entries()) {
        const n = normalizeIdentifier(input);
        if (isIdentifierProblem(n)) return reject(n.code, `customers[${index}].identifiers[${i}].${n.field}`, n.message);
        identifiers.push(n);
      }
      byIdentifier.push({ index, identifiers });
    });
    const existing = new Set<string>(
      byId.length
        ? (await this.dataSource.query(`SELECT id::text FROM customers WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL`, [byId.map((r) => r.id)])).map(
            (r: { id: string }) => r.id,
          )
        : [],
    );
    for (const { index, id } of byId) {
      results[index] = existing.has(id)
        ? { index, status: 'UNCHANGED', customerId: id, error: null }
        : {
            index,
            status: 'REJECTED',
            customerId: null,
            error: { code: ErrorCode.CUSTOMER_NOT_FOUND, field: `customers[${index}].id`, message: `customer ${id} does not exist` },
          };
    }
    if (byIdentifier.length) {
      const flat = byIdentifier.flatMap((r) => r.identifiers.map((i) => ({ row: r.index, ...i })));
      const found: { row: number; customer_id: string }[] = await this.dataSource.query(
        `SELECT q.row, i.customer_id::text
           FROM unnest($1::int[], $2::text[], $3::text[]) AS q(row, type, value)
           JOIN customer_identifiers i ON i.type = q.type AND i.value = q.value
           JOIN customers c ON c.id = i.customer_id AND c.deleted_at IS NULL`,
        [flat.map((f) => f.row), flat.map((f) => f.type), flat.map((f) => f.value)],
      );
      for (const { index } of byIdentifier) {
        const matches = [...new Set(found.filter((f) => f.row === index).map((f) => f.customer_id))];
        results[index] =
          matches.length === 1
            ? { index, status: 'UNCHANGED', customerId: matches[0], error: null }
            : matches.length === 0
              ? {
                  index,
                  status: 'REJECTED',
                  customerId: null,
                  error: { code: ErrorCode.CUSTOMER_NOT_FOUND, field: `customers[${index}].identifiers`, message: 'no customer has these identifiers' },
                }
              : {
                  index,
                  status: 'REJECTED',
                  customerId: null,
                  error: {
                    code: ErrorCode.IDENTITY_CONFLICT,
                    field: `customers[${index}].identifiers`,
                    message: `these identifiers belong to ${matches.length} different customers`,
                  },
                };
      }
    }
    return results;
  }

  private async checkInput(input: SegmentInput, access: RuleAccess, selfId?: string) {
    const name = input.name?.trim() ?? '';
    if (name.length === 0 || name.length > 200 || name.includes('\u0000')) {
      throw fail('VALIDATION_FAILED', { detail: 'name must be 1 to 200 characters' }, 'input.name');
    }
    const description = input.description?.trim() || null;
    if (description && (description.length > 2000 || description.includes('\u0000'))) {
      throw fail('VALIDATION_FAILED', { detail: 'description must be at most 2000 characters' }, 'input.description');
    }
    const kind: SegmentKind = input.kind ?? 'DYNAMIC';
    if (kind === 'STATIC' && input.rule != null) {
      throw fail('SEGMENT_KIND_MISMATCH', { detail: 'a STATIC segment has no rule: its members are added by hand' }, 'input.rule');
    }
    if (kind === 'DYNAMIC' && input.rule == null) throw fail('SEGMENT_RULE_INVALID', { detail: 'a DYNAMIC segment needs a rule' }, 'input.rule');
    const rule = kind === 'DYNAMIC' ? await this.validateRule(input.rule, { selfId, root: 'input.rule', access }) : null;
    return { name, description, kind, rule };
  }

  private async writeUnique<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (sqlState(error) === '23505') throw fail('SEGMENT_NAME_TAKEN', { name }, 'input.name');
      throw error;
    }
  }

  private async checkCycles(selfId: string, refs: { id: string; field: string }[]): Promise<void> {
    const all: { id: string; name: string; rule: SegmentRule | null }[] = await this.dataSource.query(
      `SELECT id::text, name, rule FROM segments WHERE kind = 'DYNAMIC'`,
    );
    const byId = new Map(all.map((s) => [s.id, s]));
    const reaches = (from: string, seen: Set<string>): string[] | null => {
      if (from === selfId) return [from];
      if (seen.has(from)) return null;
      seen.add(from);
      for (const next of referencedSegments(byId.get(from)?.rule)) {
        const path = reaches(next, seen);
        if (path) return [from, ...path];
      }
      return null;
    };
    for (const ref of refs) {
      const path = reaches(ref.id, new Set());
      if (path) {
        const names = [selfId, ...path].map((id) => `"${byId.get(id)?.name ?? id}"`);
        throw fail('SEGMENT_RULE_CYCLE', { field: ref.field, path: names.join(' → ') }, ref.field);
      }
    }
  }

  private async hasScoresTable(): Promise<boolean> {
    if (!this.scoresAvailable) {
      const [row] = await this.dataSource.query(`SELECT to_regclass('scores') IS NOT NULL AS present`);
      this.scoresAvailable = row.present === true;
    }
    return this.scoresAvailable;
  }
}

function sqlState(error: unknown): string | undefined {
  return (error as { driverError?: { code?: string } }).driverError?.code ?? (error as { code?: string }).code;
}

export function toSegmentRecord(row: Record<string, unknown>): SegmentRecord {
  return {
    id: String(row.id),
    name: row.name as string,
    description: (row.description as string | null) ?? null,
    kind: row.kind as SegmentKind,
    rule: (row.rule as SegmentRule | null) ?? null,
    size: Number(row.size),
    status: row.status as SegmentStatus,
    refreshedAt: (row.refreshedAt as Date | null) ?? null,
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
  };
}

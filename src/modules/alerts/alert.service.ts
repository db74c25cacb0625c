import type { DataSource, EntityManager } from 'typeorm';
import { fail } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import { pageSize, SqlParams, type SortKey } from '../../infra/sql-filter';
import { publish, type DomainEvent } from '../events';
import { SCORE_KINDS, scoreRange, type ScoreKind } from '../scores';
import type { SegmentService } from '../segments';
import { ALERT_TEMPLATES, type AlertTemplate } from './alert-templates';

export const ALERT_TRIGGERS = ['SEGMENT_ENTERED', 'SCORE_CROSSES', 'SCORE_CHANGES'] as const;
export type AlertTrigger = (typeof ALERT_TRIGGERS)[number];
/** FEED: the internal worklist (always on); SUBSCRIPTION: the alertFired subscription; WEBHOOK: the `alert.fired` event for webhook endpoints. */
export const ALERT_DESTINATIONS = ['FEED', 'SUBSCRIPTION', 'WEBHOOK'] as const;
export type AlertDestination = (typeof ALERT_DESTINATIONS)[number];
export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const SCORE_DIRECTIONS = ['UP', 'DOWN', 'EITHER'] as const;
export type ScoreDirection = (typeof SCORE_DIRECTIONS)[number];

/** Cool-down of a rule created without one: a customer alerts at most once a day per rule. */
export const DEFAULT_COOLDOWN_SECONDS = 86_400;
export const MAX_COOLDOWN_SECONDS = 366 * 86_400;
const MAX_NAME = 200;
const MAX_TEXT = 2_000;

/** What a rule watches for. Exactly one member is set. */
export interface AlertTriggerInput {
  /** A customer enters the segment (database id). */
  segmentEntered?: { segmentId: string } | null;
  /** The score crosses `threshold`: UP from below (or no score) to at least it, DOWN from at least it to below. */
  scoreCrosses?: { kind: string; threshold: number; direction?: ScoreDirection | null } | null;
  /** The score moves by at least `minChange` between two values (UP, DOWN or EITHER). */
  scoreChanges?: { kind: string; minChange: number; direction?: ScoreDirection | null } | null;
}

/** What a rule does once it fires. */
export interface AlertRuleSettings {
  destinations?: readonly AlertDestination[] | null;
  cooldownSeconds?: number | null;
  /** Who works the rule's alerts; without it, each alert goes to its customer's owner. */
  owner?: string | null;
  enabled?: boolean | null;
}

export interface AlertRuleInput extends AlertRuleSettings {
  name: string;
  description?: string | null;
  trigger: AlertTriggerInput;
}

export interface AlertRuleRecord {
  id: string;
  name: string;
  description: string | null;
  trigger: AlertTrigger;
  segmentId: string | null;
  scoreKind: string | null;
  threshold: number | null;
  minChange: number | null;
  direction: ScoreDirection;
  destinations: AlertDestination[];
  cooldownSeconds: number;
  owner: string | null;
  enabled: boolean;
  template: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AlertRecord {
  id: string;
  ruleId: string | null;
  ruleName: string;
  customerId: string;
  trigger: AlertTrigger;
  segmentId: string | null;
  scoreKind: string | null;
  value: number | null;
  previousValue: number | null;
  status: AlertStatus;
  owner: string | null;
  triggeredAt: Date;
  firedAt: Date;
  suppressed: number;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  resolvedAt: Date | null;
  resolvedBy: string | null;
}

export interface AlertFilter {
  status?: AlertStatus | null;
  owner?: string | null;
  ruleId?: string | null;
  customerId?: string | null;
}

/** What the caller may see: alerts on segments over personal data need pii:read (their membership tells the values). */
export interface AlertAccess {
  piiRead: boolean;
}

const RULE_COLUMNS = `r.id::text, r.name, r.description, r.trigger, r.segment_id::text AS "segmentId", r.score_kind AS "scoreKind",
  r.threshold, r.min_change AS "minChange", r.direction, r.destinations, r.cooldown_seconds AS "cooldownSeconds", r.owner, r.enabled,
  r.template, r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;
const ALERT_COLUMNS = `a.id::text, a.rule_id::text AS "ruleId", a.rule_name AS "ruleName", a.customer_id::text AS "customerId", a.trigger,
  a.segment_id::text AS "segmentId", a.score_kind AS "scoreKind", a.value, a.previous_value AS "previousValue", a.status, a.owner,
  a.triggered_at AS "triggeredAt", a.fired_at AS "firedAt", a.suppressed, a.acknowledged_at AS "acknowledgedAt",
  a.acknowledged_by AS "acknowledgedBy", a.resolved_at AS "resolvedAt", a.resolved_by AS "resolvedBy"`;
/** Newest first: ids grow with firing order. */
const ALERT_KEY: SortKey[] = [{ sql: 'a.id', direction: 'DESC', cast: 'bigint' }];

const invalid = (field: string, detail: string) => fail('VALIDATION_FAILED', { detail }, field);

/**
 * Alert rules, the alerts they fire and the worklist over them. Rules fire
 * from the outbox (segment.entered, score.changed), in the dispatcher's
 * transaction for that event: the alert, its cool-down check and its
 * `alert.fired` event commit together, once per event.
 */
export class AlertService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly segments: SegmentService,
  ) {}

  // Rules

  async rules(): Promise<AlertRuleRecord[]> {
    return (await this.dataSource.query(`SELECT ${RULE_COLUMNS} FROM alert_rules r ORDER BY r.id`)).map(toRule);
  }

  async rule(id: string): Promise<AlertRuleRecord | null> {
    const [row] = await this.dataSource.query(`SELECT ${RULE_COLUMNS} FROM alert_rules r WHERE r.id = $1`, [id]);
    return row ? toRule(row) : null;
  }

  async createRule(input: AlertRuleInput, access: AlertAccess): Promise<AlertRuleRecord> {
    const rule = await this.checkRule(input, access);
    return this.writeUnique(rule.name, () => this.insertRule(rule, null));
  }

  private async insertRule(rule: CheckedRule, template: string | null): Promise<AlertRuleRecord> {
    const [row] = await inTransaction(this.dataSource, (manager) =>
      manager.query(
        `INSERT INTO alert_rules AS r (name, description, trigger, segment_id, score_kind, threshold, min_change, direction, destinations,
                                       cooldown_seconds, owner, enabled, template)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10, $11, $12, $13) RETURNING ${RULE_COLUMNS}`,
        [...ruleParams(rule), template],
      ),
    );
    return toRule(row);
  }

  /** Replaces a rule's definition (its alerts stay). */
  async updateRule(id: string, input: AlertRuleInput, access: AlertAccess): Promise<AlertRuleRecord> {
    if (!(await this.rule(id))) throw fail('ALERT_RULE_NOT_FOUND', { id }, 'id');
    const rule = await this.checkRule(input, access, id);
    return this.writeUnique(rule.name, async () => {
      const [[row]] = await inTransaction(this.dataSource, (manager) =>
        manager.query(
          `UPDATE alert_rules r SET name = $1, description = $2, trigger = $3, segment_id = $4, score_kind = $5, threshold = $6, min_change = $7,
                  direction = $8, destinations = $9::text[], cooldown_seconds = $10, owner = $11, enabled = $12, updated_at = now()
            WHERE r.id = $13 RETURNING ${RULE_COLUMNS}`,
          [...ruleParams(rule), id],
        ),
      );
      if (!row) throw fail('ALERT_RULE_NOT_FOUND', { id }, 'id');
      return toRule(row);
    });
  }

  /** Deletes a rule; its alerts stay on the worklist under the rule's name. */
  async deleteRule(id: string): Promise<boolean> {
    const [, affected]: [unknown[], number] = await inTransaction(this.dataSource, (manager) => manager.query(`DELETE FROM alert_rules WHERE id = $1`, [id]));
    return affected > 0;
  }

  templates(): readonly AlertTemplate[] {
    return ALERT_TEMPLATES;
  }

  /**
   * Creates a template's segment and a SEGMENT_ENTERED rule on it, in one
   * transaction: both or neither.
   */
  async createRuleFromTemplate(
    key: string,
    input: AlertRuleSettings & { name?: string | null; parameters?: Record<string, number> | null },
    access: AlertAccess,
  ): Promise<AlertRuleRecord> {
    const template = ALERT_TEMPLATES.find((t) => t.key === key);
    if (!template) throw fail('NOT_FOUND', { detail: `no alert template "${key}"; see alertTemplates` }, 'key');
    const values: Record<string, number> = {};
    for (const name of Object.keys(input.parameters ?? {})) {
      if (!template.parameters.some((p) => p.name === name))
        throw invalid(`input.parameters.${name}`, `template "${key}" has no parameter "${name}" (it has ${template.parameters.map((p) => p.name).join(', ')})`);
    }
    for (const p of template.parameters) {
      const value = input.parameters?.[p.name] ?? p.default;
      const field = `input.parameters.${p.name}`;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(field, `${p.name} must be a number`);
      if (p.integer && !Number.isInteger(value)) throw invalid(field, `${p.name} must be a whole number`);
      if (value < p.min || value > p.max) throw invalid(field, `${p.name} must be between ${p.min} and ${p.max} (got ${value})`);
      values[p.name] = value;
    }
    const name = (input.name ?? template.name).trim();
    const settings: AlertRuleSettings = { ...template.defaults(values), ...definedOnly(input) };
    // Everything is checked before anything is written; the trigger is the segment created below.
    const checked = await this.checkRule(
      { ...settings, name, description: template.description, trigger: { scoreChanges: { kind: 'CLV', minChange: 1 } } },
      access,
    );
    return this.writeUnique(name, () =>
      inTransaction(this.dataSource, async () => {
        const segment = await this.segments.create(
          {
            name: `Alert: ${name}`,
            description: `Segment of the alert rule "${name}" (template ${key}).`,
            kind: 'DYNAMIC',
            rule: template.segmentRule(values),
          },
          access,
        );
        const trigger: CheckedTrigger = {
          trigger: 'SEGMENT_ENTERED',
          segmentId: segment.id,
          scoreKind: null,
          threshold: null,
          minChange: null,
          direction: 'UP',
        };
        return this.insertRule({ ...checked, ...trigger }, key);
      }),
    );
  }

  // Firing

  /**
   * Which segments and score kinds enabled rules watch, for the dispatcher's
   * interest check. Read again whenever an event newer than the last read
   * arrives, so a rule applies to every change that started after it was
   * committed, whatever the process.
   */
  interest(): { wants(event: DomainEvent): Promise<boolean> } {
    let loadedAt = -Infinity;
    let segments = new Set<string>();
    let kinds = new Set<string>();
    let loading: Promise<void> | undefined;
    const load = async () => {
      const [row] = await this.dataSource.query(
        `SELECT now() AS now,
                COALESCE(array_agg(DISTINCT segment_id::text) FILTER (WHERE segment_id IS NOT NULL), '{}') AS segments,
                COALESCE(array_agg(DISTINCT score_kind) FILTER (WHERE score_kind IS NOT NULL), '{}') AS kinds
           FROM alert_rules WHERE enabled`,
      );
      segments = new Set(row.segments);
      kinds = new Set(row.kinds);
      loadedAt = new Date(row.now).getTime();
    };
    return {
      wants: async (event) => {
        if (new Date(event.occurredAt).getTime() >= loadedAt) {
          loading ??= load().finally(() => (loading = undefined));
          await loading;
        }
        const payload = event.payload as { segmentId?: string; kind?: string };
        if (event.type === 'segment.entered') return segments.has(String(payload.segmentId));
        if (event.type === 'score.changed') return kinds.has(String(payload.kind));
        return false;
      },
    };
  }

  /** segment.entered: fires the enabled SEGMENT_ENTERED rules of the segment. */
  async onSegmentEntered(event: DomainEvent<'segment.entered'>, manager: EntityManager): Promise<void> {
    const rules: AlertRuleRecord[] = (
      await manager.query(
        `SELECT ${RULE_COLUMNS} FROM alert_rules r
          WHERE r.enabled AND r.trigger = 'SEGMENT_ENTERED' AND r.segment_id = $1 AND r.created_at <= $2 ORDER BY r.id`,
        [event.payload.segmentId, event.occurredAt],
      )
    ).map(toRule);
    for (const rule of rules) await this.fire(manager, rule, event, { segmentId: event.payload.segmentId });
  }

  /** score.changed: fires the enabled score rules of the kind whose condition the change meets. */
  async onScoreChanged(event: DomainEvent<'score.changed'>, manager: EntityManager): Promise<void> {
    const change = event.payload;
    const rules: AlertRuleRecord[] = (
      await manager.query(
        `SELECT ${RULE_COLUMNS} FROM alert_rules r
          WHERE r.enabled AND r.trigger IN ('SCORE_CROSSES', 'SCORE_CHANGES') AND r.score_kind = $1 AND r.created_at <= $2 ORDER BY r.id`,
        [change.kind, event.occurredAt],
      )
    ).map(toRule);
    for (const rule of rules) {
      if (matchesScoreRule(rule, change.value, change.previousValue))
        await this.fire(manager, rule, event, { kind: change.kind, value: change.value, previousValue: change.previousValue });
    }
  }

  /**
   * Records an alert unless the rule fired for this customer within its
   * cool-down before this change (then the earlier alert counts one more
   * suppressed firing), and publishes `alert.fired` for rules that go beyond
   * the feed.
   */
  private async fire(
    manager: EntityManager,
    rule: AlertRuleRecord,
    event: DomainEvent,
    detail: { segmentId?: string; kind?: string; value?: number | null; previousValue?: number | null },
  ): Promise<void> {
    const rows: { id: string; owner: string | null }[] = await manager.query(
      `WITH recent AS (
         SELECT id FROM alerts WHERE rule_id = $1 AND customer_id = $2
            AND triggered_at > $3::timestamptz - make_interval(secs => $4) AND triggered_at <= $3::timestamptz
          ORDER BY triggered_at DESC LIMIT 1),
       bumped AS (UPDATE alerts SET suppressed = suppressed + 1 WHERE id IN (SELECT id FROM recent) RETURNING id)
       INSERT INTO alerts (rule_id, rule_name, customer_id, trigger, segment_id, score_kind, value, previous_value, owner, event_id, triggered_at)
       SELECT $1, $5, c.id, $6, $7, $8, $9, $10, COALESCE($11, c.owner), $12, $3::timestamptz
         FROM customers c WHERE c.id = $2 AND c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM recent)
       RETURNING id::text, owner`,
      [
        rule.id,
        event.customerId,
        event.occurredAt,
        rule.cooldownSeconds,
        rule.name,
        rule.trigger,
        detail.segmentId ?? null,
        detail.kind ?? null,
        detail.value ?? null,
        detail.previousValue ?? null,
        rule.owner,
        event.id,
      ],
    );
    const [alert] = rows;
    if (!alert) return;
    const outward = rule.destinations.filter((d) => d !== 'FEED');
    if (outward.length === 0) return;
    await publish(manager, 'alert.fired', [
      {
        customerId: event.customerId,
        payload: { alertId: alert.id, ruleId: rule.id, customerId: event.customerId, trigger: rule.trigger, ...detail, destinations: outward },
      },
    ]);
  }

  // The worklist

  async alert(id: string): Promise<AlertRecord | null> {
    const [row] = await this.dataSource.query(`SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.id = $1`, [id]);
    return row ? toAlert(row) : null;
  }

  /** Alerts newest first, narrowed by `filter`; those on segments the caller may not see are left out. */
  async list(filter: AlertFilter, access: AlertAccess, args: { first?: number | null; after?: string | null }) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const where: string[] = [];
    if (filter.status) where.push(`a.status = ${p.add(filter.status)}`);
    if (filter.owner != null) where.push(`a.owner = ${p.add(filter.owner)}`);
    if (filter.ruleId) where.push(`a.rule_id = ${p.add(filter.ruleId)}::bigint`);
    if (filter.customerId) where.push(`a.customer_id = ${p.add(filter.customerId)}::bigint`);
    if (!access.piiRead) {
      const hidden = [...(await this.segments.personalSegmentIds())];
      if (hidden.length) where.push(`(a.segment_id IS NULL OR a.segment_id <> ALL(${p.add(hidden)}::bigint[]))`);
    }
    const filterSql = where.length ? where.join(' AND ') : 'TRUE';
    const count = new SqlParams(p.values);
    const { orderBy, select, condition } = keysetClauses(ALERT_KEY, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT ${ALERT_COLUMNS}, ${select} FROM alerts a WHERE ${filterSql} AND ${condition} ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    const page: Page<AlertRecord> = toPage(rows, ALERT_KEY, first, args.after, toAlert);
    return {
      ...page,
      totalCount: async () => (await this.dataSource.query(`SELECT count(*)::int AS n FROM alerts a WHERE ${filterSql}`, count.values))[0].n as number,
    };
  }

  /**
   * Moves an alert on the worklist: OPEN → ACKNOWLEDGED → RESOLVED (OPEN →
   * RESOLVED too). Acknowledging again only changes the owner, when given.
   *
   * @throws RapportError ALERT_NOT_FOUND, FORBIDDEN (an alert on a segment over personal data, without pii:read), ALERT_STATUS_CONFLICT
   */
  async transition(id: string, action: 'acknowledge' | 'resolve', actor: string, owner: string | null | undefined, access: AlertAccess): Promise<AlertRecord> {
    if (owner != null && (owner.trim() === '' || owner.length > MAX_NAME)) throw invalid('owner', `owner must be 1 to ${MAX_NAME} characters`);
    await this.requireVisible(id, access);
    return inTransaction(this.dataSource, async (manager) => {
      const [current] = await manager.query(`SELECT status FROM alerts WHERE id = $1 FOR UPDATE`, [id]);
      if (!current) throw fail('ALERT_NOT_FOUND', { id }, 'id');
      if (current.status === 'RESOLVED') throw fail('ALERT_STATUS_CONFLICT', { id, status: 'RESOLVED', action: `${action}d` }, 'id');
      const [[row]] =
        action === 'acknowledge'
          ? await manager.query(
              `UPDATE alerts a SET status = 'ACKNOWLEDGED', owner = COALESCE($2, a.owner),
                      acknowledged_at = COALESCE(a.acknowledged_at, now()), acknowledged_by = COALESCE(a.acknowledged_by, $3)
                WHERE a.id = $1 RETURNING ${ALERT_COLUMNS}`,
              [id, owner ?? null, actor],
            )
          : await manager.query(
              `UPDATE alerts a SET status = 'RESOLVED', owner = COALESCE($2, a.owner), resolved_at = now(), resolved_by = $3
                WHERE a.id = $1 RETURNING ${ALERT_COLUMNS}`,
              [id, owner ?? null, actor],
            );
      return toAlert(row);
    });
  }

  /** @throws RapportError ALERT_NOT_FOUND, or FORBIDDEN naming `field` for an alert on a segment over personal data without pii:read. */
  async requireVisible(id: string, access: AlertAccess, field = 'id'): Promise<AlertRecord> {
    const alert = await this.alert(id);
    if (!alert) throw fail('ALERT_NOT_FOUND', { id }, field);
    if (!this.visible(alert, access, await this.hiddenSegments(access))) {
      throw fail('FORBIDDEN', { detail: 'this alert is about a segment defined on personal data: it requires the scope pii:read' }, field);
    }
    return alert;
  }

  async hiddenSegments(access: AlertAccess): Promise<ReadonlySet<string>> {
    return access.piiRead ? new Set() : this.segments.personalSegmentIds();
  }

  visible(alert: Pick<AlertRecord, 'segmentId'>, access: AlertAccess, hidden: ReadonlySet<string>): boolean {
    return access.piiRead || !alert.segmentId || !hidden.has(alert.segmentId);
  }

  /** @throws RapportError FORBIDDEN naming `field` when the rule watches a segment over personal data and the caller lacks pii:read. */
  async requireRuleVisible(rule: AlertRuleRecord, access: AlertAccess, field: string): Promise<void> {
    if (rule.segmentId && (await this.hiddenSegments(access)).has(rule.segmentId)) {
      throw fail('FORBIDDEN', { detail: 'this rule watches a segment defined on personal data: its alerts require the scope pii:read' }, field);
    }
  }

  private async checkRule(input: AlertRuleInput, access: AlertAccess, selfId?: string): Promise<CheckedRule> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (!name || name.length > MAX_NAME) throw invalid('input.name', `name must be 1 to ${MAX_NAME} characters`);
    const description = input.description?.trim() || null;
    if (description && description.length > MAX_TEXT) throw invalid('input.description', `description must be at most ${MAX_TEXT} characters`);
    const owner = input.owner?.trim() || null;
    if (owner && owner.length > MAX_NAME) throw invalid('input.owner', `owner must be at most ${MAX_NAME} characters`);
    const cooldownSeconds = input.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS;
    if (!Number.isInteger(cooldownSeconds) || cooldownSeconds < 0 || cooldownSeconds > MAX_COOLDOWN_SECONDS)
      throw invalid('input.cooldownSeconds', `cooldownSeconds must be a whole number from 0 to ${MAX_COOLDOWN_SECONDS}`);
    const destinations: AlertDestination[] = ['FEED'];
    for (const [i, d] of (input.destinations ?? []).entries()) {
      if (!(ALERT_DESTINATIONS as readonly string[]).includes(d)) throw invalid(`input.destinations[${i}]`, `unknown destination ${String(d)}`);
      if (!destinations.includes(d)) destinations.push(d);
    }
    const trigger = await this.checkTrigger(input.trigger, access);
    const [taken] = await this.dataSource.query(`SELECT id::text FROM alert_rules WHERE name = $1 AND ($2::bigint IS NULL OR id <> $2::bigint)`, [
      name,
      selfId ?? null,
    ]);
    if (taken) throw fail('ALERT_RULE_NAME_TAKEN', { name }, 'input.name');
    return { name, description, owner, cooldownSeconds, destinations, enabled: input.enabled ?? true, ...trigger };
  }

  private async checkTrigger(trigger: AlertTriggerInput | null | undefined, access: AlertAccess): Promise<CheckedTrigger> {
    const given = Object.entries(trigger ?? {}).filter(([, v]) => v != null);
    if (given.length !== 1) throw invalid('input.trigger', 'give exactly one of segmentEntered, scoreCrosses and scoreChanges');
    const none = { segmentId: null, scoreKind: null, threshold: null, minChange: null, direction: 'UP' as ScoreDirection };
    const direction = (d: ScoreDirection | null | undefined, field: string): ScoreDirection => {
      if (d == null) return 'UP';
      if (!(SCORE_DIRECTIONS as readonly string[]).includes(d)) throw invalid(field, `direction must be one of ${SCORE_DIRECTIONS.join(', ')}`);
      return d;
    };
    const kind = (k: string, field: string) => {
      if (!(SCORE_KINDS as readonly string[]).includes(k)) throw invalid(field, `kind must be one of ${SCORE_KINDS.join(', ')}`);
      return k;
    };
    if (trigger?.segmentEntered) {
      const field = 'input.trigger.segmentEntered.segmentId';
      const segmentId = trigger.segmentEntered.segmentId;
      if (!(await this.segments.get(segmentId))) throw fail('SEGMENT_NOT_FOUND', { id: segmentId }, field);
      if (!access.piiRead && (await this.segments.personalSegmentIds()).has(segmentId)) {
        throw fail('FORBIDDEN', { detail: 'this segment is defined on personal data: alerting on its members requires the scope pii:read' }, field);
      }
      return { ...none, trigger: 'SEGMENT_ENTERED', segmentId };
    }
    if (trigger?.scoreCrosses) {
      const c = trigger.scoreCrosses;
      if (typeof c.threshold !== 'number' || !Number.isFinite(c.threshold))
        throw invalid('input.trigger.scoreCrosses.threshold', 'threshold must be a finite number');
      const scoreKind = kind(c.kind, 'input.trigger.scoreCrosses.kind');
      // A threshold outside the kind's range is never crossed: the rule would be accepted and never fire.
      const range = scoreRange(scoreKind as ScoreKind);
      if (range && (c.threshold < range[0] || c.threshold > range[1]))
        throw invalid(
          'input.trigger.scoreCrosses.threshold',
          `${scoreKind} scores are between ${range[0]} and ${range[1]}: a threshold of ${c.threshold} is never crossed`,
        );
      return {
        ...none,
        trigger: 'SCORE_CROSSES',
        scoreKind,
        threshold: c.threshold,
        direction: direction(c.direction, 'input.trigger.scoreCrosses.direction'),
      };
    }
    const c = trigger?.scoreChanges;
    if (!c) throw invalid('input.trigger', 'give exactly one of segmentEntered, scoreCrosses and scoreChanges');
    if (typeof c.minChange !== 'number' || !Number.isFinite(c.minChange) || c.minChange <= 0)
      throw invalid('input.trigger.scoreChanges.minChange', 'minChange must be a number greater than 0');
    const scoreKind = kind(c.kind, 'input.trigger.scoreChanges.kind');
    const range = scoreRange(scoreKind as ScoreKind);
    if (range && c.minChange > range[1] - range[0])
      throw invalid('input.trigger.scoreChanges.minChange', `${scoreKind} scores are between ${range[0]} and ${range[1]}: they never change by ${c.minChange}`);
    return {
      ...none,
      trigger: 'SCORE_CHANGES',
      scoreKind,
      minChange: c.minChange,
      direction: direction(c.direction, 'input.trigger.scoreChanges.direction'),
    };
  }

  private async writeUnique<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      const code =
        (error as { driverError?: { code?: string; constraint?: string }; code?: string }).driverError ?? (error as { code?: string; constraint?: string });
      if (code.code === '23505' && code.constraint === 'alert_rules_name_key') throw fail('ALERT_RULE_NAME_TAKEN', { name }, 'input.name');
      throw error;
    }
  }
}

type CheckedRule = {
  name: string;
  description: string | null;
  owner: string | null;
  cooldownSeconds: number;
  destinations: AlertDestination[];
  enabled: boolean;
} & CheckedTrigger;

interface CheckedTrigger {
  trigger: AlertTrigger;
  segmentId: string | null;
  scoreKind: string | null;
  threshold: number | null;
  minChange: number | null;
  direction: ScoreDirection;
}

/** Whether a score change from `previous` to `value` meets a score rule. */
export function matchesScoreRule(
  rule: Pick<AlertRuleRecord, 'trigger' | 'threshold' | 'minChange' | 'direction'>,
  value: number | null,
  previous: number | null,
): boolean {
  const up = rule.direction !== 'DOWN';
  const down = rule.direction !== 'UP';
  if (rule.trigger === 'SCORE_CROSSES' && rule.threshold != null) {
    const t = rule.threshold;
    const crossedUp = value != null && value >= t && (previous == null || previous < t);
    const crossedDown = previous != null && previous >= t && (value == null || value < t);
    return (up && crossedUp) || (down && crossedDown);
  }
  if (rule.trigger === 'SCORE_CHANGES' && rule.minChange != null) {
    if (value == null || previous == null) return false;
    const delta = value - previous;
    return (up && delta >= rule.minChange) || (down && -delta >= rule.minChange);
  }
  return false;
}

function ruleParams(rule: CheckedRule): unknown[] {
  return [
    rule.name,
    rule.description,
    rule.trigger,
    rule.segmentId,
    rule.scoreKind,
    rule.threshold,
    rule.minChange,
    rule.direction,
    rule.destinations,
    rule.cooldownSeconds,
    rule.owner,
    rule.enabled,
  ];
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => v != null && k !== 'parameters' && k !== 'name')) as Partial<T>;
}

function toRule(row: Record<string, unknown>): AlertRuleRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    description: (row.description as string | null) ?? null,
    trigger: row.trigger as AlertTrigger,
    segmentId: (row.segmentId as string | null) ?? null,
    scoreKind: (row.scoreKind as string | null) ?? null,
    threshold: row.threshold == null ? null : Number(row.threshold),
    minChange: row.minChange == null ? null : Number(row.minChange),
    direction: row.direction as ScoreDirection,
    destinations: row.destinations as AlertDestination[],
    cooldownSeconds: Number(row.cooldownSeconds),
    owner: (row.owner as string | null) ?? null,
    enabled: Boolean(row.enabled),
    template: (row.template as string | null) ?? null,
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
  };
}

function toAlert(row: Record<string, unknown>): AlertRecord {
  return {
    id: String(row.id),
    ruleId: (row.ruleId as string | null) ?? null,
    ruleName: String(row.ruleName),
    customerId: String(row.customerId),
    trigger: row.trigger as AlertTrigger,
    segmentId: (row.segmentId as string | null) ?? null,
    scoreKind: (row.scoreKind as string | null) ?? null,
    value: row.value == null ? null : Number(row.value),
    previousValue: row.previousValue == null ? null : Number(row.previousValue),
    status: row.status as AlertStatus,
    owner: (row.owner as string | null) ?? null,
    triggeredAt: row.triggeredAt as Date,
    firedAt: row.firedAt as Date,
    suppressed: Number(row.suppressed),
    acknowledgedAt: (row.acknowledgedAt as Date | null) ?? null,
    acknowledgedBy: (row.acknowledgedBy as string | null) ?? null,
    resolvedAt: (row.resolvedAt as Date | null) ?? null,
    resolvedBy: (row.resolvedBy as string | null) ?? null,
  };
}

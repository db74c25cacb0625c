import type { DataSource } from 'typeorm';
import { fail } from '../../errors/catalog';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import {
  checkFilterText,
  compileDateTimeFilter,
  compileFilterTree,
  compileIdFilter,
  compileNumberFilter,
  compileStringFilter,
  pageSize,
  SqlParams,
  type DateTimeFilter,
  type FilterTree,
  type IdFilter,
  type NumberFilter,
  type SortKey,
  type StringFilter,
} from '../../infra/sql-filter';
import type { CustomerKind } from './customer-kind';
import { scoreCondition, scoreSortExpression, type ScoreFilter } from '../scores';
import type { ScoreKind } from '../scores';
import { isIdentifierProblem, normalizeIdentifier, type IdentifierInput } from './identity';
import { isDatabaseId } from '../../infra/db-values';

/** A customer as reads return it. */
export interface CustomerRecord {
  id: string;
  kind: CustomerKind;
  displayName: string | null;
  organizationId: string | null;
  lifecycleStage: string | null;
  owner: string | null;
  traits: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/** A condition on one trait, addressed by a dot path (`industry`, `address.city`). */
export interface TraitFilter {
  path: string;
  eq?: unknown;
  ne?: unknown;
  in?: unknown[] | null;
  gt?: number | null;
  gte?: number | null;
  lt?: number | null;
  lte?: number | null;
  contains?: string | null;
  exists?: boolean | null;
}

export interface CustomerFilterFields {
  id?: IdFilter | null;
  kind?: { eq?: CustomerKind | null; in?: CustomerKind[] | null } | null;
  displayName?: StringFilter | null;
  lifecycleStage?: StringFilter | null;
  owner?: StringFilter | null;
  organizationId?: IdFilter | null;
  createdAt?: DateTimeFilter | null;
  updatedAt?: DateTimeFilter | null;
  identifier?: IdentifierInput | null;
  traits?: TraitFilter[] | null;
  interactionCount?: NumberFilter | null;
  transactionCount?: NumberFilter | null;
  transactionValue?: NumberFilter | null;
  lastSeenAt?: DateTimeFilter | null;
  /** A condition on one kind of score (value, label). */
  score?: ScoreFilter | null;
}
export type CustomerFilter = CustomerFilterFields & FilterTree<CustomerFilterFields>;

export const CUSTOMER_ORDER_FIELDS = [
  'ID',
  'CREATED_AT',
  'UPDATED_AT',
  'DISPLAY_NAME',
  'LAST_SEEN_AT',
  'INTERACTION_COUNT',
  'TRANSACTION_VALUE',
  'SCORE',
] as const;
export type CustomerOrderField = (typeof CUSTOMER_ORDER_FIELDS)[number];
/** Orderings by personal data: the order of rows tells the values (callers need pii:read). */
export const PERSONAL_ORDER_FIELDS: ReadonlySet<CustomerOrderField> = new Set(['DISPLAY_NAME']);
export interface CustomerOrder {
  field: CustomerOrderField;
  direction?: 'ASC' | 'DESC' | null;
  /** Which score, when field is SCORE. */ scoreKind?: ScoreKind | null;
}

const SORT_SQL: Record<Exclude<CustomerOrderField, 'SCORE'>, Omit<SortKey, 'direction'>> = {
  ID: { sql: 'c.id', cast: 'bigint' },
  CREATED_AT: { sql: 'c.created_at', cast: 'timestamptz' },
  UPDATED_AT: { sql: 'c.updated_at', cast: 'timestamptz' },
  DISPLAY_NAME: { sql: `COALESCE(c.display_name, '')`, cast: 'text' },
  LAST_SEEN_AT: { sql: `COALESCE(s.last_seen_at, '-infinity'::timestamptz)`, cast: 'timestamptz' },
  INTERACTION_COUNT: { sql: 'COALESCE(s.interaction_count, 0)', cast: 'integer' },
  TRANSACTION_VALUE: { sql: 'COALESCE(s.transaction_value, 0)', cast: 'numeric' },
};

export const CUSTOMER_COLUMNS = `c.id::text AS id, c.kind, c.display_name AS "displayName", c.organization_id::text AS "organizationId",
  c.lifecycle_stage AS "lifecycleStage", c.owner, c.traits, c.created_at AS "createdAt", c.updated_at AS "updatedAt"`;

/** Aggregates over a customer's interactions (the customer_stats row). */
export interface CustomerStatsRecord {
  interactionCount: number;
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  transactionCount: number;
  transactionValue: number;
  channels: Record<string, number>;
  updatedAt: Date | null;
}

/** A customer's stats row, read beside the customer (prefixed, from the joined `s`): the columns and casts of the stats loader's own statement. */
const STATS_COLUMNS = `s.customer_id IS NOT NULL AS "s.found", s.interaction_count AS "s.interactionCount", s.first_seen_at AS "s.firstSeenAt",
  s.last_seen_at AS "s.lastSeenAt", s.transaction_count AS "s.transactionCount", s.transaction_value::float8 AS "s.transactionValue",
  s.channels AS "s.channels", s.updated_at AS "s.updatedAt"`;

/** The stats record of a row read with STATS_COLUMNS; null when the customer has no stats row. */
function toStatsRecord(row: Record<string, unknown>): CustomerStatsRecord | null {
  if (!row['s.found']) return null;
  return {
    interactionCount: row['s.interactionCount'] as number,
    firstSeenAt: row['s.firstSeenAt'] as Date | null,
    lastSeenAt: row['s.lastSeenAt'] as Date | null,
    transactionCount: row['s.transactionCount'] as number,
    transactionValue: row['s.transactionValue'] as number,
    channels: row['s.channels'] as Record<string, number>,
    updatedAt: row['s.updatedAt'] as Date | null,
  };
}

export function toCustomerRecord(row: Record<string, unknown>): CustomerRecord {
  return {
    id: String(row.id),
    kind: row.kind as CustomerKind,
    displayName: (row.displayName as string | null) ?? null,
    organizationId: (row.organizationId as string | null) ?? null,
    lifecycleStage: (row.lifecycleStage as string | null) ?? null,
    owner: (row.owner as string | null) ?? null,
    traits: (row.traits as Record<string, unknown>) ?? {},
    createdAt: row.createdAt as Date,
    updatedAt: row.updatedAt as Date,
  };
}

/** Longest text a trait `contains` looks for, as for a segment rule's text. */
const TRAIT_CONTAINS_MAX = 1000;
const TRAIT_PATH = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;

/** Reads of customers: one statement per page, whatever the filter. */
export class CustomerQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async findByIds(ids: readonly string[]): Promise<Map<string, CustomerRecord>> {
    const valid = ids.filter((id) => isDatabaseId(id));
    if (valid.length === 0) return new Map();
    // A merged customer's id answers with its survivor (customer_redirects, kept flat by the merges module), so clients holding old ids keep working.
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT r.asked::text AS asked, ${CUSTOMER_COLUMNS}
         FROM unnest($1::bigint[]) AS r(asked)
         LEFT JOIN customer_redirects m ON m.customer_id = r.asked
         JOIN customers c ON c.id = COALESCE(m.survivor_id, r.asked) AND c.deleted_at IS NULL`,
      [valid],
    );
    return new Map(rows.map((r) => [String(r.asked), toCustomerRecord(r)]));
  }

  async findByIdentifier(input: IdentifierInput): Promise<CustomerRecord | null> {
    const identifier = normalizeIdentifier(input);
    if (isIdentifierProblem(identifier)) throw fail('INVALID_IDENTIFIER', { detail: identifier.message }, `identifier.${identifier.field}`);
    const rows = await this.dataSource.query(
      `SELECT ${CUSTOMER_COLUMNS} FROM customer_identifiers i JOIN customers c ON c.id = i.customer_id
        WHERE i.type = $1 AND i.value = $2 AND c.deleted_at IS NULL`,
      [identifier.type, identifier.value],
    );
    return rows[0] ? toCustomerRecord(rows[0]) : null;
  }

  /** A page of customers; `totalCount` is computed only when asked for. */
  async list(args: {
    first?: number | null;
    after?: string | null;
    filter?: CustomerFilter | null;
    orderBy?: CustomerOrder[] | null;
    organizationId?: string;
    /** Also read each customer's stats row (the statement joins it anyway): the page's `stats`, null where none exists. */
    withStats?: boolean;
  }) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const where = this.where(args.filter, p, args.organizationId);
    const keys = sortKeys(args.orderBy);
    const filterParams = [...p.values];
    const { orderBy, select, condition } = keysetClauses(keys, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT ${CUSTOMER_COLUMNS}, ${select}${args.withStats ? `, ${STATS_COLUMNS}` : ''}
         FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id
        WHERE ${where} AND (${condition})
        ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    const page: Page<CustomerRecord> = toPage(rows, keys, first, args.after, toCustomerRecord);
    return {
      ...page,
      stats: args.withStats
        ? new Map((rows as Record<string, unknown>[]).slice(0, first).map((row) => [String(row.id), toStatsRecord(row)] as const))
        : undefined,
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(
          `SELECT count(*)::int AS count FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id WHERE ${where}`,
          filterParams,
        );
        return count as number;
      },
    };
  }

  /**
   * The same page of members (newest first) for each of many organisations,
   * in one statement (LATERAL); `totalCount` is counted per organisation only
   * when asked for.
   */
  async memberPages(organizationIds: readonly string[], args: { first?: number | null; after?: string | null }) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const ids = p.add(organizationIds);
    const keys = sortKeys(null);
    const { orderBy, select, condition } = keysetClauses(keys, args.after, p);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT x.* FROM unnest(${ids}::bigint[]) AS k(organization_id)
        CROSS JOIN LATERAL (
          SELECT ${CUSTOMER_COLUMNS}, ${select} FROM customers c
           WHERE c.organization_id = k.organization_id AND c.deleted_at IS NULL AND (${condition})
           ORDER BY ${orderBy} LIMIT ${first + 1}) x`,
      p.values,
    );
    const byOrganization = new Map<string, Record<string, unknown>[]>();
    for (const row of rows) {
      const organizationId = String(row.organizationId);
      const list = byOrganization.get(organizationId);
      if (list) list.push(row);
      else byOrganization.set(organizationId, [row]);
    }
    return organizationIds.map((organizationId) => ({
      ...(toPage(byOrganization.get(organizationId) ?? [], keys, first, args.after, toCustomerRecord) as Page<CustomerRecord>),
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(
          `SELECT count(*)::int AS count FROM customers c WHERE c.organization_id = $1::bigint AND c.deleted_at IS NULL`,
          [organizationId],
        );
        return count as number;
      },
    }));
  }

  private where(filter: CustomerFilter | null | undefined, p: SqlParams, organizationId?: string): string {
    const base = ['c.deleted_at IS NULL'];
    if (organizationId) base.push(`c.organization_id = ${p.add(organizationId)}::bigint`);
    base.push(compileFilterTree(filter, p, (node, params) => customerLeaf(node, params)));
    return base.join(' AND ');
  }
}

function sortKeys(orderBy: CustomerOrder[] | null | undefined): SortKey[] {
  const keys: SortKey[] = (orderBy?.length ? orderBy : [{ field: 'CREATED_AT' as const, direction: 'DESC' as const }]).map((o: CustomerOrder, i) => {
    if (o.field === 'SCORE') {
      if (!o.scoreKind) throw fail('VALIDATION_FAILED', { detail: 'ordering by SCORE needs scoreKind' }, `orderBy[${i}].scoreKind`);
      return { sql: scoreSortExpression('c.id', o.scoreKind, `orderBy[${i}].scoreKind`), cast: 'float8', direction: o.direction ?? 'ASC' };
    }
    if (!SORT_SQL[o.field]) throw fail('VALIDATION_FAILED', { detail: `cannot order by ${o.field}` }, 'orderBy');
    return { ...SORT_SQL[o.field], direction: o.direction ?? 'ASC' };
  });
  if (!keys.some((k) => k.sql === 'c.id')) keys.push({ ...SORT_SQL.ID, direction: keys[keys.length - 1].direction });
  return keys;
}

function customerLeaf(f: CustomerFilterFields, p: SqlParams): string[] {
  const out: string[] = [];
  if (f.id) out.push(...compileIdFilter('c.id', f.id, p, 'id'));
  if (f.kind?.eq) out.push(`c.kind = ${p.add(f.kind.eq)}`);
  if (f.kind?.in) out.push(`c.kind = ANY(${p.add(f.kind.in)}::text[])`);
  if (f.displayName) out.push(...compileStringFilter('c.display_name', f.displayName, p, 'displayName'));
  if (f.lifecycleStage) out.push(...compileStringFilter('c.lifecycle_stage', f.lifecycleStage, p, 'lifecycleStage'));
  if (f.owner) out.push(...compileStringFilter('c.owner', f.owner, p, 'owner'));
  if (f.organizationId) out.push(...compileIdFilter('c.organization_id', f.organizationId, p, 'organizationId'));
  if (f.createdAt) out.push(...compileDateTimeFilter('c.created_at', f.createdAt, p));
  if (f.updatedAt) out.push(...compileDateTimeFilter('c.updated_at', f.updatedAt, p));
  if (f.interactionCount) out.push(...compileNumberFilter('COALESCE(s.interaction_count, 0)', f.interactionCount, p, 'interactionCount'));
  if (f.transactionCount) out.push(...compileNumberFilter('COALESCE(s.transaction_count, 0)', f.transactionCount, p, 'transactionCount'));
  if (f.transactionValue) out.push(...compileNumberFilter('COALESCE(s.transaction_value, 0)', f.transactionValue, p, 'transactionValue'));
  if (f.lastSeenAt) out.push(...compileDateTimeFilter('s.last_seen_at', f.lastSeenAt, p));
  if (f.score) out.push(scoreCondition('c.id', f.score, p, 'filter.score'));
  if (f.identifier) {
    const identifier = normalizeIdentifier(f.identifier);
    if (isIdentifierProblem(identifier)) throw fail('INVALID_IDENTIFIER', { detail: identifier.message }, `filter.identifier.${identifier.field}`);
    out.push(
      `EXISTS (SELECT 1 FROM customer_identifiers ci WHERE ci.customer_id = c.id AND ci.type = ${p.add(identifier.type)} AND ci.value = ${p.add(identifier.value)})`,
    );
  }
  for (const [i, t] of (f.traits ?? []).entries()) out.push(...traitConditions(t, p, `traits[${i}]`));
  return out;
}

function traitConditions(t: TraitFilter, p: SqlParams, field: string): string[] {
  if (!TRAIT_PATH.test(t.path)) throw fail('VALIDATION_FAILED', { detail: `trait path "${t.path}" must be dot-separated names` }, `${field}.path`);
  const path = p.add(t.path.split('.'));
  const json = `(c.traits #> ${path}::text[])`;
  const num = `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN (${json})::text::numeric END)`;
  const out: string[] = [];
  if (t.eq !== undefined && t.eq !== null) out.push(`${json} = ${p.add(JSON.stringify(t.eq))}::jsonb`);
  if (t.ne !== undefined && t.ne !== null) out.push(`${json} IS DISTINCT FROM ${p.add(JSON.stringify(t.ne))}::jsonb`);
  if (t.in) out.push(`${json} = ANY(${p.add(t.in.map((v) => JSON.stringify(v)))}::jsonb[])`);
  for (const [key, op] of [
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ] as const) {
    const v = t[key];
    if (v != null) out.push(`${num} ${op} ${p.add(v)}::numeric`);
  }
  // Text of a scalar only: the text of an object or list would let `contains` search keys below the path (a personal one among them).
  checkFilterText(`${field}.contains`, t.contains, TRAIT_CONTAINS_MAX);
  if (t.contains != null)
    out.push(
      `(CASE WHEN jsonb_typeof(${json}) IN ('string', 'number', 'boolean') THEN c.traits #>> ${path}::text[] END) ILIKE ${p.add('%' + t.contains.replace(/[\\%_]/g, (c) => '\\' + c) + '%')}`,
    );
  if (t.exists != null) out.push(`${json} IS ${t.exists ? 'NOT ' : ''}NULL`);
  return out;
}

import type { DataSource } from 'typeorm';
import { fail } from '../../errors/catalog';
import { keysetClauses, toPage, type Page } from '../../infra/page';
import {
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
import type { Direction } from './validate-interaction';
import { isDatabaseId } from '../../infra/db-values';

export interface InteractionRecord {
  id: string;
  customerId: string;
  channel: string;
  type: string;
  direction: Direction | null;
  occurredAt: Date;
  value: number | null;
  currency: string | null;
  sentiment: number | null;
  properties: Record<string, unknown>;
  source: string;
  externalId: string;
  createdAt: Date;
}

export interface InteractionFilterFields {
  id?: IdFilter | null;
  customerId?: IdFilter | null;
  channel?: StringFilter | null;
  type?: StringFilter | null;
  direction?: { eq?: Direction | null } | null;
  source?: StringFilter | null;
  externalId?: StringFilter | null;
  occurredAt?: DateTimeFilter | null;
  value?: NumberFilter | null;
}
export type InteractionFilter = InteractionFilterFields & FilterTree<InteractionFilterFields>;

export const INTERACTION_ORDER_FIELDS = ['OCCURRED_AT', 'CREATED_AT', 'VALUE', 'ID'] as const;
export type InteractionOrderField = (typeof INTERACTION_ORDER_FIELDS)[number];
export interface InteractionOrder {
  field: InteractionOrderField;
  direction?: 'ASC' | 'DESC' | null;
}

export interface InteractionPageArgs {
  first?: number | null;
  after?: string | null;
  filter?: InteractionFilter | null;
  orderBy?: InteractionOrder[] | null;
}

const SORT_SQL: Record<InteractionOrderField, Omit<SortKey, 'direction'>> = {
  OCCURRED_AT: { sql: 'i.occurred_at', cast: 'timestamptz' },
  CREATED_AT: { sql: 'i.created_at', cast: 'timestamptz' },
  VALUE: { sql: `COALESCE(i.value, 0)`, cast: 'numeric' },
  ID: { sql: 'i.id', cast: 'bigint' },
};

const COLUMNS = `i.id::text AS id, i.customer_id::text AS "customerId", i.channel, i.type, i.direction, i.occurred_at AS "occurredAt",
  i.value::float8 AS value, i.currency, i.sentiment, i.properties, i.source, i.external_id AS "externalId", i.created_at AS "createdAt"`;

const toRecord = (row: Record<string, unknown>) => row as unknown as InteractionRecord;

/** Reads of interactions, including one-statement pages for many customers at once. */
export class InteractionQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async findByIds(ids: readonly string[]): Promise<Map<string, InteractionRecord>> {
    const valid = ids.filter((id) => isDatabaseId(id));
    if (valid.length === 0) return new Map();
    const rows = await this.dataSource.query(`SELECT ${COLUMNS} FROM interactions i WHERE i.id = ANY($1::bigint[])`, [valid]);
    return new Map(rows.map((r: Record<string, unknown>) => [String(r.id), toRecord(r)]));
  }

  async list(args: InteractionPageArgs) {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const where = compileFilterTree(args.filter, p, interactionLeaf);
    const filterParams = [...p.values];
    const keys = sortKeys(args.orderBy);
    const { orderBy, select, condition } = keysetClauses(keys, args.after, p);
    const rows = await this.dataSource.query(
      `SELECT ${COLUMNS}, ${select} FROM interactions i WHERE ${where} AND (${condition}) ORDER BY ${orderBy} LIMIT ${first + 1}`,
      p.values,
    );
    return {
      ...toPage(rows, keys, first, args.after, toRecord),
      totalCount: async () => {
        const [{ count }] = await this.dataSource.query(`SELECT count(*)::int AS count FROM interactions i WHERE ${where}`, filterParams);
        return count as number;
      },
    };
  }

  /** The same page of interactions for each of many customers, in one statement (LATERAL). */
  async pagesForCustomers(customerIds: readonly string[], args: InteractionPageArgs): Promise<Page<InteractionRecord>[]> {
    const first = pageSize(args.first);
    const p = new SqlParams();
    const ids = p.add(customerIds);
    const where = compileFilterTree(args.filter, p, interactionLeaf);
    const keys = sortKeys(args.orderBy);
    const { orderBy, select, condition } = keysetClauses(keys, args.after, p);
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT x.* FROM unnest(${ids}::bigint[]) AS k(customer_id)
        CROSS JOIN LATERAL (
          SELECT ${COLUMNS}, ${select} FROM interactions i
           WHERE i.customer_id = k.customer_id AND ${where} AND (${condition})
           ORDER BY ${orderBy} LIMIT ${first + 1}) x`,
      p.values,
    );
    const byCustomer = new Map<string, Record<string, unknown>[]>();
    for (const row of rows) byCustomer.set(String(row.customerId), [...(byCustomer.get(String(row.customerId)) ?? []), row]);
    return customerIds.map((id) => toPage(byCustomer.get(id) ?? [], keys, first, args.after, toRecord));
  }

  /** Interaction counts per customer under a filter, in one statement. */
  async countsForCustomers(customerIds: readonly string[], filter: InteractionFilter | null | undefined): Promise<number[]> {
    const p = new SqlParams();
    const ids = p.add(customerIds);
    const where = compileFilterTree(filter, p, interactionLeaf);
    const rows: { customer_id: string; count: number }[] = await this.dataSource.query(
      `SELECT i.customer_id::text, count(*)::int AS count FROM interactions i
        WHERE i.customer_id = ANY(${ids}::bigint[]) AND ${where} GROUP BY i.customer_id`,
      p.values,
    );
    const counts = new Map(rows.map((r) => [r.customer_id, r.count]));
    return customerIds.map((id) => counts.get(id) ?? 0);
  }
}

function sortKeys(orderBy: InteractionOrder[] | null | undefined): SortKey[] {
  const keys: SortKey[] = (orderBy?.length ? orderBy : [{ field: 'OCCURRED_AT' as const, direction: 'DESC' as const }]).map((o) => {
    if (!SORT_SQL[o.field]) throw fail('VALIDATION_FAILED', { detail: `cannot order by ${o.field}` }, 'orderBy');
    return { ...SORT_SQL[o.field], direction: o.direction ?? 'ASC' };
  });
  if (!keys.some((k) => k.sql === 'i.id')) keys.push({ ...SORT_SQL.ID, direction: keys[keys.length - 1].direction });
  return keys;
}

function interactionLeaf(f: InteractionFilterFields, p: SqlParams): string[] {
  const out: string[] = [];
  if (f.id) out.push(...compileIdFilter('i.id', f.id, p, 'id'));
  if (f.customerId) out.push(...compileIdFilter('i.customer_id', f.customerId, p, 'customerId'));
  if (f.channel) out.push(...compileStringFilter('i.channel', f.channel, p, 'channel'));
  if (f.type) out.push(...compileStringFilter('i.type', f.type, p, 'type'));
  if (f.direction?.eq) out.push(`i.direction = ${p.add(f.direction.eq)}`);
  if (f.source) out.push(...compileStringFilter('i.source', f.source, p, 'source'));
  if (f.externalId) out.push(...compileStringFilter('i.external_id', f.externalId, p, 'externalId'));
  if (f.occurredAt) out.push(...compileDateTimeFilter('i.occurred_at', f.occurredAt, p));
  if (f.value) out.push(...compileNumberFilter('i.value', f.value, p, 'value'));
  return out;
}

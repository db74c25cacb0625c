import type { RecommendationSettings } from './settings';

/** How a value becomes SQL text: a bind parameter (`$n`) for queries, a quoted literal for COPY, which takes none. */
export type Bind = (value: unknown, cast: string) => string;

/** The settings the fitted model was fitted with: what scores customers until the next fit. */
export interface FittedSettings {
  productProperty: string;
  interactionTypes: Record<string, number>;
  halfLifeDays: number | null;
  excludeOwned: boolean;
  keep: number;
  /** ISO instant the decay is measured from: the fit's, for refreshes too (a common factor per customer, so rankings do not depend on it). */
  asOf: string;
}

export function fittedSettings(settings: RecommendationSettings, asOf: Date): FittedSettings {
  return {
    productProperty: settings.productProperty,
    interactionTypes: settings.interactionTypes,
    halfLifeDays: settings.halfLifeDays,
    excludeOwned: settings.excludeOwned,
    keep: settings.keep,
    asOf: asOf.toISOString(),
  };
}

/**
 * Each customer's weight per product: `Σ weight(type) · 0.5^(age / halfLife)`
 * over their counted interactions naming a product, age in days before
 * `asOf`. The one definition of what a customer "has", read by the fit (all
 * customers, or those with ids in `range`) and by refreshes and explanations
 * (`customerIds`).
 */
export function ownedProductsSql(s: FittedSettings, bind: Bind, customerIds?: string, range?: { from: number; to: number }): string {
  const types = Object.keys(s.interactionTypes);
  const path = bind(s.productProperty.split('.'), 'text[]');
  const decay =
    s.halfLifeDays == null
      ? '1'
      : `power(0.5::float8, extract(epoch FROM (${bind(s.asOf, 'timestamptz')} - i.occurred_at))::float8 / 86400.0 / ${bind(s.halfLifeDays, 'float8')})`;
  return `SELECT i.customer_id, i.properties #>> ${path} AS product, sum(w.weight * ${decay})::float8 AS weight
            FROM interactions i
            JOIN unnest(${bind(types, 'text[]')}, ${bind(
              types.map((t) => s.interactionTypes[t]),
              'float8[]',
            )}) AS w(type, weight) ON w.type = i.type
           WHERE (i.properties #>> ${path}) IS NOT NULL
             AND i.customer_id ${customerIds ? `= ANY(${customerIds})` : 'IN (SELECT id FROM customers WHERE deleted_at IS NULL)'}
             ${range ? `AND i.customer_id >= ${bind(range.from, 'bigint')} AND i.customer_id < ${bind(range.to, 'bigint')}` : ''}
           GROUP BY 1, 2`;
}

/** A value as a SQL literal, for statements that take no bind parameters (COPY). */
export function literal(value: unknown, cast: string): string {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  if (Array.isArray(value)) return `ARRAY[${value.map((v) => (typeof v === 'number' ? finite(v) : quote(String(v)))).join(', ')}]::${cast}`;
  if (typeof value === 'number') return `${finite(value)}::${cast}`;
  return `${quote(String(value))}::${cast}`;
}

function finite(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return String(n);
}

/** Reverses COPY's text-format escaping. */
export function uncopyText(text: string): string {
  if (!text.includes('\\')) return text;
  return text.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

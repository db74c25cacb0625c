import { fail } from '../../errors/catalog';
import { compileNumberFilter, MAX_IN_VALUES, type NumberFilter, type SqlParams } from '../../infra/sql-filter';
import { isScoreKind, SCORE_KINDS, type ScoreKind } from './score-kind';

/** A condition on a customer's score of one kind: value and/or label. Customers without that score never match. */
export interface ScoreFilter {
  kind: ScoreKind;
  value?: NumberFilter | null;
  labelIn?: string[] | null;
}

function checkKind(kind: unknown, field: string): ScoreKind {
  if (!isScoreKind(kind)) throw fail('VALIDATION_FAILED', { detail: `${field} must be one of ${SCORE_KINDS.join(', ')}` }, field);
  return kind;
}

/** SQL condition (for other modules' queries) that the customer `customerIdSql` has a score matching `filter`. */
export function scoreCondition(customerIdSql: string, filter: ScoreFilter, p: SqlParams, field: string): string {
  const kind = checkKind(filter.kind, `${field}.kind`);
  const conditions = [`sc.customer_id = ${customerIdSql}`, `sc.kind = ${p.add(kind)}`];
  if (filter.value) conditions.push(...compileNumberFilter('sc.value', filter.value, p, `${field}.value`));
  if (filter.labelIn) {
    if (filter.labelIn.length > MAX_IN_VALUES)
      throw fail('VALIDATION_FAILED', { detail: `${field}.labelIn has more than ${MAX_IN_VALUES} values` }, `${field}.labelIn`);
    conditions.push(`sc.label = ANY(${p.add(filter.labelIn)}::text[])`);
  }
  return `EXISTS (SELECT 1 FROM scores sc WHERE ${conditions.join(' AND ')})`;
}

/**
 * SQL expression of a customer's score value for ordering; customers without
 * one sort as −∞ (last when descending). The kind is checked against the
 * fixed list before it becomes a literal.
 */
export function scoreSortExpression(customerIdSql: string, kind: unknown, field: string): string {
  const checked = checkKind(kind, field);
  return `COALESCE((SELECT sc.value FROM scores sc WHERE sc.customer_id = ${customerIdSql} AND sc.kind = '${checked}'), '-Infinity'::float8)`;
}

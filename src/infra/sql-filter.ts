import { fail } from '../errors/catalog';

/** Collects bind parameters; user values only ever become `$n`, never SQL text. */
export class SqlParams {
  readonly values: unknown[];
  /** `values` are already bound as $1…$n (copied); {@link add} numbers from n + 1. */
  constructor(values: readonly unknown[] = []) {
    this.values = [...values];
  }
  /** Binds `value` and answers its placeholder (`$n`). */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface StringFilter {
  eq?: string | null;
  ne?: string | null;
  in?: string[] | null;
  contains?: string | null;
  startsWith?: string | null;
  isNull?: boolean | null;
}
export interface NumberFilter {
  eq?: number | null;
  ne?: number | null;
  in?: number[] | null;
  gt?: number | null;
  gte?: number | null;
  lt?: number | null;
  lte?: number | null;
  isNull?: boolean | null;
}
export interface DateTimeFilter {
  eq?: Date | null;
  gt?: Date | null;
  gte?: Date | null;
  lt?: Date | null;
  lte?: Date | null;
  isNull?: boolean | null;
}
export interface IdFilter {
  eq?: string | null;
  in?: string[] | null;
  isNull?: boolean | null;
}

/** A boolean tree of field filters, as clients send it. */
export interface FilterTree<F> {
  and?: (F & FilterTree<F>)[] | null;
  or?: (F & FilterTree<F>)[] | null;
  not?: (F & FilterTree<F>) | null;
}

export const MAX_FILTER_DEPTH = 8;
export const MAX_IN_VALUES = 1000;

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}

/**
 * Longest text a string filter compares, in characters: no filtered column
 * holds longer values (names and stages 256, external ids 256, sources 128).
 * ILIKE costs the pattern's length on every row, so an unbounded `contains`
 * would let one request hold the database.
 */
export const MAX_FILTER_TEXT = 256;

/** Refuses a filter text longer than `max` characters, naming the field. */
export function checkFilterText(field: string, value: string | null | undefined, max: number = MAX_FILTER_TEXT): void {
  if (value != null && value.length > max) throw fail('VALIDATION_FAILED', { detail: `${field} is longer than ${max} characters` }, field);
}

function checkIn(field: string, values: unknown[]): void {
  if (values.length > MAX_IN_VALUES) throw fail('VALIDATION_FAILED', { detail: `${field}.in has more than ${MAX_IN_VALUES} values` }, `${field}.in`);
}

export function compileStringFilter(sql: string, f: StringFilter, p: SqlParams, field: string): string[] {
  const out: string[] = [];
  for (const key of ['eq', 'ne', 'contains', 'startsWith'] as const) checkFilterText(`${field}.${key}`, f[key]);
  f.in?.forEach((value, i) => checkFilterText(`${field}.in[${i}]`, value));
  if (f.eq != null) out.push(`${sql} = ${p.add(f.eq)}`);
  if (f.ne != null) out.push(`${sql} IS DISTINCT FROM ${p.add(f.ne)}`);
  if (f.in != null) {
    checkIn(field, f.in);
    out.push(`${sql} = ANY(${p.add(f.in)}::text[])`);
  }
  if (f.contains != null) out.push(`${sql} ILIKE ${p.add('%' + escapeLike(f.contains) + '%')}`);
  if (f.startsWith != null) out.push(`${sql} LIKE ${p.add(escapeLike(f.startsWith) + '%')}`);
  if (f.isNull != null) out.push(`${sql} IS ${f.isNull ? '' : 'NOT '}NULL`);
  return out;
}

export function compileNumberFilter(sql: string, f: NumberFilter, p: SqlParams, field: string): string[] {
  const out: string[] = [];
  const ops: [keyof NumberFilter, string][] = [
    ['eq', '='],
    ['ne', '<>'],
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ];
  for (const [key, op] of ops) {
    const v = f[key];
    if (v != null) out.push(`${sql} ${op} ${p.add(v)}::numeric`);
  }
  if (f.in != null) {
    checkIn(field, f.in);
    out.push(`${sql} = ANY(${p.add(f.in)}::numeric[])`);
  }
  if (f.isNull != null) out.push(`${sql} IS ${f.isNull ? '' : 'NOT '}NULL`);
  return out;
}

export function compileDateTimeFilter(sql: string, f: DateTimeFilter, p: SqlParams): string[] {
  const out: string[] = [];
  const ops: [keyof DateTimeFilter, string][] = [
    ['eq', '='],
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ];
  for (const [key, op] of ops) {
    const v = f[key];
    if (v instanceof Date) out.push(`${sql} ${op} ${p.add(v.toISOString())}::timestamptz`);
  }
  if (f.isNull != null) out.push(`${sql} IS ${f.isNull ? '' : 'NOT '}NULL`);
  return out;
}

export function compileIdFilter(sql: string, f: IdFilter, p: SqlParams, field: string): string[] {
  const out: string[] = [];
  if (f.eq != null) out.push(`${sql} = ${p.add(f.eq)}::bigint`);
  if (f.in != null) {
    checkIn(field, f.in);
    out.push(`${sql} = ANY(${p.add(f.in)}::bigint[])`);
  }
  if (f.isNull != null) out.push(`${sql} IS ${f.isNull ? '' : 'NOT '}NULL`);
  return out;
}

/**
 * Compiles a filter tree: every key of a node is ANDed; `and`, `or` and `not`
 * nest. `leaf` compiles the node's own field keys.
 */
export function compileFilterTree<F extends object>(
  tree: (F & FilterTree<F>) | null | undefined,
  p: SqlParams,
  leaf: (node: F, p: SqlParams) => string[],
  path = 'filter',
  depth = 0,
): string {
  if (!tree) return 'TRUE';
  if (depth > MAX_FILTER_DEPTH) throw fail('VALIDATION_FAILED', { detail: `filter nests deeper than ${MAX_FILTER_DEPTH} levels` }, path);
  const parts = leaf(tree, p);
  if (tree.and) parts.push(...tree.and.map((t, i) => compileFilterTree(t, p, leaf, `${path}.and[${i}]`, depth + 1)));
  if (tree.or) {
    parts.push(tree.or.length === 0 ? 'FALSE' : '(' + tree.or.map((t, i) => compileFilterTree(t, p, leaf, `${path}.or[${i}]`, depth + 1)).join(' OR ') + ')');
  }
  if (tree.not) parts.push(`NOT COALESCE((${compileFilterTree(tree.not, p, leaf, `${path}.not`, depth + 1)}), FALSE)`);
  return parts.length === 0 ? 'TRUE' : parts.map((s) => `(${s})`).join(' AND ');
}

/** One ordering key: a SQL expression that is never NULL, and its direction. */
export interface SortKey {
  sql: string;
  direction: 'ASC' | 'DESC';
  /** Cast used when comparing the cursor value, e.g. `timestamptz`. */
  cast: string;
}

/** `(k1, k2, …) after (v1, v2, …)` for mixed directions, as an OR of prefixes. */
export function keysetCondition(keys: SortKey[], values: unknown[], p: SqlParams): string {
  const ors: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++) ands.push(`${keys[j].sql} = ${p.add(values[j])}::${keys[j].cast}`);
    ands.push(`${keys[i].sql} ${keys[i].direction === 'ASC' ? '>' : '<'} ${p.add(values[i])}::${keys[i].cast}`);
    ors.push(ands.join(' AND '));
  }
  return ors.map((s) => `(${s})`).join(' OR ');
}

export const PAGE_LIMITS = { default: 50, max: 500 } as const;

/** Validates `first`: default 50, at most 500. */
export function pageSize(first: number | null | undefined): number {
  if (first == null) return PAGE_LIMITS.default;
  if (!Number.isInteger(first) || first < 0) throw fail('BAD_REQUEST', { detail: 'first must be a non-negative integer' }, 'first');
  if (first > PAGE_LIMITS.max) {
    throw fail('PAGE_SIZE_EXCEEDED', { detail: `first is ${first}; the largest page is ${PAGE_LIMITS.max}` }, 'first');
  }
  return first;
}

import { SqlParams } from '../../../infra/sql-filter';
import { recommendedCondition } from '../../recommendations';
import { ATTRIBUTE_FIELDS, type FieldType } from './fields';
import type { AttributeCondition, BehaviorCondition, ComparisonOp, JsonValue, PropertyCondition, ScoreCondition, SegmentRule } from './rule';

/** A leaf condition as compiled: SQL that says whether it holds (never NULL) and SQL for the figure behind it (jsonb). */
export interface CompiledLeaf {
  path: string;
  rule: SegmentRule;
  holds: string;
  figure: string;
}

/** Options of {@link compileRule}. */
export interface CompileOptions {
  /**
   * A bind parameter (already added to the params) holding a `bigint[]` of
   * customer ids: the query then evaluates only those customers (incremental
   * re-evaluation). Without it the rule runs over every customer.
   */
  customerIdsParam?: string;
  /**
   * Select each leaf's `holds` and `figure` as columns `h0, f0, h1, f1…`, for
   * every customer in scope whether or not the whole rule holds (explainMembership).
   */
  explain?: boolean;
}

export interface CompiledRule {
  /** `SELECT c.id AS customer_id [, h0, f0 …] FROM … WHERE …`: one statement, user values only as bind parameters. */
  sql: string;
  leaves: CompiledLeaf[];
}

const SQL_OP: Record<string, string> = { EQ: '=', NE: '<>', GT: '>', GTE: '>=', LT: '<', LTE: '<=' };
const CAST: Record<FieldType, string> = { string: 'text', number: 'float8', datetime: 'timestamptz' };

/**
 * Compiles a validated rule into one parameterised query. Every condition
 * under `or` or `not` compiles to SQL that is TRUE or FALSE, never NULL, so
 * `not` is plain negation (conjuncts of the root may be NULL: WHERE reads it
 * as false). Behaviour conditions become one grouped CTE each over
 * `interactions` (restricted to the given customers when incremental), score
 * conditions a LEFT JOIN on `scores` per kind, `inSegment` an EXISTS on
 * materialised memberships.
 */
export function compileRule(rule: SegmentRule, p: SqlParams, options: CompileOptions = {}): CompiledRule {
  const ctes: string[] = [];
  const joins: string[] = [];
  const scoreAliases = new Map<string, string>();
  const leaves: CompiledLeaf[] = [];
  let usesStats = false;

  const scoreAlias = (kind: string) => {
    let alias = scoreAliases.get(kind);
    if (!alias) {
      alias = `sc${scoreAliases.size}`;
      scoreAliases.set(kind, alias);
      joins.push(`LEFT JOIN scores ${alias} ON ${alias}.customer_id = c.id AND ${alias}.kind = ${p.add(kind)}::text`);
    }
    return alias;
  };

  const leaf = (path: string, node: SegmentRule, holds: string, figure: string) => {
    leaves.push({ path, rule: node, holds, figure });
    return holds;
  };

  /**
   * `required`: the node is a conjunct of the root (not under `or`/`not`), so
   * NULL may stand for false there. Behaviour conditions that 0 cannot satisfy
   * and score conditions are then written strictly (no COALESCE), which lets
   * Postgres turn their LEFT JOIN into an inner join and start from the few
   * customers that have such interactions or scores.
   */
  const compileNode = (node: SegmentRule, path: string, required: boolean): string => {
    if ('and' in node) return '(' + node.and.map((n, i) => compileNode(n, `${path}.and[${i}]`, required)).join(' AND ') + ')';
    if ('or' in node) return '(' + node.or.map((n, i) => compileNode(n, `${path}.or[${i}]`, false)).join(' OR ') + ')';
    if ('not' in node) return `(NOT ${compileNode(node.not, `${path}.not`, false)})`;
    if ('attribute' in node) {
      const a = node.attribute;
      if (a.field.startsWith('traits.')) {
        const json = `(c.traits #> ${p.add(a.field.slice('traits.'.length).split('.'))}::text[])`;
        return leaf(`${path}.attribute`, node, jsonCondition(json, a.op, a.value, p), `${json}`);
      }
      const field = ATTRIBUTE_FIELDS[a.field];
      if (field.stats) usesStats = true;
      return leaf(`${path}.attribute`, node, typedCondition(field.sql, field.type, a, p), `to_jsonb(${field.sql})`);
    }
    if ('behavior' in node) {
      const b = node.behavior;
      const alias = `b${ctes.length}`;
      ctes.push(`${alias} AS (${behaviorAggregate(b, p, options.customerIdsParam)})`);
      joins.push(`LEFT JOIN ${alias} ON ${alias}.customer_id = c.id`);
      const v = `COALESCE(${alias}.v, 0)`;
      const value = p.add(b.value);
      leaf(`${path}.behavior`, node, `(${v} ${SQL_OP[b.op]} ${value}::float8)`, `to_jsonb(${v})`);
      return required && !compareNumbers(0, b.op, b.value) ? `(${alias}.v ${SQL_OP[b.op]} ${value}::float8)` : `(${v} ${SQL_OP[b.op]} ${value}::float8)`;
    }
    if ('score' in node) {
      const s = node.score;
      const alias = scoreAlias(s.kind);
      const strict = scoreConditions(alias, s, p);
      leaf(
        `${path}.score`,
        node,
        `COALESCE(${[`${alias}.customer_id IS NOT NULL`, ...strict].join(' AND ')}, FALSE)`,
        `CASE WHEN ${alias}.customer_id IS NULL THEN NULL ELSE jsonb_build_object('value', ${alias}.value::float8, 'label', ${alias}.label) END`,
      );
      return required ? `(${strict.join(' AND ')})` : `COALESCE(${[`${alias}.customer_id IS NOT NULL`, ...strict].join(' AND ')}, FALSE)`;
    }
    if ('recommended' in node) {
      const r = recommendedCondition('c.id', node.recommended.product, node.recommended.rankAtMost, (v) => p.add(v));
      return leaf(`${path}.recommended`, node, r.holds, r.figure);
    }
    if ('consent' in node) {
      const k = node.consent;
      // The channel's own record wins over the every-channel (`*`) one.
      const status = `(SELECT cc.status FROM customer_consents cc WHERE cc.customer_id = c.id AND cc.purpose = ${p.add(k.purpose)}::text
        AND cc.channel IN (${p.add(k.channel ?? '*')}::text, '*') ORDER BY cc.channel = '*' LIMIT 1)`;
      return leaf(`${path}.consent`, node, `COALESCE(${status} = ANY(${p.add(k.statusIn ?? ['GRANTED'])}::text[]), FALSE)`, `to_jsonb(${status})`);
    }
    const holds = `EXISTS (SELECT 1 FROM segment_memberships m WHERE m.segment_id = ${p.add(node.inSegment)}::bigint AND m.customer_id = c.id)`;
    return leaf(`${path}.inSegment`, node, holds, `to_jsonb(${holds})`);
  };

  const where = compileNode(rule, 'rule', true);
  if (usesStats) joins.unshift('LEFT JOIN customer_stats st ON st.customer_id = c.id');
  const scope = options.customerIdsParam ? ` AND c.id = ANY(${options.customerIdsParam}::bigint[])` : '';
  const columns = ['c.id AS customer_id', ...(options.explain ? leaves.flatMap((l, i) => [`${l.holds} AS h${i}`, `${l.figure} AS f${i}`]) : [])];
  const sql = `${ctes.length ? `WITH ${ctes.join(', ')} ` : ''}SELECT ${columns.join(', ')} FROM customers c ${joins.join(' ')} WHERE c.deleted_at IS NULL${scope}${options.explain ? '' : ` AND ${where}`}`;
  return { sql, leaves };
}

/**
 * A behaviour condition's aggregate alone, per customer (`customer_id`, `v`),
 * as a feature of a model rather than a condition: its `lastDays` window ends
 * at `until` (an SQL timestamptz expression) instead of now, and interactions
 * at or after `until` are left out, so the aggregate is what it was at that
 * instant. `restrict` is an SQL condition on `i.customer_id` (the customers
 * wanted).
 */
export function compileBehaviorAggregate(b: BehaviorCondition, p: SqlParams, options: { until: string; restrict?: string }): string {
  return behaviorAggregate(b, p, undefined, options);
}

function behaviorAggregate(b: BehaviorCondition, p: SqlParams, customerIdsParam?: string, asOf?: { until: string; restrict?: string }): string {
  const where: string[] = [];
  if (customerIdsParam) where.push(`i.customer_id = ANY(${customerIdsParam}::bigint[])`);
  if (asOf?.restrict) where.push(asOf.restrict);
  if (asOf) where.push(`i.occurred_at < ${asOf.until}`);
  if (b.channel != null) where.push(`i.channel = ${p.add(b.channel)}::text`);
  if (b.type != null) where.push(`i.type = ${p.add(b.type)}::text`);
  if (b.lastDays != null) where.push(`i.occurred_at >= ${asOf?.until ?? 'now()'} - make_interval(days => ${p.add(b.lastDays)}::int)`);
  if (b.from != null) where.push(`i.occurred_at >= ${p.add(b.from)}::timestamptz`);
  if (b.to != null) where.push(`i.occurred_at < ${p.add(b.to)}::timestamptz`);
  for (const w of b.where ?? []) where.push(propertyCondition(w, p));
  const aggregate =
    b.aggregate === 'SUM'
      ? 'COALESCE(sum(i.value), 0)::float8'
      : b.aggregate === 'DISTINCT_DAYS'
        ? `count(DISTINCT (i.occurred_at AT TIME ZONE 'UTC')::date)::float8`
        : 'count(*)::float8';
  return `SELECT i.customer_id, ${aggregate} AS v FROM interactions i${where.length ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY i.customer_id`;
}

function propertyCondition(w: PropertyCondition, p: SqlParams): string {
  return jsonCondition(`(i.properties #> ${p.add(w.path.split('.'))}::text[])`, w.op, w.value, p);
}

/** The conditions of a score node, each strict in the score row (NULL without one). */
function scoreConditions(alias: string, s: ScoreCondition, p: SqlParams): string[] {
  const parts: string[] = [];
  if (s.op != null && s.value != null) parts.push(`${alias}.value::float8 ${SQL_OP[s.op]} ${p.add(s.value)}::float8`);
  if (s.labelIn) parts.push(`${alias}.label = ANY(${p.add(s.labelIn)}::text[])`);
  return parts;
}

function compareNumbers(a: number, op: string, b: number): boolean {
  return op === 'EQ' ? a === b : op === 'NE' ? a !== b : op === 'GT' ? a > b : op === 'GTE' ? a >= b : op === 'LT' ? a < b : a <= b;
}

/** A condition on a typed column; NULL (missing) satisfies only NE, NOT_IN and EXISTS false. */
function typedCondition(sql: string, type: FieldType, a: AttributeCondition, p: SqlParams): string {
  const cast = CAST[type];
  const v = a.value;
  const one = () => `${p.add(v)}::${cast}`;
  switch (a.op) {
    case 'EQ':
    case 'GT':
    case 'GTE':
    case 'LT':
    case 'LTE':
      return `COALESCE(${sql} ${SQL_OP[a.op]} ${one()}, FALSE)`;
    case 'NE':
      return `(${sql} IS DISTINCT FROM ${one()})`;
    case 'IN':
      return `COALESCE(${sql} = ANY(${p.add(v)}::${cast}[]), FALSE)`;
    case 'NOT_IN':
      return `(NOT COALESCE(${sql} = ANY(${p.add(v)}::${cast}[]), FALSE))`;
    case 'BETWEEN': {
      const [lo, hi] = v as JsonValue[];
      return `COALESCE(${sql} BETWEEN ${p.add(lo)}::${cast} AND ${p.add(hi)}::${cast}, FALSE)`;
    }
    case 'CONTAINS':
      return `COALESCE(strpos(lower(${sql}), lower(${p.add(v)}::text)) > 0, FALSE)`;
    case 'STARTS_WITH':
      return `COALESCE(starts_with(${sql}, ${p.add(v)}::text), FALSE)`;
    case 'EXISTS':
      return `(${sql} IS ${v === false ? '' : 'NOT '}NULL)`;
  }
}

/**
 * A condition on a JSON value (a trait or an interaction property). Ordered
 * comparisons hold only for JSON numbers; CONTAINS matches text
 * (case-insensitive) or an array element; a JSON null counts as absent.
 */
export function jsonCondition(json: string, op: ComparisonOp, value: JsonValue | undefined, p: SqlParams): string {
  const num = `(CASE WHEN jsonb_typeof(${json}) = 'number' THEN (${json})::float8 END)`;
  const str = `(CASE WHEN jsonb_typeof(${json}) = 'string' THEN ${json} #>> '{}' END)`;
  switch (op) {
    case 'EQ':
      return `COALESCE(${json} = ${p.add(JSON.stringify(value))}::jsonb, FALSE)`;
    case 'NE':
      return `(${json} IS DISTINCT FROM ${p.add(JSON.stringify(value))}::jsonb)`;
    case 'IN':
      return `COALESCE(${json} = ANY(${p.add((value as JsonValue[]).map((x) => JSON.stringify(x)))}::jsonb[]), FALSE)`;
    case 'NOT_IN':
      return `(NOT COALESCE(${json} = ANY(${p.add((value as JsonValue[]).map((x) => JSON.stringify(x)))}::jsonb[]), FALSE))`;
    case 'GT':
    case 'GTE':
    case 'LT':
    case 'LTE':
      return `COALESCE(${num} ${SQL_OP[op]} ${p.add(value)}::float8, FALSE)`;
    case 'BETWEEN': {
      const [lo, hi] = value as number[];
      return `COALESCE(${num} BETWEEN ${p.add(lo)}::float8 AND ${p.add(hi)}::float8, FALSE)`;
    }
    case 'CONTAINS': {
      const needle = p.add(value);
      return `COALESCE(strpos(lower(${str}), lower(${needle}::text)) > 0 OR (jsonb_typeof(${json}) = 'array' AND ${json} @> jsonb_build_array(${needle}::text)), FALSE)`;
    }
    case 'STARTS_WITH':
      return `COALESCE(starts_with(${str}, ${p.add(value)}::text), FALSE)`;
    case 'EXISTS':
      return `(${value === false ? 'NOT ' : ''}COALESCE(jsonb_typeof(${json}) <> 'null', FALSE))`;
  }
}

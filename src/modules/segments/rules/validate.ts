import { textProblem } from '@rapport/connector-kit';
import { ATTRIBUTE_FIELDS, MAX_PATH_SEGMENTS, OPS_BY_TYPE, PATH_SEGMENT, type FieldType } from './fields';
import {
  BEHAVIOR_AGGREGATES,
  COMPARISON_OPS,
  CONSENT_STATUSES,
  NUMERIC_OPS,
  RULE_KEYS,
  SCORE_KINDS,
  type AttributeCondition,
  type ConsentCondition,
  type BehaviorCondition,
  type ComparisonOp,
  type JsonValue,
  type NumericOp,
  type PropertyCondition,
  type RecommendedCondition,
  type ScoreCondition,
  type SegmentRule,
} from './rule';
import { isDatabaseId, isStorableInstant } from '../../../infra/db-values';
import { MAX_RANK_AT_MOST } from '../../recommendations';

/** Limits of a rule tree. */
export const RULE_LIMITS = {
  /** Levels of nesting, the root being level 1. */
  maxDepth: 10,
  /** Leaf conditions (attribute, behavior, score, inSegment, consent) in the whole tree. */
  maxConditions: 100,
  /** Values of an IN / NOT_IN list. */
  maxInValues: 1000,
  /** Property conditions of one behaviour condition. */
  maxPropertyConditions: 20,
  /** Characters of any text value. */
  maxTextLength: 1000,
  /** Longest `lastDays` window (100 years). */
  maxLastDays: 36_500,
} as const;

/** One problem of a rule, at a path in the tree such as `rule.and[1].behavior.lastDays`. */
export interface RuleProblem {
  field: string;
  message: string;
}

/** A rule that passed the structural checks, and the paths of its segment references (checked against the database later). */
export interface ShapeResult {
  rule?: SegmentRule;
  problems: RuleProblem[];
  segmentRefs: { id: string; field: string }[];
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';

/**
 * The checks of one rule tree: each condition kind is a method, and the
 * problems, segment references and condition count they find are collected on
 * the instance.
 */
class RuleShapeCheck {
  readonly problems: RuleProblem[] = [];
  readonly segmentRefs: { id: string; field: string }[] = [];
  /** Leaf conditions seen so far (the limit is checked once the whole tree is read). */
  conditions = 0;
  problem(field: string, message: string) {
    this.problems.push({ field, message });
    return undefined;
  }

  text(field: string, v: unknown, what = 'a string'): string | undefined {
    if (typeof v !== 'string') return this.problem(field, `${field} must be ${what}`);
    const bad = textProblem(v);
    if (bad) return this.problem(field, `${field} ${bad}`);
    if (v.length > RULE_LIMITS.maxTextLength) return this.problem(field, `${field} is longer than ${RULE_LIMITS.maxTextLength} characters`);
    return v;
  }
  finite(field: string, v: unknown): number | undefined {
    return typeof v === 'number' && Number.isFinite(v) ? v : this.problem(field, `${field} must be a number`);
  }
  instant(field: string, v: unknown): string | undefined {
    if (v instanceof Date) return isStorableInstant(v) ? v.toISOString() : this.problem(field, `${field} must be a valid instant in years 1 to 9999`);
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(v) || !isStorableInstant(new Date(v)))
      return this.problem(field, `${field} must be an ISO 8601 instant such as 2026-01-31T00:00:00Z, in years 1 to 9999`);
    return new Date(v).toISOString();
  }
  list<T>(field: string, v: unknown, item: (f: string, x: unknown) => T | undefined): T[] | undefined {
    if (!Array.isArray(v)) return this.problem(field, `${field} must be a list`);
    if (v.length === 0) return this.problem(field, `${field} must not be empty`);
    if (v.length > RULE_LIMITS.maxInValues) return this.problem(field, `${field} has ${v.length} values; the limit is ${RULE_LIMITS.maxInValues}`);
    const out = v.map((x, i) => item(`${field}[${i}]`, x));
    return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
  }
  path(field: string, v: unknown): string | undefined {
    const s = this.text(field, v);
    if (s === undefined) return undefined;
    const parts = s.split('.');
    if (parts.length > MAX_PATH_SEGMENTS || !parts.every((p) => PATH_SEGMENT.test(p))) {
      return this.problem(field, `${field} must be up to ${MAX_PATH_SEGMENTS} dot-separated names of letters, digits, _ or -`);
    }
    return s;
  }
  oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T | undefined {
    return typeof v === 'string' && (allowed as readonly string[]).includes(v)
      ? (v as T)
      : this.problem(field, `${field} must be one of ${allowed.join(', ')}`);
  }

  /** The value of a comparison, checked against the operator and the field's type (`json`: a trait or property). */
  comparisonValue(field: string, op: ComparisonOp, type: FieldType | 'json', value: unknown, name: string): JsonValue | undefined {
    const scalar = (f: string, v: unknown): string | number | boolean | undefined => {
      if (type === 'string') return this.text(f, v, `a string (${name} is text)`);
      if (type === 'number') return typeof v === 'number' && Number.isFinite(v) ? v : this.problem(f, `${f} must be a number (${name} is a number)`);
      if (type === 'datetime') return this.instant(f, v);
      if (!isScalar(v)) return this.problem(f, `${f} must be a string, a number or a boolean`);
      return typeof v === 'string' ? this.text(f, v) : v;
    };
    const ordered = (f: string, v: unknown): number | string | undefined => {
      if (type === 'datetime') return this.instant(f, v);
      return typeof v === 'number' && Number.isFinite(v)
        ? v
        : this.problem(f, `${f} must be a number: ${op} compares numbers${type === 'json' ? ` (the ${name} value must be a JSON number to match)` : ''}`);
    };
    switch (op) {
      case 'EQ':
      case 'NE':
        return scalar(field, value);
      case 'IN':
      case 'NOT_IN':
        return this.list(field, value, scalar);
      case 'GT':
      case 'GTE':
      case 'LT':
      case 'LTE':
        return ordered(field, value);
      case 'BETWEEN': {
        if (!Array.isArray(value) || value.length !== 2) return this.problem(field, `${field} must be a list of two bounds [low, high]`);
        const lo = ordered(`${field}[0]`, value[0]);
        const hi = ordered(`${field}[1]`, value[1]);
        if (lo === undefined || hi === undefined) return undefined;
        const before = type === 'datetime' ? Date.parse(String(lo)) <= Date.parse(String(hi)) : (lo as number) <= (hi as number);
        return before ? [lo, hi] : this.problem(field, `${field}: the low bound is above the high bound`);
      }
      case 'CONTAINS':
      case 'STARTS_WITH':
        return this.text(field, value, `a string (${op} compares text)`);
      case 'EXISTS':
        if (value === undefined || value === null) return true;
        return typeof value === 'boolean' ? value : this.problem(field, `${field} must be true (present) or false (absent)`);
    }
  }

  keysOf(field: string, v: Obj, allowed: string[]) {
    for (const key of Object.keys(v))
      if (!allowed.includes(key)) this.problem(`${field}.${key}`, `${field}.${key} is not a known field; expected one of ${allowed.join(', ')}`);
  }

  attribute(field: string, v: unknown): AttributeCondition | undefined {
    if (!isObject(v)) return this.problem(field, `${field} must be an object { field, op, value }`);
    this.keysOf(field, v, ['field', 'op', 'value']);
    const name = this.text(`${field}.field`, v.field);
    const op = this.oneOf(`${field}.op`, v.op, COMPARISON_OPS);
    if (name === undefined || op === undefined) return undefined;
    let type: FieldType | 'json';
    if (name.startsWith('traits.')) {
      if (this.path(`${field}.field`, name.slice('traits.'.length)) === undefined) return undefined;
      type = 'json';
    } else {
      const known = ATTRIBUTE_FIELDS[name];
      if (!known) return this.problem(`${field}.field`, `unknown field "${name}"; use one of ${Object.keys(ATTRIBUTE_FIELDS).join(', ')}, or traits.<path>`);
      type = known.type;
      if (!OPS_BY_TYPE[type].includes(op)) {
        return this.problem(
          `${field}.op`,
          `type mismatch: ${name} is a ${type === 'string' ? 'text' : type} field; ${op} applies to ${Object.entries(OPS_BY_TYPE)
            .filter(([, ops]) => ops.includes(op))
            .map(([t]) => t)
            .join(' or ')} fields`,
        );
      }
    }
    const value = this.comparisonValue(`${field}.value`, op, type, v.value, name);
    return value === undefined ? undefined : { field: name, op, value };
  }

  property(field: string, v: unknown): PropertyCondition | undefined {
    if (!isObject(v)) return this.problem(field, `${field} must be an object { path, op, value }`);
    this.keysOf(field, v, ['path', 'op', 'value']);
    const p = this.path(`${field}.path`, v.path);
    const op = this.oneOf(`${field}.op`, v.op, COMPARISON_OPS);
    if (p === undefined || op === undefined) return undefined;
    const value = this.comparisonValue(`${field}.value`, op, 'json', v.value, `properties.${p}`);
    return value === undefined ? undefined : { path: p, op, value };
  }

  behavior(field: string, v: unknown): BehaviorCondition | undefined {
    if (!isObject(v)) return this.problem(field, `${field} must be an object`);
    this.keysOf(field, v, ['channel', 'type', 'where', 'lastDays', 'from', 'to', 'aggregate', 'op', 'value']);
    const before = this.problems.length;
    const out: BehaviorCondition = { op: 'GTE', value: 0 };
    if (v.channel != null) out.channel = this.text(`${field}.channel`, v.channel);
    if (v.type != null) out.type = this.text(`${field}.type`, v.type);
    if (v.where != null) {
      if (!Array.isArray(v.where)) this.problem(`${field}.where`, `${field}.where must be a list`);
      else if (v.where.length > RULE_LIMITS.maxPropertyConditions)
        this.problem(`${field}.where`, `${field}.where has ${v.where.length} conditions; the limit is ${RULE_LIMITS.maxPropertyConditions}`);
      else {
        // A condition is undefined only where a problem was recorded, and then the behavior is refused below.
        out.where = v.where.map((w, i) => this.property(`${field}.where[${i}]`, w)).filter((w): w is PropertyCondition => w !== undefined);
      }
    }
    if (v.lastDays != null) {
      if (typeof v.lastDays !== 'number' || !Number.isInteger(v.lastDays))
        this.problem(`${field}.lastDays`, `${field}.lastDays must be a whole number of days`);
      else if (v.lastDays <= 0) this.problem(`${field}.lastDays`, `${field}.lastDays must be greater than 0 (got ${v.lastDays})`);
      else if (v.lastDays > RULE_LIMITS.maxLastDays) this.problem(`${field}.lastDays`, `${field}.lastDays must be at most ${RULE_LIMITS.maxLastDays}`);
      else out.lastDays = v.lastDays;
      if (v.from != null || v.to != null) this.problem(`${field}.lastDays`, `${field}: give either lastDays or from/to, not both`);
    }
    if (v.from != null) out.from = this.instant(`${field}.from`, v.from);
    if (v.to != null) out.to = this.instant(`${field}.to`, v.to);
    if (out.from && out.to && Date.parse(out.from) >= Date.parse(out.to)) this.problem(`${field}.to`, `${field}: the window is empty (to must be after from)`);
    out.aggregate = v.aggregate == null ? 'COUNT' : this.oneOf(`${field}.aggregate`, v.aggregate, BEHAVIOR_AGGREGATES);
    const op = this.oneOf<NumericOp>(`${field}.op`, v.op, NUMERIC_OPS);
    const value = this.finite(`${field}.value`, v.value);
    if (this.problems.length > before || op === undefined || value === undefined) return undefined;
    return { ...out, op, value };
  }

  score(field: string, v: unknown): ScoreCondition | undefined {
    if (!isObject(v)) return this.problem(field, `${field} must be an object`);
    this.keysOf(field, v, ['kind', 'op', 'value', 'labelIn']);
    const before = this.problems.length;
    const kind = this.oneOf(`${field}.kind`, v.kind, SCORE_KINDS);
    const out: Partial<ScoreCondition> = { kind };
    if (v.op != null || v.value != null) {
      if (v.op == null) this.problem(`${field}.op`, `${field}.op is required with value`);
      else out.op = this.oneOf(`${field}.op`, v.op, NUMERIC_OPS);
      if (v.value == null) this.problem(`${field}.value`, `${field}.value is required with op`);
      else out.value = this.finite(`${field}.value`, v.value);
    }
    if (v.labelIn != null) out.labelIn = this.list(`${field}.labelIn`, v.labelIn, (f, x) => this.text(f, x));
    if (v.op == null && v.value == null && v.labelIn == null) this.problem(field, `${field} needs op and value, or labelIn`);
    return this.problems.length > before ? undefined : (out as ScoreCondition);
  }

  recommended(at: string, value: unknown): RecommendedCondition | undefined {
    if (!isObject(value)) return this.problem(at, `${at} must be an object`);
    this.keysOf(at, value, ['product', 'rankAtMost']);
    const before = this.problems.length;
    const product =
      typeof value.product === 'string' && value.product.length > 0 && value.product.length <= 256
        ? value.product
        : this.problem(`${at}.product`, `${at}.product must be a product name of 1 to 256 characters`);
    if (product) this.text(`${at}.product`, product);
    const rankAtMost =
      Number.isInteger(value.rankAtMost) && (value.rankAtMost as number) >= 1 && (value.rankAtMost as number) <= MAX_RANK_AT_MOST
        ? (value.rankAtMost as number)
        : this.problem(`${at}.rankAtMost`, `${at}.rankAtMost must be an integer from 1 to ${MAX_RANK_AT_MOST}`);
    if (this.problems.length > before || product === undefined || rankAtMost === undefined) return undefined;
    return { product, rankAtMost };
  }

  consent(at: string, value: unknown): ConsentCondition | undefined {
    if (!isObject(value)) return this.problem(at, `${at} must be an object`);
    const before = this.problems.length;
    const purpose =
      typeof value.purpose === 'string' && value.purpose.trim() ? value.purpose.trim() : this.problem(`${at}.purpose`, `${at}.purpose is required`);
    // The limits setConsents stores purposes and channels with: a longer value can match nothing.
    if (purpose && purpose.length > 64) this.problem(`${at}.purpose`, `${at}.purpose is longer than 64 characters`);
    else if (purpose) this.text(`${at}.purpose`, purpose);
    const channel =
      value.channel == null
        ? '*'
        : typeof value.channel === 'string' && value.channel.trim()
          ? value.channel.trim()
          : this.problem(`${at}.channel`, `${at}.channel must be a channel name or *`);
    if (channel && channel.length > 64) this.problem(`${at}.channel`, `${at}.channel is longer than 64 characters`);
    else if (channel) this.text(`${at}.channel`, channel);
    let statusIn: string[] = ['GRANTED'];
    if (value.statusIn != null) {
      if (!Array.isArray(value.statusIn) || value.statusIn.length === 0) this.problem(`${at}.statusIn`, `${at}.statusIn must be a non-empty list`);
      else {
        statusIn = value.statusIn as string[];
        statusIn.forEach((s, i) => {
          if (!(CONSENT_STATUSES as readonly string[]).includes(s))
            this.problem(`${at}.statusIn[${i}]`, `${at}.statusIn[${i}] must be one of ${CONSENT_STATUSES.join(', ')}`);
        });
      }
    }
    if (this.problems.length > before) return undefined;
    return { purpose: purpose as string, channel: channel as string, statusIn: statusIn as ConsentCondition['statusIn'] };
  }

  node(field: string, v: unknown, depth: number): SegmentRule | undefined {
    if (depth > RULE_LIMITS.maxDepth) return this.problem(field, `the rule nests deeper than ${RULE_LIMITS.maxDepth} levels at ${field}`);
    if (!isObject(v)) return this.problem(field, `${field} must be an object with exactly one of ${RULE_KEYS.join(', ')}`);
    const keys = Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null);
    if (keys.length !== 1)
      return this.problem(field, `${field} must have exactly one of ${RULE_KEYS.join(', ')} (got ${keys.length ? keys.join(', ') : 'none'})`);
    const key = keys[0];
    const value = v[key];
    const at = `${field}.${key}`;
    switch (key) {
      case 'and':
      case 'or': {
        if (!Array.isArray(value) || value.length === 0) return this.problem(at, `${at} must be a non-empty list of rules`);
        const children = value.map((child, i) => this.node(`${at}[${i}]`, child, depth + 1));
        if (!children.every((c) => c !== undefined)) return undefined;
        return key === 'and' ? { and: children as SegmentRule[] } : { or: children as SegmentRule[] };
      }
      case 'not': {
        const child = this.node(at, value, depth + 1);
        return child && { not: child };
      }
      case 'attribute': {
        this.conditions++;
        const c = this.attribute(at, value);
        return c && { attribute: c };
      }
      case 'behavior': {
        this.conditions++;
        const c = this.behavior(at, value);
        return c && { behavior: c };
      }
      case 'score': {
        this.conditions++;
        const c = this.score(at, value);
        return c && { score: c };
      }
      case 'recommended': {
        this.conditions++;
        const c = this.recommended(at, value);
        return c && { recommended: c };
      }
      case 'consent': {
        this.conditions++;
        const c = this.consent(at, value);
        return c && { consent: c };
      }
      case 'inSegment': {
        this.conditions++;
        if (typeof value !== 'string' || !isDatabaseId(value)) return this.problem(at, `${at} must be a segment id`);
        this.segmentRefs.push({ id: value, field: at });
        return { inSegment: value };
      }
      default:
        return this.problem(at, `${at} is not a known rule; expected one of ${RULE_KEYS.join(', ')}`);
    }
  }
}

/**
 * Checks a rule tree's structure, fields, operators, value types, windows and
 * limits, collecting every problem with its path. Returns the normalised rule
 * (defaults filled in, instants as ISO strings) when there is none.
 */
export function validateRuleShape(input: unknown, root = 'rule'): ShapeResult {
  const check = new RuleShapeCheck();
  const rule = check.node(root, input, 1);
  const { problems, segmentRefs, conditions } = check;
  if (conditions > RULE_LIMITS.maxConditions)
    problems.unshift({ field: root, message: `the rule has ${conditions} conditions; the limit is ${RULE_LIMITS.maxConditions}` });
  return problems.length === 0 && rule ? { rule, problems, segmentRefs } : { problems, segmentRefs };
}

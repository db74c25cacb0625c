import { textProblem } from '../../../connector-kit/text';
import { ATTRIBUTE_FIELDS, MAX_PATH_SEGMENTS, OPS_BY_TYPE, PATH_SEGMENT, type FieldType } from './fields';
import {
  BEHAVIOR_AGGREGATES, COMPARISON_OPS, CONSENT_STATUSES, NUMERIC_OPS, RULE_KEYS, SCORE_KINDS,
  type AttributeCondition, type ConsentCondition, type BehaviorCondition, type ComparisonOp, type JsonValue, type NumericOp, type PropertyCondition, type ScoreCondition, type SegmentRule,
} from './rule';
import { isDatabaseId, isStorableInstant } from '../../../infra/db-values';

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
const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';

/**
 * Checks a rule tree's structure, fields, operators, value types, windows and
 * limits, collecting every problem with its path. Returns the normalised rule
 * (defaults filled in, instants as ISO strings) when there is none.
 */
export function validateRuleShape(input: unknown, root = 'rule'): ShapeResult {
  const problems: RuleProblem[] = [];
  const segmentRefs: { id: string; field: string }[] = [];
  let conditions = 0;
  const problem = (field: string, message: string) => {
    problems.push({ field, message });
    return undefined;
  };

  const text = (field: string, v: unknown, what = 'a string'): string | undefined => {
    if (typeof v !== 'string') return problem(field, `${field} must be ${what}`);
    const bad = textProblem(v);
    if (bad) return problem(field, `${field} ${bad}`);
    if (v.length > RULE_LIMITS.maxTextLength) return problem(field, `${field} is longer than ${RULE_LIMITS.maxTextLength} characters`);
    return v;
  };
  const finite = (field: string, v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) ? v : problem(field, `${field} must be a number`);
  const instant = (field: string, v: unknown): string | undefined => {
    if (v instanceof Date) return isStorableInstant(v) ? v.toISOString() : problem(field, `${field} must be a valid instant in years 1 to 9999`);
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(v) || !isStorableInstant(new Date(v))) return problem(field, `${field} must be an ISO 8601 instant such as 2026-01-31T00:00:00Z, in years 1 to 9999`);
    return new Date(v).toISOString();
  };
  const list = <T>(field: string, v: unknown, item: (f: string, x: unknown) => T | undefined): T[] | undefined => {
    if (!Array.isArray(v)) return problem(field, `${field} must be a list`);
    if (v.length === 0) return problem(field, `${field} must not be empty`);
    if (v.length > RULE_LIMITS.maxInValues) return problem(field, `${field} has ${v.length} values; the limit is ${RULE_LIMITS.maxInValues}`);
    const out = v.map((x, i) => item(`${field}[${i}]`, x));
    return out.every((x) => x !== undefined) ? (out as T[]) : undefined;
  };
  const path = (field: string, v: unknown): string | undefined => {
    const s = text(field, v);
    if (s === undefined) return undefined;
    const parts = s.split('.');
    if (parts.length > MAX_PATH_SEGMENTS || !parts.every((p) => PATH_SEGMENT.test(p))) {
      return problem(field, `${field} must be up to ${MAX_PATH_SEGMENTS} dot-separated names of letters, digits, _ or -`);
    }
    return s;
  };
  const oneOf = <T extends string>(field: string, v: unknown, allowed: readonly T[]): T | undefined =>
    typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : problem(field, `${field} must be one of ${allowed.join(', ')}`);

  /** The value of a comparison, checked against the operator and the field's type (`json`: a trait or property). */
  const comparisonValue = (field: string, op: ComparisonOp, type: FieldType | 'json', value: unknown, name: string): JsonValue | undefined => {
    const scalar = (f: string, v: unknown): string | number | boolean | undefined => {
      if (type === 'string') return text(f, v, `a string (${name} is text)`);
      if (type === 'number') return typeof v === 'number' && Number.isFinite(v) ? v : problem(f, `${f} must be a number (${name} is a number)`);
      if (type === 'datetime') return instant(f, v);
      if (!isScalar(v)) return problem(f, `${f} must be a string, a number or a boolean`);
      return typeof v === 'string' ? text(f, v) : v;
    };
    const ordered = (f: string, v: unknown): number | string | undefined => {
      if (type === 'datetime') return instant(f, v);
      return typeof v === 'number' && Number.isFinite(v) ? v : problem(f, `${f} must be a number: ${op} compares numbers${type === 'json' ? ` (the ${name} value must be a JSON number to match)` : ''}`);
    };
    switch (op) {
      case 'EQ':
      case 'NE':
        return scalar(field, value);
      case 'IN':
      case 'NOT_IN':
        return list(field, value, scalar);
      case 'GT':
      case 'GTE':
      case 'LT':
      case 'LTE':
        return ordered(field, value);
      case 'BETWEEN': {
        if (!Array.isArray(value) || value.length !== 2) return problem(field, `${field} must be a list of two bounds [low, high]`);
        const lo = ordered(`${field}[0]`, value[0]);
        const hi = ordered(`${field}[1]`, value[1]);
        if (lo === undefined || hi === undefined) return undefined;
        const before = type === 'datetime' ? Date.parse(String(lo)) <= Date.parse(String(hi)) : (lo as number) <= (hi as number);
        return before ? [lo, hi] : problem(field, `${field}: the low bound is above the high bound`);
      }
      case 'CONTAINS':
      case 'STARTS_WITH':
        return text(field, value, `a string (${op} compares text)`);
      case 'EXISTS':
        if (value === undefined || value === null) return true;
        return typeof value === 'boolean' ? value : problem(field, `${field} must be true (present) or false (absent)`);
    }
  };

  const keysOf = (field: string, v: Obj, allowed: string[]) => {
    for (const key of Object.keys(v)) if (!allowed.includes(key)) problem(`${field}.${key}`, `${field}.${key} is not a known field; expected one of ${allowed.join(', ')}`);
  };

  const attribute = (field: string, v: unknown): AttributeCondition | undefined => {
    if (!isObject(v)) return problem(field, `${field} must be an object { field, op, value }`);
    keysOf(field, v, ['field', 'op', 'value']);
    const name = text(`${field}.field`, v.field);
    const op = oneOf(`${field}.op`, v.op, COMPARISON_OPS);
    if (name === undefined || op === undefined) return undefined;
    let type: FieldType | 'json';
    if (name.startsWith('traits.')) {
      if (path(`${field}.field`, name.slice('traits.'.length)) === undefined) return undefined;
      type = 'json';
    } else {
      const known = ATTRIBUTE_FIELDS[name];
      if (!known) return problem(`${field}.field`, `unknown field "${name}"; use one of ${Object.keys(ATTRIBUTE_FIELDS).join(', ')}, or traits.<path>`);
      type = known.type;
      if (!OPS_BY_TYPE[type].includes(op)) {
        return problem(`${field}.op`, `type mismatch: ${name} is a ${type === 'string' ? 'text' : type} field; ${op} applies to ${Object.entries(OPS_BY_TYPE).filter(([, ops]) => ops.includes(op)).map(([t]) => t).join(' or ')} fields`);
      }
    }
    const value = comparisonValue(`${field}.value`, op, type, v.value, name);
    return value === undefined ? undefined : { field: name, op, value };
  };

  const property = (field: string, v: unknown): PropertyCondition | undefined => {
    if (!isObject(v)) return problem(field, `${field} must be an object { path, op, value }`);
    keysOf(field, v, ['path', 'op', 'value']);
    const p = path(`${field}.path`, v.path);
    const op = oneOf(`${field}.op`, v.op, COMPARISON_OPS);
    if (p === undefined || op === undefined) return undefined;
    const value = comparisonValue(`${field}.value`, op, 'json', v.value, `properties.${p}`);
    return value === undefined ? undefined : { path: p, op, value };
  };

  const behavior = (field: string, v: unknown): BehaviorCondition | undefined => {
    if (!isObject(v)) return problem(field, `${field} must be an object`);
    keysOf(field, v, ['channel', 'type', 'where', 'lastDays', 'from', 'to', 'aggregate', 'op', 'value']);
    const before = problems.length;
    const out: BehaviorCondition = { op: 'GTE', value: 0 };
    if (v.channel != null) out.channel = text(`${field}.channel`, v.channel);
    if (v.type != null) out.type = text(`${field}.type`, v.type);
    if (v.where != null) {
      if (!Array.isArray(v.where)) problem(`${field}.where`, `${field}.where must be a list`);
      else if (v.where.length > RULE_LIMITS.maxPropertyConditions) problem(`${field}.where`, `${field}.where has ${v.where.length} conditions; the limit is ${RULE_LIMITS.maxPropertyConditions}`);
      else out.where = v.where.map((w, i) => property(`${field}.where[${i}]`, w)!);
    }
    if (v.lastDays != null) {
      if (typeof v.lastDays !== 'number' || !Number.isInteger(v.lastDays)) problem(`${field}.lastDays`, `${field}.lastDays must be a whole number of days`);
      else if (v.lastDays <= 0) problem(`${field}.lastDays`, `${field}.lastDays must be greater than 0 (got ${v.lastDays})`);
      else if (v.lastDays > RULE_LIMITS.maxLastDays) problem(`${field}.lastDays`, `${field}.lastDays must be at most ${RULE_LIMITS.maxLastDays}`);
      else out.lastDays = v.lastDays;
      if (v.from != null || v.to != null) problem(`${field}.lastDays`, `${field}: give either lastDays or from/to, not both`);
    }
    if (v.from != null) out.from = instant(`${field}.from`, v.from);
    if (v.to != null) out.to = instant(`${field}.to`, v.to);
    if (out.from && out.to && Date.parse(out.from) >= Date.parse(out.to)) problem(`${field}.to`, `${field}: the window is empty (to must be after from)`);
    out.aggregate = v.aggregate == null ? 'COUNT' : oneOf(`${field}.aggregate`, v.aggregate, BEHAVIOR_AGGREGATES);
    const op = oneOf<NumericOp>(`${field}.op`, v.op, NUMERIC_OPS);
    const value = finite(`${field}.value`, v.value);
    if (problems.length > before || op === undefined || value === undefined) return undefined;
    return { ...out, op, value };
  };

  const score = (field: string, v: unknown): ScoreCondition | undefined => {
    if (!isObject(v)) return problem(field, `${field} must be an object`);
    keysOf(field, v, ['kind', 'op', 'value', 'labelIn']);
    const before = problems.length;
    const kind = oneOf(`${field}.kind`, v.kind, SCORE_KINDS);
    const out: Partial<ScoreCondition> = { kind };
    if (v.op != null || v.value != null) {
      if (v.op == null) problem(`${field}.op`, `${field}.op is required with value`);
      else out.op = oneOf(`${field}.op`, v.op, NUMERIC_OPS);
      if (v.value == null) problem(`${field}.value`, `${field}.value is required with op`);
      else out.value = finite(`${field}.value`, v.value);
    }
    if (v.labelIn != null) out.labelIn = list(`${field}.labelIn`, v.labelIn, (f, x) => text(f, x));
    if (v.op == null && v.value == null && v.labelIn == null) problem(field, `${field} needs op and value, or labelIn`);
    return problems.length > before ? undefined : (out as ScoreCondition);
  };

  const node = (field: string, v: unknown, depth: number): SegmentRule | undefined => {
    if (depth > RULE_LIMITS.maxDepth) return problem(field, `the rule nests deeper than ${RULE_LIMITS.maxDepth} levels at ${field}`);
    if (!isObject(v)) return problem(field, `${field} must be an object with exactly one of ${RULE_KEYS.join(', ')}`);
    const keys = Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null);
    if (keys.length !== 1) return problem(field, `${field} must have exactly one of ${RULE_KEYS.join(', ')} (got ${keys.length ? keys.join(', ') : 'none'})`);
    const key = keys[0];
    const value = v[key];
    const at = `${field}.${key}`;
    switch (key) {
      case 'and':
      case 'or': {
        if (!Array.isArray(value) || value.length === 0) return problem(at, `${at} must be a non-empty list of rules`);
        const children = value.map((child, i) => node(`${at}[${i}]`, child, depth + 1));
        if (!children.every((c) => c !== undefined)) return undefined;
        return key === 'and' ? { and: children as SegmentRule[] } : { or: children as SegmentRule[] };
      }
      case 'not': {
        const child = node(at, value, depth + 1);
        return child && { not: child };
      }
      case 'attribute': {
        conditions++;
        const c = attribute(at, value);
        return c && { attribute: c };
      }
      case 'behavior': {
        conditions++;
        const c = behavior(at, value);
        return c && { behavior: c };
      }
      case 'score': {
        conditions++;
        const c = score(at, value);
        return c && { score: c };
      }
      case 'consent': {
        conditions++;
        if (!isObject(value)) return problem(at, `${at} must be an object`);
        const before = problems.length;
        const purpose = typeof value.purpose === 'string' && value.purpose.trim() ? value.purpose.trim() : problem(`${at}.purpose`, `${at}.purpose is required`);
        // The limits setConsents stores purposes and channels with: a longer value can match nothing.
        if (purpose && purpose.length > 64) problem(`${at}.purpose`, `${at}.purpose is longer than 64 characters`);
        else if (purpose) text(`${at}.purpose`, purpose);
        const channel = value.channel == null ? '*' : typeof value.channel === 'string' && value.channel.trim() ? value.channel.trim() : problem(`${at}.channel`, `${at}.channel must be a channel name or *`);
        if (channel && channel.length > 64) problem(`${at}.channel`, `${at}.channel is longer than 64 characters`);
        else if (channel) text(`${at}.channel`, channel);
        let statusIn: string[] = ['GRANTED'];
        if (value.statusIn != null) {
          if (!Array.isArray(value.statusIn) || value.statusIn.length === 0) problem(`${at}.statusIn`, `${at}.statusIn must be a non-empty list`);
          else {
            statusIn = value.statusIn as string[];
            statusIn.forEach((s, i) => {
              if (!(CONSENT_STATUSES as readonly string[]).includes(s)) problem(`${at}.statusIn[${i}]`, `${at}.statusIn[${i}] must be one of ${CONSENT_STATUSES.join(', ')}`);
            });
          }
        }
        if (problems.length > before) return undefined;
        return { consent: { purpose: purpose as string, channel: channel as string, statusIn: statusIn as ConsentCondition['statusIn'] } };
      }
      case 'inSegment': {
        conditions++;
        if (typeof value !== 'string' || !isDatabaseId(value)) return problem(at, `${at} must be a segment id`);
        segmentRefs.push({ id: value, field: at });
        return { inSegment: value };
      }
      default:
        return problem(at, `${at} is not a known rule; expected one of ${RULE_KEYS.join(', ')}`);
    }
  };

  const rule = node(root, input, 1);
  if (conditions > RULE_LIMITS.maxConditions) problems.unshift({ field: root, message: `the rule has ${conditions} conditions; the limit is ${RULE_LIMITS.maxConditions}` });
  return problems.length === 0 && rule ? { rule, problems, segmentRefs } : { problems, segmentRefs };
}

/**
 * The segment rule language: a typed tree of conditions over customers.
 * Stored as jsonb in `segments.rule`; `inSegment` holds a segment's database id.
 */

export const COMPARISON_OPS = ['EQ', 'NE', 'IN', 'NOT_IN', 'GT', 'GTE', 'LT', 'LTE', 'BETWEEN', 'CONTAINS', 'STARTS_WITH', 'EXISTS'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

export const BEHAVIOR_AGGREGATES = ['COUNT', 'SUM', 'DISTINCT_DAYS'] as const;
export type BehaviorAggregate = (typeof BEHAVIOR_AGGREGATES)[number];

/** Operators that compare one number with another (behaviour aggregates, score values). */
export const NUMERIC_OPS = ['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE'] as const;
export type NumericOp = (typeof NUMERIC_OPS)[number];

/** Score kinds a rule can name: the scores module's kinds, compiled against the `scores` table by name. */
export { SCORE_KINDS, type ScoreKind } from '../../scores';
import type { ScoreKind } from '../../scores';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A customer field (`lifecycleStage`) or a trait path (`traits.industry`) compared with a value. */
export interface AttributeCondition {
  field: string;
  op: ComparisonOp;
  value?: JsonValue;
}

/** A condition on one property of an interaction (`properties.<path>`), with trait-like semantics. */
export interface PropertyCondition {
  path: string;
  op: ComparisonOp;
  value?: JsonValue;
}

/** An aggregate of the customer's matching interactions within a window, compared with a number. */
export interface BehaviorCondition {
  channel?: string | null;
  type?: string | null;
  where?: PropertyCondition[] | null;
  /** The window is the last N days up to now; exclusive with from/to. */
  lastDays?: number | null;
  /** ISO instant, inclusive. */
  from?: string | null;
  /** ISO instant, exclusive. */
  to?: string | null;
  aggregate?: BehaviorAggregate | null;
  op: NumericOp;
  value: number;
}

/** A score compared by value and/or by label. A customer without that score never matches. */
export interface ScoreCondition {
  kind: ScoreKind;
  op?: NumericOp | null;
  value?: number | null;
  labelIn?: string[] | null;
}

/** The product is among the customer's first `rankAtMost` recommendations (the recommendations module's stored lists). */
export interface RecommendedCondition {
  product: string;
  rankAtMost: number;
}

/** The statuses of a consent record: the privacy module's records and the rule language's consent conditions share them. */
export const CONSENT_STATUSES = ['GRANTED', 'DENIED', 'WITHDRAWN'] as const;

/**
 * The customer's consent for a purpose: the record for the channel if there is
 * one, else the record for every channel (`*`). A customer without either never matches.
 */
export interface ConsentCondition {
  purpose: string;
  /** @defaultValue '*' (every channel) */
  channel?: string | null;
  /** @defaultValue ['GRANTED'] */
  statusIn?: (typeof CONSENT_STATUSES)[number][] | null;
}

/** Exactly one key per node. */
export type SegmentRule =
  | { and: SegmentRule[] }
  | { or: SegmentRule[] }
  | { not: SegmentRule }
  | { attribute: AttributeCondition }
  | { behavior: BehaviorCondition }
  | { score: ScoreCondition }
  | { inSegment: string }
  | { consent: ConsentCondition }
  | { recommended: RecommendedCondition };

export const RULE_KEYS = ['and', 'or', 'not', 'attribute', 'behavior', 'score', 'inSegment', 'consent', 'recommended'] as const;
export type RuleKey = (typeof RULE_KEYS)[number];

/** The one key of a rule node. */
export function ruleKey(rule: SegmentRule): RuleKey {
  return Object.keys(rule)[0] as RuleKey;
}

/** Ids of every segment a rule refers to. */
export function referencedSegments(rule: SegmentRule | null | undefined): string[] {
  const out = new Set<string>();
  const walk = (node: SegmentRule) => {
    if ('and' in node) node.and.forEach(walk);
    else if ('or' in node) node.or.forEach(walk);
    else if ('not' in node) walk(node.not);
    else if ('inSegment' in node) out.add(node.inSegment);
  };
  if (rule) walk(rule);
  return [...out];
}

/** True when the rule's truth can change with the clock alone (a `lastDays` window). */
export function hasMovingWindow(rule: SegmentRule | null | undefined): boolean {
  if (!rule) return false;
  if ('and' in rule) return rule.and.some(hasMovingWindow);
  if ('or' in rule) return rule.or.some(hasMovingWindow);
  if ('not' in rule) return hasMovingWindow(rule.not);
  if ('behavior' in rule) return rule.behavior.lastDays != null;
  return false;
}

/** Whether a rule reads recommendations (refreshed after a full recommendations recompute, like score rules after a scores one). */
export function usesRecommendations(rule: SegmentRule | null | undefined): boolean {
  if (!rule) return false;
  if ('and' in rule) return rule.and.some(usesRecommendations);
  if ('or' in rule) return rule.or.some(usesRecommendations);
  if ('not' in rule) return usesRecommendations(rule.not);
  return 'recommended' in rule;
}

/** Score kinds a rule depends on. */
export function referencedScoreKinds(rule: SegmentRule | null | undefined): ScoreKind[] {
  const out = new Set<ScoreKind>();
  const walk = (node: SegmentRule) => {
    if ('and' in node) node.and.forEach(walk);
    else if ('or' in node) node.or.forEach(walk);
    else if ('not' in node) walk(node.not);
    else if ('score' in node) out.add(node.score.kind);
  };
  if (rule) walk(rule);
  return [...out];
}

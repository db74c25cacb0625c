import type { BehaviorCondition, ComparisonOp, JsonValue, SegmentRule } from './rule';

const SYMBOL: Record<ComparisonOp, string> = {
  EQ: '=',
  NE: '≠',
  IN: 'in',
  NOT_IN: 'not in',
  GT: '>',
  GTE: '≥',
  LT: '<',
  LTE: '≤',
  BETWEEN: 'between',
  CONTAINS: 'contains',
  STARTS_WITH: 'starts with',
  EXISTS: 'exists',
};

function show(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Math.round(value * 10_000) / 10_000);
  return JSON.stringify(value);
}

function comparison(op: ComparisonOp, value: JsonValue | undefined): string {
  if (op === 'EXISTS') return value === false ? 'is absent' : 'is present';
  if (op === 'BETWEEN') {
    const [lo, hi] = value as JsonValue[];
    return `between ${show(lo)} and ${show(hi)}`;
  }
  return `${SYMBOL[op]} ${show(value)}`;
}

function window(b: BehaviorCondition): string {
  if (b.lastDays != null) return ` in last ${b.lastDays} day${b.lastDays === 1 ? '' : 's'}`;
  if (b.from && b.to) return ` from ${b.from} to ${b.to}`;
  if (b.from) return ` since ${b.from}`;
  if (b.to) return ` before ${b.to}`;
  return ' ever';
}

/** What a behaviour condition counts, e.g. `purchase interactions on payment with properties.sku = "A1" in last 90 days`. */
export function describeBehaviorSubject(b: BehaviorCondition): string {
  const what = `${b.type ? `${b.type} interactions` : 'interactions'}${b.channel ? ` on ${b.channel}` : ''}`;
  const where = b.where?.length ? ` with ${b.where.map((w) => `properties.${w.path} ${comparison(w.op, w.value)}`).join(' and ')}` : '';
  const prefix = b.aggregate === 'SUM' ? 'value of ' : b.aggregate === 'DISTINCT_DAYS' ? 'days with ' : '';
  return `${prefix}${what}${where}${window(b)}`;
}

/**
 * One line that states a leaf condition and the customer's figure behind it,
 * e.g. `purchase interactions in last 90 days: 4 ≥ 3`.
 */
export function describeLeaf(rule: SegmentRule, figure: unknown, segmentNames: Map<string, string>): string {
  if ('attribute' in rule) {
    const a = rule.attribute;
    return `${a.field}: ${show(figure)} ${comparison(a.op, a.value)}`;
  }
  if ('behavior' in rule) {
    const b = rule.behavior;
    return `${describeBehaviorSubject(b)}: ${show(figure)} ${SYMBOL[b.op]} ${show(b.value)}`;
  }
  if ('score' in rule) {
    const s = rule.score;
    const wanted = [
      s.op != null ? `${SYMBOL[s.op]} ${show(s.value)}` : null,
      s.labelIn ? `label in ${s.labelIn.map((l) => JSON.stringify(l)).join(', ')}` : null,
    ]
      .filter(Boolean)
      .join(' and ');
    if (!figure) return `${s.kind} score: none computed; wanted ${wanted}`;
    const f = figure as { value: number; label: string | null };
    return `${s.kind} score: ${show(f.value)}${f.label ? ` (${f.label})` : ''}; wanted ${wanted}`;
  }
  if ('recommended' in rule) {
    const r = rule.recommended;
    return `rank of ${JSON.stringify(r.product)} in the customer's recommendations: ${figure == null ? 'not recommended' : show(figure)}; wanted ≤ ${r.rankAtMost}`;
  }
  if ('consent' in rule) {
    const k = rule.consent;
    return `consent for ${k.purpose} on ${k.channel === '*' ? 'every channel' : k.channel}: ${figure ? String(figure) : 'none recorded'}; wanted ${(k.statusIn ?? ['GRANTED']).join(' or ')}`;
  }
  if ('inSegment' in rule) {
    const name = segmentNames.get(rule.inSegment) ?? `#${rule.inSegment}`;
    return `member of segment "${name}": ${figure ? 'yes' : 'no'}`;
  }
  return '';
}

/** The line of a composite node. */
export function describeComposite(rule: SegmentRule, childHolds: boolean[]): string {
  const held = childHolds.filter(Boolean).length;
  if ('and' in rule) return `all of ${childHolds.length} conditions: ${held} hold`;
  if ('or' in rule) return `any of ${childHolds.length} conditions: ${held} hold`;
  return `not: the inner condition ${childHolds[0] ? 'holds' : 'does not hold'}`;
}

import type { ComparisonOp, ScoreKind, SegmentRuleInput } from '../../gql/graphql';

/**
 * The segment editor's model of a rule: the SegmentRuleInput tree with every
 * input kept as the text the user typed, so a half-typed number stays on
 * screen. `toRule` turns it into the API's input (or lists what is not yet a
 * rule), `fromRule` reads a saved rule or a template back.
 */
export type UiNode =
  | { id: number; type: 'and' | 'or'; children: UiNode[] }
  | { id: number; type: 'not'; child: UiNode }
  | { id: number; type: 'attribute'; field: string; op: ComparisonOp; value: string }
  | {
      id: number;
      type: 'behavior';
      channel: string;
      eventType: string;
      aggregate: 'COUNT' | 'SUM' | 'DISTINCT_DAYS';
      lastDays: string;
      op: ComparisonOp;
      value: string;
    }
  | { id: number; type: 'score'; kind: ScoreKind; op: ComparisonOp | ''; value: string; labelIn: string }
  | { id: number; type: 'inSegment'; segmentId: string }
  /** A node the editor has no form for (consent, recommended): edited as JSON. */
  | { id: number; type: 'json'; json: string };

export type NodeType = UiNode['type'];

/** A problem of the rule, at a path as the API names it (`rule.and[1].behavior.lastDays`). */
export interface RuleProblem {
  field: string;
  message: string;
}

export const COMPARISON_OPS: ComparisonOp[] = ['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE', 'IN', 'NOT_IN', 'BETWEEN', 'CONTAINS', 'STARTS_WITH', 'EXISTS'];
export const BEHAVIOR_OPS: ComparisonOp[] = ['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE'];
export const SCORE_KINDS: ScoreKind[] = ['RFM', 'CLV', 'CHURN_RISK', 'CHURN_PROPENSITY', 'ENGAGEMENT'];
export const ATTRIBUTE_FIELDS = [
  'kind',
  'displayName',
  'lifecycleStage',
  'owner',
  'interactionCount',
  'transactionCount',
  'transactionValue',
  'createdAt',
  'updatedAt',
  'firstSeenAt',
  'lastSeenAt',
  'traits.',
];

let nextId = 1;
const id = () => nextId++;

export function newNode(type: NodeType): UiNode {
  switch (type) {
    case 'and':
    case 'or':
      return { id: id(), type, children: [newNode('attribute')] };
    case 'not':
      return { id: id(), type, child: newNode('attribute') };
    case 'attribute':
      return { id: id(), type, field: 'transactionCount', op: 'GTE', value: '1' };
    case 'behavior':
      return { id: id(), type, channel: '', eventType: 'purchase', aggregate: 'COUNT', lastDays: '90', op: 'GTE', value: '1' };
    case 'score':
      return { id: id(), type, kind: 'RFM', op: '', value: '', labelIn: 'Champions' };
    case 'inSegment':
      return { id: id(), type, segmentId: '' };
    case 'json':
      return { id: id(), type, json: '{ "consent": { "purpose": "marketing" } }' };
  }
}

/**
 * A typed value: JSON when it reads as JSON (`42`, `true`, `"5"`, `[1, 2]`),
 * else the text itself, so `finance` needs no quotes.
 */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return trimmed;
  }
}

function formatValue(value: unknown): string {
  return typeof value === 'string' && !/^[\d[{"\-tfn]/.test(value) ? value : JSON.stringify(value);
}

/** An attribute value as the API takes it: a list for IN/NOT_IN/BETWEEN (comma-separated), a boolean for EXISTS. */
function attributeValue(op: ComparisonOp, text: string): unknown {
  if (op === 'IN' || op === 'NOT_IN' || op === 'BETWEEN') {
    const parsed = parseValue(text);
    if (Array.isArray(parsed)) return parsed;
    return text
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '')
      .map(parseValue);
  }
  if (op === 'EXISTS') return text.trim() !== 'false';
  return parseValue(text);
}

function attributeText(op: ComparisonOp, value: unknown): string {
  if ((op === 'IN' || op === 'NOT_IN' || op === 'BETWEEN') && Array.isArray(value)) return value.map(formatValue).join(', ');
  if (value === undefined || value === null) return '';
  return formatValue(value);
}

const isNumber = (text: string) => text.trim() !== '' && Number.isFinite(Number(text));

/** The API input of a node, and the problems that keep it from being one (checked here before asking). */
export function toRule(node: UiNode, path = 'rule'): { rule?: SegmentRuleInput; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const rule = build(node, path, problems);
  return problems.length > 0 ? { problems } : { rule, problems };
}

function build(node: UiNode, path: string, problems: RuleProblem[]): SegmentRuleInput {
  switch (node.type) {
    case 'and':
      return { and: node.children.map((child, i) => build(child, `${path}.and[${i}]`, problems)) };
    case 'or':
      return { or: node.children.map((child, i) => build(child, `${path}.or[${i}]`, problems)) };
    case 'not':
      return { not: build(node.child, `${path}.not`, problems) };
    case 'attribute': {
      if (!node.field.trim()) problems.push({ field: `${path}.attribute.field`, message: 'a field is needed' });
      return { attribute: { field: node.field.trim(), op: node.op, value: attributeValue(node.op, node.value) } };
    }
    case 'behavior': {
      const at = `${path}.behavior`;
      if (node.lastDays.trim() !== '' && !/^\d+$/.test(node.lastDays.trim())) problems.push({ field: `${at}.lastDays`, message: 'a whole number of days' });
      if (!isNumber(node.value)) problems.push({ field: `${at}.value`, message: 'a number is needed' });
      return {
        behavior: {
          ...(node.channel.trim() ? { channel: node.channel.trim() } : {}),
          ...(node.eventType.trim() ? { type: node.eventType.trim() } : {}),
          aggregate: node.aggregate,
          ...(node.lastDays.trim() ? { lastDays: Number(node.lastDays) } : {}),
          op: node.op,
          value: Number(node.value),
        },
      };
    }
    case 'score': {
      const at = `${path}.score`;
      const labels = node.labelIn
        .split(',')
        .map((l) => l.trim())
        .filter(Boolean);
      if (node.op && !isNumber(node.value)) problems.push({ field: `${at}.value`, message: 'a number is needed with a comparison' });
      return {
        score: {
          kind: node.kind,
          ...(node.op ? { op: node.op, value: Number(node.value) } : {}),
          ...(labels.length > 0 ? { labelIn: labels } : {}),
        },
      };
    }
    case 'inSegment':
      if (!node.segmentId) problems.push({ field: `${path}.inSegment`, message: 'choose a segment' });
      return { inSegment: node.segmentId };
    case 'json':
      try {
        return JSON.parse(node.json) as SegmentRuleInput;
      } catch (e) {
        problems.push({ field: path, message: `not JSON: ${e instanceof Error ? e.message : String(e)}` });
        return { and: [] };
      }
  }
}

/** Reads a rule (a saved segment's or a template's SegmentRuleInput JSON) into the editor. */
export function fromRule(rule: unknown): UiNode {
  const r = (rule ?? {}) as Record<string, unknown>;
  if (Array.isArray(r.and)) return { id: id(), type: 'and', children: r.and.map(fromRule) };
  if (Array.isArray(r.or)) return { id: id(), type: 'or', children: r.or.map(fromRule) };
  if (r.not && typeof r.not === 'object') return { id: id(), type: 'not', child: fromRule(r.not) };
  if (r.attribute && typeof r.attribute === 'object') {
    const a = r.attribute as { field?: string; op?: ComparisonOp; value?: unknown };
    const op = a.op ?? 'EQ';
    return { id: id(), type: 'attribute', field: a.field ?? '', op, value: attributeText(op, a.value) };
  }
  if (r.behavior && typeof r.behavior === 'object') {
    const b = r.behavior as Record<string, unknown>;
    // A behaviour with a window by dates or property conditions has no form of its own: JSON.
    if (b.from !== undefined || b.to !== undefined || b.where !== undefined) return { id: id(), type: 'json', json: JSON.stringify(r, null, 2) };
    return {
      id: id(),
      type: 'behavior',
      channel: typeof b.channel === 'string' ? b.channel : '',
      eventType: typeof b.type === 'string' ? b.type : '',
      aggregate: (b.aggregate as 'COUNT' | 'SUM' | 'DISTINCT_DAYS' | undefined) ?? 'COUNT',
      lastDays: b.lastDays === undefined || b.lastDays === null ? '' : String(b.lastDays),
      op: (b.op as ComparisonOp | undefined) ?? 'GTE',
      value: b.value === undefined ? '' : String(b.value),
    };
  }
  if (r.score && typeof r.score === 'object') {
    const s = r.score as { kind?: ScoreKind; op?: ComparisonOp; value?: number; labelIn?: string[] };
    return {
      id: id(),
      type: 'score',
      kind: s.kind ?? 'RFM',
      op: s.op ?? '',
      value: s.value === undefined || s.value === null ? '' : String(s.value),
      labelIn: (s.labelIn ?? []).join(', '),
    };
  }
  if (typeof r.inSegment === 'string') return { id: id(), type: 'inSegment', segmentId: r.inSegment };
  return { id: id(), type: 'json', json: JSON.stringify(rule, null, 2) };
}

/** Replaces the node with `target`'s id by `next(node)` (null removes it from its group). */
export function replaceNode(root: UiNode, target: number, next: (node: UiNode) => UiNode | null): UiNode {
  const visit = (node: UiNode): UiNode | null => {
    if (node.id === target) return next(node);
    if (node.type === 'and' || node.type === 'or') {
      const children = node.children.map(visit).filter((c): c is UiNode => c !== null);
      return { ...node, children };
    }
    if (node.type === 'not') {
      const child = visit(node.child);
      return child ? { ...node, child } : null;
    }
    return node;
  };
  return visit(root) ?? newNode('and');
}

/** The problems of an API error: every one of `details.problems`, else the one `field`. */
export function problemsOf(error: unknown): RuleProblem[] | undefined {
  const errors = (error as { errors?: { message: string; extensions?: Record<string, unknown> }[] }).errors;
  const first = errors?.[0];
  const code = first?.extensions?.code;
  if (!first || (code !== 'SEGMENT_RULE_INVALID' && code !== 'SEGMENT_RULE_CYCLE' && code !== 'FORBIDDEN' && code !== 'VALIDATION_FAILED')) return undefined;
  const details = first.extensions?.details as { problems?: RuleProblem[] } | undefined;
  if (details?.problems && details.problems.length > 0) return details.problems.map((p) => ({ field: p.field, message: p.message }));
  const field = typeof first.extensions?.field === 'string' ? first.extensions.field : 'rule';
  return [{ field, message: first.message.replace(/^invalid rule at [^:]+: /, '') }];
}

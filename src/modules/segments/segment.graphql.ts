import { builder } from '../../graphql/builder';
import { RecomputeJobRef } from '../scores';
import { RowErrorRef } from '../../graphql/common.graphql';
import { forwardOnly, globalId, localId, localIdOrNull } from '../../graphql/ids';
import { fail } from '../../errors/catalog';
import { CustomerConnectionRef, CustomerRef, CustomerRefInput } from '../customers';
import { ScoreKindEnum } from '../scores';
import { MEMBERSHIP_EVENT_KINDS, SEGMENT_KINDS, SEGMENT_STATUSES } from './segment.service';
import type { ConditionExplanation, MemberRowResult, MembershipEventRecord, MembershipExplanation, SegmentRecord, SizePointRecord } from './segment.service';
import { MAX_MEMBERS_PER_CALL } from './segment.service';
import { segmentLoaders } from './segment-loaders';
import type { SegmentTemplate } from './segment-templates';
import { BEHAVIOR_AGGREGATES, COMPARISON_OPS, type SegmentRule } from './rules/rule';
import { RULE_LIMITS } from './rules/validate';
import type { GraphQLContext } from '../../graphql/context';
import { hasScope } from '../access';
import type { RuleAccess } from './segment.service';
import { present } from '../../infra/present';

const describe = <K extends string>(keys: readonly K[], text: Record<K, string>) =>
  Object.fromEntries(keys.map((k) => [k, { description: text[k] }])) as Record<K, { description: string }>;

export const SegmentKindEnum = builder.enumType('SegmentKind', {
  description: 'How a segment gets its members.',
  values: describe(SEGMENT_KINDS, {
    DYNAMIC: 'Members are the customers its rule matches, kept exact asynchronously.',
    STATIC: 'Members are added and removed by hand (addToSegment, removeFromSegment).',
  }),
});

export const SegmentStatusEnum = builder.enumType('SegmentStatus', {
  description: 'Whether a segment’s materialised membership reflects its current rule.',
  values: describe(SEGMENT_STATUSES, {
    FRESH: 'The last full refresh finished after the last rule change; ingest keeps it exact since.',
    REFRESHING: 'A full refresh is running.',
    STALE: 'The rule changed (or a segment it uses did) and a refresh is queued.',
  }),
});

export const ComparisonOpEnum = builder.enumType('ComparisonOp', {
  description: 'How a condition compares a figure with its value. Behaviour and score conditions take EQ, NE, GT, GTE, LT, LTE.',
  values: describe(COMPARISON_OPS, {
    EQ: 'Equal to value.',
    NE: 'Not equal to value (a missing field counts as different).',
    IN: 'Equal to one of value (a non-empty JSON list).',
    NOT_IN: 'Equal to none of value (a missing field counts as none).',
    GT: 'Greater than value.',
    GTE: 'Greater than or equal to value.',
    LT: 'Less than value.',
    LTE: 'Less than or equal to value.',
    BETWEEN: 'Between value[0] and value[1], both included.',
    CONTAINS: 'Text containing value (case-insensitive), or for a JSON list trait, a list with value as an element.',
    STARTS_WITH: 'Text starting with value (case-sensitive).',
    EXISTS: 'The field is present (value true or omitted) or absent (value false).',
  }),
});

export const BehaviorAggregateEnum = builder.enumType('BehaviorAggregate', {
  description: 'What a behaviour condition measures over the matching interactions.',
  values: describe(BEHAVIOR_AGGREGATES, {
    COUNT: 'How many there are.',
    SUM: 'The sum of their value.',
    DISTINCT_DAYS: 'On how many distinct days (UTC) they happened.',
  }),
});

const MembershipEventKindEnum = builder.enumType('SegmentMembershipEventKind', {
  description: 'A change of membership.',
  values: describe(MEMBERSHIP_EVENT_KINDS, { ENTERED: 'The customer joined the segment.', EXITED: 'The customer left the segment.' }),
});

const AttributeConditionInput = builder.inputType('AttributeConditionInput', {
  description: 'A customer field or trait compared with a value, e.g. { field: "traits.industry", op: EQ, value: "finance" }.',
  fields: (t) => ({
    field: t.string({
      required: true,
      description:
        'kind, displayName, lifecycleStage, owner, createdAt, updatedAt, interactionCount, transactionCount, transactionValue, firstSeenAt, lastSeenAt, or traits.<path> (dot path into traits). displayName and personal traits (RAPPORT_PERSONAL_TRAITS, at any depth) need pii:read.',
    }),
    op: t.field({ type: ComparisonOpEnum, required: true, description: 'How to compare; must fit the field’s type.' }),
    value: t.field({
      type: 'JSON',
      description: 'A string, number, boolean or ISO instant; a list for IN/NOT_IN; [low, high] for BETWEEN; true/false for EXISTS.',
    }),
  }),
});

const PropertyConditionInput = builder.inputType('PropertyConditionInput', {
  description: 'A condition on an interaction property, e.g. { path: "sku", op: EQ, value: "A-1" }.',
  fields: (t) => ({
    path: t.string({
      required: true,
      description: 'Dot path into the interaction’s properties; a personal property (RAPPORT_PERSONAL_PROPERTIES, at any depth) needs pii:read.',
    }),
    op: t.field({ type: ComparisonOpEnum, required: true, description: 'How to compare.' }),
    value: t.field({ type: 'JSON', description: 'As for attribute conditions on traits.' }),
  }),
});

const BehaviorConditionInput = builder.inputType('BehaviorConditionInput', {
  description:
    'An aggregate of the customer’s interactions of a channel/type within a window, compared with a number, e.g. at least 3 purchases in the last 90 days. Use op LT/EQ with value 0 (or `not`) for “did not”.',
  fields: (t) => ({
    channel: t.string({ description: 'Only interactions on this channel (email, web, payment…).' }),
    type: t.string({ description: 'Only interactions of this type (purchase, open…).' }),
    where: t.field({
      type: [PropertyConditionInput],
      description: `Conditions on interaction properties, all must hold (at most ${RULE_LIMITS.maxPropertyConditions}).`,
    }),
    lastDays: t.int({ description: `Window: the last N days up to now (1 to ${RULE_LIMITS.maxLastDays}); exclusive with from/to.` }),
    from: t.field({ type: 'DateTime', description: 'Window start, inclusive.' }),
    to: t.field({ type: 'DateTime', description: 'Window end, exclusive.' }),
    aggregate: t.field({ type: BehaviorAggregateEnum, defaultValue: 'COUNT', description: 'What to measure; COUNT by default.' }),
    op: t.field({ type: ComparisonOpEnum, required: true, description: 'EQ, NE, GT, GTE, LT or LTE.' }),
    value: t.float({ required: true, description: 'The number the aggregate is compared with.' }),
  }),
});

const ScoreConditionInput = builder.inputType('ScoreConditionInput', {
  description: 'A score compared by value and/or label, e.g. { kind: CHURN_RISK, labelIn: ["HIGH"] }. Customers without that score never match.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, required: true, description: 'Which score.' }),
    op: t.field({ type: ComparisonOpEnum, description: 'EQ, NE, GT, GTE, LT or LTE; with value.' }),
    value: t.float({ description: 'Compared with the score’s value; with op.' }),
    labelIn: t.stringList({ description: 'The label is one of these (e.g. ["Champions", "Loyal"]).' }),
  }),
});

const RecommendedConditionInput = builder.inputType('RecommendedConditionInput', {
  description:
    'A product among the customer’s first recommendations, e.g. { product: "Savings Plus", rankAtMost: 3 }. Customers without recommendations never match.',
  fields: (t) => ({
    product: t.string({ required: true, description: 'The product (a value of the recommendation model’s productProperty).' }),
    rankAtMost: t.int({ required: true, description: 'Its rank is at most this (1 to 100).' }),
  }),
});

const ConsentConditionInput = builder.inputType('ConsentConditionInput', {
  description:
    'The customer’s consent for a purpose, e.g. { purpose: "marketing", channel: "email" }: the channel’s own record, else the every-channel one. No record never matches.',
  fields: (t) => ({
    purpose: t.string({ required: true, description: 'What for, e.g. marketing.' }),
    channel: t.string({ defaultValue: '*', description: 'Which channel; `*` (default) for the every-channel record.' }),
    statusIn: t.stringList({ defaultValue: ['GRANTED'], description: 'Matching statuses: GRANTED (default), DENIED, WITHDRAWN.' }),
  }),
});

interface RuleInputShape {
  and?: RuleInputShape[] | null;
  or?: RuleInputShape[] | null;
  not?: RuleInputShape | null;
  attribute?: object | null;
  behavior?: object | null;
  score?: object | null;
  inSegment?: string | number | null;
  consent?: object | null;
  recommended?: object | null;
}

export const SegmentRuleInput = builder.inputRef<RuleInputShape>('SegmentRuleInput').implement({
  description: `A rule tree node: exactly one of its fields. At most ${RULE_LIMITS.maxDepth} levels and ${RULE_LIMITS.maxConditions} conditions.`,
  isOneOf: true,
  fields: (t) => ({
    and: t.field({ type: [SegmentRuleInput], description: 'All of these hold.' }),
    or: t.field({ type: [SegmentRuleInput], description: 'Any of these holds.' }),
    not: t.field({ type: SegmentRuleInput, description: 'This does not hold.' }),
    attribute: t.field({ type: AttributeConditionInput, description: 'A customer field or trait condition.' }),
    behavior: t.field({ type: BehaviorConditionInput, description: 'An interaction aggregate condition.' }),
    score: t.field({ type: ScoreConditionInput, description: 'A score condition.' }),
    inSegment: t.id({ description: 'Member of this segment (global id); cycles are rejected.' }),
    consent: t.field({ type: ConsentConditionInput, description: 'A consent condition (purpose, channel, statuses).' }),
    recommended: t.field({ type: RecommendedConditionInput, description: 'A recommendation condition (a product within the first ranks).' }),
  }),
});

const SegmentInputRef = builder.inputType('SegmentInput', {
  description: 'A segment definition.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique name (1 to 200 characters).' }),
    description: t.string({ description: 'What the segment is for.' }),
    kind: t.field({ type: SegmentKindEnum, defaultValue: 'DYNAMIC', description: 'DYNAMIC (default; needs a rule) or STATIC (no rule).' }),
    rule: t.field({ type: SegmentRuleInput, description: 'The rule of a DYNAMIC segment.' }),
  }),
});

/** GraphQL rule input → service rule: plain objects, segment global ids → database ids (bad ids are reported at their path). */
export function ruleFromInput(input: RuleInputShape | null | undefined, path = 'rule'): unknown {
  if (input == null || typeof input !== 'object') return input;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (key === 'and' || key === 'or') out[key] = Array.isArray(value) ? value.map((v, i) => ruleFromInput(v, `${path}.${key}[${i}]`)) : value;
    else if (key === 'not') out[key] = ruleFromInput(value as RuleInputShape, `${path}.not`);
    else if (key === 'inSegment') {
      const id = value == null ? null : localIdOrNull(String(value), 'Segment');
      if (value != null && !id)
        throw fail('SEGMENT_RULE_INVALID', { detail: `invalid rule at ${path}.inSegment: "${String(value)}" is not a segment id` }, `${path}.inSegment`);
      out[key] = id;
    } else out[key] = value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? { ...value } : value;
  }
  return out;
}

/** Service rule → JSON as clients send it (segment references as global ids), so it can be sent back as input. */
export function ruleToOutput(rule: SegmentRule | null): unknown {
  if (!rule) return null;
  if ('and' in rule) return { and: rule.and.map(ruleToOutput) };
  if ('or' in rule) return { or: rule.or.map(ruleToOutput) };
  if ('not' in rule) return { not: ruleToOutput(rule.not) };
  if ('inSegment' in rule) return { inSegment: globalId('Segment', rule.inSegment) };
  return rule;
}

export const SegmentRef = builder.objectRef<SegmentRecord>('Segment');

/** What the caller's rules may read: personal data only with pii:read. */
function ruleAccess(ctx: GraphQLContext): RuleAccess {
  return { piiRead: hasScope(ctx.principal, 'pii:read') };
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Segments whose members this caller may not see: those over personal data
 * (their membership tells the values), unless the caller holds pii:read.
 */
async function hiddenSegments(ctx: GraphQLContext): Promise<ReadonlySet<string>> {
  return hasScope(ctx.principal, 'pii:read') ? NONE : segmentLoaders(ctx).personalSegmentIds();
}

export async function requireMembershipAccess(ctx: GraphQLContext, segmentId: string, field: string): Promise<void> {
  if ((await hiddenSegments(ctx)).has(segmentId)) {
    throw fail('FORBIDDEN', { detail: `segment ${globalId('Segment', segmentId)} is defined on personal data: its members require the scope pii:read` }, field);
  }
}

const SegmentConnectionRef = builder.connectionObject(
  { type: SegmentRef, name: 'SegmentConnection', description: 'A page of segments (Relay connection).' },
  { name: 'SegmentEdge', description: 'A segment in a page, with its cursor.' },
);

export const MembershipEventRef = builder.objectRef<MembershipEventRecord>('SegmentMembershipEvent').implement({
  description: 'A customer entering or leaving a segment.',
  fields: (t) => ({
    kind: t.field({ type: MembershipEventKindEnum, description: 'ENTERED or EXITED.', resolve: (e) => e.kind }),
    occurredAt: t.field({ type: 'DateTime', description: 'When the membership changed.', resolve: (e) => e.occurredAt }),
    segment: t.field({
      type: SegmentRef,
      description: 'The segment.',
      resolve: async (e, _a, ctx) => present(await segmentLoaders(ctx).segment.load(e.segmentId), `segment ${e.segmentId}`),
    }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer; null once erased or deleted.',
      resolve: (e, _a, ctx) => ctx.loaders.customer.load(e.customerId),
    }),
  }),
});

const SizePointRef = builder.objectRef<SizePointRecord>('SegmentSizePoint').implement({
  description: 'The size of a segment at a moment (at most one point per minute).',
  fields: (t) => ({
    recordedAt: t.field({ type: 'DateTime', description: 'The minute the size was recorded.', resolve: (p) => p.recordedAt }),
    size: t.exposeInt('size', { description: 'Members at that moment.' }),
  }),
});

builder.node(SegmentRef, {
  description: 'A named group of customers, defined by a rule (DYNAMIC) or by hand (STATIC).',
  id: { resolve: (s) => s.id },
  loadMany: (ids, ctx) => Promise.all(ids.map((id) => segmentLoaders(ctx).segment.load(id))),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the segment is for.' }),
    kind: t.field({ type: SegmentKindEnum, description: 'DYNAMIC or STATIC.', resolve: (s) => s.kind }),
    rule: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'The rule tree as SegmentRuleInput JSON (segment references as global ids); null for STATIC. Without pii:read, the values compared by conditions on personal data are masked.',
      resolve: (s) => ruleToOutput(s.rule),
    }),
    size: t.exposeInt('size', { description: 'Number of members.' }),
    status: t.field({ type: SegmentStatusEnum, description: 'FRESH, REFRESHING or STALE.', resolve: (s) => s.status }),
    refreshedAt: t.field({ type: 'DateTime', nullable: true, description: 'When the last full refresh finished.', resolve: (s) => s.refreshedAt }),
    createdAt: t.field({ type: 'DateTime', description: 'When the segment was created.', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When its definition last changed.', resolve: (s) => s.updatedAt }),
    members: t.connection(
      {
        type: CustomerRef,
        description: 'Current members, by customer id. Page size 50 by default, 500 at most. Needs pii:read when the segment is defined on personal data.',
        resolve: async (s, args, ctx) => {
          await requireMembershipAccess(ctx, s.id, 'members');
          return ctx.servicesOf('segments').segments.members(s.id, forwardOnly(args));
        },
      },
      CustomerConnectionRef,
    ),
    history: t.field({
      type: [MembershipEventRef],
      description: 'Entered/exited events, newest first. Needs pii:read when the segment is defined on personal data.',
      args: { first: t.arg.int({ description: 'How many (50 by default, at most 500).' }) },
      resolve: async (s, args, ctx) => {
        await requireMembershipAccess(ctx, s.id, 'history');
        return ctx.servicesOf('segments').segments.history(s.id, args.first);
      },
    }),
    sizeHistory: t.field({
      type: [SizePointRef],
      description: 'Size over time, oldest first, for charts.',
      args: { first: t.arg.int({ description: 'How many of the latest points (50 by default, at most 500).' }) },
      resolve: (s, args, ctx) => ctx.servicesOf('segments').segments.sizeHistory(s.id, args.first),
    }),
  }),
});

const SegmentPreviewRef = builder.objectRef<{ count: number; sampleIds: string[] }>('SegmentPreview').implement({
  description: 'What a rule matches right now.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many customers match.' }),
    sample: t.field({
      type: [CustomerRef],
      description: 'Up to 20 matching customers, by id.',
      resolve: async (p, _a, ctx) => (await Promise.all(p.sampleIds.map((id) => ctx.loaders.customer.load(id)))).filter((c) => c !== null),
    }),
  }),
});

const ConditionKindEnum = builder.enumType('SegmentConditionKind', {
  description: 'The kind of a rule node.',
  values: describe(['AND', 'OR', 'NOT', 'ATTRIBUTE', 'BEHAVIOR', 'SCORE', 'IN_SEGMENT', 'CONSENT', 'RECOMMENDED'] as const, {
    AND: 'All of its children.',
    OR: 'Any of its children.',
    NOT: 'Negation of its child.',
    ATTRIBUTE: 'A field or trait condition.',
    BEHAVIOR: 'An interaction aggregate condition.',
    SCORE: 'A score condition.',
    IN_SEGMENT: 'Membership of another segment.',
    CONSENT: 'A consent condition.',
    RECOMMENDED: 'A recommendation condition.',
  }),
});

const ConditionExplanationRef = builder.objectRef<ConditionExplanation>('SegmentConditionExplanation').implement({
  description: 'One node of a rule evaluated for one customer.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Where the node sits in the rule, e.g. `rule.and[1].behavior`.' }),
    kind: t.field({ type: ConditionKindEnum, description: 'What kind of node.', resolve: (c) => c.kind }),
    holds: t.exposeBoolean('holds', { description: 'Whether it holds for the customer now.' }),
    figure: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The customer’s figure behind it: a field value, an aggregate, { value, label } of a score.',
      resolve: (c) => c.figure,
    }),
    description: t.exposeString('description', { description: 'Readable, e.g. `purchase interactions in last 90 days: 4 ≥ 3`.' }),
  }),
});

const MembershipExplanationRef = builder.objectRef<MembershipExplanation>('MembershipExplanation').implement({
  description: 'Why a customer is or is not in a segment.',
  fields: (t) => ({
    segment: t.field({
      type: SegmentRef,
      description: 'The segment.',
      resolve: async (e, _a, ctx) => present(await segmentLoaders(ctx).segment.load(e.segmentId), `segment ${e.segmentId}`),
    }),
    customer: t.field({
      type: CustomerRef,
      description: 'The customer.',
      resolve: async (e, _a, ctx) => present(await ctx.loaders.customer.load(e.customerId), `customer ${e.customerId}`),
    }),
    isMember: t.exposeBoolean('isMember', { description: 'Whether the customer is a member now (materialised membership).' }),
    memberSince: t.field({ type: 'DateTime', nullable: true, description: 'When the customer entered, if a member.', resolve: (e) => e.memberSince }),
    matchesRule: t.exposeBoolean('matchesRule', { description: 'Whether the rule holds now (equals isMember once pending refreshes are done).' }),
    conditions: t.field({
      type: [ConditionExplanationRef],
      description: 'Every node of the rule, depth first, with whether it holds and why.',
      resolve: (e) => e.conditions,
    }),
  }),
});

const SegmentTemplateRef = builder.objectRef<SegmentTemplate>('SegmentTemplate').implement({
  description: 'A ready-made segment: RFM named groups and churn-risk bands.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Pass it to createSegmentFromTemplate, e.g. `rfm-champions`, `churn-risk-high`.' }),
    name: t.exposeString('name', { description: 'Default segment name.' }),
    description: t.exposeString('description', { description: 'What the group is.' }),
    rule: t.field({ type: 'JSON', description: 'The rule, as SegmentRuleInput JSON.', resolve: (tpl) => ruleToOutput(tpl.rule) }),
  }),
});

builder.objectField(RecomputeJobRef, 'segment', (t) =>
  t.field({
    type: SegmentRef,
    nullable: true,
    description: 'For a segment refresh: the segment, with its current status (STALE → REFRESHING → FRESH).',
    resolve: async (j, _a, ctx) => (j.segmentId ? ctx.servicesOf('segments').segments.get(j.segmentId) : null),
  }),
);

const MemberStatusEnum = builder.enumType('SegmentMemberStatus', {
  description: 'Outcome of one row of addToSegment / removeFromSegment.',
  values: describe(['ADDED', 'REMOVED', 'UNCHANGED', 'REJECTED'] as const, {
    ADDED: 'The customer joined the segment.',
    REMOVED: 'The customer left the segment.',
    UNCHANGED: 'Nothing to do: already a member (add) or not a member (remove).',
    REJECTED: 'The customer could not be resolved; see error.',
  }),
});

const MemberResultRef = builder.objectRef<MemberRowResult>('SegmentMemberResult').implement({
  description: 'Result for one customer of addToSegment / removeFromSegment.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position in the input.' }),
    status: t.field({ type: MemberStatusEnum, description: 'What happened.', resolve: (r) => r.status }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The resolved customer.',
      resolve: (r, _a, ctx) => (r.customerId ? ctx.loaders.customer.load(r.customerId) : null),
    }),
    error: t.field({ type: RowErrorRef, nullable: true, description: 'Why the row was rejected.', resolve: (r) => r.error }),
  }),
});

const MembersPayloadRef = builder.objectRef<{ segmentId: string; results: MemberRowResult[] }>('SegmentMembersPayload').implement({
  description: 'Outcome of addToSegment / removeFromSegment: one result per input row; valid rows are applied.',
  fields: (t) => ({
    segment: t.field({
      type: SegmentRef,
      description: 'The segment after the change.',
      resolve: async (p, _a, ctx) => present(await ctx.servicesOf('segments').segments.get(p.segmentId), `segment ${p.segmentId}`),
    }),
    changed: t.int({ description: 'Rows ADDED or REMOVED.', resolve: (p) => p.results.filter((r) => r.status === 'ADDED' || r.status === 'REMOVED').length }),
    rejected: t.int({ description: 'Rows REJECTED.', resolve: (p) => p.results.filter((r) => r.status === 'REJECTED').length }),
    results: t.field({ type: [MemberResultRef], description: 'One per input row, in input order.', resolve: (p) => p.results }),
  }),
});

const DeleteSegmentPayloadRef = builder.objectRef<{ deletedId: string }>('DeleteSegmentPayload').implement({
  description: 'Outcome of deleteSegment.',
  fields: (t) => ({ deletedId: t.id({ description: 'Global id of the deleted segment.', resolve: (p) => globalId('Segment', p.deletedId) }) }),
});

/**
 * Naming a member by identifiers looks the customer up by personal data: the
 * row's answer (found, not found, two customers) would tell a key without
 * `pii:read` who exists. Such a key names members by id.
 */
function refuseIdentifierLookups(customers: readonly { identifiers?: unknown }[], ctx: GraphQLContext): void {
  if (hasScope(ctx.principal, 'pii:read')) return;
  const index = customers.findIndex((c) => c.identifiers != null);
  if (index >= 0) {
    throw fail(
      'FORBIDDEN',
      { detail: `customers[${index}].identifiers: naming customers by identifiers requires the scope pii:read; name them by id` },
      `customers[${index}].identifiers`,
    );
  }
}

const segmentId = (id: string | number, field = 'id') => localId(String(id), 'Segment', field);
const customerId = (id: string | number, field: string) => localId(String(id), 'Customer', field);

builder.queryFields((t) => ({
  segments: t.connection(
    { type: SegmentRef, description: 'All segments, oldest first.', resolve: (_r, args, ctx) => ctx.servicesOf('segments').segments.list(forwardOnly(args)) },
    SegmentConnectionRef,
  ),
  segment: t.field({
    type: SegmentRef,
    nullable: true,
    description: 'One segment by global id; null when it does not exist.',
    args: { id: t.arg.id({ required: true, description: 'Global id.' }) },
    resolve: (_r, args, ctx) => {
      const id = localIdOrNull(String(args.id), 'Segment');
      return id ? segmentLoaders(ctx).segment.load(id) : null;
    },
  }),
  previewSegment: t.field({
    type: SegmentPreviewRef,
    description:
      'Count and sample of the customers a rule matches now, computed synchronously under a statement timeout (SEGMENT_PREVIEW_TIMEOUT when too slow). A rule on personal data needs pii:read.',
    args: { rule: t.arg({ type: SegmentRuleInput, required: true, description: 'The rule to try.' }) },
    resolve: (_r, args, ctx) => ctx.servicesOf('segments').segments.preview(ruleFromInput(args.rule), ruleAccess(ctx)),
  }),
  explainMembership: t.field({
    type: MembershipExplanationRef,
    nullable: true,
    description:
      'For each condition of the segment’s rule: whether it holds for the customer and the figure behind it (personal values masked without pii:read). Null when the customer does not exist. Needs pii:read when the segment is defined on personal data.',
    args: {
      segmentId: t.arg.id({ required: true, description: 'Global id of the segment.' }),
      customerId: t.arg.id({ required: true, description: 'Global id of the customer.' }),
    },
    resolve: async (_r, args, ctx) => {
      const id = segmentId(args.segmentId, 'segmentId');
      await requireMembershipAccess(ctx, id, 'segmentId');
      return ctx.servicesOf('segments').segments.explain(id, customerId(args.customerId, 'customerId'));
    },
  }),
  segmentTemplates: t.field({
    type: [SegmentTemplateRef],
    description: 'Ready-made segments: RFM named groups and churn-risk bands.',
    resolve: (_r, _a, ctx) => [...ctx.servicesOf('segments').segments.templates()],
  }),
}));

builder.mutationFields((t) => ({
  createSegment: t.field({
    type: SegmentRef,
    description: 'Creates a segment; a DYNAMIC one is filled in the background (status STALE → FRESH).',
    args: { input: t.arg({ type: SegmentInputRef, required: true, description: 'The definition.' }) },
    resolve: (_r, args, ctx) =>
      ctx.servicesOf('segments').segments.create({ ...args.input, rule: ruleFromInput(args.input.rule, 'input.rule') }, ruleAccess(ctx)),
  }),
  updateSegment: t.field({
    type: SegmentRef,
    description: 'Replaces a segment’s definition; a changed rule is re-evaluated in the background. The kind cannot change.',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the segment.' }),
      input: t.arg({ type: SegmentInputRef, required: true, description: 'The new definition.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.servicesOf('segments').segments.update(segmentId(args.id), { ...args.input, rule: ruleFromInput(args.input.rule, 'input.rule') }, ruleAccess(ctx)),
  }),
  deleteSegment: t.field({
    type: DeleteSegmentPayloadRef,
    description: 'Deletes a segment with its memberships and history; refused (SEGMENT_IN_USE) while other segments refer to it.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the segment.' }) },
    resolve: async (_r, args, ctx) => {
      const id = segmentId(args.id);
      if (!(await ctx.servicesOf('segments').segments.delete(id))) throw fail('SEGMENT_NOT_FOUND', { id: String(args.id) }, 'id');
      return { deletedId: id };
    },
  }),
  addToSegment: t.field({
    type: MembersPayloadRef,
    description: `Adds customers (by id or identifiers) to a STATIC segment, at most ${MAX_MEMBERS_PER_CALL} per call, one result per row.`,
    args: {
      segmentId: t.arg.id({ required: true, description: 'Global id of a STATIC segment.' }),
      customers: t.arg({
        type: [CustomerRefInput],
        required: true,
        description: 'The customers; identifiers must match existing customers (naming them by identifiers requires pii:read).',
      }),
    },
    resolve: async (_r, args, ctx) => {
      const id = segmentId(args.segmentId, 'segmentId');
      refuseIdentifierLookups(args.customers, ctx);
      return { segmentId: id, results: await ctx.servicesOf('segments').segments.addMembers(id, memberRefs(args.customers)) };
    },
  }),
  removeFromSegment: t.field({
    type: MembersPayloadRef,
    description: `Removes customers (by id or identifiers) from a STATIC segment, at most ${MAX_MEMBERS_PER_CALL} per call, one result per row.`,
    args: {
      segmentId: t.arg.id({ required: true, description: 'Global id of a STATIC segment.' }),
      customers: t.arg({ type: [CustomerRefInput], required: true, description: 'The customers (naming them by identifiers requires pii:read).' }),
    },
    resolve: async (_r, args, ctx) => {
      const id = segmentId(args.segmentId, 'segmentId');
      refuseIdentifierLookups(args.customers, ctx);
      return { segmentId: id, results: await ctx.servicesOf('segments').segments.removeMembers(id, memberRefs(args.customers)) };
    },
  }),
  refreshSegment: t.field({
    type: RecomputeJobRef,
    description: 'Queues a full re-evaluation of a DYNAMIC segment (normally automatic: rule changes, ingest and a schedule keep it exact).',
    args: { id: t.arg.id({ required: true, description: 'Global id of the segment.' }) },
    resolve: async (_r, args, ctx) => {
      const id = segmentId(args.id);
      const segment = await ctx.servicesOf('segments').segments.get(id);
      if (!segment) throw fail('SEGMENT_NOT_FOUND', { id: String(args.id) }, 'id');
      if (segment.kind !== 'DYNAMIC') throw fail('SEGMENT_KIND_MISMATCH', { detail: `segment "${segment.name}" is STATIC: it has no rule to refresh` }, 'id');
      return ctx.servicesOf('segments').segments.queueRefresh(id);
    },
  }),
  createSegmentFromTemplate: t.field({
    type: SegmentRef,
    description: 'Creates a DYNAMIC segment from a template (see segmentTemplates).',
    args: {
      key: t.arg.string({ required: true, description: 'Template key, e.g. `rfm-champions`.' }),
      name: t.arg.string({ description: 'Segment name; the template’s by default.' }),
      description: t.arg.string({ description: 'Description; the template’s by default.' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.servicesOf('segments').segments.createFromTemplate(args.key, { name: args.name, description: args.description }, ruleAccess(ctx)),
  }),
}));

function memberRefs(customers: { id?: string | number | null; identifiers?: { type: string; value: string }[] | null }[]) {
  return customers.map((c) => ({
    id: c.id != null ? (localIdOrNull(String(c.id), 'Customer') ?? 'invalid') : undefined,
    identifiers: c.identifiers ?? undefined,
  }));
}

builder.objectFields(CustomerRef, (t) => ({
  segments: t.field({
    type: [SegmentRef],
    description: 'Segments the customer is a member of now (without pii:read, those defined on personal data are left out).',
    resolve: async (c, _a, ctx) => {
      const hidden = await hiddenSegments(ctx);
      return (await segmentLoaders(ctx).segmentsOfCustomer.load(c.id)).filter((s) => !hidden.has(s.id));
    },
  }),
  segmentHistory: t.field({
    type: [MembershipEventRef],
    description: 'The customer’s segment entered/exited events, newest first (without pii:read, those of segments defined on personal data are left out).',
    args: { first: t.arg.int({ description: 'How many (50 by default, at most 500).' }) },
    resolve: async (c, args, ctx) => {
      const hidden = await hiddenSegments(ctx);
      return (
        await segmentLoaders(ctx)
          .historyOfCustomer(args.first ?? 50)
          .load(c.id)
      ).filter((e) => !hidden.has(e.segmentId));
    },
  }),
}));

import { builder } from '../../graphql/builder';
import type { GraphQLContext } from '../../graphql/context';
import { forwardOnly, globalId, localId, localIdOrNull } from '../../graphql/ids';
import { fail } from '../../errors/catalog';
import { hasScope } from '../access';
import { CustomerRef } from '../customers';
import type { QueueItem, SubscriberQueue } from '../realtime';
import { SubscriptionLaggedRef } from '../realtime';
import { ScoreKindEnum } from '../scores';
import { segmentLoaders, SegmentRef } from '../segments';
import type { AlertTemplate, AlertTemplateParameter } from './alert-templates';
import {
  type AlertAccess,
  type AlertDestination,
  type AlertRecord,
  type AlertRuleInput,
  type AlertRuleRecord,
  type AlertStatus,
  type ScoreDirection,
} from './alert.service';

const access = (ctx: GraphQLContext): AlertAccess => ({ piiRead: hasScope(ctx.principal, 'pii:read') });
const alertsOf = (ctx: GraphQLContext) => ctx.servicesOf('alerts').alerts;
const ruleId = (id: string | number, field = 'id') => localId(String(id), 'AlertRule', field);
const alertId = (id: string | number, field = 'id') => localId(String(id), 'Alert', field);

const AlertStatusEnum = builder.enumType('AlertStatus', {
  description: 'Where an alert is on the worklist.',
  values: {
    OPEN: { description: 'Fired; nobody has taken it yet.' },
    ACKNOWLEDGED: { description: 'Someone took it (acknowledgeAlert).' },
    RESOLVED: { description: 'Dealt with (resolveAlert); final.' },
  } satisfies Record<AlertStatus, unknown>,
});

const AlertTriggerKindEnum = builder.enumType('AlertTriggerKind', {
  description: 'What makes an alert rule fire.',
  values: {
    SEGMENT_ENTERED: { description: 'A customer enters a segment.' },
    SCORE_CROSSES: { description: 'A score crosses a threshold.' },
    SCORE_CHANGES: { description: 'A score moves by at least an amount.' },
  },
});

const AlertDestinationEnum = builder.enumType('AlertDestination', {
  description: 'Where a fired alert goes. Every alert is on the internal feed; the others are added to it.',
  values: {
    FEED: { description: 'The internal feed: `alerts`, `Customer.alerts` (always on).' },
    SUBSCRIPTION: { description: 'The alertFired subscription.' },
    WEBHOOK: { description: 'The domain event `alert.fired`, delivered to webhook endpoints subscribed to it (filter them by ruleId).' },
  } satisfies Record<AlertDestination, unknown>,
});

const AlertScoreDirectionEnum = builder.enumType('AlertScoreDirection', {
  description: 'Which way a score must move for a score rule to fire.',
  values: {
    UP: { description: 'Upwards.' },
    DOWN: { description: 'Downwards.' },
    EITHER: { description: 'Either way.' },
  } satisfies Record<ScoreDirection, unknown>,
});

export const AlertRuleRef = builder.objectRef<AlertRuleRecord>('AlertRule');
export const AlertRef = builder.objectRef<AlertRecord>('Alert');

builder.node(AlertRuleRef, {
  description: 'A named early-warning rule: a trigger, its destinations, a cool-down per customer and an owner.',
  id: { resolve: (r) => r.id },
  loadMany: (ids, ctx) => Promise.all(ids.map((id) => alertsOf(ctx).rule(id))),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the rule is for.' }),
    trigger: t.field({ type: AlertTriggerKindEnum, description: 'What makes it fire.', resolve: (r) => r.trigger }),
    segment: t.field({
      type: SegmentRef,
      nullable: true,
      description: 'SEGMENT_ENTERED: the segment whose entries fire it.',
      resolve: (r, _a, ctx) => (r.segmentId ? segmentLoaders(ctx).segment.load(r.segmentId) : null),
    }),
    scoreKind: t.field({ type: ScoreKindEnum, nullable: true, description: 'Score rules: the kind of score.', resolve: (r) => r.scoreKind as never }),
    threshold: t.exposeFloat('threshold', { nullable: true, description: 'SCORE_CROSSES: the threshold.' }),
    minChange: t.exposeFloat('minChange', { nullable: true, description: 'SCORE_CHANGES: the least move that fires.' }),
    direction: t.field({ type: AlertScoreDirectionEnum, description: 'Score rules: which way the score must move.', resolve: (r) => r.direction }),
    destinations: t.field({ type: [AlertDestinationEnum], description: 'Where its alerts go (FEED always).', resolve: (r) => r.destinations }),
    cooldownSeconds: t.exposeInt('cooldownSeconds', {
      description: 'After an alert for a customer, further firings for that customer within this many seconds are not alerts (they are counted on it).',
    }),
    owner: t.exposeString('owner', { nullable: true, description: 'Who works its alerts; when null, each alert goes to its customer’s owner.' }),
    enabled: t.exposeBoolean('enabled', { description: 'A disabled rule fires nothing.' }),
    template: t.exposeString('template', { nullable: true, description: 'The template it was created from, if any.' }),
    createdAt: t.field({ type: 'DateTime', description: 'Created; it applies to changes from then on.', resolve: (r) => r.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'Last changed.', resolve: (r) => r.updatedAt }),
  }),
});

builder.node(AlertRef, {
  description: 'One firing of an alert rule for a customer: an item of the relationship manager’s worklist.',
  id: { resolve: (a) => a.id },
  // Reached through node(id) too: an alert on a segment over personal data is null without pii:read.
  loadMany: async (ids, ctx) => {
    const alerts = alertsOf(ctx);
    const hidden = await alerts.hiddenSegments(access(ctx));
    return Promise.all(ids.map(async (id) => ((a) => (a && alerts.visible(a, access(ctx), hidden) ? a : null))(await alerts.alert(id))));
  },
  fields: (t) => ({
    rule: t.field({
      type: AlertRuleRef,
      nullable: true,
      description: 'The rule that fired; null once deleted (ruleName stays).',
      resolve: (a, _x, ctx) => (a.ruleId ? alertsOf(ctx).rule(a.ruleId) : null),
    }),
    ruleName: t.exposeString('ruleName', { description: 'The rule’s name when it fired.' }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer (with the caller’s masking); null once erased.',
      resolve: (a, _x, ctx) => ctx.loaders.customer.load(a.customerId),
    }),
    trigger: t.field({ type: AlertTriggerKindEnum, description: 'What fired it.', resolve: (a) => a.trigger }),
    segment: t.field({
      type: SegmentRef,
      nullable: true,
      description: 'SEGMENT_ENTERED: the segment entered; null once deleted.',
      resolve: (a, _x, ctx) => (a.segmentId ? segmentLoaders(ctx).segment.load(a.segmentId) : null),
    }),
    scoreKind: t.field({ type: ScoreKindEnum, nullable: true, description: 'Score rules: the kind of score.', resolve: (a) => a.scoreKind as never }),
    value: t.exposeFloat('value', { nullable: true, description: 'Score rules: the new value.' }),
    previousValue: t.exposeFloat('previousValue', { nullable: true, description: 'Score rules: the value before.' }),
    status: t.field({ type: AlertStatusEnum, description: 'Where it is on the worklist.', resolve: (a) => a.status }),
    owner: t.exposeString('owner', { nullable: true, description: 'Who works it: the rule’s owner, else the customer’s, unless reassigned.' }),
    triggeredAt: t.field({ type: 'DateTime', description: 'When the change that fired it was committed.', resolve: (a) => a.triggeredAt }),
    firedAt: t.field({ type: 'DateTime', description: 'When the alert was recorded.', resolve: (a) => a.firedAt }),
    suppressed: t.exposeInt('suppressed', { description: 'Later firings for this customer within the rule’s cool-down, not alerted.' }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was acknowledged.', resolve: (a) => a.acknowledgedAt }),
    acknowledgedBy: t.exposeString('acknowledgedBy', { nullable: true, description: 'The key or token subject that acknowledged it.' }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was resolved.', resolve: (a) => a.resolvedAt }),
    resolvedBy: t.exposeString('resolvedBy', { nullable: true, description: 'The key or token subject that resolved it.' }),
  }),
});

const AlertConnectionRef = builder.connectionObject(
  { type: AlertRef, name: 'AlertConnection', description: 'A page of alerts, newest first (Relay connection).' },
  { name: 'AlertEdge', description: 'An alert in a page, with its cursor.' },
);

const AlertTemplateParameterRef = builder.objectRef<AlertTemplateParameter>('AlertTemplateParameter').implement({
  description: 'A number an alert template is tuned by.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name in createAlertRuleFromTemplate’s parameters.' }),
    description: t.exposeString('description', { description: 'What it means.' }),
    default: t.exposeFloat('default', { description: 'Its value when not given.' }),
    min: t.exposeFloat('min', { description: 'Smallest value accepted.' }),
    max: t.exposeFloat('max', { description: 'Largest value accepted.' }),
  }),
});

const AlertTemplateRef = builder.objectRef<AlertTemplate>('AlertTemplate').implement({
  description: 'A ready-made alert: a segment built from its parameters and a rule on entering it.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'Its key for createAlertRuleFromTemplate.' }),
    name: t.exposeString('name', { description: 'The rule’s name by default.' }),
    description: t.exposeString('description', { description: 'What it warns about and how.' }),
    parameters: t.field({ type: [AlertTemplateParameterRef], description: 'What it is tuned by.', resolve: (tpl) => [...tpl.parameters] }),
  }),
});

const DeleteAlertRulePayloadRef = builder.objectRef<{ deletedId: string }>('DeleteAlertRulePayload').implement({
  description: 'Outcome of deleteAlertRule.',
  fields: (t) => ({ deletedId: t.id({ description: 'Global id of the deleted rule.', resolve: (p) => globalId('AlertRule', p.deletedId) }) }),
});

const SegmentEnteredTriggerInput = builder.inputType('SegmentEnteredTriggerInput', {
  description: 'Fire when a customer enters this segment.',
  fields: (t) => ({ segmentId: t.id({ required: true, description: 'Global id of the segment (one on personal data needs pii:read).' }) }),
});
const ScoreCrossesTriggerInput = builder.inputType('ScoreCrossesTriggerInput', {
  description: 'Fire when a score crosses a threshold: UP from below it (or no score) to at least it, DOWN from at least it to below it.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, required: true, description: 'The kind of score.' }),
    threshold: t.float({ required: true, description: 'The threshold (CHURN_RISK: 0 to 1).' }),
    direction: t.field({ type: AlertScoreDirectionEnum, description: 'UP by default.' }),
  }),
});
const ScoreChangesTriggerInput = builder.inputType('ScoreChangesTriggerInput', {
  description: 'Fire when a score moves by at least minChange from one value to the next.',
  fields: (t) => ({
    kind: t.field({ type: ScoreKindEnum, required: true, description: 'The kind of score.' }),
    minChange: t.float({ required: true, description: 'The least move that fires (greater than 0).' }),
    direction: t.field({ type: AlertScoreDirectionEnum, description: 'UP by default.' }),
  }),
});
const AlertTriggerInput = builder.inputType('AlertTriggerInput', {
  description: 'What makes the rule fire: exactly one member.',
  fields: (t) => ({
    segmentEntered: t.field({ type: SegmentEnteredTriggerInput, description: 'A customer enters a segment.' }),
    scoreCrosses: t.field({ type: ScoreCrossesTriggerInput, description: 'A score crosses a threshold.' }),
    scoreChanges: t.field({ type: ScoreChangesTriggerInput, description: 'A score moves by at least an amount.' }),
  }),
});
const AlertRuleInputRef = builder.inputType('AlertRuleInput', {
  description: 'An alert rule’s definition.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique name (1 to 200 characters).' }),
    description: t.string({ description: 'What it is for.' }),
    trigger: t.field({ type: AlertTriggerInput, required: true, description: 'What makes it fire.' }),
    destinations: t.field({ type: [AlertDestinationEnum], description: 'Where alerts go besides the feed (FEED is always on).' }),
    cooldownSeconds: t.int({ description: 'Cool-down per customer in seconds (0 to 31,622,400; one day by default).' }),
    owner: t.string({ description: 'Who works its alerts; by default each alert goes to its customer’s owner.' }),
    enabled: t.boolean({ description: 'true by default.' }),
  }),
});
const AlertTemplateValueInput = builder.inputType('AlertTemplateValueInput', {
  description: 'A value for one parameter of an alert template.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'The parameter’s name (see alertTemplates).' }),
    value: t.float({ required: true, description: 'Its value.' }),
  }),
});
const AlertTemplateInputRef = builder.inputType('AlertTemplateInput', {
  description: 'How to make a rule from a template; everything is optional.',
  fields: (t) => ({
    name: t.string({ description: 'The rule’s name; the template’s by default. Its segment is named "Alert: <name>".' }),
    parameters: t.field({ type: [AlertTemplateValueInput], description: 'Parameter values; the defaults otherwise.' }),
    destinations: t.field({ type: [AlertDestinationEnum], description: 'Where alerts go besides the feed (FEED is always on).' }),
    cooldownSeconds: t.int({ description: 'Cool-down per customer in seconds; the template’s default otherwise.' }),
    owner: t.string({ description: 'Who works its alerts; by default each alert goes to its customer’s owner.' }),
    enabled: t.boolean({ description: 'true by default.' }),
  }),
});

type RuleInputArg = {
  name: string;
  description?: string | null;
  trigger: {
    segmentEntered?: { segmentId: string | number } | null;
    scoreCrosses?: { kind: string; threshold: number; direction?: ScoreDirection | null } | null;
    scoreChanges?: { kind: string; minChange: number; direction?: ScoreDirection | null } | null;
  };
  destinations?: AlertDestination[] | null;
  cooldownSeconds?: number | null;
  owner?: string | null;
  enabled?: boolean | null;
};

function ruleInput(input: RuleInputArg): AlertRuleInput {
  const entered = input.trigger.segmentEntered;
  return {
    ...input,
    trigger: {
      ...input.trigger,
      segmentEntered: entered ? { segmentId: localId(String(entered.segmentId), 'Segment', 'input.trigger.segmentEntered.segmentId') } : entered,
    },
  };
}

builder.queryFields((t) => ({
  alertRules: t.field({
    type: [AlertRuleRef],
    description: 'Every alert rule, oldest first.',
    resolve: (_r, _a, ctx) => alertsOf(ctx).rules(),
  }),
  alertTemplates: t.field({
    type: [AlertTemplateRef],
    description: 'The alert templates createAlertRuleFromTemplate accepts.',
    resolve: (_r, _a, ctx) => [...alertsOf(ctx).templates()],
  }),
  alerts: t.connection(
    {
      type: AlertRef,
      description:
        'The alert feed, newest first: the relationship manager’s worklist with `owner` and `status: OPEN`. Without pii:read, alerts on segments defined on personal data are left out.',
      args: {
        status: t.arg({ type: AlertStatusEnum, description: 'Only alerts in this state.' }),
        owner: t.arg.string({ description: 'Only alerts owned by this person.' }),
        ruleId: t.arg.id({ description: 'Only alerts of this rule (global id).' }),
      },
      resolve: (_r, args, ctx) =>
        alertsOf(ctx).list(
          { status: args.status, owner: args.owner, ruleId: args.ruleId == null ? null : (localIdOrNull(String(args.ruleId), 'AlertRule') ?? '0') },
          access(ctx),
          forwardOnly(args),
        ),
    },
    AlertConnectionRef,
  ),
}));

builder.objectField(CustomerRef, 'alerts', (t) =>
  t.connection(
    {
      type: AlertRef,
      description: 'Alerts fired for this customer, newest first (without pii:read, those on segments defined on personal data are left out).',
      args: { status: t.arg({ type: AlertStatusEnum, description: 'Only alerts in this state.' }) },
      resolve: (customer, args, ctx) => alertsOf(ctx).list({ status: args.status, customerId: customer.id }, access(ctx), forwardOnly(args)),
    },
    AlertConnectionRef,
  ),
);

const actor = (ctx: GraphQLContext) => ctx.principal?.subject ?? 'unknown';

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    type: AlertRuleRef,
    description: 'Creates an alert rule; it applies to changes from its creation on. A rule on a segment defined on personal data needs pii:read.',
    args: { input: t.arg({ type: AlertRuleInputRef, required: true, description: 'The rule.' }) },
    resolve: (_r, args, ctx) => alertsOf(ctx).createRule(ruleInput(args.input as RuleInputArg), access(ctx)),
  }),
  updateAlertRule: t.field({
    type: AlertRuleRef,
    description: 'Replaces an alert rule’s definition; its alerts stay.',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the rule.' }),
      input: t.arg({ type: AlertRuleInputRef, required: true, description: 'The new definition.' }),
    },
    resolve: (_r, args, ctx) => alertsOf(ctx).updateRule(ruleId(args.id), ruleInput(args.input as RuleInputArg), access(ctx)),
  }),
  deleteAlertRule: t.field({
    type: DeleteAlertRulePayloadRef,
    description: 'Deletes an alert rule; its alerts stay on the feed under its name.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the rule.' }) },
    resolve: async (_r, args, ctx) => {
      const id = ruleId(args.id);
      if (!(await alertsOf(ctx).deleteRule(id))) throw fail('ALERT_RULE_NOT_FOUND', { id: String(args.id) }, 'id');
      return { deletedId: id };
    },
  }),
  createAlertRuleFromTemplate: t.field({
    type: AlertRuleRef,
    description: 'Creates a template’s segment ("Alert: <name>") and a rule on entering it, together.',
    args: {
      key: t.arg.string({ required: true, description: 'The template’s key (see alertTemplates).' }),
      input: t.arg({ type: AlertTemplateInputRef, description: 'Name, parameters and settings; the template’s defaults otherwise.' }),
    },
    resolve: (_r, args, ctx) => {
      const input = args.input ?? {};
      const parameters: Record<string, number> = {};
      for (const [i, p] of (input.parameters ?? []).entries()) {
        if (p.name in parameters) throw fail('VALIDATION_FAILED', { detail: `parameter ${p.name} is given twice` }, `input.parameters[${i}].name`);
        parameters[p.name] = p.value;
      }
      return alertsOf(ctx).createRuleFromTemplate(args.key, { ...input, parameters }, access(ctx));
    },
  }),
  acknowledgeAlert: t.field({
    type: AlertRef,
    description: 'Takes an alert: ACKNOWLEDGED, optionally reassigned to `owner`. A resolved alert answers ALERT_STATUS_CONFLICT.',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the alert.' }),
      owner: t.arg.string({ description: 'Reassign it to this person.' }),
    },
    resolve: (_r, args, ctx) => alertsOf(ctx).transition(alertId(args.id), 'acknowledge', actor(ctx), args.owner, access(ctx)),
  }),
  resolveAlert: t.field({
    type: AlertRef,
    description: 'Closes an alert: RESOLVED (from OPEN or ACKNOWLEDGED), optionally recording `owner` as who dealt with it.',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the alert.' }),
      owner: t.arg.string({ description: 'Reassign it to this person.' }),
    },
    resolve: (_r, args, ctx) => alertsOf(ctx).transition(alertId(args.id), 'resolve', actor(ctx), args.owner, access(ctx)),
  }),
}));

interface Lagged {
  lagged: true;
  dropped: number;
  at: Date;
}
const isLagged = (value: unknown): value is Lagged => typeof value === 'object' && value !== null && (value as Lagged).lagged === true;

const AlertFiredEventRef = builder.unionType('AlertFiredEvent', {
  description: 'An alert fired, or a notice that events were dropped.',
  types: [AlertRef, SubscriptionLaggedRef],
  resolveType: (value) => (isLagged(value) ? 'SubscriptionLagged' : 'Alert'),
});

/**
 * The alerts of the ids `queue` delivers, read from the feed as they arrive
 * with the caller's access as it is then: alerts the caller may not see, or
 * of another owner, are skipped.
 */
function alertsFrom(queue: SubscriberQueue<string>, ctx: GraphQLContext, owner: string | null | undefined): AsyncIterableIterator<QueueItem<AlertRecord>> {
  return {
    async next() {
      for (;;) {
        const result = await queue.next();
        if (result.done) return result;
        const item = result.value;
        if (item.kind !== 'event') return { done: false, value: item };
        const alert = await alertsOf(ctx).alert(item.value);
        if (!alert || (owner != null && alert.owner !== owner)) continue;
        if (!alertsOf(ctx).visible(alert, access(ctx), await alertsOf(ctx).hiddenSegments(access(ctx)))) continue;
        return { done: false, value: { kind: 'event', value: alert } };
      }
    },
    return: () => queue.return() as Promise<IteratorResult<QueueItem<AlertRecord>>>,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

builder.subscriptionFields((t) => ({
  alertFired: t.field({
    type: AlertFiredEventRef,
    description:
      'Alerts as they fire, of rules whose destinations include SUBSCRIPTION, narrowed by rule and owner. A rule on a segment defined on personal data needs pii:read, checked when subscribing and on every alert.',
    args: {
      ruleId: t.arg.id({ description: 'Only alerts of this rule (global id).' }),
      owner: t.arg.string({ description: 'Only alerts owned by this person (the relationship manager’s own feed).' }),
    },
    subscribe: async (_root, args, ctx) => {
      const subject = ctx.principal?.subject;
      if (!subject) throw fail('UNAUTHENTICATED', { reason: 'subscriptions need credentials' });
      let rule: string | null = null;
      if (args.ruleId != null) {
        rule = ruleId(args.ruleId, 'ruleId');
        const found = await alertsOf(ctx).rule(rule);
        if (!found) throw fail('ALERT_RULE_NOT_FOUND', { id: String(args.ruleId) }, 'ruleId');
        await alertsOf(ctx).requireRuleVisible(found, access(ctx), 'ruleId');
      }
      const queue = await ctx.servicesOf('alerts').realtime.subscribe<string>(subject, ['alerts'], (message) => {
        if (message.type !== 'alert.fired') return undefined;
        const payload = message.payload as { alertId?: unknown; ruleId?: unknown; destinations?: unknown };
        if (rule && payload.ruleId !== rule) return undefined;
        if (!Array.isArray(payload.destinations) || !payload.destinations.includes('SUBSCRIPTION')) return undefined;
        return String(payload.alertId);
      });
      return alertsFrom(queue, ctx, args.owner);
    },
    resolve: (item: QueueItem<AlertRecord>) => {
      if (item.kind === 'error') throw item.error;
      if (item.kind === 'lagged') return { lagged: true, dropped: item.dropped, at: item.at } satisfies Lagged;
      return item.value;
    },
  }),
}));

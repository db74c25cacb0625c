import { builder } from '../../graphql/builder';
import type { GraphQLContext } from '../../graphql/context';
import { localId } from '../../graphql/ids';
import { fail } from '../../errors/catalog';
import { hasScope } from '../access';
import { CustomerRef } from '../customers';
import { InteractionRef } from '../interactions';
import { RecomputeJobRef, requireJobAccess, ScoreKindEnum, type RecomputeJobRecord } from '../scores';
import { requireMembershipAccess, segmentLoaders, SegmentMembershipEventRef, type MembershipEventRecord } from '../segments';
import type { RealtimeMessage } from './fan-out';
import type { RealtimeHub } from './realtime-hub';
import type { QueueItem, SubscriberQueue } from './subscriber-queue';
import { matchesScoreChange, type ScoreChangeFilter } from './score-change-filter';

/** Why a customer changed, as customerChanged reports it. */
const CUSTOMER_CHANGE_REASONS = {
  'customer.created': 'CREATED',
  'customer.updated': 'PROFILE',
  'interaction.recorded': 'INTERACTION',
  'score.changed': 'SCORE',
  'segment.entered': 'SEGMENT',
  'segment.exited': 'SEGMENT',
} as const;
type CustomerChangeReason = (typeof CUSTOMER_CHANGE_REASONS)[keyof typeof CUSTOMER_CHANGE_REASONS];

interface CustomerChange {
  eventId: string;
  occurredAt: Date;
  reason: CustomerChangeReason;
  customerId: string;
  /** Set for SEGMENT changes: the segment entered or exited. */
  segmentId?: string;
}

interface ScoreChange {
  eventId: string;
  occurredAt: Date;
  customerId: string;
  kind: string;
  value: number | null;
  previousValue: number | null;
  label: string | null;
  previousLabel: string | null;
}

interface Lagged {
  lagged: true;
  dropped: number;
  at: Date;
}

/** The process's realtime hub and the key subscribing (subscriptions are counted per key). */
function hubOf(ctx: GraphQLContext): { hub: RealtimeHub; subject: string } {
  const subject = ctx.principal?.subject;
  if (!subject) throw fail('UNAUTHENTICATED', { reason: 'subscriptions need credentials' });
  return { hub: ctx.servicesOf('realtime').realtime, subject };
}

/** An event becomes its payload, a lagged item the lagged notice, an error ends the subscription with it. */
function unwrap<T>(item: QueueItem<T>): T | Lagged {
  if (item.kind === 'error') throw item.error;
  if (item.kind === 'lagged') return { lagged: true, dropped: item.dropped, at: item.at };
  return item.value;
}

const isLagged = (value: unknown): value is Lagged => typeof value === 'object' && value !== null && (value as Lagged).lagged === true;

/**
 * The events of `queue` that `allowed` accepts, checked as they are read
 * (with the caller's access as it is then). `return()` reaches the queue at
 * once, even while a read waits.
 */
function filtered<T>(queue: SubscriberQueue<T>, allowed: (value: T) => Promise<boolean>): AsyncIterableIterator<QueueItem<T>> {
  return {
    async next() {
      for (;;) {
        const result = await queue.next();
        if (result.done || result.value.kind !== 'event' || (await allowed(result.value.value))) return result;
      }
    },
    return: () => queue.return(),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export const SubscriptionLaggedRef = builder.objectRef<Lagged>('SubscriptionLagged').implement({
  description:
    'Events were dropped because this subscriber read more slowly than they arrived (its buffer holds RAPPORT_REALTIME_BUFFER events): re-read what you follow with a query.',
  fields: (t) => ({
    dropped: t.exposeInt('dropped', { description: 'How many events were dropped since the previous event delivered.' }),
    at: t.field({ type: 'DateTime', description: 'When the drop was reported.', resolve: (l) => l.at }),
  }),
});

const CustomerChangeReasonEnum = builder.enumType('CustomerChangeReason', {
  description: 'What changed about a customer.',
  values: {
    CREATED: { description: 'The customer was created.' },
    PROFILE: { description: 'Its profile changed (traits, lifecycle stage, owner, identifiers).' },
    INTERACTION: { description: 'An interaction was recorded; its stats are refreshed right after.' },
    SCORE: { description: 'A score changed, appeared or was removed.' },
    SEGMENT: { description: 'It entered or left a segment.' },
  },
});

const CustomerChangeRef = builder.objectRef<CustomerChange>('CustomerChange').implement({
  description: 'A change of a customer, delivered by customerChanged.',
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'The domain event id: unique, for deduplication (delivery is at least once).' }),
    occurredAt: t.field({ type: 'DateTime', description: 'When the change was committed.', resolve: (c) => c.occurredAt }),
    reason: t.field({ type: CustomerChangeReasonEnum, description: 'What changed.', resolve: (c) => c.reason }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer as it is now (read when the event is delivered, with the caller’s masking); null once erased.',
      resolve: (c, _a, ctx) => ctx.loaders.customer.load(c.customerId),
    }),
  }),
});

const ScoreChangeRef = builder.objectRef<ScoreChange>('ScoreChange').implement({
  description: 'A change of one customer’s score, delivered by scoreChanged.',
  fields: (t) => ({
    eventId: t.exposeID('eventId', { description: 'The domain event id: unique, for deduplication (delivery is at least once).' }),
    occurredAt: t.field({ type: 'DateTime', description: 'When the new score was committed.', resolve: (c) => c.occurredAt }),
    kind: t.field({ type: ScoreKindEnum, description: 'The kind of score.', resolve: (c) => c.kind as never }),
    value: t.exposeFloat('value', { nullable: true, description: 'The new value; null when the score was removed.' }),
    previousValue: t.exposeFloat('previousValue', { nullable: true, description: 'The value before; null when the score is new.' }),
    label: t.exposeString('label', { nullable: true, description: 'The new label (e.g. HIGH), when the kind has labels.' }),
    previousLabel: t.exposeString('previousLabel', { nullable: true, description: 'The label before.' }),
    customer: t.field({
      type: CustomerRef,
      nullable: true,
      description: 'The customer as it is now (read when the event is delivered, with the caller’s masking); null once erased.',
      resolve: (c, _a, ctx) => ctx.loaders.customer.load(c.customerId),
    }),
  }),
});

const ScoreChangeFilterInput = builder.inputType('ScoreChangeFilter', {
  description: 'Which score changes to deliver; every condition given must hold.',
  fields: (t) => ({
    crossesAbove: t.float({ description: 'The value went from below this threshold (or no score) to at least it.' }),
    crossesBelow: t.float({ description: 'The value went from at least this threshold to below it (or the score was removed).' }),
    minChange: t.float({ description: 'The value moved by at least this much, up or down (a score appearing or removed counts).' }),
    labelIn: t.stringList({ description: 'The new label is one of these.' }),
  }),
});

const lagOr = (memberName: string) => (value: unknown) => (isLagged(value) ? 'SubscriptionLagged' : memberName);
const LAGGED_NOTE = 'or a notice that events were dropped.';

const CustomerChangedEventRef = builder.unionType('CustomerChangedEvent', {
  description: `A customer change, ${LAGGED_NOTE}`,
  types: [CustomerChangeRef, SubscriptionLaggedRef],
  resolveType: lagOr('CustomerChange'),
});
const SegmentMembershipChangedEventRef = builder.unionType('SegmentMembershipChangedEvent', {
  description: `A customer entering or leaving the segment, ${LAGGED_NOTE}`,
  types: [SegmentMembershipEventRef, SubscriptionLaggedRef],
  resolveType: lagOr('SegmentMembershipEvent'),
});
const ScoreChangedEventRef = builder.unionType('ScoreChangedEvent', {
  description: `A score change, ${LAGGED_NOTE}`,
  types: [ScoreChangeRef, SubscriptionLaggedRef],
  resolveType: lagOr('ScoreChange'),
});
const InteractionRecordedEventRef = builder.unionType('InteractionRecordedEvent', {
  description: `An interaction recorded, ${LAGGED_NOTE}`,
  types: [InteractionRef, SubscriptionLaggedRef],
  resolveType: lagOr('Interaction'),
});

const occurredAt = (message: RealtimeMessage) => new Date(message.occurredAt);

builder.subscriptionType({
  description:
    'Live events over GraphQL over SSE (POST /graphql with Accept: text/event-stream) or graphql-ws (WebSocket on /graphql). Each event is read with the subscriber’s scopes and masking, as a query would be.',
});

builder.subscriptionFields((t) => ({
  customerChanged: t.field({
    type: CustomerChangedEventRef,
    description:
      'Changes of one customer: profile, an interaction recorded, a score, a segment entered or left (without pii:read, segments defined on personal data are left out).',
    args: { id: t.arg.id({ required: true, description: 'Global id of the customer.' }) },
    subscribe: async (_root, args, ctx) => {
      const id = localId(String(args.id), 'Customer', 'id');
      if (!(await ctx.loaders.customer.load(id))) throw fail('CUSTOMER_NOT_FOUND', { detail: 'no customer has this id' }, 'id');
      const { hub, subject } = hubOf(ctx);
      const queue = await hub.subscribe<CustomerChange>(subject, [`customer:${id}`], (message) => {
        const reason = CUSTOMER_CHANGE_REASONS[message.type as keyof typeof CUSTOMER_CHANGE_REASONS];
        if (!reason) return undefined;
        const segmentId = reason === 'SEGMENT' ? String(message.payload.segmentId) : undefined;
        return { eventId: message.id, occurredAt: occurredAt(message), reason, customerId: id, segmentId };
      });
      // A change is shown as the field it is about would be: score changes need scores:read (Customer.scores),
      // membership changes segments:read (Customer.segments), and membership of segments over personal data pii:read.
      return filtered(queue, async (change) => {
        if (change.reason === 'SCORE') return hasScope(ctx.principal, 'scores:read');
        if (change.reason === 'SEGMENT' && !hasScope(ctx.principal, 'segments:read')) return false;
        if (!change.segmentId || hasScope(ctx.principal, 'pii:read')) return true;
        return !(await ctx.servicesOf('realtime').segments.personalSegmentIds()).has(change.segmentId);
      });
    },
    resolve: (item: QueueItem<CustomerChange>) => unwrap(item),
  }),
  segmentMembershipChanged: t.field({
    type: SegmentMembershipChangedEventRef,
    description: 'Customers entering or leaving one segment. A segment defined on personal data needs pii:read, checked when subscribing and on every event.',
    args: { segmentId: t.arg.id({ required: true, description: 'Global id of the segment.' }) },
    subscribe: async (_root, args, ctx) => {
      const segmentId = localId(String(args.segmentId), 'Segment', 'segmentId');
      if (!(await segmentLoaders(ctx).segment.load(segmentId))) throw fail('SEGMENT_NOT_FOUND', { id: String(args.segmentId) }, 'segmentId');
      await requireMembershipAccess(ctx, segmentId, 'segmentId');
      const { hub, subject } = hubOf(ctx);
      return hub.subscribe<MembershipEventRecord>(subject, [`segment:${segmentId}`], (message) => ({
        id: message.id,
        segmentId,
        customerId: message.customerId,
        kind: message.type === 'segment.entered' ? 'ENTERED' : 'EXITED',
        occurredAt: occurredAt(message),
      }));
    },
    resolve: async (item: QueueItem<MembershipEventRecord>, _args, ctx) => {
      const value = unwrap(item);
      if (!isLagged(value)) await requireMembershipAccess(ctx, value.segmentId, 'segmentId');
      return value;
    },
  }),
  scoreChanged: t.field({
    type: ScoreChangedEventRef,
    description: 'Changes of one kind of score across all customers, narrowed by a filter (for example CHURN_RISK crossing above 0.7).',
    args: {
      kind: t.arg({ type: ScoreKindEnum, required: true, description: 'The kind of score.' }),
      filter: t.arg({ type: ScoreChangeFilterInput, description: 'Which changes to deliver; all of them when absent.' }),
    },
    subscribe: async (_root, args, ctx) => {
      const filter: ScoreChangeFilter = args.filter ?? {};
      const { hub, subject } = hubOf(ctx);
      return hub.subscribe<ScoreChange>(subject, [`score:${args.kind}`], (message) => {
        const p = message.payload as Omit<ScoreChange, 'eventId' | 'occurredAt'>;
        if (!matchesScoreChange(filter, p)) return undefined;
        return {
          eventId: message.id,
          occurredAt: occurredAt(message),
          customerId: message.customerId,
          kind: p.kind,
          value: p.value,
          previousValue: p.previousValue,
          label: p.label,
          previousLabel: p.previousLabel,
        };
      });
    },
    resolve: (item: QueueItem<ScoreChange>) => unwrap(item),
  }),
  interactionRecorded: t.field({
    type: InteractionRecordedEventRef,
    nullable: true,
    description: 'Interactions recorded for one customer (duplicates are not delivered); null for one erased since.',
    args: { customerId: t.arg.id({ required: true, description: 'Global id of the customer.' }) },
    subscribe: async (_root, args, ctx) => {
      const id = localId(String(args.customerId), 'Customer', 'customerId');
      if (!(await ctx.loaders.customer.load(id))) throw fail('CUSTOMER_NOT_FOUND', { detail: 'no customer has this id' }, 'customerId');
      const { hub, subject } = hubOf(ctx);
      return hub.subscribe<string>(subject, [`customer:${id}`], (message) =>
        message.type === 'interaction.recorded' ? String(message.payload.interactionId) : undefined,
      );
    },
    resolve: async (item: QueueItem<string>, _args, ctx) => {
      const value = unwrap(item);
      return isLagged(value) ? value : ctx.loaders.interaction.load(value);
    },
  }),
  recomputeJobUpdated: t.field({
    type: RecomputeJobRef,
    description:
      'A recompute job (recomputeScores, refreshSegment, recomputeRecommendations, findDuplicates) each time its status or progress changes, from its state now until it completes or fails; its read scope as for recomputeJob.',
    args: { id: t.arg.id({ required: true, description: 'The job id returned by recomputeScores or refreshSegment.' }) },
    subscribe: async (_root, args, ctx) => {
      const id = String(args.id);
      const find = () => ctx.servicesOf('realtime').recomputes.find(id);
      if (!requireJobAccess(ctx, await find())) throw fail('NOT_FOUND', { detail: `no recompute job has the id ${id}` }, 'id');
      const { hub, subject } = hubOf(ctx);
      return hub.watch<RecomputeJobRecord>(
        subject,
        'recompute',
        find,
        (job) => `${job.status}:${job.progress}`,
        (job) => job.status === 'COMPLETED' || job.status === 'FAILED',
      );
    },
    // A subscriber that lagged gets the job's state as it is now.
    resolve: async (item: QueueItem<RecomputeJobRecord>, args, ctx) => {
      const value = unwrap(item);
      if (!isLagged(value)) return value;
      const job = await ctx.servicesOf('realtime').recomputes.find(String(args.id));
      if (!job) throw fail('NOT_FOUND', { detail: `no recompute job has the id ${String(args.id)}` }, 'id');
      return job;
    },
  }),
}));

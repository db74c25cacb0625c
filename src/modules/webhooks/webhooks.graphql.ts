import { fail } from '../../errors/catalog';
import { builder } from '../../graphql/builder';
import type { GraphQLContext } from '../../graphql/context';
import { hasScope } from '../access';
import { forwardOnly, globalId, localId } from '../../graphql/ids';
import { isDatabaseId } from '../../infra/db-values';
import { present } from '../../infra/present';
import { DELIVERY_STATUSES, type AttemptRecord, type DeliveryRecord, type DeliveryStatus } from './delivery.service';
import { deliverableEvents, ENDPOINT_STATUSES, type EndpointRecord, type EndpointStatus } from './endpoint.service';

/**
 * Event types whose payloads say who is in a segment: a segment may be
 * defined on personal data, and its members are shown only with `pii:read`
 * everywhere else (Segment.members, segmentMembershipChanged, alerts). An
 * endpoint taking them, and their deliveries' payloads, need it too.
 */
const MEMBERSHIP_EVENTS: ReadonlySet<string> = new Set(['segment.entered', 'segment.exited', 'alert.fired']);

function requirePiiForMembership(ctx: GraphQLContext, events: readonly string[] | null | undefined, field: string): void {
  const membership = (events ?? []).filter((e) => MEMBERSHIP_EVENTS.has(e));
  if (membership.length > 0 && !hasScope(ctx.principal, 'pii:read')) {
    throw fail('FORBIDDEN', { detail: `${membership.join(', ')} events reveal segment membership: taking them requires the scope pii:read` }, field);
  }
}

const EndpointStatusEnum = builder.enumType('WebhookEndpointStatus', {
  description: 'Whether an endpoint receives deliveries.',
  values: {
    ACTIVE: { description: 'Receives the events it subscribes to.' },
    DISABLED: {
      description:
        'Receives nothing: disabled by hand, or by Rapport after its deliveries failed for RAPPORT_WEBHOOK_DISABLE_AFTER_DAYS in a row (a webhook_endpoint.disabled event and an audit entry say so). Its open deliveries wait; events while it is disabled are not recorded for it. Setting ACTIVE sends the waiting ones.',
    },
  } satisfies Record<EndpointStatus, { description: string }>,
});

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  description: 'Where a delivery stands.',
  values: {
    PENDING: { description: 'Not attempted yet: queued, or waiting for an earlier delivery of the same customer to the same endpoint.' },
    RETRYING: { description: 'Failed; the next attempt is at nextAttemptAt (exponential backoff with jitter).' },
    DELIVERED: { description: 'The endpoint answered 2xx.' },
    DEAD: {
      description: 'Every attempt failed for RAPPORT_WEBHOOK_RETRY_FOR_SECONDS (3 days by default): dead-lettered; replayWebhookDelivery sends it again.',
    },
  } satisfies Record<DeliveryStatus, { description: string }>,
});

const EndpointRef = builder.objectRef<EndpointRecord>('WebhookEndpoint').implement({
  description: 'Where Rapport posts domain events (Standard Webhooks). Its signing secret is write-only: never returned after it is created.',
  fields: (t) => ({
    id: t.id({ description: 'Global id of the endpoint.', resolve: (e) => globalId('WebhookEndpoint', e.id) }),
    url: t.exposeString('url', { description: 'The URL events are posted to.' }),
    description: t.string({ nullable: true, description: 'What the endpoint is for (operator text).', resolve: (e) => e.description }),
    events: t.stringList({ description: 'The event types it receives (names from webhookEventTypes).', resolve: (e) => e.events }),
    filter: t.field({
      type: 'JSON',
      description:
        'Which events of those types it receives: payload field name → allowed values ({"segmentId": ["12"]}); every key must match, and an event whose payload lacks a named field is not sent. {} takes every event of its types.',
      resolve: (e) => e.filter,
    }),
    status: t.field({ type: EndpointStatusEnum, description: 'Active or disabled.', resolve: (e) => e.status }),
    previousSecretExpiresAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'After a rotation, until when the previous secret still signs deliveries (both signatures are sent); null when only one secret is active.',
      resolve: (e) => (e.previousSecretExpiresAt && new Date(e.previousSecretExpiresAt) > new Date() ? e.previousSecretExpiresAt : null),
    }),
    failingSince: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When its current run of failed attempts began (no delivery succeeded since); null when the last attempt succeeded.',
      resolve: (e) => e.failingSince,
    }),
    disabledAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was disabled; null while ACTIVE.', resolve: (e) => e.disabledAt }),
    disabledReason: t.string({ nullable: true, description: 'Why it was disabled; null while ACTIVE.', resolve: (e) => e.disabledReason }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was created.', resolve: (e) => e.createdAt }),
    updatedAt: t.field({ type: 'DateTime', description: 'When it last changed.', resolve: (e) => e.updatedAt }),
  }),
});

const AttemptRef = builder.objectRef<AttemptRecord>('WebhookAttempt').implement({
  description: 'One HTTP attempt of a delivery.',
  fields: (t) => ({
    attemptedAt: t.field({ type: 'DateTime', description: 'When it was made.', resolve: (a) => a.attemptedAt }),
    statusCode: t.int({
      nullable: true,
      description: 'The HTTP status answered; null when there was no answer (network error, timeout, refused address).',
      resolve: (a) => a.statusCode,
    }),
    latencyMs: t.exposeInt('latencyMs', { description: 'Milliseconds from sending to the end of the (truncated) answer.' }),
    responseBody: t.string({
      nullable: true,
      description: "The first 1024 bytes of the receiver's answer; null when there was none.",
      resolve: (a) => a.responseBody,
    }),
    error: t.string({ nullable: true, description: 'Why the attempt failed; null when it succeeded.', resolve: (a) => a.error }),
  }),
});

const DeliveryRef = builder.objectRef<DeliveryRecord>('WebhookDelivery').implement({
  description: 'One event sent (or to be sent) to one endpoint, with its attempts.',
  fields: (t) => ({
    id: t.id({ description: 'Global id of the delivery.', resolve: (d) => globalId('WebhookDelivery', d.id) }),
    eventId: t.id({
      description: 'The event id, sent as the webhook-id header: the same on every attempt and replay, and for every endpoint. Receivers deduplicate on it.',
      resolve: (d) => d.eventId,
    }),
    eventType: t.exposeString('eventType', { description: 'The event type (segment.entered…).' }),
    customerId: t.id({
      nullable: true,
      description: 'Global id of the customer the event is about; null for events about no customer.',
      resolve: (d) => (d.customerId === '0' ? null : globalId('Customer', d.customerId)),
    }),
    payload: t.field({
      type: 'JSON',
      description:
        'The body posted: {type, timestamp, data}, data being the event’s payload (ids and figures, never personal data). For segment.entered, segment.exited and alert.fired it says who is in a segment, and needs pii:read.',
      resolve: (d, _args, ctx) => {
        requirePiiForMembership(ctx, [d.eventType], 'payload');
        return JSON.parse(d.body) as unknown;
      },
    }),
    status: t.field({ type: DeliveryStatusEnum, description: 'Pending, retrying, delivered or dead.', resolve: (d) => d.status }),
    attemptCount: t.exposeInt('attempts', { description: 'Attempts since it was created or last replayed.' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it is due next; null once DELIVERED or DEAD.',
      resolve: (d) => d.nextAttemptAt,
    }),
    lastStatusCode: t.int({
      nullable: true,
      description: 'The status of the last attempt; null when it had no answer or none was made.',
      resolve: (d) => d.lastStatusCode,
    }),
    lastError: t.string({ nullable: true, description: 'Why the last attempt failed.', resolve: (d) => d.lastError }),
    eventAt: t.field({ type: 'DateTime', description: 'When the change happened (the event was published).', resolve: (d) => d.eventAt }),
    createdAt: t.field({ type: 'DateTime', description: 'When the delivery was recorded.', resolve: (d) => d.createdAt }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, description: 'When the endpoint accepted it.', resolve: (d) => d.deliveredAt }),
    attempts: t.field({
      type: [AttemptRef],
      description: 'Its attempts, newest first (at most 100), each with status, latency and the start of the answer.',
      resolve: (d, _a, ctx) => ctx.servicesOf('webhooks').webhooks.deliveries.attempts(d),
    }),
  }),
});

const DeliveryConnectionRef = builder.connectionObject(
  { type: DeliveryRef, name: 'WebhookDeliveryConnection', description: 'A page of webhook deliveries, newest first (Relay connection).' },
  { name: 'WebhookDeliveryEdge', description: 'A delivery in a page, with its cursor.' },
);

const CreatedEndpointRef = builder.objectRef<{ endpoint: EndpointRecord; secret: string | null }>('CreatedWebhookEndpoint').implement({
  description: 'Outcome of createWebhookEndpoint or updateWebhookEndpoint.',
  fields: (t) => ({
    endpoint: t.field({ type: EndpointRef, description: 'The endpoint.', resolve: (r) => r.endpoint }),
    secret: t.string({
      nullable: true,
      description:
        'The signing secret (whsec_…) Rapport generated, shown this once: on creation without a secret, or on rotateSecret. Null when the caller gave the secret.',
      resolve: (r) => r.secret,
    }),
  }),
});

const DeletedEndpointRef = builder.objectRef<{ id: string }>('DeleteWebhookEndpointPayload').implement({
  description: 'Outcome of deleteWebhookEndpoint.',
  fields: (t) => ({ deletedId: t.id({ description: 'Global id of the deleted endpoint.', resolve: (r) => globalId('WebhookEndpoint', r.id) }) }),
});

const ReplayedRef = builder.objectRef<{ replayed: number }>('ReplayWebhookDeliveriesPayload').implement({
  description: 'Outcome of replayWebhookDeliveries.',
  fields: (t) => ({ replayed: t.exposeInt('replayed', { description: 'Deliveries queued again.' }) }),
});

const CreateEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'A new webhook endpoint.',
  fields: (t) => ({
    url: t.string({
      required: true,
      description:
        'http(s) URL to post to; its host must be public (or in RAPPORT_WEBHOOK_ALLOWED_HOSTS): loopback, private, link-local and metadata addresses are refused, after DNS resolution.',
    }),
    events: t.stringList({ required: true, description: 'Event types to receive, from webhookEventTypes.' }),
    filter: t.field({
      type: 'JSON',
      description:
        'Payload field → allowed values, e.g. {"segmentId": ["12"], "kind": ["CHURN_RISK"]}; id fields take database or global ids (kept as database ids); see WebhookEndpoint.filter.',
    }),
    secret: t.string({ description: 'Signing secret, whsec_ and base64 of 24 to 64 bytes; generated (and answered once) when omitted.' }),
    description: t.string({ description: 'What the endpoint is for, up to 500 characters.' }),
  }),
});

const UpdateEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Changes to an endpoint; omitted fields stay as they are.',
  fields: (t) => ({
    url: t.string({ description: 'New URL, checked as in createWebhookEndpoint.' }),
    events: t.stringList({ description: 'New event types.' }),
    filter: t.field({ type: 'JSON', description: 'New filter ({} takes every event of its types).' }),
    description: t.string({ description: 'New description; an empty string removes it.' }),
    status: t.field({ type: EndpointStatusEnum, description: 'ACTIVE (sends what waited, clears the failure streak) or DISABLED.' }),
    secret: t.string({
      description: 'A new secret (whsec_…). The old one keeps signing beside it for RAPPORT_WEBHOOK_SECRET_OVERLAP_HOURS (two signatures per message).',
    }),
    rotateSecret: t.boolean({ description: 'Generate a new secret, answered once, with the same overlap as secret.' }),
  }),
});

const endpointId = (id: string | number) => localId(String(id), 'WebhookEndpoint', 'id');

/** The object type of each payload field that holds an id, as the API names those objects. */
const FILTER_ID_TYPES: Readonly<Record<string, string>> = {
  customerId: 'Customer',
  segmentId: 'Segment',
  ruleId: 'AlertRule',
  mergeId: 'CustomerMerge',
  connectionId: 'Connection',
  endpointId: 'WebhookEndpoint',
};

/**
 * Payloads carry database ids (`42`), while the API hands out global ids:
 * a filter on an id field takes either, and is stored with database ids, so
 * an id copied from a query filters as meant. A value that is neither (or
 * the global id of another type) could never match: refused, naming it.
 */
function filterWithDatabaseIds(filter: unknown, field: string): unknown {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return filter;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(filter as Record<string, unknown>)) {
    const typename = Object.hasOwn(FILTER_ID_TYPES, key) ? FILTER_ID_TYPES[key] : undefined;
    if (!typename) {
      out[key] = raw;
      continue;
    }
    const list = Array.isArray(raw) ? raw : [raw];
    out[key] = list.map((value, i) => {
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text !== 'string') return value; // The service refuses other types with its own message.
      return isDatabaseId(text) ? text : localId(text, typename, `${field}.${key}[${i}]`);
    });
  }
  return out;
}

builder.queryFields((t) => ({
  webhookEndpoints: t.field({
    type: [EndpointRef],
    description: 'Every webhook endpoint, oldest first.',
    resolve: (_root, _args, ctx) => ctx.servicesOf('webhooks').webhooks.endpoints.list(),
  }),
  webhookEventTypes: t.stringList({
    description: 'The event types an endpoint can subscribe to: every domain event of the catalog (docs/architecture.md, "Domain events").',
    resolve: () => deliverableEvents(),
  }),
  webhookDeliveries: t.connection(
    {
      type: DeliveryRef,
      description: 'Deliveries of an endpoint, newest first, optionally in one status (DEAD: the dead-letter list).',
      args: {
        endpointId: t.arg.id({ required: true, description: 'Global id of the endpoint.' }),
        status: t.arg({ type: DeliveryStatusEnum, description: 'Only deliveries in this status.' }),
      },
      resolve: (_root, args, ctx) =>
        ctx
          .servicesOf('webhooks')
          .webhooks.deliveries.list(
            localId(String(args.endpointId), 'WebhookEndpoint', 'endpointId'),
            (args.status ?? null) as DeliveryStatus | null,
            forwardOnly(args),
          ),
    },
    DeliveryConnectionRef,
  ),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: CreatedEndpointRef,
    description: 'Creates an endpoint; its secret is encrypted at rest and answered only when Rapport generated it.',
    args: { input: t.arg({ type: CreateEndpointInput, required: true, description: 'The endpoint.' }) },
    resolve: (_root, { input }, ctx) => {
      requirePiiForMembership(ctx, input.events, 'input.events');
      return ctx.servicesOf('webhooks').webhooks.endpoints.create({
        url: input.url,
        events: input.events,
        filter: filterWithDatabaseIds(input.filter ?? undefined, 'filter'),
        secret: input.secret,
        description: input.description,
      });
    },
  }),
  updateWebhookEndpoint: t.field({
    type: CreatedEndpointRef,
    description: 'Changes an endpoint: URL, events, filter, status, or its secret (rotation keeps the old one signing for an overlap).',
    args: {
      id: t.arg.id({ required: true, description: 'Global id of the endpoint.' }),
      input: t.arg({ type: UpdateEndpointInput, required: true, description: 'The changes.' }),
    },
    resolve: async (_root, { id, input }, ctx) => {
      requirePiiForMembership(ctx, input.events, 'input.events');
      const { endpoints, deliveries } = ctx.servicesOf('webhooks').webhooks;
      // Pointing an endpoint that takes membership events elsewhere would redirect them: it needs pii:read too.
      const current = await endpoints.get(endpointId(id));
      if (current) requirePiiForMembership(ctx, current.events, 'id');
      const result = await endpoints.update(endpointId(id), {
        url: input.url,
        events: input.events,
        filter: filterWithDatabaseIds(input.filter ?? undefined, 'input.filter'),
        description: input.description,
        status: (input.status ?? null) as EndpointStatus | null,
        secret: input.secret,
        rotateSecret: input.rotateSecret,
      });
      if (result.reactivated) await deliveries.wakeEndpoint(result.endpoint.id);
      return result;
    },
  }),
  deleteWebhookEndpoint: t.field({
    type: DeletedEndpointRef,
    description: 'Deletes an endpoint with its deliveries and their attempts; nothing more is sent to it.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the endpoint.' }) },
    resolve: (_root, { id }, ctx) => ctx.servicesOf('webhooks').webhooks.endpoints.delete(endpointId(id)),
  }),
  replayWebhookDelivery: t.field({
    type: DeliveryRef,
    description:
      'Sends a delivery again now, with the same webhook-id: a DEAD or DELIVERED one gets a fresh retry window, an open one goes without waiting for its backoff.',
    args: { id: t.arg.id({ required: true, description: 'Global id of the delivery.' }) },
    resolve: (_root, { id }, ctx) => ctx.servicesOf('webhooks').webhooks.deliveries.replay(localId(String(id), 'WebhookDelivery', 'id')),
  }),
  replayWebhookDeliveries: t.field({
    type: ReplayedRef,
    description: 'Sends again every delivery of an endpoint whose event happened in [from, to) (only those in status, when given), in order per customer.',
    args: {
      endpointId: t.arg.id({ required: true, description: 'Global id of the endpoint.' }),
      from: t.arg({ type: 'DateTime', required: true, description: 'Start of the range (inclusive), by eventAt.' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'End of the range (exclusive).' }),
      status: t.arg({ type: DeliveryStatusEnum, description: 'Only deliveries in this status (DEAD: empty the dead-letter list).' }),
    },
    resolve: async (_root, args, ctx) => ({
      replayed: await ctx
        .servicesOf('webhooks')
        .webhooks.deliveries.replayRange(
          localId(String(args.endpointId), 'WebhookEndpoint', 'endpointId'),
          present(args.from, 'from'),
          present(args.to, 'to'),
          (args.status ?? null) as DeliveryStatus | null,
        ),
    }),
  }),
}));

export { DELIVERY_STATUSES, ENDPOINT_STATUSES };

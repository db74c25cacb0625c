import DataLoader from 'dataloader';
import { builder } from '../../graphql/builder';
import type { GraphQLContext } from '../../graphql/context';
import { ConnectionRef } from './connector.graphql';
import type { RefusedDeliveries } from './webhook-refusal.service';

const RefusalReasonEnum = builder.enumType('WebhookRefusalReason', {
  description: 'Why a webhook delivery to a connection was refused.',
  values: {
    SIGNATURE_INVALID: { description: "The connector's verify refused the request (signature missing, wrong or outside the replay window) or failed on it." },
    CONNECTION_PAUSED: { description: 'The connection is PAUSED.' },
    NO_WEBHOOK: { description: "The connection's connector does not receive webhooks." },
    CONNECTOR_UNAVAILABLE: { description: "The connection's connector plugin is not loaded." },
    PAYLOAD_INVALID: {
      description:
        'The delivery was authentic but its body could not be parsed or held invalid records: answered 400 WEBHOOK_PAYLOAD_INVALID with the fields at fault, and no record of it was stored.',
    },
  } as const,
});

const RefusedDeliveriesRef = builder.objectRef<RefusedDeliveries>('RefusedDeliveries').implement({
  description:
    'Webhook deliveries a connection refused. Every refusal before the body is read (and a delivery to a connection that does not exist) gets the same answer, ' +
    '401 WEBHOOK_REFUSED, so the sender cannot learn which connections exist; an authentic delivery whose body is refused gets 400 WEBHOOK_PAYLOAD_INVALID (PAYLOAD_INVALID). ' +
    'The reason is shown here and in the gateway log (a warn line with the connection id and reason, never the body).',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Deliveries refused since the connection was created (it stops at 2147483647).' }),
    lastReason: t.field({
      type: RefusalReasonEnum,
      nullable: true,
      description: 'Why the last one was refused; null when none was.',
      resolve: (r) => r.lastReason,
    }),
    lastRefusedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the last one was refused; null when none was.',
      resolve: (r) => r.lastRefusedAt,
    }),
  }),
});

/** One statement per request for every connection whose refusals are read. */
const loaders = new WeakMap<GraphQLContext, DataLoader<string, RefusedDeliveries>>();
function refusalsLoader(ctx: GraphQLContext): DataLoader<string, RefusedDeliveries> {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader((ids) => ctx.servicesOf('connectors').connectors.refusals.ofConnections(ids));
    loaders.set(ctx, loader);
  }
  return loader;
}

builder.objectField(ConnectionRef, 'refusedDeliveries', (t) =>
  t.field({
    type: RefusedDeliveriesRef,
    description: 'Webhook deliveries this connection refused: how many, and the last reason and time.',
    resolve: (c, _args, ctx) => refusalsLoader(ctx).load(c.id),
  }),
);

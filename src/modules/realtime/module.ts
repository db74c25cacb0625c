import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { defineModule } from '../../infra/module';
import type { QueueBackend } from '../../infra/queue';
import type { EventBus, EventType } from '../events';
import { createFanOut } from './fan-out';
import { RealtimeHub } from './realtime-hub';
import * as realtimeGraphql from './realtime.graphql';

/** The domain events GraphQL subscriptions are built on. */
export const REALTIME_EVENTS = [
  'customer.created',
  'customer.updated',
  'interaction.recorded',
  'score.changed',
  'segment.entered',
  'segment.exited',
  'recompute.completed',
] as const satisfies readonly EventType[];

/** The consumer name of the fan-out (its idempotency key in the outbox offsets). */
export const REALTIME_CONSUMER = 'realtime.fan-out';

interface RealtimeDeps {
  config: Config;
  logger: Logger;
  queues: QueueBackend;
  events: EventBus;
}

/**
 * Real time: GraphQL subscriptions (over SSE and graphql-ws). The worker that
 * dispatches the outbox publishes each event below to the fan-out (Redis
 * pub/sub, or Postgres LISTEN/NOTIFY); every gateway receives them and hands
 * them to its subscribers, each event read with the subscriber's access.
 */
export const realtimeModule = defineModule({
  name: 'realtime',
  needs: ['config', 'logger', 'queues', 'events'],
  provides: ['realtime'],
  graphql: [realtimeGraphql],
  events: { publishes: [], subscribes: REALTIME_EVENTS },
  create({ config, logger, queues, events }: RealtimeDeps) {
    const log = logger.child({ component: 'realtime' });
    const realtime = new RealtimeHub(createFanOut(queues.config, log), config.realtime, log);
    // A batch at a time, in the transaction that marks them dispatched: one NOTIFY statement or Redis pipeline per batch.
    events.subscribeBatch(REALTIME_EVENTS, REALTIME_CONSUMER, (batch, manager) => realtime.publish(manager, batch));
    return { realtime };
  },
});

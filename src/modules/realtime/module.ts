import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { defineModule } from '../../infra/module';
import type { QueueBackend } from '../../infra/queue';
import type { EventType } from '../events';
import type { RecomputeJobs } from '../scores';
import type { SegmentService } from '../segments';
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
  'alert.fired',
] as const satisfies readonly EventType[];

/** The consumer name of the fan-out (its idempotency key in the outbox offsets). */
export const REALTIME_CONSUMER = 'realtime.fan-out';

interface RealtimeDeps {
  config: Config;
  logger: Logger;
  queues: QueueBackend;
  /** Read by the resolvers: which segments hold personal data, and recompute jobs' state. */
  segments: SegmentService;
  recomputes: RecomputeJobs;
}

/**
 * Real time: GraphQL subscriptions (over SSE and graphql-ws). The worker that
 * dispatches the outbox publishes each event below to the fan-out (Redis
 * pub/sub, or Postgres LISTEN/NOTIFY); every gateway receives them and hands
 * them to its subscribers, each event read with the subscriber's access.
 */
export const realtimeModule = defineModule({
  name: 'realtime',
  needs: ['config', 'logger', 'queues', 'segments', 'recomputes'],
  provides: ['realtime'],
  graphql: [realtimeGraphql],
  events: { publishes: [], subscribes: REALTIME_EVENTS },
  create({ config, logger, queues }: RealtimeDeps) {
    const log = logger.child({ component: 'realtime' });
    return { realtime: new RealtimeHub(createFanOut(queues.config, log), config.realtime, log) };
  },
  // A batch at a time, in the transaction that marks them dispatched: one NOTIFY statement or Redis pipeline per batch.
  subscriptions: [
    {
      delivery: 'batch',
      events: REALTIME_EVENTS,
      consumer: REALTIME_CONSUMER,
      create:
        ({ realtime }) =>
        (batch, manager) =>
          realtime.publish(manager, batch),
    },
  ],
});

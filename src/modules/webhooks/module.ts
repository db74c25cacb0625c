import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { collectJobs, defineModule } from '../../infra/module';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { SecretBox } from '../connectors';
import { EVENT_TYPES, type EventType } from '../events';
import { DeliveryService, WEBHOOK_DELIVER_JOB, WEBHOOK_SWEEP_JOB } from './delivery.service';
import { EndpointService } from './endpoint.service';
import { WebhookSender } from './sender';
import * as webhooksGraphql from './webhooks.graphql';

/** Every outbox event of the catalog: an endpoint chooses among them, and an event added to the catalog is deliverable with no code here. */
export const WEBHOOK_EVENTS = Object.keys(EVENT_TYPES) as EventType[];

/** The consumer name of the delivery writer (its idempotency key in the outbox offsets). */
export const WEBHOOK_CONSUMER = 'webhooks.deliveries';

interface WebhooksDeps {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  secretKey: Buffer | undefined;
}

/** The services of the webhooks module. */
export interface WebhookServices {
  endpoints: EndpointService;
  deliveries: DeliveryService;
  sender: WebhookSender;
}

/**
 * Outbound webhooks: endpoints subscribe to event types of the catalog (with
 * a filter on payload fields); the outbox consumer writes one delivery per
 * matching endpoint, and the `webhooks` queue sends them, signed as Standard
 * Webhooks, at least once, in order per customer and endpoint, with retries,
 * dead-lettering and replay (docs/realtime.md, "Webhooks").
 */
export const webhooksModule = defineModule({
  name: 'webhooks',
  needs: ['config', 'logger', 'dataSource', 'queues', 'secretKey'],
  provides: ['webhooks'],
  graphql: [webhooksGraphql],
  events: { publishes: ['webhook_endpoint.disabled'], subscribes: WEBHOOK_EVENTS },
  create({ config, logger, dataSource, queues, secretKey }: WebhooksDeps): { webhooks: WebhookServices } {
    const log = logger.child({ component: 'webhooks' });
    const sender = new WebhookSender(config.webhooks.allowedHosts, config.webhooks.timeoutMs);
    const endpoints = new EndpointService(dataSource, new SecretBox(secretKey), sender, config.webhooks.secretOverlapMs);
    const deliveries = new DeliveryService(dataSource, queues, endpoints, sender, config.webhooks, log);
    return { webhooks: { endpoints, deliveries, sender } };
  },
  // A batch at a time, in the transaction that marks the batch dispatched: an event no endpoint
  // takes costs nothing of its own. A failed batch is retried event by event (isolate), so one
  // customer's failing event holds back only that customer's deliveries.
  subscriptions: [
    {
      delivery: 'batch',
      events: WEBHOOK_EVENTS,
      consumer: WEBHOOK_CONSUMER,
      onFailure: 'isolate',
      create:
        ({ webhooks }) =>
        (batch, manager) =>
          webhooks.deliveries.onEvents(batch, manager),
    },
  ],
  jobs: ({ webhooks }) =>
    collectJobs((registry) => {
      registry.register(QUEUES.webhooks, WEBHOOK_DELIVER_JOB, (job) => webhooks.deliveries.deliver(job));
      registry.register(QUEUES.webhooks, WEBHOOK_SWEEP_JOB, async () => ({ queued: await webhooks.deliveries.sweep() }));
    }),
  schedules: ({ queues, config }) => [
    {
      name: WEBHOOK_SWEEP_JOB,
      start: async () => {
        await queues
          .queue(QUEUES.webhooks)
          .upsertJobScheduler(
            WEBHOOK_SWEEP_JOB,
            { every: config.webhooks.sweepMs },
            { name: WEBHOOK_SWEEP_JOB, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } },
          );
      },
    },
  ],
});

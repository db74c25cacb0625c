import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { collectJobs, defineModule } from '../../infra/module';
import type { QueueBackend } from '../../infra/queue';
import { EventBus } from './event-bus';
import { registerEventJobs, scheduleEventJobs } from './events.jobs';

/**
 * Domain events: the catalog, the outbox every module writes in its own
 * transactions (src/modules/events/outbox.ts), and the dispatcher that hands
 * them to subscribers in order per customer, with the retention sweep.
 */
export const eventsModule = defineModule({
  name: 'events',
  needs: ['config', 'logger', 'dataSource', 'queues'],
  provides: ['events'],
  create({ logger, dataSource }: { config: Config; logger: Logger; dataSource: DataSource; queues: QueueBackend }) {
    return { events: new EventBus(dataSource, logger.child({ component: 'events' })) };
  },
  jobs: ({ events, config }) => collectJobs((registry) => registerEventJobs(registry, events, { retentionHours: config.outboxRetentionHours })),
  // A worker also dispatches as soon as a customer refresh commits (wake-ups), the schedule being the safety net.
  schedules: ({ events, queues, config }) => [
    {
      name: 'events.dispatch',
      start: () => {
        events.enableWakeups();
        return scheduleEventJobs(queues, config.outboxDispatchMs);
      },
    },
  ],
});

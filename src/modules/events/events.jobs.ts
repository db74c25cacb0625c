import type { JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import type { EventBus } from './event-bus';

export const EVENTS_DISPATCH_JOB = 'events.dispatch';
export const EVENTS_SWEEP_JOB = 'events.sweep';

/** How often dispatched events past their retention are deleted. */
const SWEEP_EVERY_MS = 10 * 60_000;

export function registerEventJobs(registry: Pick<JobRegistry, 'register'>, bus: EventBus, options: { retentionHours: number }): void {
  registry.register(QUEUES.analytics, EVENTS_DISPATCH_JOB, () => bus.dispatch());
  registry.register(QUEUES.analytics, EVENTS_SWEEP_JOB, async () => ({ deleted: await bus.sweep(options.retentionHours) }));
}

/** Registers the dispatcher and the retention sweep with BullMQ's job scheduler (one run per period cluster-wide). */
export async function scheduleEventJobs(queues: QueueBackend, dispatchEveryMs: number): Promise<void> {
  const queue = queues.queue(QUEUES.analytics);
  await queue.upsertJobScheduler(
    EVENTS_DISPATCH_JOB,
    { every: dispatchEveryMs },
    { name: EVENTS_DISPATCH_JOB, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } },
  );
  await queue.upsertJobScheduler(EVENTS_SWEEP_JOB, { every: SWEEP_EVERY_MS }, { name: EVENTS_SWEEP_JOB, data: {} });
}

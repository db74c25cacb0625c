import { createHash } from 'node:crypto';
import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import type { RefreshRequester } from '../interactions/ingest.service';
import type { CustomerStatsService } from './customer-stats.service';

export const CUSTOMER_REFRESH_JOB = 'customer.refresh';
export const DIRTY_SWEEP_JOB = 'dirty.sweep';

/** How long a refresh waits so that bursts for the same customers coalesce. */
export const REFRESH_DEBOUNCE_MS = 1_000;
const MAX_IDS_PER_JOB = 1_000;

export interface CustomerRefreshData {
  customerIds: string[];
}

export function registerCustomerJobs(registry: JobRegistry, stats: CustomerStatsService): void {
  registry.register(QUEUES.analytics, CUSTOMER_REFRESH_JOB, async (job) => {
    const { customerIds } = job.data as CustomerRefreshData;
    return { refreshed: await stats.refreshCustomers(customerIds) };
  });
  registry.register(QUEUES.analytics, DIRTY_SWEEP_JOB, async () => ({ refreshed: await stats.sweepDirty() }));
}

/**
 * Enqueues `customer.refresh` for changed customers, debounced: the job waits a
 * second, and a request for the same customers within that second is
 * deduplicated by BullMQ. The work itself is per customer and idempotent: a
 * customer refreshed by an earlier job is no longer dirty and is skipped.
 */
export function createRefreshRequester(queues: QueueBackend, timeoutMs = 2_000): RefreshRequester {
  return async (customerIds) => {
    const sorted = [...new Set(customerIds)].sort();
    const jobs = [];
    for (let i = 0; i < sorted.length; i += MAX_IDS_PER_JOB) {
      const chunk = sorted.slice(i, i + MAX_IDS_PER_JOB);
      const dedupId = createHash('sha1').update(chunk.join(',')).digest('hex');
      jobs.push({
        name: CUSTOMER_REFRESH_JOB,
        data: { customerIds: chunk } satisfies CustomerRefreshData,
        opts: { delay: REFRESH_DEBOUNCE_MS, deduplication: { id: `refresh:${dedupId}`, ttl: REFRESH_DEBOUNCE_MS } },
      });
    }
    await withTimeout(queues.queue(QUEUES.analytics).addBulk(jobs), timeoutMs, 'enqueue customer.refresh');
  };
}

/** The sweep runs every minute on one worker (BullMQ job schedulers are cluster-wide). */
export async function scheduleDirtySweep(queues: QueueBackend, everyMs = 60_000): Promise<void> {
  await queues.queue(QUEUES.analytics).upsertJobScheduler(DIRTY_SWEEP_JOB, { every: everyMs }, { name: DIRTY_SWEEP_JOB, data: {} });
}

import { createHash } from 'node:crypto';
import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import type { Logger } from '../../infra/logger';
import type { CustomerStatsService } from './customer-stats.service';

export const CUSTOMER_REFRESH_JOB = 'customer.refresh';
export const DIRTY_SWEEP_JOB = 'dirty.sweep';

/**
 * How long a refresh waits so that bursts for the same customers coalesce (gathering in the process, then the job's delay).
 * @defaultValue 1 second (config `RAPPORT_REFRESH_DEBOUNCE_MS`: lower trades coalescing for real-time latency)
 */
export const REFRESH_DEBOUNCE_MS = 1_000;
/** How long a process gathers refresh requests before it enqueues them together (part of {@link REFRESH_DEBOUNCE_MS}). */
export const REFRESH_GATHER_MS = 200;
const MAX_IDS_PER_JOB = 1_000;
/** Gathered ids that are enqueued at once, without waiting for the rest of the gathering window. */
const MAX_GATHERED_IDS = 5_000;

/** Called after a commit with the customers whose data changed. Failures are logged, never raised. */
export type RefreshRequester = (customerIds: string[]) => Promise<void>;

export interface CustomerRefreshData {
  customerIds: string[];
}

export function registerCustomerJobs(registry: Pick<JobRegistry, 'register'>, stats: CustomerStatsService): void {
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
export function createRefreshRequester(queues: QueueBackend, timeoutMs = 2_000, debounceMs = REFRESH_DEBOUNCE_MS): RefreshRequester {
  const delay = Math.max(0, debounceMs - gatherMsFor(debounceMs));
  return async (customerIds) => {
    const sorted = [...new Set(customerIds)].sort();
    const jobs = [];
    for (let i = 0; i < sorted.length; i += MAX_IDS_PER_JOB) {
      const chunk = sorted.slice(i, i + MAX_IDS_PER_JOB);
      const dedupId = createHash('sha1').update(chunk.join(',')).digest('hex');
      jobs.push({
        name: CUSTOMER_REFRESH_JOB,
        data: { customerIds: chunk } satisfies CustomerRefreshData,
        opts: { delay, deduplication: { id: `refresh:${dedupId}`, ttl: Math.max(1, debounceMs) } },
      });
    }
    await withTimeout(queues.queue(QUEUES.analytics).addBulk(jobs), timeoutMs, 'enqueue customer.refresh');
  };
}

/** The part of a debounce spent gathering in the process: {@link REFRESH_GATHER_MS}, or all of a shorter debounce. */
export function gatherMsFor(debounceMs: number): number {
  return Math.min(REFRESH_GATHER_MS, debounceMs);
}

/**
 * Gathers the refresh requests of one process for {@link REFRESH_GATHER_MS}
 * and enqueues them together: ingest does not wait for the queue, and a
 * stream of batches costs one enqueue per window instead of one per batch
 * (each enqueue is a database transaction on the PostgreSQL backend). The customers
 * are already marked dirty in their ingest's transaction, so an enqueue that
 * fails, or a process that dies with ids gathered, only delays their refresh
 * to the dirty sweep.
 */
export class RefreshGatherer {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly enqueue: RefreshRequester,
    private readonly logger: Logger,
    private readonly gatherMs = REFRESH_GATHER_MS,
  ) {}

  /** Adds customers to the next enqueue; never fails. */
  readonly request: RefreshRequester = async (customerIds) => {
    for (const id of customerIds) this.pending.add(id);
    if (this.pending.size >= MAX_GATHERED_IDS) this.send();
    else this.timer ??= setTimeout(() => this.send(), this.gatherMs);
  };

  /** Enqueues what is gathered and waits for every enqueue in flight (at shutdown). */
  async flush(): Promise<void> {
    this.send();
    await Promise.all(this.sending);
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const customerIds = [...this.pending];
    this.pending = new Set();
    const sent: Promise<void> = this.enqueue(customerIds)
      .catch((error) => this.logger.warn({ err: error, customers: customerIds.length }, 'could not enqueue customer.refresh; the dirty sweep will catch up'))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }
}

/** The sweep runs every minute on one worker (BullMQ job schedulers are cluster-wide). */
export async function scheduleDirtySweep(queues: QueueBackend, everyMs = 60_000): Promise<void> {
  await queues.queue(QUEUES.analytics).upsertJobScheduler(DIRTY_SWEEP_JOB, { every: everyMs }, { name: DIRTY_SWEEP_JOB, data: {} });
}

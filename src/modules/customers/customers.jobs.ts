import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import type { Logger } from '../../infra/logger';
import type { CustomerStatsService } from './customer-stats.service';

export const CUSTOMER_REFRESH_JOB = 'customer.refresh';
export const DIRTY_SWEEP_JOB = 'dirty.sweep';

/**
 * How often one process refreshes a customer at most while its changes keep
 * coming: a customer's first change is refreshed after the gathering window
 * ({@link REFRESH_GATHER_MS}); further changes within this time share one
 * refresh at its end.
 * @defaultValue 1 second (config `RAPPORT_REFRESH_DEBOUNCE_MS`)
 */
export const REFRESH_DEBOUNCE_MS = 1_000;
/** How long a process gathers refresh requests before it enqueues them together. */
export const REFRESH_GATHER_MS = 200;
const MAX_IDS_PER_JOB = 1_000;
/** Gathered ids that are enqueued at once, without waiting for the rest of the gathering window. */
const MAX_GATHERED_IDS = 5_000;
/** Held-back repeats that are enqueued at once, without waiting for the end of the debounce (bounds the memory of a flood). */
const MAX_HELD_IDS = 50_000;

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
 * Enqueues `customer.refresh` for changed customers, in jobs of at most
 * {@link MAX_IDS_PER_JOB} ids, to run at once: when to refresh is the
 * {@link RefreshGatherer}'s decision. The work is per customer and
 * idempotent: a customer an earlier job already brought up to date is no
 * longer dirty and is skipped.
 */
export function createRefreshRequester(queues: QueueBackend, timeoutMs = 2_000): RefreshRequester {
  return async (customerIds) => {
    const sorted = [...new Set(customerIds)].sort();
    const jobs = [];
    for (let i = 0; i < sorted.length; i += MAX_IDS_PER_JOB) {
      jobs.push({ name: CUSTOMER_REFRESH_JOB, data: { customerIds: sorted.slice(i, i + MAX_IDS_PER_JOB) } satisfies CustomerRefreshData });
    }
    await withTimeout(queues.queue(QUEUES.analytics).addBulk(jobs), timeoutMs, 'enqueue customer.refresh');
  };
}

/** The part of a debounce spent gathering in the process: {@link REFRESH_GATHER_MS}, or all of a shorter debounce. */
export function gatherMsFor(debounceMs: number): number {
  return Math.min(REFRESH_GATHER_MS, debounceMs);
}

/**
 * Decides when a changed customer is refreshed, for one process, and
 * enqueues the refreshes: a throttle with a leading edge.
 *
 * - A customer this process has not enqueued within the last `debounceMs`
 *   goes with the next gathering window (`gatherMs`): a first change, such as
 *   the purchase that puts a customer in a segment, is refreshed (and its
 *   events sent) as soon as the queue gets to it.
 * - A customer enqueued within the last `debounceMs` is held back, with every
 *   other such repeat, until `debounceMs` after the first of them: a stream of
 *   changes to the same customers costs one refresh per customer per debounce,
 *   not one per change.
 *
 * Gathering makes a stream of batches cost one enqueue per window instead of
 * one per batch (each enqueue is a database transaction on the PostgreSQL
 * backend), and ingest never waits for the queue. The customers are already
 * marked dirty in their ingest's transaction, so an enqueue that fails, or a
 * process that dies with ids held, only delays their refresh to the dirty
 * sweep.
 */
export class RefreshGatherer {
  private pending = new Set<string>();
  private held = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private heldTimer: NodeJS.Timeout | null = null;
  /** When each customer was last enqueued, oldest first (re-inserted on every enqueue); only the last `debounceMs` are kept. */
  private readonly enqueuedAt = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly enqueue: RefreshRequester,
    private readonly logger: Logger,
    private readonly gatherMs = REFRESH_GATHER_MS,
    private readonly debounceMs = REFRESH_DEBOUNCE_MS,
  ) {}

  /** Adds customers to the next enqueue, or holds back those enqueued within the debounce; never fails. */
  readonly request: RefreshRequester = async (customerIds) => {
    this.forgetBefore(Date.now() - this.debounceMs);
    for (const id of customerIds) {
      if (this.enqueuedAt.has(id) && !this.pending.has(id)) this.held.add(id);
      else this.pending.add(id);
    }
    if (this.pending.size >= MAX_GATHERED_IDS) this.sendPending();
    else if (this.pending.size > 0) this.timer ??= setTimeout(() => this.sendPending(), this.gatherMs);
    if (this.held.size >= MAX_HELD_IDS) this.sendHeld();
    else if (this.held.size > 0) this.heldTimer ??= setTimeout(() => this.sendHeld(), this.debounceMs);
  };

  /** Enqueues everything gathered or held at once and waits for every enqueue in flight (at shutdown). */
  async flush(): Promise<void> {
    this.sendPending();
    this.sendHeld();
    await Promise.all(this.sending);
  }

  private sendPending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ids = this.pending;
    this.pending = new Set();
    this.send(ids);
  }

  private sendHeld(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = null;
    const ids = this.held;
    this.held = new Set();
    this.send(ids);
  }

  private send(ids: Set<string>): void {
    if (ids.size === 0) return;
    const now = Date.now();
    for (const id of ids) {
      this.enqueuedAt.delete(id);
      this.enqueuedAt.set(id, now);
    }
    const customerIds = [...ids];
    const sent: Promise<void> = this.enqueue(customerIds)
      .catch((error) => this.logger.warn({ err: error, customers: customerIds.length }, 'could not enqueue customer.refresh; the dirty sweep will catch up'))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  private forgetBefore(cutoff: number): void {
    for (const [id, at] of this.enqueuedAt) {
      if (at >= cutoff) break;
      this.enqueuedAt.delete(id);
    }
  }
}

/** The sweep runs every minute on one worker (BullMQ job schedulers are cluster-wide). */
export async function scheduleDirtySweep(queues: QueueBackend, everyMs = 60_000): Promise<void> {
  await queues.queue(QUEUES.analytics).upsertJobScheduler(DIRTY_SWEEP_JOB, { every: everyMs }, { name: DIRTY_SWEEP_JOB, data: {} });
}

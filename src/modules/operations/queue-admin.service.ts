import type { Job } from 'bullmq';
import { fail } from '../../errors/catalog';
import { JOB_COUNT_STATES, QUEUES, type QueueBackend, type QueueName } from '../../infra/queue';

/** Job counts of one queue, by state. */
export type QueueCounts = Record<(typeof JOB_COUNT_STATES)[number], number>;

/** One queue as operators see it. */
export interface QueueSummary {
  name: QueueName;
  /** `redis` or `postgres`. */
  backend: string;
  counts: QueueCounts;
}

/** A job as operators see it: never its data (ids of customers), only what it is and how it went. */
export interface QueueJobRecord {
  id: string;
  queue: QueueName;
  name: string;
  state: string;
  attemptsMade: number;
  attempts: number;
  failedReason: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** The most failed jobs one request lists. */
export const MAX_FAILED_JOBS = 100;

/**
 * The operators' view of the queues, on BullMQ's own API so that it works on
 * both backends (Redis and BullMQ's PostgreSQL backend): counts, failed jobs
 * with their reasons, retry and removal.
 */
export class QueueAdminService {
  constructor(private readonly queues: QueueBackend) {}

  /** Every queue with its counts. */
  async overview(): Promise<QueueSummary[]> {
    const counts = await this.queues.counts();
    return Object.values(QUEUES).map((name) => ({ name, backend: this.queues.kind, counts: counts[name] as QueueCounts }));
  }

  /** The most recently failed jobs of a queue, newest first. */
  async failedJobs(name: QueueName, first: number): Promise<QueueJobRecord[]> {
    const jobs = await this.queues.queue(name).getFailed(0, Math.max(0, first - 1));
    return jobs.filter((job): job is Job => Boolean(job)).map((job) => toRecord(name, job, 'failed'));
  }

  /** Retries a failed job (its attempts start again). @throws JOB_NOT_FOUND, JOB_STATE_CONFLICT (not failed) */
  async retry(name: QueueName, id: string): Promise<QueueJobRecord> {
    const job = await this.find(name, id);
    const state = await job.getState();
    if (state !== 'failed') throw fail('JOB_STATE_CONFLICT', { id, queue: name, state, detail: 'only a failed job can be retried' }, 'id');
    await job.retry('failed');
    const retried = (await this.queues.queue(name).getJob(id)) ?? job;
    return toRecord(name, retried, await retried.getState());
  }

  /** Removes a job that is not running. @throws JOB_NOT_FOUND, JOB_STATE_CONFLICT (active) */
  async remove(name: QueueName, id: string): Promise<QueueJobRecord> {
    const job = await this.find(name, id);
    const state = await job.getState();
    if (state === 'active')
      throw fail('JOB_STATE_CONFLICT', { id, queue: name, state, detail: 'a running job cannot be removed; wait for it to finish or fail' }, 'id');
    const record = toRecord(name, job, state);
    try {
      await job.remove();
    } catch (error) {
      // Taken by a worker between the check and the removal: BullMQ refuses to remove a locked job.
      const now = await job.getState().catch(() => 'unknown');
      if (now === 'active')
        throw fail('JOB_STATE_CONFLICT', { id, queue: name, state: now, detail: 'a running job cannot be removed; wait for it to finish or fail' }, 'id');
      throw error;
    }
    return record;
  }

  private async find(name: QueueName, id: string): Promise<Job> {
    const job = await this.queues.queue(name).getJob(id);
    if (!job) throw fail('JOB_NOT_FOUND', { queue: name, id }, 'id');
    return job;
  }
}

function toRecord(queue: QueueName, job: Job, state: string): QueueJobRecord {
  return {
    id: String(job.id),
    queue,
    name: job.name,
    state,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    failedReason: job.failedReason || null,
    createdAt: new Date(job.timestamp),
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
  };
}

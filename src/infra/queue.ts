import { createPostgresBackend, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import type { Logger } from './logger';
import { jobsStalled, observeJob } from './metrics';
import { inJobSpan, withTraceContext } from './tracing';

/** Queue names are contract (see ARCHITECTURE.md, "Queues and jobs"). */
export const QUEUES = { analytics: 'analytics', connectors: 'connectors', webhooks: 'webhooks' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Where BullMQ keeps its queues. */
export type QueueBackendConfig =
  | { kind: 'postgres'; connectionString: string }
  | {
      kind: 'redis';
      url: string;
      /**
       * Key prefix of every queue. Use a hash tag (`{rapport}`) on Redis Cluster so a queue's keys share a slot.
       * @defaultValue 'rapport'
       */
      prefix?: string;
    };

/** Defaults for every job: retries with exponential backoff, bounded retention. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 5_000 },
};

/** The job states whose counts operators see: the depth (waiting, prioritized, delayed), then active, failed and completed. */
export const JOB_COUNT_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

/**
 * Makes a producer add the active trace context to every job's data (see
 * src/infra/tracing.ts), so the worker's span joins the enqueuing request's
 * trace. Without a registered OpenTelemetry SDK the data is unchanged.
 */
function carryTraceContext(queue: Queue): void {
  const add = queue.add.bind(queue);
  const addBulk = queue.addBulk.bind(queue);
  queue.add = ((name, data, opts) => add(name, withTraceContext(data), opts)) as Queue['add'];
  queue.addBulk = ((jobs) => addBulk(jobs.map((job) => ({ ...job, data: withTraceContext(job.data) })))) as Queue['addBulk'];
}

/**
 * How the queue notices a worker that died with a job (a killed process):
 * a worker renews its job's lock every `lockDuration / 2`; a lock older than
 * `lockDuration` is found by the stalled-job check, which runs every
 * `stalledInterval`, and the job goes back to the queue for another worker.
 * So a dead worker's job restarts within about `lockDuration +
 * stalledInterval`. The lock is renewed by a timer, not by the job's own
 * code, so long jobs (a full recompute) keep it as long as the event loop
 * turns; these jobs await the database rather than hold the loop.
 */
export interface StallOptions {
  lockDurationMs: number;
  stalledIntervalMs: number;
}

/** Defaults of {@link StallOptions}: shorter than BullMQ's own, so a dead worker's long job is noticed and restarted sooner. */
export const DEFAULT_STALL_OPTIONS: StallOptions = { lockDurationMs: 20_000, stalledIntervalMs: 10_000 };

/** A job handler; receives ids only and must be idempotent. */
export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * Builds BullMQ queues and workers on the configured backend: BullMQ's
 * PostgreSQL backend (embedded and single-database setups) or Redis.
 */
export class QueueBackend {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly redisConnections: Redis[] = [];
  private readonly reconnectListeners: (() => void)[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    readonly config: QueueBackendConfig,
    private readonly logger: Logger,
    readonly stall: StallOptions = DEFAULT_STALL_OPTIONS,
  ) {}

  /**
   * Calls `listener` when a connection to the queue's store comes back after
   * it was lost (once per burst of reconnections: every queue and worker has
   * its own connection). Redis only; the PostgreSQL backend keeps no state a
   * restart loses.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  get kind(): QueueBackendConfig['kind'] {
    return this.config.kind;
  }

  /** The producer side of a queue (one instance per name and process). */
  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue =
        this.config.kind === 'postgres'
          ? new Queue(name, { connection: this.postgresConnection(), defaultJobOptions: DEFAULT_JOB_OPTIONS } as never, createPostgresBackend as never)
          : new Queue(name, { connection: this.redisConnection(false), prefix: this.config.prefix ?? 'rapport', defaultJobOptions: DEFAULT_JOB_OPTIONS });
      queue.on('error', (error) => this.reportError(error, { queue: name }, 'queue error'));
      carryTraceContext(queue);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Starts a worker that dispatches jobs by name to `handlers`. */
  startWorker(name: QueueName, handlers: Map<string, JobHandler>, concurrency: number): Worker {
    const processor = async (job: Job) => {
      const handler = handlers.get(job.name);
      if (!handler) throw new UnrecoverableError(`no handler for job "${job.name}" on queue "${name}"`);
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      return inJobSpan(name, job, () => handler(job)).then(
        (result) => (observeJob(name, job, seconds(), 'completed'), result),
        (error: unknown) => {
          observeJob(name, job, seconds(), 'failed');
          throw error;
        },
      );
    };
    const options = {
      concurrency,
      autorun: true,
      lockDuration: this.stall.lockDurationMs,
      stalledInterval: this.stall.stalledIntervalMs,
      // A job found stalled twice (its worker died twice) fails instead of looping.
      maxStalledCount: 2,
    };
    const worker =
      this.config.kind === 'postgres'
        ? new Worker(name, processor, { ...options, connection: this.postgresConnection() } as never, createPostgresBackend as never)
        : new Worker(name, processor, { ...options, connection: this.redisConnection(true), prefix: this.config.prefix ?? 'rapport' });
    worker.on('failed', (job, error) =>
      this.logger.warn({ err: error, queue: name, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade }, 'job failed'),
    );
    worker.on('error', (error) => this.reportError(error, { queue: name }, 'worker error'));
    worker.on('stalled', (jobId) => {
      jobsStalled.inc({ queue: name });
      this.logger.warn({ queue: name, jobId }, 'job stalled: its worker stopped renewing the lock');
    });
    this.workers.push(worker);
    return worker;
  }

  /** Throws unless the backend answers (readiness). */
  async ping(): Promise<void> {
    const queue = this.queue(QUEUES.analytics);
    await queue.getJobCounts('waiting');
  }

  /** Job counts of every queue by state, for metrics and the operators' `queues` query. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const entries = await Promise.all(Object.values(QUEUES).map(async (name) => [name, await this.queue(name).getJobCounts(...JOB_COUNT_STATES)] as const));
    return Object.fromEntries(entries);
  }

  /** Stops workers after their running jobs finish, then closes queues and connections. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    await Promise.allSettled(this.redisConnections.map((c) => c.quit()));
    this.workers.length = 0;
    this.queues.clear();
  }

  /** Connection errors while shutting down are expected; anything else is worth a warning. */
  private reportError(error: Error, context: Record<string, unknown>, message: string): void {
    const err = { message: error.message, code: (error as { code?: string }).code };
    if (this.closing) this.logger.debug({ err, ...context }, message);
    else this.logger.warn({ err, ...context }, message);
  }

  private postgresConnection() {
    if (this.config.kind !== 'postgres') throw new Error('not a postgres backend');
    return { connectionString: this.config.connectionString, migrate: true, max: 4 };
  }

  private redisConnection(forWorker: boolean): Redis {
    if (this.config.kind !== 'redis') throw new Error('not a redis backend');
    const connection = new IORedis(this.config.url, {
      // Workers block on Redis and must retry forever; producers give up quickly (callers bound the wait too).
      maxRetriesPerRequest: forWorker ? null : 1,
      connectTimeout: 5_000,
    });
    connection.on('error', (error) => this.logger.debug({ err: error }, 'redis connection error'));
    let lost = false;
    connection.on('close', () => (lost = true));
    connection.on('ready', () => {
      if (!lost || this.closing) return;
      lost = false;
      // Gathers the reconnections of every connection into one notification.
      this.reconnectTimer ??= setTimeout(() => {
        this.reconnectTimer = undefined;
        this.logger.info('redis connection is back');
        for (const listener of this.reconnectListeners) listener();
      }, 200);
    });
    this.redisConnections.push(connection);
    return connection;
  }
}

import { builder } from '../../graphql/builder';
import { fail } from '../../errors/catalog';
import { JOB_COUNT_STATES, QUEUES, type QueueName } from '../../infra/queue';
import { MAX_FAILED_JOBS, type QueueCounts, type QueueJobRecord, type QueueSummary } from './queue-admin.service';

const QueueNameEnum = builder.enumType('QueueName', {
  description: 'A queue of Rapport’s workers.',
  values: {
    ANALYTICS: { value: QUEUES.analytics, description: 'Stats refreshes, the dirty sweep, score recomputes, segment refreshes and domain-event dispatch.' },
    CONNECTORS: { value: QUEUES.connectors, description: 'Connector syncs and file imports.' },
    WEBHOOKS: { value: QUEUES.webhooks, description: 'Outbound webhook deliveries and their sweep.' },
  } as const,
});

const QueueBackendEnum = builder.enumType('QueueBackend', {
  description: 'Where BullMQ keeps the queues.',
  values: {
    REDIS: { value: 'redis', description: 'Redis (REDIS_URL is set).' },
    POSTGRES: { value: 'postgres', description: 'BullMQ’s PostgreSQL backend, in Rapport’s database.' },
  } as const,
});

const COUNT_DESCRIPTIONS: Record<(typeof JOB_COUNT_STATES)[number], string> = {
  waiting: 'Jobs ready to run, waiting for a worker.',
  prioritized: 'Jobs ready to run with a priority, waiting for a worker.',
  delayed: 'Jobs waiting for their delay (debounce, retry backoff) to pass.',
  active: 'Jobs a worker is running now.',
  failed: 'Jobs that failed their last attempt and are kept for inspection (7 days, at most 5,000).',
  completed: 'Jobs that completed and are still kept (an hour, at most 1,000).',
};

const QueueCountsRef = builder.objectRef<QueueCounts>('QueueCounts').implement({
  description: 'Jobs of a queue by state. The depth (work not started) is waiting + prioritized + delayed.',
  fields: (t) =>
    Object.fromEntries(JOB_COUNT_STATES.map((state) => [state, t.int({ description: COUNT_DESCRIPTIONS[state], resolve: (c) => c[state] })])) as Record<
      (typeof JOB_COUNT_STATES)[number],
      ReturnType<typeof t.int>
    >,
});

const QueueJobRef = builder.objectRef<QueueJobRecord>('QueueJob').implement({
  description: 'A job of a queue: what it is and how it went. Its data (customer ids and the like) is not shown.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The job id within its queue (give it with the queue to retryJob and removeJob).' }),
    queue: t.field({ type: QueueNameEnum, description: 'The queue it is on.', resolve: (j) => j.queue }),
    name: t.exposeString('name', { description: 'What the job does (`customer.refresh`, `scores.recompute`, `connector.sync`, …).' }),
    state: t.exposeString('state', { description: 'Its state when read: waiting, prioritized, delayed, active, failed or completed.' }),
    attemptsMade: t.exposeInt('attemptsMade', { description: 'Attempts made so far.' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts it may make before it stays failed.' }),
    failedReason: t.exposeString('failedReason', { nullable: true, description: 'The error message of its last failed attempt; null when none failed.' }),
    createdAt: t.field({ type: 'DateTime', description: 'When it was enqueued.', resolve: (j) => j.createdAt }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it last finished (completed or failed); null while it has not.',
      resolve: (j) => j.finishedAt,
    }),
  }),
});

const QueueRef = builder.objectRef<QueueSummary>('Queue').implement({
  description: 'A queue of the workers, read from the queue backend (Redis or PostgreSQL).',
  fields: (t) => ({
    name: t.field({ type: QueueNameEnum, description: 'Which queue.', resolve: (q) => q.name }),
    backend: t.field({ type: QueueBackendEnum, description: 'Where it is kept.', resolve: (q) => q.backend as 'redis' | 'postgres' }),
    counts: t.field({ type: QueueCountsRef, description: 'Its jobs by state.', resolve: (q) => q.counts }),
    failedJobs: t.field({
      type: [QueueJobRef],
      description: `Its failed jobs with their reasons, most recently failed first (at most ${MAX_FAILED_JOBS}).`,
      args: { first: t.arg.int({ description: `How many: 20 by default, 1 to ${MAX_FAILED_JOBS}.` }) },
      resolve: (q, args, ctx) => {
        const first = args.first ?? 20;
        if (first < 1 || first > MAX_FAILED_JOBS) {
          throw fail('PAGE_SIZE_EXCEEDED', { detail: `first must be between 1 and ${MAX_FAILED_JOBS}` }, 'first');
        }
        return ctx.servicesOf('operations').queueAdmin.failedJobs(q.name, first);
      },
    }),
  }),
});

/** Job ids are short strings (numbers, or ids such as `import-run-12`); anything else cannot name a job. */
function checkedJobId(id: string): string {
  if (id.length < 1 || id.length > 200) throw fail('VALIDATION_FAILED', { detail: 'id must be 1 to 200 characters' }, 'id');
  return id;
}

builder.queryFields((t) => ({
  queues: t.field({
    type: [QueueRef],
    description: 'Every queue of the workers with its counts and failed jobs (admin). Works on both queue backends.',
    resolve: (_r, _a, ctx) => ctx.servicesOf('operations').queueAdmin.overview(),
  }),
}));

builder.mutationFields((t) => ({
  retryJob: t.field({
    type: QueueJobRef,
    description: 'Runs a failed job again, its attempts counted afresh (admin). JOB_NOT_FOUND when no such job; JOB_STATE_CONFLICT when it is not failed.',
    args: {
      queue: t.arg({ type: QueueNameEnum, required: true, description: 'The queue the job is on.' }),
      id: t.arg.string({ required: true, description: 'The job id (QueueJob.id).' }),
    },
    resolve: (_r, args, ctx) => ctx.servicesOf('operations').queueAdmin.retry(args.queue as QueueName, checkedJobId(args.id)),
  }),
  removeJob: t.field({
    type: QueueJobRef,
    description:
      'Removes a job that is not running (admin) and returns it as it was. JOB_NOT_FOUND when no such job; JOB_STATE_CONFLICT when a worker is running it.',
    args: {
      queue: t.arg({ type: QueueNameEnum, required: true, description: 'The queue the job is on.' }),
      id: t.arg.string({ required: true, description: 'The job id (QueueJob.id).' }),
    },
    resolve: (_r, args, ctx) => ctx.servicesOf('operations').queueAdmin.remove(args.queue as QueueName, checkedJobId(args.id)),
  }),
}));

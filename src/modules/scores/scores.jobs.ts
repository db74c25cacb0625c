import { createHash } from 'node:crypto';
import { UnrecoverableError, type Job } from 'bullmq';
import { fail } from '../../errors/catalog';
import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { DEFAULT_STALL_OPTIONS, QUEUES, type QueueBackend } from '../../infra/queue';
import { isScoreKind, SCORE_KINDS, type ScoreKind } from './score-kind';
import { expandKinds, type ScoreService } from './score.service';

export const SCORES_RECOMPUTE_JOB = 'scores.recompute';
export const NIGHTLY_SCORES_SCHEDULER = 'scores.recompute.nightly';

/** Nightly at 03:00 UTC. */
export const NIGHTLY_PATTERN = '0 3 * * *';

/** Payload of `scores.recompute`: kinds, and optionally the only customers to rescore (no refit then). */
export interface ScoresRecomputeData {
  kinds: ScoreKind[];
  customerIds?: string[];
}

/** Where a recompute job stands. */
export type RecomputeJobStatus = 'QUEUED' | 'RUNNING' | 'STALLED' | 'COMPLETED' | 'FAILED';

/** The progress a recompute job reports: the work done and when its worker last said it is alive. */
interface HeartbeatProgress {
  percent: number;
  heartbeatAt: number;
}

/** A recompute job as the API shows it. */
export interface RecomputeJobRecord {
  id: string;
  status: RecomputeJobStatus;
  /** 0–100. */
  progress: number;
  kinds: ScoreKind[];
  /** Set for a segment refresh (`refreshSegment`), which is a recompute job too. */
  segmentId?: string;
  createdAt: Date;
  finishedAt: Date | null;
  error: string | null;
  /** When the worker running it last reported it alive; null before it started. */
  heartbeatAt: Date | null;
  /** The scope a key needs to read it. */
  readScope: RecomputeJobReadScope;
}

/**
 * Runs a long job's `work` with a heartbeat: the job's progress carries the
 * percentage done and the time of the last beat, written every `everyMs`
 * while the worker is alive (and with each progress report). A job whose
 * beat is older than the queue's lock reads STALLED: its worker is gone,
 * and the queue will hand it to another.
 */
export async function withHeartbeat<T>(job: Job, everyMs: number, work: (report: (percent: number) => Promise<void>) => Promise<T>): Promise<T> {
  let percent = 0;
  const beat = () => job.updateProgress({ percent, heartbeatAt: Date.now() } satisfies HeartbeatProgress);
  await beat();
  const timer = setInterval(() => void beat().catch(() => undefined), everyMs);
  try {
    return await work(async (p) => {
      percent = p;
      await beat();
    });
  } finally {
    clearInterval(timer);
  }
}

/** How often a recompute's heartbeat is written: several beats per lock period, so one late beat is not a stall. */
export function heartbeatEvery(lockDurationMs: number): number {
  return Math.max(250, Math.round(lockDurationMs / 4));
}

/**
 * Jobs `recomputeJob(id)` can report on: score recomputes, segment refreshes (`segments.refresh`),
 * recommendation recomputes (`recommendations.recompute`) and matching runs (`identity.findDuplicates`).
 */
const RECOMPUTE_JOB_NAMES = new Set([SCORES_RECOMPUTE_JOB, 'segments.refresh', 'recommendations.recompute', 'identity.findDuplicates']);

/** The scope that reads a job: the read scope of what it computes (a matching run's pairs are customers:read). */
export type RecomputeJobReadScope = 'scores:read' | 'segments:read' | 'customers:read';

function readScopeOf(jobName: string): RecomputeJobReadScope {
  if (jobName === 'segments.refresh') return 'segments:read';
  if (jobName === 'identity.findDuplicates') return 'customers:read';
  return 'scores:read';
}

export const MAX_RECOMPUTE_CUSTOMER_IDS = 10_000;

/**
 * `scores.recompute`: a full recompute (fit, then score everyone by id range)
 * or, with customerIds, a rescore of those customers with the current models.
 * Kinds whose fit fails are reported as the job's failure after the other
 * kinds are done; retrying cannot help them, so the failure is unrecoverable.
 * With `historyDays`, a full recompute then prunes the score history older
 * than that (see {@link ScoreService.pruneHistory}).
 */
export function registerScoreJobs(
  registry: Pick<JobRegistry, 'register'>,
  scores: ScoreService,
  options: { historyDays?: number; lockDurationMs?: number } = {},
): void {
  const every = heartbeatEvery(options.lockDurationMs ?? DEFAULT_STALL_OPTIONS.lockDurationMs);
  registry.register(QUEUES.analytics, SCORES_RECOMPUTE_JOB, (job: Job) => withHeartbeat(job, every, (report) => recomputeJob(job, report)));

  async function recomputeJob(job: Job, report: (percent: number) => Promise<void>) {
    const data = job.data as ScoresRecomputeData;
    const kinds = (data.kinds ?? []).filter(isScoreKind);
    if (data.customerIds) {
      const rescored = await scores.rescoreAfterFullRecompute(data.customerIds, kinds);
      await report(100);
      return { rescored };
    }
    const requested = kinds.length ? kinds : SCORE_KINDS;
    // Requests coalesce into a running job too; if settings changed while it ran, it runs again so they take effect.
    let outcome: Awaited<ReturnType<ScoreService['recompute']>>;
    for (let round = 1; ; round++) {
      const settings = await scores.settingsSnapshot(requested);
      outcome = await scores.recompute(requested, { onProgress: report });
      if (round >= 3 || (await scores.settingsSnapshot(requested)) === settings) break;
    }
    // After the swap: its superseded scores are history too, pruned if old enough.
    const historyPruned = options.historyDays ? await scores.pruneHistory(options.historyDays) : 0;
    if (outcome.errors.length > 0) throw new UnrecoverableError(outcome.errors.map((e) => e.message).join('; '));
    return { ...outcome, historyPruned };
  }
}

/**
 * Enqueues `scores.recompute`. Requests for the same work (same kinds, same
 * customers) coalesce through a BullMQ deduplication id while one is waiting
 * or running: the caller gets the job already there.
 */
export async function enqueueRecompute(queues: QueueBackend, kinds: readonly ScoreKind[], customerIds?: string[]): Promise<Job> {
  const expanded = expandKinds(kinds.length ? kinds : SCORE_KINDS);
  const ids = customerIds ? [...new Set(customerIds)].sort() : undefined;
  if (ids && ids.length > MAX_RECOMPUTE_CUSTOMER_IDS) {
    throw fail('BATCH_TOO_LARGE', { detail: `customerIds has ${ids.length} ids; the limit is ${MAX_RECOMPUTE_CUSTOMER_IDS}` }, 'customerIds');
  }
  const target = ids ? createHash('sha1').update(ids.join(',')).digest('hex') : 'all';
  const dedupId = `scores:${expanded.join(',')}:${target}`;
  const queue = queues.queue(QUEUES.analytics);
  const job = await withTimeout(
    queue.add(SCORES_RECOMPUTE_JOB, { kinds: expanded, ...(ids ? { customerIds: ids } : {}) } satisfies ScoresRecomputeData, {
      deduplication: { id: dedupId },
      attempts: 3,
    }),
    5_000,
    'enqueue scores.recompute',
  );
  // A deduplicated add does not create a job; report the one that holds the id.
  const existing = job.id ? await queue.getJob(job.id) : undefined;
  if (existing) return existing;
  const holder = await queue.getDeduplicationJobId(dedupId);
  return (holder ? await queue.getJob(holder) : undefined) ?? job;
}

/** The recompute job with this id, or null (unknown, or removed after retention). */
export async function findRecomputeJob(queues: QueueBackend, id: string): Promise<RecomputeJobRecord | null> {
  const queue = queues.queue(QUEUES.analytics);
  // State first: a job read before it finished cannot then look finished without its reason.
  const state = await queue.getJobState(id);
  const job = await queue.getJob(id);
  if (!job || !RECOMPUTE_JOB_NAMES.has(job.name)) return null;
  return toRecomputeJobRecord(job, state, queues.stall.lockDurationMs);
}

/** The progress a job reported: a heartbeat, or a bare percentage (jobs that report no heartbeat). */
function readProgress(progress: unknown): { percent: number; heartbeatAt: number | null } {
  if (typeof progress === 'number') return { percent: progress, heartbeatAt: null };
  const beat = progress as Partial<HeartbeatProgress> | null;
  return {
    percent: typeof beat?.percent === 'number' ? beat.percent : 0,
    heartbeatAt: typeof beat?.heartbeatAt === 'number' ? beat.heartbeatAt : null,
  };
}

/**
 * The job as the API shows it. An active job whose heartbeat is older than
 * `stallAfterMs` (the queue's lock duration) is STALLED: its worker stopped
 * beating, so it died or hangs.
 */
export async function toRecomputeJobRecord(job: Job, knownState?: string, stallAfterMs = DEFAULT_STALL_OPTIONS.lockDurationMs): Promise<RecomputeJobRecord> {
  const state = knownState ?? (await job.getState());
  const { percent: progress, heartbeatAt } = readProgress(job.progress);
  const stalled = state === 'active' && heartbeatAt !== null && Date.now() - heartbeatAt > stallAfterMs;
  const status: RecomputeJobStatus =
    state === 'completed' ? 'COMPLETED' : state === 'failed' ? 'FAILED' : state === 'active' ? (stalled ? 'STALLED' : 'RUNNING') : 'QUEUED';
  return {
    heartbeatAt: heartbeatAt === null ? null : new Date(heartbeatAt),
    id: String(job.id),
    status,
    progress: status === 'COMPLETED' ? 100 : progress,
    kinds: ((job.data as ScoresRecomputeData).kinds ?? []).filter(isScoreKind),
    segmentId: (job.data as { segmentId?: string }).segmentId,
    createdAt: new Date(job.timestamp),
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
    error: status === 'FAILED' ? (job.failedReason ?? 'failed') : null,
    readScope: readScopeOf(job.name),
  };
}

/** The recompute jobs as the API starts and reads them: the scores module's facade over its queue. */
export class RecomputeJobs {
  constructor(private readonly queues: QueueBackend) {}

  /** Starts (or joins) a recompute; see {@link enqueueRecompute}. */
  async request(kinds: readonly ScoreKind[], customerIds?: string[]): Promise<RecomputeJobRecord> {
    return toRecomputeJobRecord(await enqueueRecompute(this.queues, kinds, customerIds), undefined, this.queues.stall.lockDurationMs);
  }

  /** The recompute job with this id, or null. */
  find(id: string): Promise<RecomputeJobRecord | null> {
    return findRecomputeJob(this.queues, id);
  }
}

/** Registers the nightly full recompute (BullMQ job schedulers are cluster-wide: one run per night whatever the worker count). */
export async function scheduleNightlyScores(queues: QueueBackend, pattern = NIGHTLY_PATTERN): Promise<void> {
  await queues
    .queue(QUEUES.analytics)
    .upsertJobScheduler(
      NIGHTLY_SCORES_SCHEDULER,
      { pattern, tz: 'UTC' },
      { name: SCORES_RECOMPUTE_JOB, data: { kinds: [...SCORE_KINDS] } satisfies ScoresRecomputeData },
    );
}

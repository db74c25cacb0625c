import { UnrecoverableError, type Job } from 'bullmq';
import { RapportError } from '../../errors/catalog';
import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { toRecomputeJobRecord, type RecomputeJobRecord } from '../scores';
import type { RecommendationService } from './recommendation.service';

/** The job of `recomputeRecommendations`: a recompute job, so `recomputeJob(id)` reports on it. */
export const RECOMMENDATIONS_RECOMPUTE_JOB = 'recommendations.recompute';

/** Nightly at 03:30 UTC, after the scores' recompute. */
export const NIGHTLY_RECOMMENDATIONS_PATTERN = '30 3 * * *';
export const NIGHTLY_RECOMMENDATIONS_SCHEDULER = 'recommendations.recompute.nightly';

/**
 * `recommendations.recompute`: refit and rescore everyone. Settings changed
 * while it ran make it run again (requests coalesce into a running job). A
 * model that cannot be fitted (too little data) fails the job for good.
 */
export function registerRecommendationJobs(registry: Pick<JobRegistry, 'register'>, recommendations: RecommendationService): void {
  registry.register(QUEUES.analytics, RECOMMENDATIONS_RECOMPUTE_JOB, async (job: Job) => {
    for (let round = 1; ; round++) {
      const before = JSON.stringify((await recommendations.model()).settings);
      try {
        const outcome = await recommendations.recompute((p) => job.updateProgress(p));
        if (round >= 3 || JSON.stringify((await recommendations.model()).settings) === before) return outcome;
      } catch (error) {
        if (error instanceof RapportError) throw new UnrecoverableError(error.message);
        throw error;
      }
    }
  });
}

/** Enqueues a recompute; a request while one waits or runs joins it (BullMQ deduplication). */
export async function enqueueRecommendationsRecompute(queues: QueueBackend): Promise<RecomputeJobRecord> {
  const queue = queues.queue(QUEUES.analytics);
  const dedupId = 'recommendations:all';
  const job = await withTimeout(
    queue.add(RECOMMENDATIONS_RECOMPUTE_JOB, {}, { deduplication: { id: dedupId }, attempts: 3 }),
    5_000,
    'enqueue recommendations.recompute',
  );
  const existing = job.id ? await queue.getJob(job.id) : undefined;
  if (existing) return toRecomputeJobRecord(existing);
  const holder = await queue.getDeduplicationJobId(dedupId);
  return toRecomputeJobRecord((holder ? await queue.getJob(holder) : undefined) ?? job);
}

export async function scheduleNightlyRecommendations(queues: QueueBackend, pattern = NIGHTLY_RECOMMENDATIONS_PATTERN): Promise<void> {
  await queues
    .queue(QUEUES.analytics)
    .upsertJobScheduler(NIGHTLY_RECOMMENDATIONS_SCHEDULER, { pattern, tz: 'UTC' }, { name: RECOMMENDATIONS_RECOMPUTE_JOB, data: {} });
}

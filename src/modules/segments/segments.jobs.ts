import { withTimeout, type JobRegistry } from '../../infra/jobs';
import type { Logger } from '../../infra/logger';
import { DEFAULT_STALL_OPTIONS, QUEUES, type QueueBackend } from '../../infra/queue';
import { heartbeatEvery, withHeartbeat } from '../scores';
import type { SegmentMembershipService } from './segment-membership.service';
import type { SegmentService } from './segment.service';

export const SEGMENT_REFRESH_JOB = 'segments.refresh';
export const SEGMENT_SWEEP_JOB = 'segments.sweep';

/** Requests for one segment within this window share one refresh (which reads the rule when it runs). */
export const SEGMENT_REFRESH_DEBOUNCE_MS = 300;

/**
 * How often segments whose truth moves with the clock (`lastDays` windows) or
 * with scores, and segments left STALE, are re-evaluated.
 * @defaultValue 5 minutes (config `RAPPORT_SEGMENT_SWEEP_MS`)
 */
export const DEFAULT_SEGMENT_SWEEP_MS = 5 * 60_000;

export interface SegmentRefreshData {
  segmentId: string;
}

/** Enqueues `segments.refresh` (debounced, deduplicated per segment) and returns the job that will run it. */
export function enqueueSegmentRefresh(queues: QueueBackend, segmentId: string) {
  return queues.queue(QUEUES.analytics).add(SEGMENT_REFRESH_JOB, { segmentId } satisfies SegmentRefreshData, {
    delay: SEGMENT_REFRESH_DEBOUNCE_MS,
    deduplication: { id: `segment:${segmentId}`, ttl: SEGMENT_REFRESH_DEBOUNCE_MS },
  });
}

/**
 * Enqueues `segments.refresh`, debounced and deduplicated per segment; a
 * failure to enqueue is logged, not thrown: the segment stays STALE and the
 * sweep refreshes it.
 */
export function createSegmentRefreshRequester(queues: QueueBackend, logger: Logger, timeoutMs = 2_000) {
  return async (segmentId: string): Promise<void> => {
    try {
      await withTimeout(enqueueSegmentRefresh(queues, segmentId), timeoutMs, 'enqueue segments.refresh');
    } catch (error) {
      logger.warn({ err: error, segmentId }, 'could not enqueue segments.refresh; the segment sweep will refresh it');
    }
  };
}

export function registerSegmentJobs(
  registry: Pick<JobRegistry, 'register'>,
  segments: SegmentService,
  memberships: SegmentMembershipService,
  lockDurationMs = DEFAULT_STALL_OPTIONS.lockDurationMs,
): void {
  // A segment refresh is a recompute job as the API reports it: it beats so that a dead worker's refresh reads STALLED.
  registry.register(QUEUES.analytics, SEGMENT_REFRESH_JOB, (job) =>
    withHeartbeat(job, heartbeatEvery(lockDurationMs), async () => {
      const { segmentId } = job.data as SegmentRefreshData;
      return (await memberships.refreshSegment(segmentId)) ?? { segmentId, skipped: true };
    }),
  );
  registry.register(QUEUES.analytics, SEGMENT_SWEEP_JOB, async () => {
    const ids = await segments.sweepCandidates();
    for (const id of ids) await segments.requestRefresh(id);
    return { requested: ids.length };
  });
}

/** Registers the sweep with BullMQ's job scheduler (cluster-wide: one run per period whatever the number of workers). */
export async function scheduleSegmentSweep(queues: QueueBackend, everyMs = DEFAULT_SEGMENT_SWEEP_MS): Promise<void> {
  await queues.queue(QUEUES.analytics).upsertJobScheduler(SEGMENT_SWEEP_JOB, { every: everyMs }, { name: SEGMENT_SWEEP_JOB, data: {} });
}

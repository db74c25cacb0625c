import type { Job } from 'bullmq';
import type { JobRegistry } from '../../infra/jobs';
import { QUEUES } from '../../infra/queue';
import { FIND_DUPLICATES_JOB, type IdentityService } from './identity.service';

/** `identity.findDuplicates`: the full matching run, reported through recomputeJob(id). */
export function registerIdentityJobs(registry: Pick<JobRegistry, 'register'>, identity: IdentityService): void {
  registry.register(QUEUES.analytics, FIND_DUPLICATES_JOB, async (job: Job) => identity.findDuplicates((p) => job.updateProgress(p)));
}

import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import type { PersonalDataPolicy } from '../access';
import { SCORE_KINDS } from '../scores';
import { SCORES_RECOMPUTE_JOB, toRecomputeJobRecord } from '../scores';
import { SegmentMembershipService } from './segment-membership.service';
import * as segmentGraphql from './segment.graphql';
import { SegmentService } from './segment.service';
import { createSegmentRefreshRequester, enqueueSegmentRefresh, registerSegmentJobs, scheduleSegmentSweep } from './segments.jobs';

interface SegmentsDeps {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  personalData: PersonalDataPolicy;
}

/** Segments: rule trees, static lists, memberships kept current, templates, explanations. */
export const segmentsModule = defineModule({
  name: 'segments',
  needs: ['config', 'logger', 'dataSource', 'queues', 'personalData'],
  provides: ['segments'],
  graphql: [segmentGraphql],
  events: { publishes: ['segment.entered', 'segment.exited'], subscribes: [] },
  create({ logger, dataSource, queues, personalData }: SegmentsDeps) {
    const memberships = new SegmentMembershipService(dataSource);
    const segments = new SegmentService(dataSource, memberships, {
      requestRefresh: createSegmentRefreshRequester(queues, logger.child({ component: 'segments' })),
      enqueueRefresh: async (segmentId) => toRecomputeJobRecord(await enqueueSegmentRefresh(queues, segmentId)),
      personalData,
    });
    // Segments whose rule uses a segment that moved are refreshed too.
    memberships.onMembershipChanged((ids) => segments.refreshDependents(ids));
    return { segments };
  },
  jobs: ({ segments }) => collectJobs((registry) => registerSegmentJobs(registry, segments, segments.memberships)),
  schedules: ({ queues, config }) => [{ name: 'segments.sweep', start: () => scheduleSegmentSweep(queues, config.segmentSweepMs) }],
  // After scores: segments on scores must see this refresh's new scores.
  refreshSteps: [
    {
      name: 'segments',
      after: ['scores'],
      create:
        ({ segments }) =>
        async (manager, customerIds) => {
          await segments.memberships.refreshCustomers(manager, customerIds);
        },
    },
  ],
  // A full score recompute moves score-based segments at once, not at the next sweep.
  jobFollowUps: [
    {
      module: 'scores',
      queue: QUEUES.analytics,
      job: SCORES_RECOMPUTE_JOB,
      create:
        ({ segments }) =>
        async (data) => {
          const requested = (data as { kinds?: string[] }).kinds ?? [];
          await segments.refreshSegmentsUsingScores(requested.length ? requested : [...SCORE_KINDS]);
        },
    },
  ],
});

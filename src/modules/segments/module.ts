import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import { afterCommit } from '../../infra/database';
import type { QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import type { PersonalDataPolicy } from '../access';
import type { EventBus } from '../events';
import { SCORE_KINDS, toRecomputeJobRecord } from '../scores';
import { createCustomerRules } from './customer-rules';
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
  events: EventBus;
}

/** Segments: rule trees, static lists, memberships kept current, templates, explanations. */
export const segmentsModule = defineModule({
  name: 'segments',
  needs: ['config', 'logger', 'dataSource', 'queues', 'personalData', 'events'],
  // customerRules: the rule language for the scores module (CHURN_PROPENSITY), which cannot import segments.
  provides: ['segments', 'customerRules'],
  graphql: [segmentGraphql],
  events: {
    publishes: ['segment.entered', 'segment.exited', 'memberships.changed'],
    subscribes: ['customers.refreshed', 'memberships.changed', 'recompute.completed'],
  },
  create({ logger, dataSource, queues, personalData, events }: SegmentsDeps) {
    const memberships = new SegmentMembershipService(dataSource, events);
    const segments = new SegmentService(dataSource, memberships, {
      requestRefresh: createSegmentRefreshRequester(queues, logger.child({ component: 'segments' })),
      enqueueRefresh: async (segmentId) => toRecomputeJobRecord(await enqueueSegmentRefresh(queues, segmentId), undefined, queues.stall.lockDurationMs),
      personalData,
    });
    return { segments, customerRules: createCustomerRules(segments) };
  },
  jobs: ({ segments, config }) => collectJobs((registry) => registerSegmentJobs(registry, segments, segments.memberships, config.jobLockMs)),
  schedules: ({ queues, config }) => [{ name: 'segments.sweep', start: () => scheduleSegmentSweep(queues, config.segmentSweepMs) }],
  subscriptions: [
    // customer.refresh, after scores and recommendations: segments on them must see this refresh's new ones.
    {
      delivery: 'transaction',
      event: 'customers.refreshed',
      consumer: 'segments',
      after: ['scores', 'recommendations'],
      create:
        ({ segments }) =>
        async ({ customerIds }, manager) => {
          await segments.memberships.refreshCustomers(manager, customerIds);
        },
    },
    // Segments whose rule uses a segment that moved are refreshed too, once the move has committed (their refresh reads it).
    {
      delivery: 'transaction',
      event: 'memberships.changed',
      consumer: 'segments.dependents',
      create:
        ({ segments }) =>
        async ({ segmentIds }) => {
          afterCommit(() => segments.refreshDependents(segmentIds));
        },
    },
    // A finished score recompute moves score-based segments at once, not at the next sweep.
    {
      delivery: 'outbox',
      event: 'recompute.completed',
      consumer: 'segments.score-segments',
      create:
        ({ segments }) =>
        async ({ payload }) => {
          await segments.refreshSegmentsUsingScores(payload.kinds.length ? payload.kinds : [...SCORE_KINDS]);
        },
    },
  ],
});

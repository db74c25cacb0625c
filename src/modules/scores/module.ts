import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import type { CustomerRules } from './kinds';
import * as scoreInputsGraphql from './score-inputs.graphql';
import * as scoreGraphql from './score.graphql';
import { ScoreService } from './score.service';
import { enqueueRecompute, RecomputeJobs, registerScoreJobs, scheduleNightlyScores } from './scores.jobs';

/** Score models (fit, settings), per-customer scores and their history, recomputes. */
export const scoresModule = defineModule({
  name: 'scores',
  // customerRules: the segment rule language (segments module), for CHURN_PROPENSITY's population, outcome and behaviour features.
  needs: ['config', 'logger', 'dataSource', 'queues', 'customerRules'],
  provides: ['scores', 'recomputes'],
  graphql: [scoreInputsGraphql, scoreGraphql],
  events: { publishes: ['score.changed', 'recompute.completed'], subscribes: ['customers.refreshed', 'customer.erased'] },
  create({
    logger,
    dataSource,
    queues,
    customerRules,
  }: {
    config: Config;
    logger: Logger;
    dataSource: DataSource;
    queues: QueueBackend;
    customerRules: CustomerRules;
  }) {
    return {
      scores: new ScoreService(dataSource, logger.child({ component: 'scores' }), (kinds) => enqueueRecompute(queues, kinds), customerRules),
      recomputes: new RecomputeJobs(queues),
    };
  },
  jobs: ({ scores, config }) =>
    collectJobs((registry) => registerScoreJobs(registry, scores, { historyDays: config.scoreHistoryDays, lockDurationMs: config.jobLockMs })),
  schedules: ({ queues }) => [{ name: 'scores.recompute.nightly', start: () => scheduleNightlyScores(queues) }],
  subscriptions: [
    // customer.refresh: the refreshed customers' scores, with the current models, in the stats transaction.
    {
      delivery: 'transaction',
      event: 'customers.refreshed',
      consumer: 'scores',
      create:
        ({ scores }) =>
        ({ customerIds }, manager) =>
          scores.scoreCustomers(manager, customerIds),
    },
    // An erasure changes the base that score quantiles (and segment sizes) are computed over.
    {
      delivery: 'outbox',
      event: 'customer.erased',
      consumer: 'scores.erasure-recompute',
      create:
        ({ queues }) =>
        async () => {
          await enqueueRecompute(queues, []);
        },
    },
  ],
});

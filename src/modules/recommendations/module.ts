import type { DataSource } from 'typeorm';
import type { Logger } from '../../infra/logger';
import { collectJobs, defineModule } from '../../infra/module';
import type { QueueBackend } from '../../infra/queue';
import type { PersonalDataPolicy } from '../access';
import * as recommendationGraphql from './recommendation.graphql';
import { RecommendationService, type SegmentDirectory } from './recommendation.service';
import { enqueueRecommendationsRecompute, registerRecommendationJobs, scheduleNightlyRecommendations } from './recommendations.jobs';

/** Product recommendations per customer, audiences per product, similar products: a model fitted by workers from interactions. */
export const recommendationsModule = defineModule({
  name: 'recommendations',
  needs: ['logger', 'dataSource', 'queues', 'personalData', 'segments'],
  provides: ['recommendations'],
  graphql: [recommendationGraphql],
  events: { publishes: ['recompute.completed'], subscribes: ['customers.refreshed', 'customer.erased'] },
  create({
    logger,
    dataSource,
    queues,
    personalData,
    segments,
  }: {
    logger: Logger;
    dataSource: DataSource;
    queues: QueueBackend;
    personalData: PersonalDataPolicy;
    // Structural: the segments module imports this one's rule, so this one names no type of it.
    segments: SegmentDirectory;
  }) {
    const requestRecompute = () => enqueueRecommendationsRecompute(queues);
    return {
      recommendations: new RecommendationService(dataSource, logger.child({ component: 'recommendations' }), requestRecompute, personalData, segments),
    };
  },
  jobs: ({ recommendations }) => collectJobs((registry) => registerRecommendationJobs(registry, recommendations)),
  schedules: ({ queues }) => [{ name: 'recommendations.recompute.nightly', start: () => scheduleNightlyRecommendations(queues) }],
  subscriptions: [
    // customer.refresh: the refreshed customers' recommendations, with the current model, in the stats transaction.
    {
      delivery: 'transaction',
      event: 'customers.refreshed',
      consumer: 'recommendations',
      create:
        ({ recommendations, logger }) =>
        async ({ customerIds }, manager) => {
          // A failure here must not undo the customers' stats: the next refresh or recompute catches up.
          await manager.query(`SAVEPOINT recommendations_refresh`);
          try {
            await recommendations.refreshCustomers(manager, customerIds);
            await manager.query(`RELEASE SAVEPOINT recommendations_refresh`);
          } catch (error) {
            await manager.query(`ROLLBACK TO SAVEPOINT recommendations_refresh`);
            logger.warn({ err: error, customers: customerIds.length }, 'recommendations refresh failed');
          }
        },
    },
    // An erased organisation's popular products (an aggregate of its members) go with it.
    {
      delivery: 'outbox',
      event: 'customer.erased',
      consumer: 'recommendations.erasure',
      create:
        ({ recommendations }) =>
        async ({ payload }, manager) => {
          await recommendations.forgetOrganization(payload.customerId, manager);
        },
    },
  ],
});

import type { DataSource } from 'typeorm';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import * as identityGraphql from './identity.graphql';
import { registerIdentityJobs } from './identity.jobs';
import { IdentityService, markPairsMerged, recordDuplicatePair } from './identity.service';

interface IdentityDeps {
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
}

/** Identity matching: duplicate customers found by probabilistic matching (Fellegi–Sunter), kept current in the customer refresh. */
export const identityModule = defineModule({
  name: 'identity',
  needs: ['logger', 'dataSource', 'queues'],
  provides: ['identity', 'duplicatePairs'],
  graphql: [identityGraphql],
  events: { publishes: [], subscribes: ['customers.refreshed', 'customer.erased'] },
  create({ logger, dataSource, queues }: IdentityDeps) {
    return {
      identity: new IdentityService(dataSource, queues, logger.child({ component: 'identity' })),
      /** For the merges module: pairs flagged by an ingest policy, and pairs settled by a merge. */
      duplicatePairs: { recordDuplicatePair, markPairsMerged },
    };
  },
  jobs: ({ identity }) => collectJobs((registry) => registerIdentityJobs(registry, identity)),
  subscriptions: [
    // customer.refresh: new and changed customers are compared as they arrive, once a full run fitted the models.
    {
      delivery: 'transaction',
      event: 'customers.refreshed',
      consumer: 'identity',
      create:
        ({ identity }) =>
        ({ customerIds }, manager) =>
          identity.onCustomersRefreshed(manager, customerIds),
    },
    // An erased customer's pairs (their evidence was drawn from its personal data) go with it; its features went with the erasure.
    {
      delivery: 'outbox',
      event: 'customer.erased',
      consumer: 'identity.erasure',
      create:
        ({ identity }) =>
        ({ payload }, manager) =>
          identity.forget(manager, payload.customerId),
    },
  ],
});

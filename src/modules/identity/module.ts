import type { DataSource } from 'typeorm';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import type { MergeService } from '../merges';
import { collectJobs, defineModule } from '../../infra/module';
import * as identityGraphql from './identity.graphql';
import { registerIdentityJobs } from './identity.jobs';
import { IdentityService, markPairsMerged, recordDuplicatePair } from './identity.service';

interface IdentityDeps {
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  merges: MergeService;
}

/** Identity matching: duplicate customers found by probabilistic matching (Fellegi–Sunter), kept current in the customer refresh. */
export const identityModule = defineModule({
  name: 'identity',
  needs: ['logger', 'dataSource', 'queues', 'merges'],
  provides: ['identity', 'duplicatePairs'],
  graphql: [identityGraphql],
  events: { publishes: [], subscribes: ['customers.refreshed', 'customer.erased', 'customer.merged', 'customer.unmerged', 'identity.conflict_flagged'] },
  create({ logger, dataSource, queues, merges }: IdentityDeps) {
    // Automatic merges go through the merges module, with its audit entry, events, guard rails and undo.
    const merge = (survivorId: string, mergedIds: string[], { reason }: { reason: string }) =>
      merges.merge({ survivorId, mergedIds, actor: 'identity.autoMerge', reason, automatic: true });
    return {
      identity: new IdentityService(dataSource, queues, logger.child({ component: 'identity' }), merge),
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
    // A merge settles the pairs among its customers; the merged-away customers are no longer matched.
    {
      delivery: 'outbox',
      event: 'customer.merged',
      consumer: 'identity.merged',
      create:
        ({ identity }) =>
        ({ payload }, manager) =>
          identity.onMerged(manager, payload.customerId, payload.mergedIds),
    },
    // An ingest conflict accepted under the FLAG policy (or a MERGE a guard rail stopped) is a candidate pair for review.
    {
      delivery: 'outbox',
      event: 'identity.conflict_flagged',
      consumer: 'identity.flagged',
      create:
        () =>
        async ({ payload }, manager) => {
          const [first, ...others] = payload.customerIds;
          if (first === undefined) return;
          for (const other of others) {
            await recordDuplicatePair(manager, first, other, 1, [{ field: `identifier:${payload.identifierType}`, level: 'conflict', weight: 0 }]);
          }
        },
    },
    // An undone merge says its customers are not one: their pairs are dismissed, so an automatic merge does not redo it.
    {
      delivery: 'outbox',
      event: 'customer.unmerged',
      consumer: 'identity.unmerged',
      create:
        ({ identity }) =>
        ({ payload }, manager) =>
          identity.onUnmerged(manager, payload.customerId, payload.restoredIds),
    },
  ],
});

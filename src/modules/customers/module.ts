import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import type { EventBus } from '../events';
import { CustomerQueryService } from './customer-query.service';
import { CustomerStatsService } from './customer-stats.service';
import * as customerGraphql from './customer.graphql';
import { CustomerService } from './customer.service';
import { createRefreshRequester, gatherMsFor, RefreshGatherer, registerCustomerJobs, scheduleDirtySweep } from './customers.jobs';
import { TombstoneHasher } from './tombstones';

interface CustomersDeps {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  /** The server secret (RAPPORT_SECRET_KEY), which keys the tombstones of erased identifiers. */
  secretKey: Buffer | undefined;
  events: EventBus;
}

/** Customers, their identifiers and identity resolution, and the per-customer refresh (stats, then the subscribers of customers.refreshed). */
export const customersModule = defineModule({
  name: 'customers',
  needs: ['config', 'logger', 'dataSource', 'queues', 'secretKey', 'events'],
  provides: ['refreshes', 'tombstones', 'stats', 'customers', 'customerQueries'],
  graphql: [customerGraphql],
  events: { publishes: ['customer.created', 'customer.updated', 'customers.refreshed', 'identity.conflicted'], subscribes: [] },
  create({ config, logger, dataSource, queues, secretKey, events }: CustomersDeps) {
    const debounceMs = config.refreshDebounceMs;
    const refreshes = new RefreshGatherer(createRefreshRequester(queues), logger.child({ component: 'refresh' }), gatherMsFor(debounceMs), debounceMs);
    const tombstones = new TombstoneHasher(secretKey);
    if (!tombstones.keyed)
      logger.warn(
        'RAPPORT_SECRET_KEY is not set: erased identifiers are kept as unkeyed SHA-256 hashes, which a copy of the database can test guesses against',
      );
    return {
      refreshes,
      tombstones,
      stats: new CustomerStatsService(dataSource, events),
      // The gatherer never fails: an enqueue that does is logged and the dirty sweep catches up.
      customers: new CustomerService(dataSource, refreshes.request, tombstones, events),
      customerQueries: new CustomerQueryService(dataSource),
    };
  },
  jobs: ({ stats }) => collectJobs((registry) => registerCustomerJobs(registry, stats)),
  schedules: ({ queues, config }) => [{ name: 'dirty.sweep', start: () => scheduleDirtySweep(queues, config.dirtySweepMs) }],
});

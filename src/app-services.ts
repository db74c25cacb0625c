import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { JobRegistry } from './infra/jobs';
import type { Logger } from './infra/logger';
import type { QueueBackend } from './infra/queue';
import { CustomerQueryService } from './modules/customers/customer-query.service';
import { CustomerService } from './modules/customers/customer.service';
import { CustomerStatsService } from './modules/customers/customer-stats.service';
import { createRefreshRequester, registerCustomerJobs } from './modules/customers/customers.jobs';
import { IngestService } from './modules/interactions/ingest.service';
import { InteractionQueryService } from './modules/interactions/interaction-query.service';

/** Everything a gateway or a worker needs, built once per process. */
export interface RapportServices {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  jobs: JobRegistry;
  ingest: IngestService;
  customers: CustomerService;
  customerQueries: CustomerQueryService;
  interactionQueries: InteractionQueryService;
  stats: CustomerStatsService;
}

export function createServices(deps: { config: Config; logger: Logger; dataSource: DataSource; queues: QueueBackend }): RapportServices {
  const { dataSource, queues, logger } = deps;
  const requestRefresh = createRefreshRequester(queues);
  const ingest = new IngestService(dataSource, requestRefresh, logger.child({ component: 'ingest' }));
  const stats = new CustomerStatsService(dataSource);
  const jobs = new JobRegistry();
  registerCustomerJobs(jobs, stats);
  return {
    ...deps,
    jobs,
    ingest,
    customers: new CustomerService(dataSource, (ids) => ingest.safeRequestRefresh(ids)),
    customerQueries: new CustomerQueryService(dataSource),
    interactionQueries: new InteractionQueryService(dataSource),
    stats,
  };
}

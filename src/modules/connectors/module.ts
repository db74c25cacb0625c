import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import { collectJobs, defineModule } from '../../infra/module';
import type { ApiKeyService } from '../access';
import type { CustomerService } from '../customers';
import type { IngestService } from '../interactions';
import type { PrivacyService } from '../privacy';
import * as connectorGraphql from './connector.graphql';
import { registerConnectorJobs } from './connectors.jobs';
import { createConnectorServices } from './connectors.services';
import * as webhookRefusalGraphql from './webhook-refusal.graphql';

interface ConnectorsDeps {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  ingest: IngestService;
  customers: CustomerService;
  privacy: PrivacyService;
  secretKey: Buffer | undefined;
  apiKeys: ApiKeyService;
}

/** The connector host: plugins, connections, pull syncs, webhooks and file imports. */
export const connectorsModule = defineModule({
  name: 'connectors',
  needs: ['config', 'logger', 'dataSource', 'queues', 'ingest', 'customers', 'privacy', 'secretKey', 'apiKeys'],
  provides: ['connectors'],
  graphql: [connectorGraphql, webhookRefusalGraphql],
  events: { publishes: ['connection.failed', 'connection.recovered', 'interactions.imported'], subscribes: [] },
  create({ config, logger, dataSource, queues, ingest, customers, privacy, secretKey, apiKeys }: ConnectorsDeps) {
    return {
      connectors: createConnectorServices({ config, logger, dataSource, queues, targets: { ingest, customers, privacy, dataSource }, secretKey, apiKeys }),
    };
  },
  jobs: ({ connectors }) => collectJobs((registry) => registerConnectorJobs(registry, connectors.sync, connectors.imports)),
  schedules: ({ connectors }) => [{ name: 'connection schedules', start: () => connectors.connections.restoreSchedules() }],
  routes: ({ connectors }) => connectors.routes(),
  gatewayStart: ({ connectors }) => connectors.warmUp(),
});

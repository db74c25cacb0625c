import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { Config } from '../../config';
import type { HttpRoute } from '../../infra/http';
import type { Logger } from '../../infra/logger';
import type { QueueBackend } from '../../infra/queue';
import type { IngestTargets } from './batch-commit';
import { ConnectionService } from './connection.service';
import { ConnectorRegistry } from './connector-registry';
import { ConnectorRunService } from './connector-run.service';
import { ConnectionScheduler } from './connectors.jobs';
import { FileImportService } from './file-import.service';
import { authenticate, hasScope, type ApiKeyService } from '../access';
import { ErrorCode } from '../../errors/catalog';
import { createImportRoute, type UploadAuthorizer } from './import.route';
import { PluginHosts } from './plugin-hosts';
import { SecretBox } from './secret-box';
import { SyncService } from './sync.service';
import { createWebhookRoute } from './webhook.route';
import { WebhookRefusalService } from './webhook-refusal.service';

/** The connector host: plugins, connections, runs, pull syncs, webhooks and file imports. */
export interface ConnectorServices {
  registry: ConnectorRegistry;
  connections: ConnectionService;
  runs: ConnectorRunService;
  sync: SyncService;
  imports: FileImportService;
  scheduler: ConnectionScheduler;
  /** Webhook deliveries each connection refused. */
  refusals: WebhookRefusalService;
  /** The plugin host processes of this Rapport process. */
  hosts: PluginHosts;
  /** Starts the warm host of every push plugin a connection uses, so that the first delivery does not wait for one to start. */
  warmUp(): Promise<void>;
  /** The gateway routes: `POST /hooks/:connectionId` and `POST /imports`. */
  routes(): HttpRoute[];
}

/** Builds the connector host; its jobs on the `connectors` queue are declared in the module manifest. */
export function createConnectorServices(deps: {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queues: QueueBackend;
  targets: IngestTargets;
  /** The server secret (RAPPORT_SECRET_KEY or the embedded secret.key), which encrypts connection secrets. */
  secretKey: Buffer | undefined;
  /** Authenticates upload requests on /imports. */
  apiKeys: ApiKeyService;
}): ConnectorServices {
  const { config, dataSource, targets, apiKeys } = deps;
  const logger = deps.logger.child({ component: 'connectors' });
  // `http`: Rapport's options for every plugin's ctx.http, on top of the plugin's own policy.
  // The operator's egress policy comes after the plugin's own options in the host, so a plugin cannot widen it.
  const sandbox = { maxHeapMb: config.plugins.maxHeapMb, http: { egress: { allowedHosts: config.connectorAllowedHosts } } };
  const registry = ConnectorRegistry.load({ pluginsDir: config.pluginsDir, packages: config.connectorPackages, sandbox });
  for (const plugin of registry.list()) {
    if (plugin.status === 'FAILED')
      logger.warn({ connector: plugin.id, source: plugin.source.location, error: plugin.error }, 'connector plugin failed to load; it is disabled');
  }
  const scheduler = new ConnectionScheduler(deps.queues);
  const runs = new ConnectorRunService(dataSource);
  const refusals = new WebhookRefusalService(dataSource);
  const hosts = new PluginHosts({ sandbox, callTimeoutMs: config.plugins.callTimeoutMs, loadTimeoutMs: 10_000, logger });
  const connections = new ConnectionService(dataSource, registry, new SecretBox(deps.secretKey), scheduler, hosts, {
    defaultPhoneCountry: config.defaultPhoneCountry,
  });
  const sync = new SyncService(dataSource, registry, connections, runs, targets, hosts, logger, {
    timeLimitMs: config.syncTimeLimitMs,
    pageTimeoutMs: config.plugins.syncPageTimeoutMs,
  });
  const imports = new FileImportService(dataSource, runs, logger, path.join(config.dataDir, 'imports'), { tombstones: targets.ingest.tombstones });
  const authorizeUpload: UploadAuthorizer = async (req) => {
    const authentication = await authenticate(req.headers.authorization, config, apiKeys);
    if (!authentication.ok) return { ok: false, status: 401, code: ErrorCode.UNAUTHENTICATED, message: authentication.reason };
    if (!hasScope(authentication.principal, 'connectors:admin'))
      return { ok: false, status: 403, code: ErrorCode.FORBIDDEN, message: 'uploading an import requires the scope connectors:admin' };
    return { ok: true };
  };
  return {
    registry,
    connections,
    runs,
    sync,
    imports,
    scheduler,
    refusals,
    hosts,
    async warmUp() {
      const rows: { connector: string }[] = await dataSource.query(`SELECT DISTINCT connector FROM connections`);
      for (const { connector } of rows) {
        const plugin = registry.find(connector);
        if (plugin?.status === 'LOADED' && plugin.manifest.webhook) hosts.warmUp({ id: plugin.id, entry: plugin.entry, root: plugin.root });
      }
    },
    routes: () => [
      createWebhookRoute({ registry, connections, runs, refusals, targets, hosts, logger }, { maxBodyBytes: config.webhookMaxBodyBytes }),
      createImportRoute(imports, scheduler, authorizeUpload),
    ],
  };
}

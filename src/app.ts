import type { Server } from 'node:http';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { createServices, type RapportServices } from './app-services';
import type { Config } from './config';
import { connectAndMigrate, createDataSource } from './infra/database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './infra/embedded-postgres';
import type { Logger } from './infra/logger';
import { bindMetricsSource } from './infra/metrics';
import { startMetricsServer } from './infra/metrics-server';
import { QueueBackend, type QueueBackendConfig } from './infra/queue';
import { readinessOf, type Readiness } from './infra/readiness';
import { ScheduleKeeper } from './infra/schedule-keeper';
import { createGatewayServer, createHttpHandler, type HttpHandler } from './graphql/server';
import { attachGraphqlWs } from './graphql/ws';

/** Which halves of Rapport this process runs. */
export interface RoleOptions {
  gateway: boolean;
  worker: boolean;
}

/** A running Rapport process. */
export interface RapportRuntime {
  services: RapportServices;
  /** Set when the gateway listens. */
  url?: string;
  server?: Server;
  /** Set when RAPPORT_METRICS_PORT is: the operators' listener (`/metrics`, `/healthz`, `/readyz`). */
  metricsUrl?: string;
  /** What `/readyz` answers; `stop()` drains it first (503 from then on). */
  readiness: Readiness;
  /**
   * The first step of a shutdown, at once: `/readyz` answers 503 and new
   * requests are refused (see HttpHandler.startDraining). `stop()` does it too.
   */
  startDraining(): void;
  stop(): Promise<void>;
}

/** Resolves the database: `DATABASE_URL`, or embedded Postgres under the data directory. */
export async function resolveDatabase(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedPostgresHandle }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const pgLogger = logger.child({ component: 'embedded-postgres' });
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPgPort,
    onLog: (line) => pgLogger.info(line),
  });
  const admin = new (await import('pg')).Client({ connectionString: embedded.adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'rapport'`);
    if (!rowCount) await admin.query('CREATE DATABASE rapport');
  } finally {
    await admin.end();
  }
  logger.info({ port: embedded.port, dataDir: path.join(config.dataDir, 'pg') }, 'embedded Postgres started (loopback only)');
  return { url: embedded.urlFor('rapport'), embedded };
}

export function queueBackendConfig(config: Config, databaseUrl: string): QueueBackendConfig {
  return config.redisUrl ? { kind: 'redis', url: config.redisUrl, prefix: config.queuePrefix } : { kind: 'postgres', connectionString: databaseUrl };
}

/**
 * Starts the requested roles on an already migrated database. Shutdown order:
 * stop accepting requests, let running jobs finish, close queues, close the pool.
 */
export async function startRapport(options: {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  queue: QueueBackendConfig;
  roles: RoleOptions;
  /** Listen on this port (0: any free port). @defaultValue config.port */
  port?: number;
  /** Called with the services before workers start (e.g. to subscribe to domain events). */
  onServices?: (services: RapportServices) => void;
}): Promise<RapportRuntime> {
  const { config, logger, dataSource, roles } = options;
  const queues = new QueueBackend(options.queue, logger.child({ component: 'queue' }), {
    lockDurationMs: config.jobLockMs,
    stalledIntervalMs: Math.max(500, Math.round(config.jobLockMs / 2)),
  });
  const services = createServices({ config, logger, dataSource, queues });
  options.onServices?.(services);
  const readiness = readinessOf(services);
  let metrics: { url: string; close(): Promise<void> } | undefined;
  let unbindMetrics: (() => void) | undefined;
  if (config.metrics.port !== undefined) {
    unbindMetrics = bindMetricsSource({
      dataSource,
      queueCounts: () => queues.counts(),
      realtimeSubscriptions: () => services.realtime.liveSubscriptions,
    });
    metrics = await startMetricsServer({ host: config.host, port: config.metrics.port, token: config.metrics.token, readiness });
  }

  let scheduleKeeper: ScheduleKeeper | undefined;
  if (roles.worker) {
    for (const name of services.jobs.queues()) services.queues.startWorker(name, services.jobs.forQueue(name), config.workerConcurrency);
    scheduleKeeper = new ScheduleKeeper(services.schedules, logger.child({ component: 'schedules' }), config.scheduleReassertMs);
    await scheduleKeeper.start();
    // A Redis that restarted may have come back empty: its schedulers are registered again at once.
    const keeper = scheduleKeeper;
    queues.onReconnect(() => void keeper.reassert('reconnect'));
    logger.info({ backend: queues.kind, queues: services.jobs.queues() }, 'workers started');
  }

  let server: Server | undefined;
  let handler: HttpHandler | undefined;
  let url: string | undefined;
  let webSockets: { close(): Promise<void> } | undefined;
  if (roles.gateway) {
    for (const start of services.gatewayStarts) await start();
    handler = createHttpHandler(services, services.routes);
    const gateway = createGatewayServer(handler);
    server = gateway;
    gateway.keepAliveTimeout = 65_000;
    // Subscriptions over WebSocket (graphql-ws) share the port and the path /graphql.
    webSockets = attachGraphqlWs(gateway, handler, services);
    await new Promise<void>((resolve, reject) => {
      gateway.once('error', reject);
      gateway.listen(options.port ?? config.port, config.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host;
    url = `http://${host}:${port}/graphql`;
  }

  return {
    services,
    url,
    server,
    metricsUrl: metrics?.url,
    readiness,
    startDraining() {
      readiness.drain();
      handler?.startDraining();
    },
    async stop() {
      // First: load balancers see the process as not ready, and new requests are refused, while running requests and jobs finish.
      readiness.drain();
      handler?.startDraining();
      await scheduleKeeper?.stop();
      // Live subscriptions end first: their streams complete, so the server can close.
      await services.realtime.stopListening();
      await webSockets?.close();
      const open = server;
      if (open) {
        // No new connections; idle keep-alive ones close now, busy ones after their answer (Connection: close).
        const closing = new Promise<void>((resolve) => open.close(() => resolve()));
        open.closeIdleConnections();
        await closing;
        await handler?.drain();
      }
      // Refreshes gathered from the last requests are enqueued before the queues close.
      await services.refreshes.flush();
      await services.events.disableWakeups();
      await queues.close();
      // After the workers: a dispatch still running publishes to the fan-out.
      await services.realtime.close();
      await services.connectors.hosts.stop();
      await services.rateLimiter.close();
      // Last: the process can be watched while it drains.
      await metrics?.close();
      unbindMetrics?.();
    },
  };
}

/** Connects and migrates; used by every entry point. */
export async function openDatabase(url: string, applicationName: string, onQuery?: (sql: string) => void): Promise<DataSource> {
  const dataSource = createDataSource({ url, applicationName, onQuery });
  await connectAndMigrate(dataSource);
  return dataSource;
}

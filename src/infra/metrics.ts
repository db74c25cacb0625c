import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool } from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DataSource } from 'typeorm';

/**
 * The process's Prometheus metrics (prom-client). Counters and histograms are
 * process-wide, like prom-client's default registry: each gateway or worker
 * process exposes its own on `/metrics` (RAPPORT_METRICS_PORT) and Prometheus
 * adds them up. Gauges that describe shared state (queue counts, the dirty
 * backlog) are read from the process's runtime when scraped, so every process
 * reports the same figure: aggregate them with `max`, not `sum`.
 * README.md ("Metrics") and docs/operations.md list every series.
 */
export const metricsRegistry = new Registry();

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/** Routes of the gateway, as a bounded label (paths with ids collapse to their route). */
export function httpRoute(url: string | undefined): string {
  const pathname = (url ?? '/').split('?')[0];
  if (pathname === '/graphql' || pathname === '/healthz' || pathname === '/readyz' || pathname === '/metrics') return pathname;
  if (pathname.startsWith('/hooks/')) return '/hooks/:connectionId';
  if (pathname.startsWith('/imports')) return '/imports';
  return 'other';
}

export const httpRequests = new Counter({
  name: 'rapport_http_requests_total',
  help: 'HTTP requests the gateway answered, by route, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpDuration = new Histogram({
  name: 'rapport_http_request_duration_seconds',
  help: 'Time from a request arriving to its answer being written, by route and method.',
  labelNames: ['route', 'method'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [metricsRegistry],
});

export const graphqlOperations = new Counter({
  name: 'rapport_graphql_operations_total',
  help: 'GraphQL operations by type, root field (operation) and outcome code: OK, or the extensions.code of the first error.',
  labelNames: ['type', 'operation', 'code'] as const,
  registers: [metricsRegistry],
});

export const graphqlDuration = new Histogram({
  name: 'rapport_graphql_operation_duration_seconds',
  help: 'Execution time of GraphQL queries and mutations, by type and root field.',
  labelNames: ['type', 'operation'] as const,
  buckets: SECONDS_BUCKETS,
  registers: [metricsRegistry],
});

export const ingestRows = new Counter({
  name: 'rapport_ingest_rows_total',
  help: 'Interaction rows ingested (API batches, connectors, file imports), by outcome: accepted, duplicate or rejected.',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const webhookRefusals = new Counter({
  name: 'rapport_webhook_refusals_total',
  help: 'Webhook deliveries refused, by reason (SIGNATURE_INVALID, CONNECTION_PAUSED, NO_WEBHOOK, CONNECTOR_UNAVAILABLE, PAYLOAD_INVALID).',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const jobDuration = new Histogram({
  name: 'rapport_job_duration_seconds',
  help: 'Time a worker spent on one attempt of a job, by queue, job name and outcome (completed or failed).',
  labelNames: ['queue', 'job', 'outcome'] as const,
  buckets: JOB_BUCKETS,
  registers: [metricsRegistry],
});

export const jobsStalled = new Counter({
  name: 'rapport_jobs_stalled_total',
  help: 'Jobs this worker process found stalled (their worker stopped renewing the lock) and moved back to wait or failed, by queue.',
  labelNames: ['queue'] as const,
  registers: [metricsRegistry],
});

export const recomputeDuration = new Histogram({
  name: 'rapport_score_recompute_duration_seconds',
  help: 'Time one attempt of a score recompute took, by scope (all customers or listed ones) and outcome.',
  labelNames: ['scope', 'outcome'] as const,
  buckets: JOB_BUCKETS,
  registers: [metricsRegistry],
});

/** What a scrape reads from a running process: its queues, its pool and the database. */
export interface MetricsSource {
  dataSource: DataSource;
  /** Each queue's job counts by state. */
  queueCounts(): Promise<Record<string, Record<string, number>>>;
  /** GraphQL subscriptions live on this process. */
  realtimeSubscriptions(): number;
}

let source: MetricsSource | undefined;

/**
 * Points the scrape-time gauges at this process's runtime (one Rapport runtime
 * per process; the last one bound wins). Returns the unbinding function.
 */
export function bindMetricsSource(next: MetricsSource): () => void {
  source = next;
  return () => {
    if (source === next) source = undefined;
  };
}

/** Job counts per queue and state: depth (waiting, prioritized, delayed), active, failed, completed. */
new Gauge({
  name: 'rapport_queue_jobs',
  help: 'Jobs per queue and state (waiting, prioritized, delayed, active, failed, completed), read from the queue backend when scraped.',
  labelNames: ['queue', 'state'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    if (!source) return;
    const counts = await source.queueCounts().catch(() => undefined);
    for (const [queue, states] of Object.entries(counts ?? {})) {
      for (const [state, count] of Object.entries(states)) this.set({ queue, state }, count);
    }
  },
});

/** Dirty customers (stats not yet refreshed) and the age of the oldest mark: the lag of derived data. */
export async function dirtyBacklog(dataSource: DataSource): Promise<{ count: number; oldestAgeSeconds: number }> {
  const [row] = (await dataSource.query(
    `SELECT count(*)::int AS count, COALESCE(EXTRACT(EPOCH FROM now() - min(dirty_since)), 0)::float8 AS age FROM customers WHERE dirty_since IS NOT NULL`,
  )) as { count: number; age: number }[];
  return { count: row.count, oldestAgeSeconds: Math.max(0, Math.round(row.age * 1000) / 1000) };
}

/** One backlog query per scrape: the two gauges below share the query in flight. */
let backlogRead: Promise<{ count: number; oldestAgeSeconds: number } | undefined> | undefined;
function scrapedBacklog(): Promise<{ count: number; oldestAgeSeconds: number } | undefined> {
  if (!source) return Promise.resolve(undefined);
  backlogRead ??= dirtyBacklog(source.dataSource)
    .catch(() => undefined)
    .finally(() => setImmediate(() => (backlogRead = undefined)));
  return backlogRead;
}

new Gauge({
  name: 'rapport_dirty_customers',
  help: 'Customers marked dirty (new data whose stats, scores and segments are not refreshed yet).',
  registers: [metricsRegistry],
  async collect() {
    const backlog = await scrapedBacklog();
    if (backlog) this.set(backlog.count);
  },
});

new Gauge({
  name: 'rapport_dirty_oldest_age_seconds',
  help: 'Age of the oldest dirty mark (0 when none): how far derived data lags behind ingest.',
  registers: [metricsRegistry],
  async collect() {
    const backlog = await scrapedBacklog();
    if (backlog) this.set(backlog.oldestAgeSeconds);
  },
});

/** The node-postgres pool behind TypeORM's DataSource. */
function poolOf(dataSource: DataSource): Pool | undefined {
  return (dataSource.driver as unknown as { master?: Pool }).master;
}

new Gauge({
  name: 'rapport_db_pool_connections',
  help: "Connections of this process's Postgres pool, by state (in_use, idle).",
  labelNames: ['state'] as const,
  registers: [metricsRegistry],
  collect() {
    const pool = source && poolOf(source.dataSource);
    if (!pool) return;
    this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
    this.set({ state: 'idle' }, pool.idleCount);
  },
});

new Gauge({
  name: 'rapport_db_pool_waiting',
  help: "Queries waiting for a connection of this process's Postgres pool.",
  registers: [metricsRegistry],
  collect() {
    const pool = source && poolOf(source.dataSource);
    if (pool) this.set(pool.waitingCount);
  },
});

new Gauge({
  name: 'rapport_realtime_subscriptions',
  help: 'GraphQL subscriptions (SSE and WebSocket) live on this process: registered, and receiving what is published.',
  registers: [metricsRegistry],
  collect() {
    if (source) this.set(source.realtimeSubscriptions());
  },
});

// Process metrics (process_*, nodejs_*): memory, CPU, and event-loop lag (nodejs_eventloop_lag_seconds and its percentiles).
collectDefaultMetrics({ register: metricsRegistry, eventLoopMonitoringPrecision: 10 });

/** Counts and times one HTTP request once its answer is written (or its client has gone). */
export function observeHttpRequest(req: IncomingMessage, res: ServerResponse): void {
  const stop = httpDuration.startTimer({ route: httpRoute(req.url), method: req.method ?? 'GET' });
  res.once('close', () => {
    const route = httpRoute(req.url);
    stop();
    httpRequests.inc({ route, method: req.method ?? 'GET', status: String(res.statusCode) });
  });
}

/** The recompute job names whose durations `rapport_score_recompute_duration_seconds` reports. */
const RECOMPUTE_JOBS = new Set(['scores.recompute']);

/** Records one attempt of a job: its duration, and for recomputes their own histogram. */
export function observeJob(queue: string, job: { name: string; data: unknown }, seconds: number, outcome: 'completed' | 'failed'): void {
  jobDuration.observe({ queue, job: job.name, outcome }, seconds);
  if (RECOMPUTE_JOBS.has(job.name)) {
    const scoped = Array.isArray((job.data as { customerIds?: unknown } | undefined)?.customerIds);
    recomputeDuration.observe({ scope: scoped ? 'customers' : 'all', outcome }, seconds);
  }
}

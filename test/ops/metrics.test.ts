import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import {
  CreateConnectionDocument,
  CustomersPageDocument,
  RecomputeScoresDocument,
  RecordInteractionsDocument,
  type InteractionInput,
} from '../generated/graphql';
import { eventually, startTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app';
import { startConnectorTestApp } from '../helpers/connectors';
import { exposes, parseMetrics, sample, type Series } from '../helpers/metrics';
import { subscribeSse, subscribeWs } from '../helpers/realtime';
import { metricsRegistry } from '../../src/infra/metrics';
import { withTraceContext } from '../../src/infra/tracing';

const TOKEN = 'metrics-token-0123456789';
const METRICS_ENV = { RAPPORT_METRICS_PORT: '0', RAPPORT_METRICS_TOKEN: TOKEN };

const interaction = (externalId: string, email: string, value: number): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel: 'payment',
  type: 'purchase',
  occurredAt: new Date(Date.now() - 60_000).toISOString(),
  value,
  source: 'metrics-test',
  externalId,
});

async function scrape(app: TestApp): Promise<Series[]> {
  const response = await fetch(`${app.runtime.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await response.text());
}

describe.each(['postgres', 'redis'] as const)('/metrics on the %s queue backend, gateway and worker as separate runtimes', (backend) => {
  let gateway: TestApp;
  let worker: TestApp | undefined;
  beforeAll(async () => {
    // The gateway runs no workers: what it enqueues waits until the worker runtime starts.
    gateway = await startTestApp({ queue: backend, workers: false, env: METRICS_ENV });
  });
  afterAll(async () => {
    await worker?.close();
    await gateway.close();
  });

  test('is off without RAPPORT_METRICS_PORT, and needs the bearer token when one is set', async () => {
    const plain = await startTestApp({ queue: backend, workers: false, database: gateway.database });
    try {
      expect(plain.runtime.metricsUrl).toBeUndefined();
    } finally {
      await plain.runtime.stop();
      await plain.dataSource.destroy();
    }
    const anonymous = await fetch(`${gateway.runtime.metricsUrl}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const wrong = await fetch(`${gateway.runtime.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    // The operators' listener answers the probes without a token, so a worker has them too.
    expect(await (await fetch(`${gateway.runtime.metricsUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    // Polled: on a loaded machine a dependency can miss the 2 s readiness deadline for a moment.
    const ready = await eventually(async () => {
      const answer = await fetch(`${gateway.runtime.metricsUrl}/readyz`);
      return answer.status === 200 ? ((await answer.json()) as { status: string }) : undefined;
    });
    expect(ready.status).toBe('ready');
  });

  test('requests, ingest rows, queue depth, the dirty backlog and the pool change with real traffic', async () => {
    const before = await scrape(gateway);
    const email = `ada-${backend}@example.com`;
    const bad: InteractionInput = { ...interaction(`m-bad-${backend}`, email, 1), customer: { identifiers: [] } };
    const written = await gateway.graphql(RecordInteractionsDocument, {
      input: [interaction(`m-1-${backend}`, email, 10), interaction(`m-2-${backend}`, email, 5), interaction(`m-1-${backend}`, email, 10)],
      mode: 'PER_ROW',
    });
    expect(written.data!.recordInteractions).toMatchObject({ committed: true, accepted: 2, duplicates: 1 });
    const refused = await gateway.graphql(RecordInteractionsDocument, { input: [bad], mode: 'PER_ROW' });
    expect(refused.data!.recordInteractions).toMatchObject({ accepted: 0, rejected: 1 });
    const tooBig = await gateway.graphql(CustomersPageDocument, { first: -1 });
    const refusal = tooBig.errors![0].extensions!.code!;
    expect(refusal).toMatch(/^[A-Z_]+$/);
    await gateway.graphql(CustomersPageDocument, { first: 5 });

    const after = await eventually(async () => {
      const series = await scrape(gateway);
      // The refresh job the ingest enqueued waits (delayed, then waiting): no worker runs yet.
      const depth = ['waiting', 'delayed', 'prioritized'].reduce((sum, state) => sum + sample(series, 'rapport_queue_jobs', { queue: 'analytics', state }), 0);
      return depth >= 1 ? series : undefined;
    });
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    expect(delta('rapport_ingest_rows_total', { outcome: 'accepted' })).toBe(2);
    expect(delta('rapport_ingest_rows_total', { outcome: 'duplicate' })).toBe(1);
    expect(delta('rapport_graphql_operations_total', { type: 'mutation', operation: 'recordInteractions', code: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(delta('rapport_graphql_operations_total', { type: 'query', operation: 'customers', code: refusal })).toBe(1);
    expect(delta('rapport_graphql_operations_total', { type: 'query', operation: 'customers', code: 'OK' })).toBe(1);
    expect(delta('rapport_graphql_operation_duration_seconds_count', { type: 'query', operation: 'customers' })).toBeGreaterThanOrEqual(1);
    expect(delta('rapport_http_requests_total', { route: '/graphql', method: 'POST' })).toBe(4);
    expect(delta('rapport_http_requests_total', { route: '/graphql', method: 'POST', status: '200' })).toBe(4);
    expect(delta('rapport_http_request_duration_seconds_count', { route: '/graphql', method: 'POST' })).toBeGreaterThanOrEqual(4);
    expect(delta('rapport_ingest_rows_total', { outcome: 'rejected' })).toBe(1);

    expect(sample(after, 'rapport_dirty_customers')).toBe(1);
    // The age is the oldest mark's: backdate the mark by an hour, and the gauge reads between the ages
    // the database gives just before and just after the scrape (its value is rounded to the millisecond).
    await gateway.sql(`UPDATE customers SET dirty_since = dirty_since - interval '1 hour' WHERE dirty_since IS NOT NULL`);
    const oldestAge = async () =>
      (await gateway.sql<{ age: number }>(`SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(dirty_since))::float8 AS age FROM customers`))[0]!.age;
    const lower = await oldestAge();
    const aged = sample(await scrape(gateway), 'rapport_dirty_oldest_age_seconds');
    const upper = await oldestAge();
    expect(lower).toBeGreaterThanOrEqual(3600);
    expect(aged).toBeGreaterThanOrEqual(lower - 0.001);
    expect(aged).toBeLessThanOrEqual(upper + 0.001);
    expect(
      sample(after, 'rapport_db_pool_connections', { state: 'in_use' }) + sample(after, 'rapport_db_pool_connections', { state: 'idle' }),
    ).toBeGreaterThanOrEqual(1);
    expect(exposes(after, 'rapport_db_pool_waiting')).toBe(true);
    expect(exposes(after, 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(exposes(after, 'process_resident_memory_bytes')).toBe(true);

    // /readyz says the same: each dependency, and the backlog with its age.
    const ready = await eventually(async () => {
      const body = (await (await fetch(`${gateway.runtime.metricsUrl}/readyz`)).json()) as { status: string };
      return body.status === 'ready' ? body : undefined;
    });
    expect(ready).toMatchObject({ status: 'ready', checks: { database: 'ok', queue: 'ok' }, queueBackend: backend, dirtyBacklog: { count: 1 } });
  });

  test('a worker runtime drains the queue and the backlog, and reports job and recompute durations', async () => {
    const before = await scrape(gateway);
    await gateway.graphql(RecomputeScoresDocument, { kinds: ['ENGAGEMENT'] });
    worker = await startTestApp({ queue: backend, workers: true, database: gateway.database, env: METRICS_ENV });
    const completedRefreshes = (s: Series[]) =>
      sample(s, 'rapport_job_duration_seconds_count', { queue: 'analytics', job: 'customer.refresh', outcome: 'completed' });
    const recomputes = (s: Series[]) => sample(s, 'rapport_score_recompute_duration_seconds_count', { scope: 'all', outcome: 'completed' });
    // Depth is not expected to reach 0: the job schedulers (dirty sweep, outbox dispatch) always hold their next run as delayed.
    const after = await eventually(
      async () => {
        const series = await scrape(worker!);
        return sample(series, 'rapport_dirty_customers') === 0 &&
          recomputes(series) > recomputes(before) &&
          completedRefreshes(series) > completedRefreshes(before)
          ? series
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(sample(after, 'rapport_dirty_oldest_age_seconds')).toBe(0);
    expect(sample(after, 'rapport_queue_jobs', { queue: 'analytics', state: 'completed' })).toBeGreaterThanOrEqual(2);
    expect(exposes(after, 'rapport_queue_jobs', { queue: 'connectors', state: 'failed' })).toBe(true);
  }, 90_000);
});

/** The README's metrics table: name, type column and labels, one row per series. */
function readmeMetrics(): { name: string; type: string; labels: string[] }[] {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| `(rapport_[a-z0-9_]+)` \| ([^|]+) \| ([^|]+) \|/gm)].map(([, name, type, labels]) => ({
    name: name!,
    type: type!.trim(),
    labels: [...labels!.matchAll(/`(\w+)`/g)].map((m) => m[1]!),
  }));
}

test("the README's table gives each rapport_ metric with its type and labels, and no metric that is not exposed", async () => {
  const registered = (await metricsRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('rapport_'));
  const documented = readmeMetrics();
  expect(documented.map((m) => m.name).sort()).toEqual(registered.map((m) => m.name).sort());
  for (const metric of registered) {
    const row = documented.find((m) => m.name === metric.name)!;
    const labelNames = (metricsRegistry.getSingleMetric(metric.name) as unknown as { labelNames: string[] }).labelNames;
    expect({ name: metric.name, type: row.type.split(',')[0], labels: row.labels }).toEqual({
      name: metric.name,
      type: String(metric.type),
      labels: [...labelNames],
    });
  }
});

test("every series docs/operations.md names (alerts, aggregation) is one Rapport exposes, and its shared gauges are the README's", async () => {
  const exposed = new Set<string>();
  for (const metric of await metricsRegistry.getMetricsAsJSON()) {
    exposed.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) exposed.add(`${metric.name}${suffix}`);
  }
  const operations = readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  // rapport_restored is the database the restore commands create, not a series.
  const named = new Set([...operations.matchAll(/\b(?:rapport|nodejs|process)_[a-z0-9_]+/g)].map((m) => m[0]).filter((name) => name !== 'rapport_restored'));
  expect(named.size).toBeGreaterThanOrEqual(10);
  expect([...named].filter((name) => !exposed.has(name))).toEqual([]);
  const shared = /\*\*Shared\*\*:([\s\S]*?)\n\n/.exec(operations)![1]!;
  const sharedInOperations = [...shared.matchAll(/`(rapport_[a-z0-9_]+)`/g)].map((m) => m[1]).sort();
  const sharedInReadme = readmeMetrics()
    .filter((m) => m.type.includes('shared'))
    .map((m) => m.name)
    .sort();
  expect(sharedInOperations).toEqual(sharedInReadme);
  expect(sharedInReadme.length).toBeGreaterThan(0);
});

test('rapport_realtime_subscriptions follows the subscriptions a gateway holds', async () => {
  const app = await startTestApp({ gateway: true, env: METRICS_ENV });
  try {
    const live = async (count: number) =>
      eventually(async () => (sample(await scrape(app), 'rapport_realtime_subscriptions') === count ? true : undefined), { intervalMs: 50 });
    await live(0);
    const subs = [
      await subscribeSse(app.runtime.url!, TEST_ADMIN_KEY, 'subscription { scoreChanged(kind: CHURN_RISK) { __typename } }'),
      subscribeWs(app.runtime.url!, TEST_ADMIN_KEY, 'subscription { scoreChanged(kind: RFM) { __typename } }'),
    ];
    await live(2);
    await subs[0]!.close();
    await live(1);
    await subs[1]!.close();
    await live(0);
  } finally {
    await app.close();
  }
});

test('without a registered OpenTelemetry SDK, job data is left as it is', () => {
  const data = { customerIds: ['1'] };
  expect(withTraceContext(data)).toBe(data);
});

test('a refused webhook delivery counts in rapport_webhook_refusals_total by its reason', async () => {
  const connectors = await startConnectorTestApp({ env: METRICS_ENV });
  try {
    const created = await connectors.gql(CreateConnectionDocument, {
      input: {
        connector: 'webhook',
        name: 'metrics-hook',
        config: { signingSecret: 'whsec_metrics_test_0001', typeValue: 'signup', mapping: { email: 'user.email', externalId: 'id', occurredAt: 'timestamp' } },
      },
    });
    expect(created.errors).toBeUndefined();
    const localId = Buffer.from(created.data!.createConnection.id, 'base64').toString().split(':')[1];
    const before = await scrape(connectors.app);
    const unsigned = await request(connectors.handler).post(`/hooks/${localId}`).set('content-type', 'application/json').send('{"id":"evt_1"}');
    expect(unsigned.status).toBe(401);
    const after = await scrape(connectors.app);
    const refused = (s: Series[]) => sample(s, 'rapport_webhook_refusals_total', { reason: 'SIGNATURE_INVALID' });
    expect(refused(after) - refused(before)).toBe(1);
    expect(
      sample(after, 'rapport_http_requests_total', { route: '/hooks/:connectionId', status: '401' }) -
        sample(before, 'rapport_http_requests_total', { route: '/hooks/:connectionId', status: '401' }),
    ).toBe(1);
  } finally {
    await connectors.close();
  }
});

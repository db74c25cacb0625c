/**
 * bench/webhooks: outbound webhook delivery to a local receiver. Prints
 * figures; never fails on time.
 *
 *   npm run bench:webhooks -- --events 100000 --customers 1000 --outageSeconds 60
 *
 * A worker runs in the bench process on an embedded cluster (BullMQ on its
 * PostgreSQL backend), with one endpoint taking `customer.updated`; the
 * receiver is an HTTP server in the same process that verifies every
 * signature. Changes are domain events committed to the outbox by SQL, as a
 * writer's transaction does (one statement per batch), spread over
 * `--customers` customers. Phases:
 *
 * 1. floor: the receiver's own rate, the same signed posts sent straight to it
 *    with the worker's concurrency, without Rapport;
 * 2. steady: `--rate` events per second for `--steady-seconds`: the delay from
 *    each change's commit to its delivery (p50, p95, p99);
 * 3. burst: `--events` events committed at once: events/s until the last is
 *    delivered, and the delay (mostly time in the backlog);
 * 4. outage: the receiver stops listening for `--outageSeconds` while changes
 *    go on at `--rate`, then comes back: the time to catch up, that every event
 *    was delivered, how many arrived twice (at least once) and that each
 *    customer's events were accepted in order.
 *
 * Retries are shortened for the run (first retry 1 s, at most 10 s apart) so
 * the catch-up after the outage is measured in seconds, not the production
 * backoff of minutes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabase, startRapport } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/infra/logger';
import { signatureHeaders, verify } from '../src/modules/webhooks';
import { BENCH_ENV, benchCluster, fmt, intFlags, percentile, runBench } from './harness';

/** Message ids of the floor's posts: far above any outbox id of the run. */
const FLOOR_IDS = 1e12;

/** What the receiver saw of one event. */
interface Seen {
  customer: string;
  accepted: number;
  firstAcceptedAt: number;
  delayMs: number;
}

/** The receiver: answers 204 to a verified message and records it; can stop listening and come back on the same port. */
class Receiver {
  readonly seen = new Map<string, Seen>();
  /** Accepted ids per customer, in the order they were accepted (first acceptance only). */
  readonly orderByCustomer = new Map<string, bigint[]>();
  badSignatures = 0;
  requests = 0;
  private server: Server | undefined;
  port = 0;

  constructor(private readonly secret: string) {}

  async listen(port = 0): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests++;
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = {
          id: String(request.headers['webhook-id']),
          timestamp: String(request.headers['webhook-timestamp']),
          signature: String(request.headers['webhook-signature']),
        };
        if (!verify(this.secret, headers, body)) {
          this.badSignatures++;
          response.writeHead(401).end();
          return;
        }
        const now = Date.now();
        const event = JSON.parse(body) as { timestamp: string; data: { customerId: string } };
        const seen = this.seen.get(headers.id);
        if (seen) seen.accepted++;
        else {
          this.seen.set(headers.id, { customer: event.data.customerId, accepted: 1, firstAcceptedAt: now, delayMs: now - Date.parse(event.timestamp) });
          const order = this.orderByCustomer.get(event.data.customerId) ?? [];
          order.push(BigInt(headers.id));
          this.orderByCustomer.set(event.data.customerId, order);
        }
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Commits `count` customer.updated events to the outbox in one statement, spread over the customers from `offset`. */
async function publishEvents(dataSource: DataSource, count: number, customers: number, offset: number): Promise<void> {
  await dataSource.query(
    `INSERT INTO outbox_events (customer_id, type, version, payload)
     SELECT (n % $2) + 1, 'customer.updated', 1, jsonb_build_object('customerId', ((n % $2) + 1)::text)
       FROM generate_series($3::bigint, $3::bigint + $1 - 1) AS n ORDER BY n`,
    [count, customers, offset],
  );
}

function delays(receiver: Receiver, ids: Iterable<string>): number[] {
  const out: number[] = [];
  for (const id of ids) {
    const seen = receiver.seen.get(id);
    if (seen) out.push(seen.delayMs);
  }
  return out.sort((a, b) => a - b);
}

const line = (label: string, sorted: number[]) =>
  `  ${label.padEnd(30)} n=${fmt(sorted.length).padStart(7)}  p50 ${fmt(percentile(sorted, 50)).padStart(6)} ms  p95 ${fmt(percentile(sorted, 95)).padStart(6)} ms  p99 ${fmt(percentile(sorted, 99)).padStart(6)} ms  max ${fmt(sorted[sorted.length - 1] ?? NaN).padStart(6)} ms`;

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  const scale = intFlags({ events: 20_000, customers: 1_000, rate: 200, steadySeconds: 15, outageSeconds: 60, concurrency: 16, dispatchMs: 200 });
  console.log(
    `bench/webhooks: ${fmt(scale.events)} events in the burst over ${fmt(scale.customers)} customers; steady ${scale.rate}/s for ${scale.steadySeconds} s; a ${scale.outageSeconds} s receiver outage at ${scale.rate}/s; worker concurrency ${scale.concurrency}, outbox dispatch every ${scale.dispatchMs} ms, PostgreSQL queue backend`,
  );
  const cluster = await benchCluster();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const receiver = new Receiver(secret);
  await receiver.listen();
  try {
    const url = await cluster.createDatabase('bench_webhooks_out');
    const dataSource = await openDatabase(url, 'bench-webhooks-out');
    const config = loadConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: url,
      RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'),
      RAPPORT_OUTBOX_DISPATCH_MS: String(scale.dispatchMs),
      RAPPORT_WORKER_CONCURRENCY: String(scale.concurrency),
      RAPPORT_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
      RAPPORT_WEBHOOK_RETRY_BASE_MS: '1000',
      RAPPORT_WEBHOOK_RETRY_MAX_DELAY_MS: '10000',
      RAPPORT_WEBHOOK_SWEEP_MS: '5000',
      ...BENCH_ENV,
    });
    const runtime = await startRapport({
      config,
      logger: createLogger('error'),
      dataSource,
      queue: { kind: 'postgres', connectionString: url },
      roles: { gateway: false, worker: true },
    });
    try {
      const { webhooks } = runtime.services;
      const { endpoint } = await webhooks.endpoints.create({ url: `http://127.0.0.1:${receiver.port}/hooks`, events: ['customer.updated'], secret });

      // 1. Floor: the receiver's own rate for the same kind of signed posts, sent straight to it.
      const floorPosts = Math.min(5_000, scale.events);
      const floorStarted = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: scale.concurrency }, async () => {
          for (let i = next++; i < floorPosts; i = next++) {
            const body = JSON.stringify({
              type: 'customer.updated',
              timestamp: new Date().toISOString(),
              data: { customerId: String((i % scale.customers) + 1) },
            });
            const headers = signatureHeaders([secret], String(FLOOR_IDS + i), Math.floor(Date.now() / 1000), body);
            await fetch(`http://127.0.0.1:${receiver.port}/hooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
          }
        }),
      );
      const floorRate = floorPosts / ((performance.now() - floorStarted) / 1000);
      console.log(`  floor: receiver alone          ${fmt(floorRate)} posts/s (${fmt(floorPosts)} signed posts, ${scale.concurrency} in flight)`);
      receiver.seen.clear();
      receiver.orderByCustomer.clear();

      const deliveredIds = async (): Promise<number> => {
        const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM webhook_deliveries WHERE status = 'DELIVERED'`);
        return count;
      };
      let published = 0;
      const eventIdsBetween = async (from: number, to: number): Promise<string[]> =>
        (await dataSource.query(`SELECT event_id::text AS id FROM webhook_deliveries ORDER BY event_id OFFSET $1 LIMIT $2`, [from, to - from])).map(
          (r: { id: string }) => r.id,
        );

      // 2. Steady: a paced rate below capacity; the delay from commit to delivery.
      const steadyStart = published;
      for (let tick = 0; tick < scale.steadySeconds * 10; tick++) {
        const tickStarted = Date.now();
        const count = Math.max(1, Math.round(scale.rate / 10));
        await publishEvents(dataSource, count, scale.customers, published);
        published += count;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - tickStarted))));
      }
      await waitFor(async () => (await deliveredIds()) >= published, 600_000, 'steady phase');
      console.log(line('steady: change → delivery', delays(receiver, await eventIdsBetween(steadyStart, published))));

      // 3. Burst: every event committed at once; throughput until the last is delivered.
      const burstStart = published;
      const burstStarted = performance.now();
      for (let offset = 0; offset < scale.events; offset += 5_000) {
        const count = Math.min(5_000, scale.events - offset);
        await publishEvents(dataSource, count, scale.customers, published);
        published += count;
      }
      await waitFor(
        async () => {
          const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM webhook_deliveries`);
          return count >= published;
        },
        3_600_000,
        'burst dispatch',
      );
      const writtenSeconds = (performance.now() - burstStarted) / 1000;
      await waitFor(async () => (await deliveredIds()) >= published, 3_600_000, 'burst phase');
      const burstSeconds = (performance.now() - burstStarted) / 1000;
      console.log(`  burst: outbox dispatched (every delivery row written) in ${fmt(writtenSeconds, 1)} s = ${fmt(scale.events / writtenSeconds)} events/s`);
      console.log(
        `  burst: ${fmt(scale.events)} events delivered in ${fmt(burstSeconds, 1)} s = ${fmt(scale.events / burstSeconds)} events/s (${fmt((100 * scale.events) / burstSeconds / floorRate, 1)} % of the floor)`,
      );
      console.log(line('burst: change → delivery', delays(receiver, await eventIdsBetween(burstStart, published))));

      // 4. Outage: the receiver stops listening while changes go on, then returns.
      const outageStart = published;
      const port = receiver.port;
      await receiver.stop();
      const outageStarted = Date.now();
      while (Date.now() - outageStarted < scale.outageSeconds * 1000) {
        const tickStarted = Date.now();
        const count = Math.max(1, Math.round(scale.rate / 10));
        await publishEvents(dataSource, count, scale.customers, published);
        published += count;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - tickStarted))));
      }
      const failedAttempts: { count: number }[] = await dataSource.query(
        `SELECT count(*)::int AS count FROM webhook_attempts WHERE status_code IS NULL AND attempted_at >= $1`,
        [new Date(outageStarted)],
      );
      await receiver.listen(port);
      const back = performance.now();
      await waitFor(async () => (await deliveredIds()) >= published, 3_600_000, 'catch-up after the outage');
      const catchUp = (performance.now() - back) / 1000;
      const outageIds = await eventIdsBetween(outageStart, published);
      console.log(
        `  outage: ${fmt(published - outageStart)} events during ${scale.outageSeconds} s down (${fmt(failedAttempts[0]!.count)} failed attempts); all delivered ${fmt(catchUp, 1)} s after the receiver returned`,
      );
      console.log(line('outage: change → delivery', delays(receiver, outageIds)));

      // Whole run: everything delivered, duplicates, order per customer, signatures.
      const [{ total, delivered, dead }] = await dataSource.query(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'DELIVERED')::int AS delivered, count(*) FILTER (WHERE status = 'DEAD')::int AS dead FROM webhook_deliveries`,
      );
      const duplicates = [...receiver.seen.values()].reduce((sum, s) => sum + s.accepted - 1, 0);
      let outOfOrder = 0;
      for (const order of receiver.orderByCustomer.values()) for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) outOfOrder++;
      console.log(
        `  total: ${fmt(published)} events published, ${fmt(total)} deliveries, ${fmt(delivered)} DELIVERED, ${fmt(dead)} DEAD; receiver saw ${fmt(receiver.seen.size)} distinct ids, ${fmt(duplicates)} accepted twice or more (at least once), ${fmt(outOfOrder)} out of order per customer, ${fmt(receiver.badSignatures)} bad signatures; endpoint ${endpoint.id}`,
      );
      if (receiver.seen.size !== published || delivered !== published || outOfOrder > 0 || receiver.badSignatures > 0)
        console.log('  ! the run broke a delivery guarantee (see the line above)');
    } finally {
      await runtime.stop();
      await dataSource.destroy();
    }
  } finally {
    await receiver.stop();
    await cluster.close();
  }
}

runBench(main);

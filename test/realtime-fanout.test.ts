import request from 'supertest';
import { inTransaction } from '../src/infra/database';
import { BATCH_CONSUMER_ATTEMPTS, publish } from '../src/modules/events';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { seedPersonalWorld, VICTIM, type PersonalWorld } from './helpers/personal-data';
import { subscribeSse, subscribeWs, subscriptionsLive, type SubscriptionResult, type TestSubscription } from './helpers/realtime';

/**
 * Fan-out across processes: one worker (which alone dispatches the outbox)
 * and two gateways (which do not), on one database and one queue backend.
 * A write through gateway A reaches a subscriber on A (SSE) and one on B
 * (WebSocket): Redis pub/sub on the Redis backend, LISTEN/NOTIFY on Postgres.
 */
describe.each(['postgres', 'redis'] as const)('two gateways and a worker on the %s backend', (queue) => {
  let database: TestDatabase;
  let worker: TestApp;
  let gatewayA: TestApp;
  let gatewayB: TestApp;
  let w: PersonalWorld;

  beforeAll(async () => {
    database = await createTestDatabase();
    worker = await startTestApp({ database, queue, workers: true, env: { RAPPORT_OUTBOX_DISPATCH_MS: '100' } });
    gatewayA = await startTestApp({ database, queue, gateway: true });
    gatewayB = await startTestApp({ database, queue, gateway: true });
    w = await seedPersonalWorld(worker);
  });
  afterAll(async () => {
    await Promise.all([gatewayA?.close(), gatewayB?.close()]);
    await worker?.close();
    await database?.drop();
  });

  const changes = async (sub: TestSubscription, count: number): Promise<SubscriptionResult[]> => {
    const results: SubscriptionResult[] = [];
    while (results.length < count) {
      const result = await sub.next();
      expect(result.errors).toBeUndefined();
      if (result.data!.customerChanged.reason === 'INTERACTION') results.push(result);
    }
    return results;
  };

  test('a write through one gateway reaches a subscriber on each gateway, masked per key', async () => {
    const victim = w.cid(VICTIM.name);
    const query = `subscription($id: ID!) { customerChanged(id: $id) { ... on CustomerChange { eventId reason customer { displayName } } } }`;
    const onA = await subscribeSse(gatewayA.runtime.url!, w.narrow, query, { id: victim });
    const onB = subscribeWs(gatewayB.runtime.url!, w.pii, query, { id: victim });
    try {
      await Promise.all([subscriptionsLive(gatewayA, 1), subscriptionsLive(gatewayB, 1)]);
      const res = await request(gatewayA.handler)
        .post('/graphql')
        .set('authorization', gatewayA.auth)
        .send({
          query: 'mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted } }',
          variables: {
            input: [1, 2].map((n) => ({
              customer: { id: victim },
              channel: 'web',
              type: 'page_view',
              occurredAt: new Date().toISOString(),
              source: 'fanout-test',
              externalId: `fanout-${queue}-${n}`,
            })),
          },
        });
      expect(res.body.data.recordInteractions.accepted).toBe(2);
      const [a, b] = await Promise.all([changes(onA, 2), changes(onB, 2)]);
      // The same events, in the same order, on both gateways.
      expect(a.map((r) => r.data!.customerChanged.eventId)).toEqual(b.map((r) => r.data!.customerChanged.eventId));
      expect(a.map((r) => r.data!.customerChanged.customer.displayName)).toEqual(['A•••', 'A•••']);
      expect(b.map((r) => r.data!.customerChanged.customer.displayName)).toEqual([VICTIM.name, VICTIM.name]);
      // The worker's dispatcher published them (the gateways run none) when it marked them dispatched. A Redis
      // publish reaches subscribers before that transaction commits (NOTIFY only at its commit): wait for it.
      const ids = a.map((r) => String(r.data!.customerChanged.eventId));
      const marked = await eventually(async () => {
        const rows = await worker.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1::bigint[]) AND dispatched_at IS NOT NULL`,
          [ids],
        );
        return rows[0].n === 2 ? rows : undefined;
      }).catch(() =>
        worker.sql<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE id = ANY($1::bigint[]) AND dispatched_at IS NOT NULL`, [ids]),
      );
      expect(marked[0].n).toBe(2);
    } finally {
      await onA.close();
      await onB.close();
    }
  });
});

describe('batch consumers of the outbox (what the fan-out is built on)', () => {
  let app: TestApp;
  const perEvent: string[] = [];
  const batches: string[][] = [];
  let failNext = true;
  let down = false;
  beforeAll(async () => {
    app = await startTestApp({
      onServices: (services) => {
        services.events.subscribe('customer.updated', 'test.per-event', async (event) => {
          perEvent.push(event.id);
        });
        services.events.subscribeBatch(['customer.updated'], 'test.batch', async (events) => {
          if (failNext || down) {
            failNext = false;
            throw new Error('publisher unavailable');
          }
          batches.push(events.map((e) => e.id));
        });
      },
    });
  });
  afterAll(() => app.close());

  test('a batch consumer that throws leaves the batch pending; the next dispatch hands it over again, in order, without rerunning per-event consumers', async () => {
    await inTransaction(app.dataSource, (manager) =>
      publish(manager, 'customer.updated', [
        { customerId: '1', payload: { customerId: '1' } },
        { customerId: '2', payload: { customerId: '2' } },
      ]),
    );
    const first = await app.runtime.services.events.dispatch();
    expect(first.dispatched).toBe(0);
    expect(await app.sql(`SELECT 1 FROM outbox_events WHERE type = 'customer.updated' AND dispatched_at IS NULL`)).toHaveLength(2);
    expect(perEvent).toHaveLength(2);

    const second = await app.runtime.services.events.dispatch();
    expect(second.dispatched).toBe(2);
    expect(batches).toEqual([[...perEvent].sort((a, b) => Number(a) - Number(b))]);
    expect(perEvent).toHaveLength(2);
    expect(await app.sql(`SELECT 1 FROM outbox_events WHERE dispatched_at IS NULL`)).toEqual([]);
  });

  test('a batch consumer that stays down holds the outbox back for a few dispatches only; then the events go on without it', async () => {
    down = true;
    perEvent.length = 0;
    await inTransaction(app.dataSource, (manager) => publish(manager, 'customer.updated', [{ customerId: '3', payload: { customerId: '3' } }]));
    const outcomes = [];
    for (let i = 0; i < BATCH_CONSUMER_ATTEMPTS; i++) outcomes.push((await app.runtime.services.events.dispatch()).dispatched);
    expect(outcomes).toEqual(Array.from({ length: BATCH_CONSUMER_ATTEMPTS }, () => 0));
    // The next dispatch gives up on the feed for this batch: the per-event consumers' event is dispatched.
    expect((await app.runtime.services.events.dispatch()).dispatched).toBe(1);
    expect(perEvent).toHaveLength(1);
    expect(await app.sql(`SELECT 1 FROM outbox_events WHERE dispatched_at IS NULL`)).toEqual([]);
    down = false;
  });
});

describe('isolating batch consumers (outbound webhooks are one)', () => {
  let app: TestApp;
  /** Events the consumer applied, in the order it applied them. */
  const applied: string[] = [];
  /** Customers whose events the consumer refuses while listed. */
  const poisoned = new Set<string>();
  let batchCalls = 0;
  beforeAll(async () => {
    app = await startTestApp({
      onServices: (services) => {
        services.events.subscribeBatch(
          ['customer.updated'],
          'test.isolating',
          async (events) => {
            batchCalls++;
            if (events.some((e) => poisoned.has(e.customerId))) throw new Error('refused');
            applied.push(...events.map((e) => `${e.customerId}:${e.id}`));
          },
          'isolate',
        );
      },
    });
  });
  afterAll(() => app.close());

  test("one customer's failing event holds back only that customer; the rest is applied once and dispatched; the held events follow once it heals", async () => {
    poisoned.add('12');
    await inTransaction(app.dataSource, (manager) =>
      publish(manager, 'customer.updated', [
        { customerId: '11', payload: { customerId: '11' } },
        { customerId: '12', payload: { customerId: '12' } },
        { customerId: '13', payload: { customerId: '13' } },
        { customerId: '12', payload: { customerId: '12' } },
      ]),
    );
    const first = await app.runtime.services.events.dispatch();
    expect(first).toMatchObject({ dispatched: 2, pending: 2 });
    expect(applied.map((a) => a.split(':')[0])).toEqual(['11', '13']);
    const pending = await app.sql<{ customer_id: string; attempts: number }>(
      `SELECT customer_id::text, attempts FROM outbox_events WHERE dispatched_at IS NULL ORDER BY id`,
    );
    expect(pending.map((p) => p.customer_id)).toEqual(['12', '12']);
    expect(pending[0]!.attempts).toBe(1);

    poisoned.delete('12');
    const calls = batchCalls;
    const second = await app.runtime.services.events.dispatch();
    expect(second).toMatchObject({ dispatched: 2, pending: 0 });
    // Healthy again: the held events go as one batch, after the others, in order, and nothing twice.
    expect(batchCalls).toBe(calls + 1);
    expect(applied.map((a) => a.split(':')[0])).toEqual(['11', '13', '12', '12']);
    expect(new Set(applied).size).toBe(4);
    expect(await app.sql(`SELECT 1 FROM outbox_events WHERE dispatched_at IS NULL`)).toEqual([]);
  });
});

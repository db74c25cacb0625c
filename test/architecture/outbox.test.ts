import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AddToSegmentDocument,
  CreateSegmentDocument,
  RecordInteractionsDocument,
  RemoveFromSegmentDocument,
  type InteractionInput,
} from '../generated/graphql';
import { inTransaction } from '../../src/infra/database';
import type { DomainEvent } from '../../src/modules/events/catalog';
import { publish } from '../../src/modules/events/outbox';
import { eventually, startTestApp, type TestApp } from '../helpers/app';
import { createTestDatabase } from '../helpers/database';

const click = (externalId: string, email: string, extra: Partial<InteractionInput> = {}): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel: 'email',
  type: 'click',
  occurredAt: '2026-10-01T12:00:00Z',
  source: 'esp',
  externalId,
  ...extra,
});

/** The database id inside a Relay global id (`Interaction:12`, base64). */
const localId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;

type OutboxRow = { customer_id: string; id: string; type: string; payload: Record<string, unknown>; dispatched_at: Date | null };
const outbox = (app: TestApp, where = 'true', params: unknown[] = []) =>
  app.sql<OutboxRow>(`SELECT customer_id::text, id::text, type, payload, dispatched_at FROM outbox_events WHERE ${where} ORDER BY outbox_events.id`, params);

async function record(app: TestApp, input: InteractionInput[], mode: 'PER_ROW' | 'ATOMIC' = 'PER_ROW') {
  const { data, errors } = await app.graphql(RecordInteractionsDocument, { input, mode });
  expect(errors).toBeUndefined();
  return data!.recordInteractions;
}

describe('the outbox is written with the change', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  test('an accepted interaction publishes interaction.recorded (and customer.created for a new customer) with ids only', async () => {
    const result = await record(app, [click('w-1', 'writer.one@example.com')]);
    const interactionId = localId(result.results[0]!.id!);
    const customerId = localId(result.results[0]!.customerId!);
    const events = await outbox(app, `customer_id = $1`, [customerId]);
    expect(events.map((e) => e.type)).toEqual(['customer.created', 'interaction.recorded']);
    expect(events[1]!.payload).toEqual({ customerId, interactionId, channel: 'email', type: 'click', occurredAt: '2026-10-01T12:00:00.000Z' });
    // No personal value travels in an event.
    expect(JSON.stringify(events)).not.toContain('writer.one');
  });

  test('a duplicate delivery and a rejected ATOMIC batch publish nothing', async () => {
    const first = await record(app, [click('dup-1', 'dup@example.com')]);
    const before = (await outbox(app)).length;
    const again = await record(app, [click('dup-1', 'dup@example.com')]);
    expect(again.duplicates).toBe(1);
    const atomic = await record(app, [click('atomic-1', 'atomic@example.com'), click('atomic-2', 'not-an-email')], 'ATOMIC');
    expect(atomic.committed).toBe(false);
    expect((await outbox(app)).length).toBe(before);
    expect(first.accepted).toBe(1);
  });

  test('a rolled-back transaction leaves no event', async () => {
    const before = (await outbox(app)).length;
    await expect(
      inTransaction(app.dataSource, async () => {
        const written = await app.runtime.services.ingest.recordInteractions(
          [
            {
              customer: { identifiers: [{ type: 'email', value: 'rollback@example.com' }] },
              channel: 'email',
              type: 'click',
              occurredAt: new Date('2026-10-01T00:00:00Z'),
              source: 'esp',
              externalId: 'rb-1',
            },
          ],
          'PER_ROW',
        );
        expect(written.accepted).toBe(1);
        throw new Error('abort after the write');
      }),
    ).rejects.toThrow('abort after the write');
    expect(await app.sql(`SELECT 1 FROM interactions WHERE external_id = 'rb-1'`)).toHaveLength(0);
    expect((await outbox(app)).length).toBe(before);
  });

  test('segment membership changes publish segment.entered and segment.exited with the membership events', async () => {
    const person = await record(app, [click('seg-1', 'segment.member@example.com')]);
    const customerId = localId(person.results[0]!.customerId!);
    const created = await app.graphql(CreateSegmentDocument, { input: { name: 'outbox static', kind: 'STATIC' } });
    const segmentGlobalId = created.data!.createSegment.id;
    const segmentId = localId(segmentGlobalId);
    const ref = [{ id: person.results[0]!.customerId! }];
    expect((await app.graphql(AddToSegmentDocument, { segmentId: segmentGlobalId, customers: ref })).data?.addToSegment.changed).toBe(1);
    // Adding again changes nothing and publishes nothing.
    expect((await app.graphql(AddToSegmentDocument, { segmentId: segmentGlobalId, customers: ref })).data?.addToSegment.changed).toBe(0);
    expect((await app.graphql(RemoveFromSegmentDocument, { segmentId: segmentGlobalId, customers: ref })).data?.removeFromSegment.changed).toBe(1);
    const events = await outbox(app, `customer_id = $1 AND type LIKE 'segment.%'`, [customerId]);
    expect(events.map((e) => [e.type, e.payload])).toEqual([
      ['segment.entered', { customerId, segmentId }],
      ['segment.exited', { customerId, segmentId }],
    ]);
    const history = await app.sql(`SELECT kind FROM segment_membership_events WHERE customer_id = $1 ORDER BY id`, [customerId]);
    expect(history).toEqual([{ kind: 'ENTERED' }, { kind: 'EXITED' }]);
  });

  test("an update publishes customer.updated; an erasure empties the customer's partition and publishes customer.erased in the non-customer one", async () => {
    const person = await record(app, [click('erase-1', 'erase.outbox@example.com')]);
    const customerId = localId(person.results[0]!.customerId!);
    const updated = await app.runtime.services.customers.upsertCustomers([
      { identifiers: [{ type: 'email', value: 'erase.outbox@example.com' }], lifecycleStage: 'lead' },
    ]);
    expect(updated.updated).toBe(1);
    expect((await outbox(app, `customer_id = $1`, [customerId])).map((e) => e.type)).toEqual(['customer.created', 'interaction.recorded', 'customer.updated']);
    await app.runtime.services.privacy.eraseCustomer(customerId);
    expect(await outbox(app, `customer_id = $1`, [customerId])).toEqual([]);
    expect((await outbox(app, `type = 'customer.erased'`)).map((e) => [e.customer_id, e.payload])).toEqual([['0', { customerId }]]);
  });

  test('scores publish score.changed only when they appear or change, and a full recompute publishes recompute.completed', async () => {
    const purchase = (externalId: string, email: string, value: number, daysAgo: number): InteractionInput =>
      click(externalId, email, {
        channel: 'payment',
        type: 'purchase',
        value,
        currency: 'EUR',
        occurredAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
      });
    const buyers = ['b1', 'b2', 'b3', 'b4', 'b5'].map((b) => `${b}.scores@example.com`);
    await record(
      app,
      buyers.map((email, i) => purchase(`score-${i}`, email, 10 * (i + 1), 10 * (i + 1))),
    );
    const scores = app.runtime.services.scores;
    await scores.recompute(['RFM']);
    const first = await outbox(app, `type = 'score.changed' AND payload->>'kind' = 'RFM'`);
    expect(first).toHaveLength(buyers.length);
    for (const event of first)
      expect(event.payload).toMatchObject({ customerId: event.customer_id, kind: 'RFM', previousValue: null, previousLabel: null, value: expect.any(Number) });
    expect((await outbox(app, `type = 'recompute.completed'`)).map((e) => [e.customer_id, e.payload])).toEqual([
      ['0', { kinds: ['RFM'], customers: buyers.length }],
    ]);

    // Rescoring unchanged customers publishes nothing; a change publishes one event with the previous value.
    const ids = first.map((e) => e.customer_id);
    await scores.rescoreCustomers(ids, ['RFM']);
    expect(await outbox(app, `type = 'score.changed' AND payload->>'kind' = 'RFM'`)).toHaveLength(buyers.length);
    const [lowest] = first.filter((e) => (e.payload.value as number) === Math.min(...first.map((f) => f.payload.value as number)));
    await app.sql(`UPDATE scores SET value = value + 0.5 WHERE customer_id = $1 AND kind = 'RFM'`, [lowest!.customer_id]);
    await scores.rescoreCustomers(ids, ['RFM']);
    const changed = await outbox(app, `type = 'score.changed' AND payload->>'kind' = 'RFM' AND outbox_events.id > $1`, [first.at(-1)!.id]);
    expect(changed.map((e) => [e.customer_id, e.payload.value, e.payload.previousValue])).toEqual([
      [lowest!.customer_id, lowest!.payload.value, (lowest!.payload.value as number) + 0.5],
    ]);
  });
  test('a targeted rescore publishes recompute.completed, marked targeted, with the customers it rescored', async () => {
    const before = await outbox(app, `type = 'recompute.completed'`);
    const [a, b] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM scores WHERE kind = 'RFM' ORDER BY customer_id LIMIT 2`);
    expect(await app.runtime.services.scores.rescoreAfterFullRecompute([a!.id, b!.id, a!.id], ['RFM'])).toBe(2);
    const after = await outbox(app, `type = 'recompute.completed' AND outbox_events.id > $1`, [before.at(-1)?.id ?? '0']);
    expect(after.map((e) => [e.customer_id, e.payload])).toEqual([['0', { kinds: ['RFM'], customers: 2, targeted: true }]]);
  });

  test('a failed connector run publishes connection.failed in the non-customer partition', async () => {
    const [{ id: connectionId }] = await app.sql<{ id: string }>(
      `INSERT INTO connections (connector, name) VALUES ('nothing', 'outbox-test') RETURNING id::text`,
    );
    const runs = app.runtime.services.connectors.runs;
    const runId = await runs.start('SYNC', connectionId, {});
    await runs.finish(runId, 'FAILED', 'it broke');
    const events = await outbox(app, `type = 'connection.failed'`);
    expect(events).toEqual([expect.objectContaining({ customer_id: '0', payload: { connectionId, runId } })]);
  });

  test('a bulk file import publishes one interactions.imported per batch, not an event per row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rapport-outbox-import-'));
    try {
      const file = path.join(dir, 'events.ndjson');
      const rows = Array.from({ length: 5 }, (_, i) => ({
        email: `importer-${i % 3}@example.com`,
        channel: 'email',
        type: 'open',
        occurredAt: '2026-09-01T00:00:00Z',
        externalId: `imp-${i}`,
      }));
      writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const before = await outbox(app, `type = 'interaction.recorded'`);
      const summary = await app.runtime.services.connectors.imports.importFile(file, {
        format: 'ndjson',
        source: 'outbox-import',
        batchRows: 3,
        connections: 1,
      });
      expect(summary).toMatchObject({ accepted: 5 });
      const imported = await outbox(app, `type = 'interactions.imported'`);
      expect(imported.map((e) => ({ customer: e.customer_id, payload: e.payload }))).toEqual([
        { customer: '0', payload: { inserted: 3, customers: 3, sources: ['outbox-import'] } },
        { customer: '0', payload: { inserted: 2, customers: 2, sources: ['outbox-import'] } },
      ]);
      expect(await outbox(app, `type = 'interaction.recorded'`)).toEqual(before);
      // Re-importing the same rows inserts nothing, and publishes nothing.
      await app.runtime.services.connectors.imports.importFile(file, { format: 'ndjson', source: 'outbox-import', batchRows: 3, connections: 1 });
      expect(await outbox(app, `type = 'interactions.imported'`)).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dispatch', () => {
  let app: TestApp;
  const seen: DomainEvent<'interaction.recorded'>[] = [];
  const flakyCalls = new Map<string, number>();
  beforeAll(async () => {
    app = await startTestApp({
      workers: true,
      env: { RAPPORT_OUTBOX_DISPATCH_MS: '100' },
      onServices: (services) => {
        services.events.subscribe('interaction.recorded', 'test.order', async (event) => {
          seen.push(event);
        });
        // Throws the first time it is handed each event; applies it (in the offset's transaction) the second time.
        services.events.subscribe('interaction.recorded', 'test.flaky', async (event, manager) => {
          const calls = (flakyCalls.get(event.id) ?? 0) + 1;
          flakyCalls.set(event.id, calls);
          if (calls === 1) throw new Error('first delivery fails');
          await manager.query(`INSERT INTO outbox_test_applied (event_id) VALUES ($1)`, [event.id]);
        });
      },
    });
    await app.sql(`CREATE TABLE outbox_test_applied (event_id bigint PRIMARY KEY)`);
  });
  afterAll(() => app.close());

  test('events of a customer arrive in order; a subscriber that throws is retried and its effects apply once', async () => {
    const ids: string[] = [];
    for (let batch = 0; batch < 3; batch++) {
      const result = await record(app, [
        click(`o-a-${batch}-1`, 'order.a@example.com'),
        click(`o-b-${batch}`, 'order.b@example.com'),
        click(`o-a-${batch}-2`, 'order.a@example.com'),
      ]);
      ids.push(...result.results.map((r) => localId(r.id!)));
    }
    const events = await eventually(async () => {
      const rows = await outbox(app, `type = 'interaction.recorded'`);
      return rows.length === 9 && rows.every((r) => r.dispatched_at) ? rows : undefined;
    });
    for (const customer of new Set(events.map((e) => e.customer_id))) {
      const received = seen.filter((e) => e.customerId === customer);
      const stored = events.filter((e) => e.customer_id === customer);
      // Each event once to the consumer that never failed, in the customer's order (ids and interactions).
      expect(received.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      const interactions = received.map((e) => BigInt(e.payload.interactionId));
      expect([...interactions].sort((x, y) => (x < y ? -1 : 1))).toEqual(interactions);
    }
    expect(new Set(seen.map((e) => e.payload.interactionId))).toEqual(new Set(ids));
    // The flaky consumer saw every event at least twice and applied each once.
    for (const event of events) expect(flakyCalls.get(event.id)).toBeGreaterThanOrEqual(2);
    const applied = await app.sql<{ event_id: string }>(`SELECT event_id::text FROM outbox_test_applied ORDER BY outbox_test_applied.event_id`);
    expect(applied.map((r) => r.event_id)).toEqual(events.map((e) => e.id));
  });

  test('an erasure queues a score recompute through the scores module’s subscription to customer.erased', async () => {
    const result = await record(app, [click('erased-1', 'erased.subscriber@example.com')]);
    const customerId = localId(result.results[0]!.customerId!);
    await app.runtime.services.privacy.eraseCustomer(customerId);
    const [erased] = await outbox(app, `type = 'customer.erased' AND payload->>'customerId' = $1`, [customerId]);
    await eventually(async () => {
      const applied = await app.sql(`SELECT 1 FROM outbox_consumer_offsets WHERE consumer = 'scores.erasure-recompute' AND event_id = $1`, [erased!.id]);
      return applied.length ? true : undefined;
    });
  });

  test('a redelivered event (dispatch progress lost) is not applied again', async () => {
    const [{ id }] = await app.sql<{ id: string }>(`SELECT id::text FROM outbox_events WHERE type = 'interaction.recorded' ORDER BY id LIMIT 1`);
    const calls = flakyCalls.get(id)!;
    const orderSeen = seen.length;
    await app.sql(`UPDATE outbox_events SET dispatched_at = NULL WHERE id = $1`, [id]);
    await eventually(async () => ((await outbox(app, `id = $1 AND dispatched_at IS NOT NULL`, [id])).length ? true : undefined));
    expect(flakyCalls.get(id)).toBe(calls);
    expect(seen.length).toBe(orderSeen);
    expect(await app.sql(`SELECT 1 FROM outbox_test_applied WHERE event_id = $1`, [id])).toHaveLength(1);
  });
});

describe.each(['postgres', 'redis'] as const)('nothing is lost when no dispatcher runs (%s queue)', (queue) => {
  test('changes committed with no worker running are all delivered once a worker starts', async () => {
    const database = await createTestDatabase();
    try {
      const gateway = await startTestApp({ database, queue });
      const result = await record(
        gateway,
        Array.from({ length: 20 }, (_, i) => click(`late-${i}`, `late${i % 4}@example.com`)),
      );
      expect(result.accepted).toBe(20);
      await gateway.close();

      const received: DomainEvent[] = [];
      const worker = await startTestApp({
        database,
        queue,
        workers: true,
        env: { RAPPORT_OUTBOX_DISPATCH_MS: '100' },
        onServices: (services) => {
          services.events.subscribe('interaction.recorded', 'test.late', async (event) => {
            received.push(event);
          });
          services.events.subscribe('customer.created', 'test.late', async (event) => {
            received.push(event);
          });
        },
      });
      try {
        await eventually(async () => (received.length >= 24 ? true : undefined));
        expect(
          received
            .filter((e) => e.type === 'interaction.recorded')
            .map((e) => (e.payload as { interactionId: string }).interactionId)
            .sort(),
        ).toEqual(result.results.map((r) => localId(r.id!)).sort());
        expect(received.filter((e) => e.type === 'customer.created')).toHaveLength(4);
      } finally {
        await worker.close();
      }
    } finally {
      await database.drop();
    }
  });
});

describe('retention', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { RAPPORT_OUTBOX_RETENTION_HOURS: '24' } });
  });
  afterAll(() => app.close());

  test('the sweep deletes dispatched events older than the retention, and their offsets, only', async () => {
    await inTransaction(app.dataSource, (manager) =>
      publish(
        manager,
        'customer.updated',
        ['11', '12', '13', '14'].map((customerId) => ({ customerId, payload: { customerId } })),
      ),
    );
    await app.sql(`INSERT INTO outbox_consumer_offsets (customer_id, consumer, event_id) SELECT customer_id, 'test.keep', id FROM outbox_events`);
    await app.sql(`UPDATE outbox_events SET occurred_at = now() - interval '30 days'`);
    await app.sql(`UPDATE outbox_events SET dispatched_at = now() - interval '25 hours' WHERE customer_id = 11`);
    await app.sql(`UPDATE outbox_events SET dispatched_at = now() - interval '23 hours' WHERE customer_id = 12`);
    // 13: old and never dispatched; 14: dispatched just now.
    await app.sql(`UPDATE outbox_events SET dispatched_at = now() WHERE customer_id = 14`);
    const deleted = await app.runtime.services.events.sweep(app.config.outboxRetentionHours);
    expect(deleted).toBe(1);
    expect((await outbox(app)).map((e) => e.customer_id)).toEqual(['12', '13', '14']);
    expect((await app.sql<{ c: string }>(`SELECT customer_id::text AS c FROM outbox_consumer_offsets ORDER BY 1`)).map((r) => r.c)).toEqual(['12', '13', '14']);
  });
});

import { RecordInteractionsDocument, type InteractionInput } from './generated/graphql';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import { openDatabase, startRapport } from '../src/app';
import { createLogger } from '../src/infra/logger';
import { QUEUES } from '../src/infra/queue';
import { testRedisUrl } from './helpers/database';

const interaction = (externalId: string, email: string, value: number): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel: 'payment',
  type: 'purchase',
  occurredAt: new Date(Date.now() - 60_000).toISOString(),
  value,
  source: 'workers-test',
  externalId,
});

async function stats(app: TestApp, email: string) {
  const rows = await app.sql<{ interaction_count: number; transaction_value: string; dirty: boolean }>(
    `SELECT s.interaction_count, s.transaction_value::text, c.dirty_since IS NOT NULL AS dirty
       FROM customer_identifiers i JOIN customers c ON c.id = i.customer_id LEFT JOIN customer_stats s ON s.customer_id = c.id
      WHERE i.type = 'email' AND i.value = $1`,
    [email],
  );
  return rows[0];
}

describe.each(['postgres', 'redis'] as const)('workers on the %s queue backend', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ queue: backend, workers: true });
  });
  afterAll(() => app.close());

  test('an ingested interaction shows in its customer’s stats shortly after, and the customer is no longer dirty', async () => {
    await app.graphql(RecordInteractionsDocument, { input: [interaction('w-1', 'ada@example.com', 10), interaction('w-2', 'ada@example.com', 5)] });
    const refreshed = await eventually(async () => {
      const s = await stats(app, 'ada@example.com');
      return s.interaction_count === 2 && !s.dirty ? s : undefined;
    });
    expect(refreshed.transaction_value).toBe('15.0000');

    await app.graphql(RecordInteractionsDocument, { input: [interaction('w-3', 'ada@example.com', 7.5)] });
    const again = await eventually(async () => {
      const s = await stats(app, 'ada@example.com');
      return s.interaction_count === 3 && !s.dirty ? s : undefined;
    });
    expect(again.transaction_value).toBe('22.5000');
  });

  test('the dirty.sweep job scheduler is registered to run every minute', async () => {
    const schedulers = await app.runtime.services.queues.queue(QUEUES.analytics).getJobSchedulers();
    expect(schedulers.map((s) => [s.name, s.every])).toContainEqual(['dirty.sweep', 60_000]);
  });
});

test('refreshes gathered from the last requests are enqueued when the process stops', async () => {
  const app = await startTestApp({ queue: 'postgres', workers: false });
  try {
    await app.graphql(RecordInteractionsDocument, { input: [interaction('stop-1', 'linus@example.com', 3)] });
    const [{ id }] = await app.sql<{ id: string }>(`SELECT customer_id::text AS id FROM customer_identifiers WHERE value = 'linus@example.com'`);
    await app.runtime.stop();
    const jobs = await app.sql<{ ids: string[] }>(`SELECT data->'customerIds' AS ids FROM bullmq.job WHERE name = 'customer.refresh'`);
    expect(jobs.flatMap((j) => j.ids)).toContain(id);
  } finally {
    await app.close();
  }
});

describe.each(['postgres', 'redis'] as const)('when the %s queue is unavailable', (backend) => {
  test('ingest still succeeds and the dirty sweep catches up later', async () => {
    // A queue backend nobody listens on: the enqueue after commit fails.
    const dead =
      backend === 'postgres'
        ? { kind: 'postgres' as const, connectionString: 'postgres://nobody:x@127.0.0.1:1/none' }
        : { kind: 'redis' as const, url: 'redis://127.0.0.1:1' };
    const app = await startTestApp({ queue: dead, workers: false });
    try {
      const { data } = await app.graphql(RecordInteractionsDocument, { input: [interaction('down-1', 'grace@example.com', 42)] });
      expect(data!.recordInteractions).toMatchObject({ committed: true, accepted: 1 });
      const before = await stats(app, 'grace@example.com');
      expect(before.dirty).toBe(true);
      expect(before.interaction_count).toBeNull();

      // Later, a worker with a working queue starts; its sweep refreshes what was left dirty.
      await app.sql(`UPDATE customers SET dirty_since = now() - interval '1 minute' WHERE dirty_since IS NOT NULL`);
      const dataSource = await openDatabase(app.database.url, 'rapport-test-worker');
      const queue =
        backend === 'postgres'
          ? { kind: 'postgres' as const, connectionString: app.database.url }
          : { kind: 'redis' as const, url: testRedisUrl(), prefix: app.database.name };
      const worker = await startRapport({ config: app.config, logger: createLogger('silent'), dataSource, queue, roles: { gateway: false, worker: true } });
      try {
        await worker.services.queues.queue(QUEUES.analytics).add('dirty.sweep', {});
        const after = await eventually(async () => {
          const s = await stats(app, 'grace@example.com');
          return s.interaction_count === 1 && !s.dirty ? s : undefined;
        });
        expect(after.transaction_value).toBe('42.0000');
      } finally {
        await worker.stop();
        await dataSource.destroy();
      }
    } finally {
      await app.close();
    }
  });
});

/**
 * Drill: Redis stops under a gateway and a worker (separate processes, as
 * in production) and comes back, once empty (no persistence: every queue,
 * job and job scheduler is gone) and once with its append-only file. While
 * it is away, reads and ingest keep working (the rate limiter counts in
 * the process, ingest commits its dirty marks without waiting for the
 * queue), and what needs the queue answers 503 SERVICE_UNAVAILABLE with
 * Retry-After. Once it is back, the worker registers its schedulers again
 * and the dirty sweep brings every customer whose refresh job was lost up
 * to date: nothing lost, nothing twice, stats exact.
 */
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { ADMIN_KEY, deliver, expectExact, gql, isRetryLater, RedisServer, startGateway, startWorker, until, type RapportProcess } from './drill';

// Real processes on a shared machine: starting a gateway and a worker takes a while.
jest.setTimeout(400_000);

const BATCH = 50;

async function importRuns(databaseUrl: string): Promise<{ status: string; error: string | null }[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<{ status: string; error: string | null }>(`SELECT status, error FROM connector_runs WHERE kind = 'IMPORT'`)).rows;
  } finally {
    await client.end();
  }
}

describe.each([
  { aof: false, name: 'restarted empty (no persistence)' },
  { aof: true, name: 'restarted with its append-only file' },
])('Redis stopped and $name', ({ aof }) => {
  let database: TestDatabase;
  let redis: RedisServer;
  let gateway: RapportProcess;
  let worker: RapportProcess;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await RedisServer.start(aof);
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      RAPPORT_QUEUE_PREFIX: database.name,
      // The sweep runs every second, so the drill sees it catch up; schedulers are re-asserted on reconnect (the periodic round stays at its default).
      RAPPORT_DIRTY_SWEEP_MS: '1000',
    };
    // The gateway migrates; the worker starts on the migrated database.
    ({ process: gateway, url } = await startGateway(env));
    worker = await startWorker(env);
  });

  afterAll(async () => {
    const codes = await Promise.all([gateway?.stop(), worker?.stop()]);
    await redis?.dispose();
    await database?.drop();
    expect(codes).toEqual([0, 0]);
  });

  test('reads and ingest go on while Redis is away, and every customer is exact once it is back', async () => {
    for (let from = 0; from < 300; from += BATCH) await deliver(url, from, from + BATCH);
    await expectExact(database.url, 300);

    await redis.stop();
    const readyz = url.replace(/\/graphql$/, '/readyz');
    await until('readiness reports the queue away', async () => ((await fetch(readyz)).status === 503 ? true : undefined));

    // Reads that need only Postgres keep working.
    const read = await gql(url, `{ customers(first: 5) { totalCount } }`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ data: { customers: { totalCount: 60 } } });

    // Ingest never waits for the queue: each batch commits at the first try, with its dirty marks.
    for (let from = 300; from < 450; from += BATCH) {
      const answers = await deliver(url, from, from + BATCH);
      expect(answers.map((a) => a.status)).toEqual([200]);
    }

    // What needs the queue answers 503 with Retry-After, in the GraphQL response format.
    const recompute = await gql(url, `mutation { recomputeScores { id status } }`);
    expect(isRetryLater(recompute)).toBe(true);
    expect(recompute.body.errors![0]!.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfter: Number(recompute.headers['retry-after']) });

    // A file upload is not accepted and then left waiting: 503, and the run it created is FAILED with the reason.
    const upload = await fetch(url.replace(/\/graphql$/, '/imports?fileName=visits.csv&source=upload'), {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'text/csv' },
      body: 'email,channel,type,occurredAt\nu@drill.example,web,visit,2026-01-01T00:00:00Z\n',
    });
    expect(upload.status).toBe(503);
    expect(upload.headers.get('retry-after')).not.toBeNull();
    expect(await importRuns(database.url)).toEqual([{ status: 'FAILED', error: expect.stringContaining('could not queue the import') as unknown }]);

    // The rate limiter fell back to the process's own bucket, and said so once.
    expect(gateway.output.match(/rate limiter: Redis is unavailable/g)).toHaveLength(1);
    await gateway.waitFor(/could not enqueue customer\.refresh; the dirty sweep will catch up/);

    await redis.start();
    await until('readiness back', async () => ((await fetch(readyz)).status === 200 ? true : undefined));
    // The refreshes of the batches sent during the outage were never enqueued: the sweep catches them up.
    await expectExact(database.url, 450);
    if (!aof) await worker.waitFor(/"reason":"reconnect".*job schedulers asserted/);

    // Shared buckets again, once requests meet Redis.
    await until('the rate limiter back on Redis', async () => {
      await gql(url, `{ customers(first: 1) { totalCount } }`);
      return /rate limiter: Redis is back/.test(gateway.output) ? true : undefined;
    });
    for (let from = 450; from < 500; from += BATCH) await deliver(url, from, from + BATCH);
    await expectExact(database.url, 500);
  });
});

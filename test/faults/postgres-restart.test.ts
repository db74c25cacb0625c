/**
 * Drill: Postgres restarts under a gateway and a worker (separate processes,
 * the PostgreSQL queue backend, so the queue goes away with it) while a
 * client streams interactions. The drill runs its own embedded cluster, so
 * stopping it disturbs no other test file. While the database is away,
 * requests answer 503 SERVICE_UNAVAILABLE with Retry-After (never 500);
 * the client retries as told, both processes recover by themselves, and
 * nothing is lost or stored twice; every customer's stats are exact.
 */
import { Client } from 'pg';
import { deliver, expectExact, gql, isRetryLater, PostgresCluster, startGateway, startWorker, until, type Answer, type RapportProcess } from './drill';

// Real processes on a shared machine: starting a gateway and a worker takes a while.
jest.setTimeout(400_000);

const BATCH = 50;

describe('Postgres restarted under load', () => {
  let pg: PostgresCluster;
  let gateway: RapportProcess;
  let worker: RapportProcess;
  let url: string;
  let databaseUrl: string;

  beforeAll(async () => {
    pg = await PostgresCluster.start();
    const admin = new Client({ connectionString: pg.adminUrl });
    await admin.connect();
    await admin.query('CREATE DATABASE drill');
    await admin.end();
    databaseUrl = pg.urlFor('drill');
    const env = { DATABASE_URL: databaseUrl, RAPPORT_DIRTY_SWEEP_MS: '1000' };
    ({ process: gateway, url } = await startGateway(env));
    worker = await startWorker(env);
  });

  afterAll(async () => {
    const codes = await Promise.all([gateway?.stop(), worker?.stop()]);
    await pg?.dispose();
    expect(codes).toEqual([0, 0]);
  });

  test('requests answer 503 with Retry-After while it is away; afterwards nothing is lost and stats are exact', async () => {
    for (let from = 0; from < 200; from += BATCH) await deliver(url, from, from + BATCH);
    await expectExact(databaseUrl, 200);

    // A client streams batches, retrying as the answers say, across the restart.
    const answers: Answer[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let from = 200; from < 600; from += BATCH) answers.push(...(await deliver(url, from, from + BATCH)));
      streaming = false;
    })();
    await until('the stream under way', () => (answers.length > 0 ? true : undefined));

    await pg.stop();
    const down = await gql(url, `{ customers(first: 5) { totalCount } }`);
    expect(isRetryLater(down)).toBe(true);
    expect(down.body).toEqual({
      errors: [
        {
          message: expect.stringContaining('database') as unknown,
          extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: Number(down.headers['retry-after']) },
        },
      ],
    });
    expect((await fetch(url.replace(/\/graphql$/, '/readyz'))).status).toBe(503);

    await pg.start();
    await stream;
    expect(streaming).toBe(false);
    // Every answer the client got was a success or a "retry later"; deliver() fails on anything else (a 500).
    expect(answers.every((a) => a.status === 200 || isRetryLater(a))).toBe(true);
    await expectExact(databaseUrl, 600);
    expect(gateway.output).not.toMatch(/"level":50.*request failed/);
  });
});

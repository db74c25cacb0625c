/**
 * Drill: the worker process is killed (SIGKILL: no shutdown of its own)
 * while interactions stream in, and again in the middle of a full
 * recompute, on both queue backends. Ingest does not notice; a new worker
 * catches up, and nothing is lost or stored twice: every customer's stats
 * are exact. The killed recompute reads STALLED once its heartbeat is older
 * than the job lock, then restarts on the new worker and completes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '../helpers/database';
import { deliver, expectExact, gql, startGateway, startWorker, until, type RapportProcess } from './drill';

// Real processes on a shared machine: starting a gateway and a worker takes a while.
jest.setTimeout(400_000);

const BATCH = 50;
const SEEDED_CUSTOMERS = 3_000;

/** Seeds a data set (so that a full recompute takes long enough to be killed midway) with the real CLI. */
async function seed(env: Record<string, string>): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      path.join(__dirname, '..', '..', 'bin/rapport.js'),
      'seed',
      '--customers',
      String(SEEDED_CUSTOMERS),
      '--interactions',
      '30000',
      '--seed',
      '23',
      '--until',
      '2026-06-01',
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`seed exited with ${code}: ${output}`);
}

/** Every score (customer, kind, value, label) as one digest, and how many there are. */
async function scoresChecksum(databaseUrl: string): Promise<{ rows: number; digest: string }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ rows: number; digest: string }>(
      `SELECT count(*)::int AS rows,
              md5(string_agg(customer_id || ':' || kind || ':' || value || ':' || coalesce(label, ''), ',' ORDER BY customer_id, kind)) AS digest
         FROM scores`,
    );
    return rows[0]!;
  } finally {
    await client.end();
  }
}

interface JobView {
  status: string;
  progress: number;
  heartbeatAt: string | null;
}

describe.each([{ backend: 'postgres' }, { backend: 'redis' }])('the worker killed ($backend queue backend)', ({ backend }) => {
  let database: TestDatabase;
  let gateway: RapportProcess;
  let worker: RapportProcess;
  let url: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      ...(backend === 'redis' ? { REDIS_URL: testRedisUrl(), RAPPORT_QUEUE_PREFIX: database.name } : {}),
      RAPPORT_DIRTY_SWEEP_MS: '1000',
      // A short job lock: the killed job reads STALLED after 2 s, and the next worker takes it over soon after.
      RAPPORT_JOB_LOCK_MS: '2000',
    };
    ({ process: gateway, url } = await startGateway(env));
    await seed(env);
    worker = await startWorker(env);
  });

  afterAll(async () => {
    const codes = await Promise.all([gateway?.stop(), worker?.stop()]);
    await database?.drop();
    expect(codes).toEqual([0, 0]);
  });

  test('mid-ingest: nothing lost or stored twice, stats exact once a worker is back', async () => {
    for (let from = 0; from < 200; from += BATCH) await deliver(url, from, from + BATCH);
    await worker.stop('SIGKILL');
    // Ingest goes on without a worker; every batch commits at the first try.
    for (let from = 200; from < 400; from += BATCH) expect((await deliver(url, from, from + BATCH)).map((a) => a.status)).toEqual([200]);
    worker = await startWorker(env);
    for (let from = 400; from < 500; from += BATCH) await deliver(url, from, from + BATCH);
    await expectExact(database.url, 500);
  });

  test('mid-recompute: the job reads STALLED, then restarts on the next worker and completes', async () => {
    const requested = await gql(url, `mutation { recomputeScores { id status } }`);
    const id = (requested.body.data!.recomputeScores as { id: string }).id;
    const read = async () =>
      (await gql(url, `query($id: ID!) { recomputeJob(id: $id) { status progress heartbeatAt } }`, { id })).body.data!.recomputeJob as JobView;

    const running = await until('the recompute running', async () => {
      const job = await read();
      if (job.status === 'COMPLETED' || job.status === 'FAILED') throw new Error(`the recompute ended (${job.status}) before the drill could kill its worker`);
      return job.status === 'RUNNING' ? job : undefined;
    });
    expect(running.heartbeatAt).not.toBeNull();
    await worker.stop('SIGKILL');

    // No worker beats for it any more: once its heartbeat is older than the job lock, it reads STALLED.
    const stalled = await until('the recompute STALLED', async () => {
      const job = await read();
      return job.status === 'STALLED' ? job : undefined;
    });
    expect(Date.parse(stalled.heartbeatAt!)).toBeGreaterThanOrEqual(Date.parse(running.heartbeatAt!));

    worker = await startWorker(env);
    await until('the recompute completed', async () => {
      const job = await read();
      if (job.status === 'FAILED') throw new Error('the recompute failed');
      return job.status === 'COMPLETED' ? job : undefined;
    });
    // The restarted job's scores are those of an uninterrupted run, row for row.
    const restarted = await scoresChecksum(database.url);
    const rerun = await gql(url, `mutation { recomputeScores { id } }`);
    const rerunId = (rerun.body.data!.recomputeScores as { id: string }).id;
    expect(rerunId).not.toBe(id);
    await until('the uninterrupted rerun completed', async () => {
      const { body } = await gql(url, `query($id: ID!) { recomputeJob(id: $id) { status } }`, { id: rerunId });
      const status = (body.data!.recomputeJob as { status: string }).status;
      if (status === 'FAILED') throw new Error('the rerun failed');
      return status === 'COMPLETED' ? true : undefined;
    });
    expect(await scoresChecksum(database.url)).toEqual(restarted);
    expect(restarted.rows).toBeGreaterThan(SEEDED_CUSTOMERS / 2);
  });
});

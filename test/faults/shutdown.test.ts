/**
 * Drill: SIGTERM to a gateway under keep-alive load. Eight clients keep one
 * request each always in flight on their own keep-alive connection. After
 * the signal, `/readyz` answers 503, the requests in flight finish and
 * carry `Connection: close`, work that arrives later is refused with 503
 * SERVICE_UNAVAILABLE, and the process exits by itself (code 0, not the
 * forced exit's 1). Nothing is cut mid-flight: the database holds exactly
 * the interactions of the answers that said so, and the worker makes every
 * customer's stats exact.
 */
import { Agent } from 'node:http';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { batch, batchIndices, expectExact, gql, RECORD, startGateway, startWorker, until, type Answer, type RapportProcess } from './drill';

// Real processes on a shared machine: starting a gateway and a worker takes a while.
jest.setTimeout(400_000);

const CLIENTS = 8;
const BATCH = 10;

/** What one request of the load came to. */
interface Outcome {
  from: number;
  /** Sent after the test saw the gateway log its shutdown, which it does after it started refusing work. */
  sentAfterNotice: boolean;
  answer?: Answer;
  error?: string;
}

describe('SIGTERM to a gateway under keep-alive load', () => {
  let database: TestDatabase;
  let worker: RapportProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    const code = await worker?.stop();
    await database?.drop();
    expect(code).toBe(0);
  });

  test('in-flight requests finish, new ones are refused, and the process exits by itself', async () => {
    const env = { DATABASE_URL: database.url };
    const { process: gateway, url } = await startGateway(env);
    worker = await startWorker(env);
    const readyz = url.replace(/\/graphql$/, '/readyz');
    expect((await fetch(readyz)).status).toBe(200);

    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const outcomes: Outcome[] = [];
    let next = 0;
    let noticed = false;
    let answered = 0;
    // One client: a request always in flight, the next sent as soon as the last is answered, until the gateway is gone.
    const client = async () => {
      for (;;) {
        const outcome: Outcome = { from: next, sentAfterNotice: noticed };
        next += BATCH;
        outcomes.push(outcome);
        try {
          outcome.answer = await gql(url, RECORD, { input: batch(outcome.from, outcome.from + BATCH) }, agent);
          answered++;
        } catch (error) {
          outcome.error = (error as NodeJS.ErrnoException).code ?? String(error);
          // The listener is closed: the gateway takes no new connection.
          if (outcome.error === 'ECONNREFUSED') return;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);

    // Under load (every client answered a few times), then the signal.
    await until('every client answered a few times', () => (answered >= CLIENTS * 3 ? true : undefined));
    const exited = gateway.stop('SIGTERM');
    await gateway.waitFor(/shutting down/);
    noticed = true;
    const code = await exited;
    await Promise.all(clients);
    agent.destroy();

    expect(code).toBe(0);
    const ok = outcomes.filter((o) => o.answer?.status === 200);
    const refused = outcomes.filter((o) => o.answer?.status === 503);
    // Every answer is a whole one: success, or SERVICE_UNAVAILABLE with Retry-After and Connection: close.
    expect(outcomes.filter((o) => o.answer && o.answer.status !== 200 && o.answer.status !== 503)).toEqual([]);
    for (const o of refused) {
      expect(o.answer!.body.errors![0]!.extensions!.code).toBe('SERVICE_UNAVAILABLE');
      expect(o.answer!.headers['retry-after']).toBeDefined();
      expect(o.answer!.headers.connection).toBe('close');
    }
    for (const o of ok) expect(o.answer!.body.data).toEqual({ recordInteractions: { accepted: BATCH, duplicates: 0, rejected: 0 } });
    // No new work after the shutdown began: nothing sent after its notice was accepted.
    expect(ok.filter((o) => o.sentAfterNotice)).toEqual([]);
    // Socket errors only where no connection could be made, or a request was never taken (see below).
    expect(outcomes.filter((o) => o.error && o.error !== 'ECONNREFUSED' && o.error !== 'ECONNRESET')).toEqual([]);

    // Nothing cut mid-flight: the database holds exactly the batches answered 200, once each, and the stats follow them.
    await expectExact(
      database.url,
      batchIndices(
        ok.map((o) => o.from),
        BATCH,
      ),
    );
  });
});

import { makeTickets, startFakeHelpdeskApi, type FakeHelpdeskApi } from '../plugins/helpdesk/fake-api';
import { QUEUES } from '../src/infra/queue';
import { ConnectionRunsDocument, ConnectorRunDocument, CreateConnectionDocument, RunConnectionDocument, UpdateConnectionDocument } from './generated/graphql';
import { eventually } from './helpers/app';
import { startConnectorTestApp, type ConnectorTestApp } from './helpers/connectors';

const TIME_LIMIT_SECONDS = 8;
let t: ConnectorTestApp;
let helpdeskApi: FakeHelpdeskApi;

beforeAll(async () => {
  // The fake help-desk API listens on loopback, which connectors may reach only when the operator allowlists it.
  t = await startConnectorTestApp({
    workers: true,
    queue: 'postgres',
    env: { RAPPORT_SYNC_TIME_LIMIT_SECONDS: String(TIME_LIMIT_SECONDS), RAPPORT_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1' },
  });
  helpdeskApi = await startFakeHelpdeskApi({ tickets: makeTickets(9) });
});
afterAll(async () => {
  await t.close();
  await helpdeskApi.close();
});

async function createConnection(connector: string, name: string, config: Record<string, unknown>, schedule?: string) {
  const { data, errors } = await t.gql(CreateConnectionDocument, { input: { connector, name, config, schedule } });
  expect(errors).toBeUndefined();
  return data!.createConnection;
}

async function runToEnd(connectionId: string) {
  const { data, errors } = await t.gql(RunConnectionDocument, { id: connectionId });
  expect(errors).toBeUndefined();
  // A free worker may already have picked the run up by the time the mutation answers.
  expect(['QUEUED', 'RUNNING']).toContain(data!.runConnection.status);
  return finished(data!.runConnection.id);
}

function finished(runId: string, timeoutMs = 30_000) {
  return eventually(
    async () => {
      const { data } = await t.gql(ConnectorRunDocument, { id: runId });
      const run = data!.connectorRun!;
      return run.finishedAt ? run : undefined;
    },
    { timeoutMs },
  );
}

async function stateOf(connectionId: string) {
  const { data } = await t.gql(ConnectionRunsDocument, { id: connectionId, first: 50 });
  return data!.node as { state: unknown; lastRunAt: string | null; runs: { totalCount: number } };
}

const externalIds = async (connectionId: string) =>
  (
    await t.app.sql<{ external_id: string }>(`SELECT external_id FROM interactions WHERE source = $1 ORDER BY external_id`, [
      `connector:${Buffer.from(connectionId, 'base64').toString().split(':')[1]}`,
    ])
  ).map((r) => r.external_id);

describe('pull syncs', () => {
  test('an on-demand run commits every page, saves the cursor and records counts and timings', async () => {
    const connection = await createConnection('pager', 'pager-basic', { pages: 3, perPage: 2 });
    const run = await runToEnd(connection.id);
    expect(run).toMatchObject({ kind: 'SYNC', status: 'SUCCEEDED', received: 6, accepted: 6, duplicates: 0, rejected: 0, error: null, details: { pages: 3 } });
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
    expect(await externalIds(connection.id)).toEqual(['p0-0', 'p0-1', 'p1-0', 'p1-1', 'p2-0', 'p2-1']);
    const after = await stateOf(connection.id);
    expect(after.state).toEqual({ page: 3 });
    expect(after.lastRunAt).not.toBeNull();
  });

  test('a rejected row is reported with its path and reason while the rest of the page lands', async () => {
    const connection = await createConnection('pager', 'pager-invalid', { pages: 1, perPage: 2, withInvalidRow: true });
    const run = await runToEnd(connection.id);
    expect(run).toMatchObject({ status: 'SUCCEEDED', received: 3, accepted: 2, rejected: 1 });
    expect(run.errors).toEqual([expect.objectContaining({ path: 'interactions[2].occurredAt' })]);
  });

  test('a process killed mid-run keeps the committed pages, and the next run resumes from the saved cursor', async () => {
    const connection = await createConnection('pager', 'pager-crash', { pages: 4, perPage: 2, pauseAtPage: 2 });
    const { data } = await t.gql(RunConnectionDocument, { id: connection.id });
    // The plugin pauses at page 2, once the cursor of pages 0 and 1 is saved; its host cannot write a pid file (no write access).
    await eventually(async () => (JSON.stringify((await stateOf(connection.id)).state) === '{"page":2}' ? true : undefined));
    const runId = Buffer.from(data!.runConnection.id, 'base64').toString().split(':')[1]!;
    const pid = await eventually(async () => t.app.runtime.services.connectors.sync.hostPid(runId));
    expect(pid).not.toBe(process.pid);
    process.kill(pid, 'SIGKILL');
    const crashed = await finished(data!.runConnection.id);
    expect(crashed).toMatchObject({ status: 'FAILED', accepted: 4, error: expect.stringContaining('SIGKILL') });
    expect((await stateOf(connection.id)).state).toEqual({ page: 2 });
    expect(await externalIds(connection.id)).toEqual(['p0-0', 'p0-1', 'p1-0', 'p1-1']);

    await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { pages: 4, perPage: 2 } } });
    const resumed = await runToEnd(connection.id);
    expect(resumed).toMatchObject({ status: 'SUCCEEDED', received: 4, accepted: 4, duplicates: 0 });
    expect((await stateOf(connection.id)).state).toEqual({ page: 4 });
    expect(await externalIds(connection.id)).toHaveLength(8);
  });

  test('a rate limit ends the run early as a partial success that the next run continues', async () => {
    const connection = await createConnection('pager', 'pager-rate', { pages: 4, perPage: 2, rateLimitAtPage: 1 });
    const partial = await runToEnd(connection.id);
    expect(partial).toMatchObject({
      status: 'PARTIAL',
      accepted: 2,
      error: expect.stringContaining('CONNECTOR_RATE_LIMITED'),
      details: { pages: 1, retryAfterMs: 60_000 },
    });
    expect((await stateOf(connection.id)).state).toEqual({ page: 1 });

    await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { pages: 4, perPage: 2 } } });
    const rest = await runToEnd(connection.id);
    expect(rest).toMatchObject({ status: 'SUCCEEDED', accepted: 6, duplicates: 0 });
    expect(await externalIds(connection.id)).toHaveLength(8);
  });

  test('a plugin error fails the run keeping earlier pages; refused credentials also flag the connection NEEDS_ATTENTION', async () => {
    const buggy = await createConnection('pager', 'pager-bug', { pages: 3, perPage: 1, failAtPage: 1 });
    expect(await runToEnd(buggy.id)).toMatchObject({ status: 'FAILED', accepted: 1, error: expect.stringContaining('bug in the plugin') });
    expect((await stateOf(buggy.id)).state).toEqual({ page: 1 });

    const refused = await createConnection('pager', 'pager-auth', { pages: 3, perPage: 1, failAtPage: 0, failWith: 'auth' });
    expect(await runToEnd(refused.id)).toMatchObject({ status: 'FAILED', error: expect.stringContaining('CONNECTOR_AUTHENTICATION') });
    const { data } = await t.gql(ConnectionRunsDocument, { id: refused.id, first: 1 });
    expect(data!.node).toMatchObject({ status: 'NEEDS_ATTENTION', lastError: expect.stringContaining('refused the API key') });
  });

  test('a successful run clears NEEDS_ATTENTION and lastError and publishes connection.recovered', async () => {
    const connection = await createConnection('pager', 'pager-recovers', { pages: 1, perPage: 1, failAtPage: 0, failWith: 'auth' }, '0 0 1 1 *');
    const failed = await runToEnd(connection.id);
    expect(failed.status).toBe('FAILED');
    expect((await t.gql(ConnectionRunsDocument, { id: connection.id, first: 1 })).data!.node).toMatchObject({ status: 'NEEDS_ATTENTION' });

    // The credentials are fixed; the status is left to the next run.
    await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { pages: 1, perPage: 1 } } });
    const localId = Buffer.from(connection.id, 'base64').toString().split(':')[1];
    const events = () =>
      t.app.sql<{ type: string; payload: { connectionId: string; runId: string } }>(
        `SELECT type, payload FROM outbox_events WHERE type = 'connection.recovered' AND payload->>'connectionId' = $1`,
        [localId],
      );
    expect(await events()).toEqual([]);
    const succeeded = await runToEnd(connection.id);
    expect(succeeded.status).toBe('SUCCEEDED');
    expect((await t.gql(ConnectionRunsDocument, { id: connection.id, first: 1 })).data!.node).toMatchObject({ status: 'ACTIVE', lastError: null });
    const runLocalId = Buffer.from(succeeded.id, 'base64').toString().split(':')[1];
    expect(await events()).toEqual([{ type: 'connection.recovered', payload: { connectionId: localId, runId: runLocalId } }]);
    // Its schedule is back in the queue.
    const queue = t.app.runtime.services.queues.queue(QUEUES.connectors);
    expect((await queue.getJobSchedulers()).map((s) => String(s.key ?? s.id))).toContainEqual(expect.stringContaining(`connection-sync-${localId}`));

    // A further success of an ACTIVE connection publishes nothing more.
    expect((await runToEnd(connection.id)).status).toBe('SUCCEEDED');
    expect(await events()).toHaveLength(1);
  });

  test('a plugin that blocks its event loop hits the time limit while the worker keeps running other syncs', async () => {
    const hanging = await createConnection('pager', 'pager-hang', { blockEventLoop: true });
    const healthy = await createConnection('pager', 'pager-healthy', { pages: 1, perPage: 1 });
    const { data } = await t.gql(RunConnectionDocument, { id: hanging.id });
    const hangingRunId = data!.runConnection.id;
    await eventually(async () => ((await t.gql(ConnectorRunDocument, { id: hangingRunId })).data!.connectorRun!.status === 'RUNNING' ? true : undefined));

    const other = await runToEnd(healthy.id);
    expect(other.status).toBe('SUCCEEDED');
    const stillHanging = (await t.gql(ConnectorRunDocument, { id: hangingRunId })).data!.connectorRun!;
    expect(stillHanging.status).toBe('RUNNING');

    const timedOut = await finished(hangingRunId, (TIME_LIMIT_SECONDS + 20) * 1000);
    expect(timedOut).toMatchObject({ status: 'FAILED', error: expect.stringContaining('time limit') });
    expect((await runToEnd(healthy.id)).status).toBe('SUCCEEDED');
  });

  test('a schedule runs the connection repeatedly; removing it stops the runs', async () => {
    const connection = await createConnection('pager', 'pager-scheduled', { pages: 1, perPage: 1 }, '1');
    await eventually(async () => ((await stateOf(connection.id)).runs.totalCount >= 2 ? true : undefined), { timeoutMs: 30_000 });
    const queue = t.app.runtime.services.queues.queue(QUEUES.connectors);
    expect((await queue.getJobSchedulers()).map((s) => s.key ?? s.id)).toContainEqual(expect.stringContaining('connection-sync-'));
    await t.gql(UpdateConnectionDocument, { id: connection.id, input: { schedule: '' } });
    expect(
      (await queue.getJobSchedulers()).filter((s) =>
        String(s.key ?? s.id).includes(`connection-sync-${Buffer.from(connection.id, 'base64').toString().split(':')[1]}`),
      ),
    ).toEqual([]);
  });
});

test('a schedule restore that had to wait decides on the connection as it is then: a pause meanwhile is not undone', async () => {
  const connection = await createConnection('pager', 'pager-restore-race', { pages: 1, perPage: 1 }, '0 0 1 1 *');
  const localId = Buffer.from(connection.id, 'base64').toString().split(':')[1]!;
  const queue = t.app.runtime.services.queues.queue(QUEUES.connectors);
  const scheduled = async () => (await queue.getJobSchedulers()).some((s) => String(s.key ?? s.id).includes(`connection-sync-${localId}`));
  expect(await scheduled()).toBe(true);

  // Another process is syncing this connection's schedule: the restore lists the connection, then waits for it.
  const holder = t.app.dataSource.createQueryRunner();
  await holder.connect();
  await holder.startTransaction();
  await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('rapport.connection.schedule.' || $1, 0))`, [localId]);
  const restore = t.app.runtime.services.connectors.connections.restoreSchedules();
  await eventually(async () => {
    const [w] = await t.app.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%rapport.connection.schedule.%' AND pid <> pg_backend_pid()`,
    );
    return w!.n > 0 ? true : undefined;
  });
  // Meanwhile the connection is paused and committed.
  await t.app.sql(`UPDATE connections SET status = 'PAUSED' WHERE id = $1`, [localId]);
  await holder.commitTransaction();
  await holder.release();
  await restore;
  expect(await scheduled()).toBe(false);
});

describe('helpdesk pull connector end to end', () => {
  test('pages through the API, stops on a long Retry-After as PARTIAL, and the next run finishes without duplicates', async () => {
    const connection = await createConnection('helpdesk', 'helpdesk', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token, pageSize: 3 });
    expect(JSON.stringify(connection.config)).not.toContain(helpdeskApi.token);
    // The first page comes through; the second answers 429 with an hour's Retry-After.
    helpdeskApi.failOnRequest(2, { status: 429, retryAfter: '3600' });
    const partial = await runToEnd(connection.id);
    expect(partial).toMatchObject({ status: 'PARTIAL', error: expect.stringContaining('CONNECTOR_RATE_LIMITED'), details: { pages: 1 } });
    const firstPage = makeTickets(3).reduce((n, ticket) => n + 1 + ticket.replies.length + (ticket.satisfaction_rating ? 1 : 0), 0);
    expect(partial.accepted).toBe(firstPage + 3);
    const total = makeTickets(9).reduce((n, ticket) => n + 1 + ticket.replies.length + (ticket.satisfaction_rating ? 1 : 0), 0);
    const rest = await runToEnd(connection.id);
    expect(rest.status).toBe('SUCCEEDED');
    expect(rest.duplicates).toBe(0);
    const ids = await externalIds(connection.id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
  });
});

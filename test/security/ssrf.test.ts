import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startFakeHelpdeskApi, makeTickets, type FakeHelpdeskApi } from '../../plugins/helpdesk/fake-api';
import { ConnectionRunsDocument, CreateConnectionDocument, UpdateConnectionDocument } from '../generated/graphql';
import { ConfigurationError, loadConfig } from '../../src/config';
import { REPO_ROOT, startConnectorTestApp, type ConnectorTestApp } from '../helpers/connectors';

/** A local HTTP server that records what reaches it. */
interface Listener {
  url: string;
  port: number;
  requests: Array<{ url: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

async function listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ url: request.url ?? '', authorization: request.headers.authorization });
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const INTERNAL_BODY = '{"status":"ready","database":"rapport-internal-7f3a"}';
const CSV = ['order_id,email,ordered_at', 'o1,ada@example.com,2024-05-01T10:00:00Z', 'o2,grace@example.com,2024-05-02T10:00:00Z'].join('\n');

let t: ConnectorTestApp;
/** An internal service on loopback (like Rapport's own /readyz): not allowlisted. */
let internal: Listener;
/** The CSV drop: allowlisted by host:port, so only its own port on loopback is reachable. */
let files: Listener;
/** A listener of someone who may edit connections and wants their credentials: allowlisted, so only the secret rule stops it. */
let collector: Listener;
let helpdeskApi: FakeHelpdeskApi;

beforeAll(async () => {
  internal = await listen((_request, response) => response.writeHead(200, { 'content-type': 'text/csv' }).end(INTERNAL_BODY));
  collector = await listen((_request, response) => response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"nope"}'));
  files = await listen((request, response) => {
    const url = new URL(request.url ?? '/', 'http://files');
    if (url.pathname === '/orders.csv') response.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end(CSV);
    else if (url.pathname === '/to-internal.csv') response.writeHead(302, { location: `${internal.url}/readyz` }).end();
    else if (url.pathname === '/to-localhost.csv') response.writeHead(302, { location: `http://localhost:${internal.port}/readyz` }).end();
    else if (url.pathname === '/loop.csv') response.writeHead(302, { location: `/loop.csv?hop=${Number(url.searchParams.get('hop') ?? 0) + 1}` }).end();
    else response.writeHead(404).end();
  });
  helpdeskApi = await startFakeHelpdeskApi({ tickets: makeTickets(2) });
  t = await startConnectorTestApp({
    workers: true,
    queue: 'postgres',
    env: {
      RAPPORT_CONNECTOR_PACKAGES: ['webhook', 'helpdesk', 'csv-import'].map((name) => path.join(REPO_ROOT, 'plugins', name)).join(','),
      RAPPORT_CONNECTOR_ALLOWED_HOSTS: [files.port, collector.port, new URL(helpdeskApi.url).port].map((port) => `127.0.0.1:${port}`).join(','),
      RAPPORT_SYNC_TIME_LIMIT_SECONDS: '30',
    },
  });
});

afterAll(async () => {
  await t?.close();
  await Promise.all([internal, files, collector, helpdeskApi].map((server) => server?.close()));
});

async function createConnection(connector: string, name: string, config: Record<string, unknown>) {
  const { data, errors } = await t.gql(CreateConnectionDocument, { input: { connector, name, config } });
  expect(errors).toBeUndefined();
  return data!.createConnection;
}

const runToEnd = (connectionId: string) => t.runToEnd(connectionId);

async function connectionOf(connectionId: string) {
  const { data } = await t.gql(ConnectionRunsDocument, { id: connectionId, first: 1 });
  return data!.node as { status: string; lastError: string | null; config: Record<string, unknown> };
}

const csvConfig = (url: string) => ({
  url,
  channel: 'payment',
  typeValue: 'purchase',
  mapping: { email: 'email', externalId: 'order_id', occurredAt: 'ordered_at' },
});

describe('Outbound HTTP from plugins goes through the kit client with an SSRF guard', () => {
  test('the operator allowlist reaches the sync process: the allowlisted host:port is imported, another port of the same host is not', async () => {
    const allowed = await createConnection('csv-import', 'csv-allowed', csvConfig(`${files.url}/orders.csv`));
    expect(await runToEnd(allowed.id)).toMatchObject({ status: 'SUCCEEDED', accepted: 2 });
    const otherPort = await createConnection('csv-import', 'csv-other-port', csvConfig(`${internal.url}/orders.csv`));
    expect(await runToEnd(otherPort.id)).toMatchObject({ status: 'FAILED', accepted: 0, error: expect.stringContaining('CONNECTOR_EGRESS_DENIED') });
    expect(internal.requests).toEqual([]);
  });

  test('csv-import refuses a 302 to a loopback port that is not allowlisted: nothing is sent there and nothing from it reaches the run or the connection', async () => {
    for (const [name, file] of [
      ['csv-redirect-ip', 'to-internal.csv'],
      ['csv-redirect-name', 'to-localhost.csv'],
    ] as const) {
      const connection = await createConnection('csv-import', name, csvConfig(`${files.url}/${file}`));
      const run = await runToEnd(connection.id);
      expect(run).toMatchObject({ status: 'FAILED', accepted: 0, error: expect.stringContaining('CONNECTOR_EGRESS_DENIED') });
      expect(run.error).not.toContain('rapport-internal-7f3a');
      const after = await connectionOf(connection.id);
      expect(after.status).toBe('ACTIVE');
      expect(after.lastError ?? '').not.toContain('rapport-internal-7f3a');
    }
    expect(files.requests.map((request) => request.url)).toEqual(expect.arrayContaining(['/to-internal.csv', '/to-localhost.csv']));
    expect(internal.requests).toEqual([]);
  });

  test('a URL naming loopback, a private address or the metadata endpoint is refused before any connection', async () => {
    const targets = [
      `${internal.url}/readyz`,
      `http://[::ffff:127.0.0.1]:${internal.port}/readyz`,
      `http://localhost:${internal.port}/readyz`,
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://10.255.255.1/export.csv',
    ];
    for (const [index, url] of targets.entries()) {
      const connection = await createConnection('csv-import', `csv-direct-${index}`, csvConfig(url));
      const run = await runToEnd(connection.id);
      expect([url, run.status, run.error]).toEqual([url, 'FAILED', expect.stringContaining('CONNECTOR_EGRESS_DENIED')]);
    }
    expect(internal.requests).toEqual([]);
  });

  test('RAPPORT_CONNECTOR_ALLOWED_HOSTS is checked at startup: a malformed entry stops it naming the variable', () => {
    expect(loadConfig({ RAPPORT_CONNECTOR_ALLOWED_HOSTS: ' CRM.internal:8443, 10.0.0.0/8 ,' }).connectorAllowedHosts).toEqual([
      'crm.internal:8443',
      '10.0.0.0/8',
    ]);
    expect(loadConfig({}).connectorAllowedHosts).toEqual([]);
    const error = (() => {
      try {
        loadConfig({ RAPPORT_CONNECTOR_ALLOWED_HOSTS: 'crm.internal,http://169.254.169.254/' });
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).issues).toEqual([
      { variable: 'RAPPORT_CONNECTOR_ALLOWED_HOSTS', message: expect.stringContaining('http://169.254.169.254/') },
    ]);
  });

  test('redirects are capped at 5', async () => {
    // Counted from after the creation, whose check (a HEAD) follows the same redirects.
    const connection = await createConnection('csv-import', 'csv-loop', csvConfig(`${files.url}/loop.csv`));
    const before = files.requests.length;
    const run = await runToEnd(connection.id);
    expect(run).toMatchObject({ status: 'FAILED', error: expect.stringContaining('CONNECTOR_TOO_MANY_REDIRECTS') });
    expect(files.requests.length - before).toBe(6);
  });
});

describe('updateConnection that changes a URL-like config field requires the stored secrets again', () => {
  test('moving a connection to another base URL without its token is refused with SECRETS_REQUIRED, and the stored token never reaches the new URL', async () => {
    const connection = await createConnection('helpdesk', 'helpdesk-moved', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token, pageSize: 3 });
    // A change that leaves the endpoints alone keeps the stored token without sending it.
    const tuned = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { baseUrl: helpdeskApi.url, pageSize: 5 } } });
    expect(tuned.errors).toBeUndefined();
    expect(await runToEnd(connection.id)).toMatchObject({ status: 'SUCCEEDED' });

    for (const apiToken of [undefined, '[redacted]']) {
      const { data, errors } = await t.gql(UpdateConnectionDocument, {
        id: connection.id,
        input: { config: { baseUrl: collector.url, pageSize: 5, ...(apiToken ? { apiToken } : {}) } },
      });
      expect(data).toBeNull();
      expect(errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'SECRETS_REQUIRED', field: 'config.apiToken' }) })]);
    }
    expect((await connectionOf(connection.id)).config).toMatchObject({ baseUrl: helpdeskApi.url, apiToken: '[redacted]' });

    // The same edit with a token of the caller's own passes this rule and goes to the connector's check, at
    // the new URL with that token only; the collector refuses every token, so the check refuses the move.
    const moved = await t.gql(UpdateConnectionDocument, {
      id: connection.id,
      input: { config: { baseUrl: collector.url, apiToken: 'callers-own-token', pageSize: 3 } },
    });
    expect(moved.errors).toEqual([expect.objectContaining({ extensions: { code: 'CONNECTION_CHECK_FAILED', field: 'config' } })]);
    expect((await connectionOf(connection.id)).config).toMatchObject({ baseUrl: helpdeskApi.url });
    expect(collector.requests.length).toBeGreaterThan(0);
    expect(collector.requests.map((request) => request.authorization)).toEqual(collector.requests.map(() => 'Bearer callers-own-token'));
    expect(JSON.stringify(collector.requests)).not.toContain(helpdeskApi.token);
  });

  test('csv-import: a new url needs the stored authorization again, or null to drop it', async () => {
    const connection = await createConnection('csv-import', 'csv-moved', { ...csvConfig(`${files.url}/orders.csv`), authorization: 'Bearer drop-token-1' });
    const refused = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: csvConfig(`${collector.url}/orders.csv`) } });
    expect(refused.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'SECRETS_REQUIRED', field: 'config.authorization' }) }),
    ]);

    const dropped = await t.gql(UpdateConnectionDocument, {
      id: connection.id,
      input: { config: { ...csvConfig(`${collector.url}/orders.csv`), authorization: null } },
    });
    expect(dropped.errors).toBeUndefined();
    expect(dropped.data!.updateConnection.config).not.toHaveProperty('authorization');
    await runToEnd(connection.id);
    expect(JSON.stringify(collector.requests)).not.toContain('drop-token-1');
  });
});

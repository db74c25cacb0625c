import request from 'supertest';
import { print } from 'graphql';
import { makeTickets, startFakeHelpdeskApi, type FakeHelpdeskApi } from '../plugins/helpdesk/fake-api';
import { ConnectionRunsDocument, CreateConnectionDocument, TestConnectionDocument, UpdateConnectionDocument } from './generated/graphql';
import { startConnectorTestApp, type ConnectorTestApp } from './helpers/connectors';

// What a first connector partner ran into (issue 21): check on create and update, testConnection.
let t: ConnectorTestApp;
let helpdeskApi: FakeHelpdeskApi;

beforeAll(async () => {
  // The fake help-desk API listens on loopback, which connectors may reach only when the operator allowlists it.
  t = await startConnectorTestApp({ workers: true, queue: 'postgres', env: { RAPPORT_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1' } });
  helpdeskApi = await startFakeHelpdeskApi({ tickets: makeTickets(3) });
});
afterAll(async () => {
  await t.close();
  await helpdeskApi.close();
});

const localOf = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;

async function createConnection(connector: string, name: string, config: Record<string, unknown>) {
  const { data, errors } = await t.gql(CreateConnectionDocument, { input: { connector, name, config } });
  expect(errors).toBeUndefined();
  return data!.createConnection;
}

describe("the connector's check runs on createConnection, on updateConnection of the config, and on testConnection", () => {
  test('a wrong API key is refused at creation with the connector’s error, after a request to the API; nothing is stored', async () => {
    const before = helpdeskApi.checkRequests;
    const { data, errors } = await t.gql(CreateConnectionDocument, {
      input: { connector: 'helpdesk', name: 'wrong-key', config: { baseUrl: helpdeskApi.url, apiToken: 'not-the-token-0123456789' } },
    });
    expect(data).toBeNull();
    expect(errors).toEqual([
      expect.objectContaining({
        message: 'connector "helpdesk" refused the config (CONNECTOR_AUTHENTICATION): the help desk refused the API token',
        extensions: { code: 'CONNECTION_CHECK_FAILED', field: 'config' },
      }),
    ]);
    expect(helpdeskApi.checkRequests).toBe(before + 1);
    expect(await t.app.sql(`SELECT id FROM connections WHERE name = 'wrong-key'`)).toEqual([]);

    const created = await createConnection('helpdesk', 'right-key', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token });
    expect(created.status).toBe('ACTIVE');
    expect(helpdeskApi.checkRequests).toBe(before + 2);
  });

  test('a changed config is checked: a refused one leaves the connection as it was; a name change calls nothing', async () => {
    const connection = await createConnection('helpdesk', 'update-checked', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token, pageSize: 3 });
    const before = helpdeskApi.checkRequests;
    const refused = await t.gql(UpdateConnectionDocument, {
      id: connection.id,
      input: { config: { baseUrl: helpdeskApi.url, apiToken: 'not-the-token-0123456789', pageSize: 3 } },
    });
    expect(refused.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONNECTION_CHECK_FAILED' }) })]);
    expect(helpdeskApi.checkRequests).toBe(before + 1);
    // The stored token still works.
    expect(await t.runToEnd(connection.id)).toMatchObject({ status: 'SUCCEEDED' });

    expect((await t.gql(UpdateConnectionDocument, { id: connection.id, input: { name: 'update-checked-renamed' } })).errors).toBeUndefined();
    expect((await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { baseUrl: helpdeskApi.url, pageSize: 3 } } })).errors).toBeUndefined();
    // Neither a rename nor the same config again is a new config to check.
    expect(helpdeskApi.checkRequests).toBe(before + 1);
    const changed = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { config: { baseUrl: helpdeskApi.url, pageSize: 5 } } });
    expect(changed.errors).toBeUndefined();
    expect(helpdeskApi.checkRequests).toBe(before + 2);
  });

  test('a check that cannot finish does not refuse the connection; testConnection reports each outcome and changes nothing', async () => {
    // Nothing listens on port 1: the check fails on the network, which says nothing about the credentials.
    const unreachable = await createConnection('helpdesk', 'unreachable', { baseUrl: 'http://127.0.0.1:1', apiToken: 'some-token-0123456789' });
    const down = await t.gql(TestConnectionDocument, { id: unreachable.id });
    expect(down.errors).toBeUndefined();
    expect(down.data!.testConnection).toMatchObject({ checked: true, passed: false, conclusive: false, code: expect.stringMatching(/^CONNECTOR_/) });
    expect(down.data!.testConnection.connection).toMatchObject({ id: unreachable.id, status: 'ACTIVE' });

    const good = await createConnection('helpdesk', 'tested', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token });
    const before = helpdeskApi.checkRequests;
    const passed = await t.gql(TestConnectionDocument, { id: good.id });
    expect(passed.data!.testConnection).toMatchObject({ checked: true, passed: true, conclusive: false, code: null, message: null, field: null });
    expect(helpdeskApi.checkRequests).toBe(before + 1);

    const webhook = await createConnection('webhook', 'no-check', {
      signingSecret: 'whsec_partner_test_0001',
      typeValue: 'signup',
      mapping: { email: 'user.email', externalId: 'id', occurredAt: 'timestamp' },
    });
    expect((await t.gql(TestConnectionDocument, { id: webhook.id })).data!.testConnection).toMatchObject({ checked: false, passed: true });

    const unknown = await t.gql(TestConnectionDocument, { id: Buffer.from('Connection:999999').toString('base64') });
    expect(unknown.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND', field: 'id' }) })]);
  });

  test('testConnection names the refusal of a token the source no longer accepts, changes nothing, and needs connectors:admin', async () => {
    const connection = await createConnection('helpdesk', 'revoked', { baseUrl: helpdeskApi.url, apiToken: helpdeskApi.token });
    // The source stops accepting the stored token (another API with another token stands in for a revocation).
    const other = await startFakeHelpdeskApi({ token: 'another-token-0123456789' });
    try {
      await t.app.sql(`UPDATE connections SET config = jsonb_set(config, '{baseUrl}', to_jsonb($2::text)) WHERE id = $1`, [localOf(connection.id), other.url]);
      const { data, errors } = await t.gql(TestConnectionDocument, { id: connection.id });
      expect(errors).toBeUndefined();
      expect(data!.testConnection).toMatchObject({
        checked: true,
        passed: false,
        conclusive: true,
        code: 'CONNECTOR_AUTHENTICATION',
        message: 'the help desk refused the API token',
        field: 'config',
      });
      expect(other.checkRequests).toBe(1);
      expect((await t.gql(ConnectionRunsDocument, { id: connection.id, first: 1 })).data!.node).toMatchObject({ status: 'ACTIVE', lastError: null });
    } finally {
      await other.close();
    }

    const created = await request(t.handler)
      .post('/graphql')
      .set('authorization', `Bearer ${t.adminKey}`)
      .send({ query: 'mutation { createApiKey(name: "partners-reader", scopes: ["customers:read"]) { key } }' });
    const narrow = created.body.data.createApiKey.key as string;
    const denied = await request(t.handler)
      .post('/graphql')
      .set('authorization', `Bearer ${narrow}`)
      .send({ query: print(TestConnectionDocument), variables: { id: connection.id } });
    expect(denied.body.errors[0]).toMatchObject({ message: 'Mutation.testConnection requires the scope connectors:admin', extensions: { code: 'FORBIDDEN' } });
  });
});

import request from 'supertest';
import { print } from 'graphql';
import { makeTickets, startFakeHelpdeskApi, type FakeHelpdeskApi } from '../plugins/helpdesk/fake-api';
import {
  ConnectionRunsDocument,
  CreateConnectionDocument,
  DeleteConnectionDocument,
  TestConnectionDocument,
  UpdateConnectionDocument,
} from './generated/graphql';
import { startConnectorTestApp, type ConnectorTestApp } from './helpers/connectors';
import { WEBHOOK_SIGNATURE_HEADER, normalizeIdentifier as kitNormalizeIdentifier, signWebhook } from '@rapport/connector-kit';
import { normalizeIdentifier as hostNormalizeIdentifier } from '../src/modules/customers';

// What a first connector partner ran into (issue 21): check on create and update, testConnection.
let t: ConnectorTestApp;
let helpdeskApi: FakeHelpdeskApi;

beforeAll(async () => {
  // The fake help-desk API listens on loopback, which connectors may reach only when the operator allowlists it.
  t = await startConnectorTestApp({
    workers: true,
    queue: 'postgres',
    env: { RAPPORT_CONNECTOR_ALLOWED_HOSTS: '127.0.0.1', RAPPORT_DEFAULT_PHONE_COUNTRY: 'us' },
  });
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

describe('phone numbers: national numbers read in the connection’s defaultCountry, else RAPPORT_DEFAULT_PHONE_COUNTRY', () => {
  const SECRET = 'whsec_partner_phones_0001';
  const smsConfig = { signingSecret: SECRET, typeValue: 'sms_received', channel: 'sms', mapping: { phone: 'from', externalId: 'id', occurredAt: 'at' } };
  const deliver = (localId: string, body: Record<string, unknown>) => {
    const text = JSON.stringify(body);
    return request(t.handler)
      .post(`/hooks/${localId}`)
      .set('content-type', 'application/json')
      .set(WEBHOOK_SIGNATURE_HEADER, signWebhook(SECRET, text, new Date()))
      .send(text);
  };
  const phonesOf = async (source: string) =>
    (
      await t.app.sql<{ value: string }>(
        `SELECT ci.value FROM interactions i JOIN customer_identifiers ci ON ci.customer_id = i.customer_id AND ci.type = 'phone'
          WHERE i.source = $1 ORDER BY i.external_id`,
        [source],
      )
    ).map((r) => r.value);

  test('the ingest service and the kit share one implementation', () => {
    expect(hostNormalizeIdentifier).toBe(kitNormalizeIdentifier);
  });

  test('a connection with defaultCountry GB stores 07911 123456 as +447911123456; one without uses the instance default', async () => {
    const { data, errors } = await t.gql(CreateConnectionDocument, {
      input: { connector: 'webhook', name: 'sms-gb', config: smsConfig, defaultCountry: 'gb' },
    });
    expect(errors).toBeUndefined();
    const gb = data!.createConnection;
    expect(gb.defaultCountry).toBe('GB');
    expect(await deliver(localOf(gb.id), { id: 'sms-1', at: '2024-05-01T12:00:00Z', from: '07911 123456' })).toMatchObject({ status: 200 });
    expect(await phonesOf(gb.source)).toEqual(['+447911123456']);

    const us = await createConnection('webhook', 'sms-instance-default', smsConfig);
    expect(us.defaultCountry).toBeNull();
    expect(await deliver(localOf(us.id), { id: 'sms-2', at: '2024-05-01T12:00:00Z', from: '(415) 555-2671' })).toMatchObject({ status: 200 });
    expect(await phonesOf(us.source)).toEqual(['+14155552671']);

    // What is not a phone number in that country is refused with the field at fault; nothing is stored.
    const refused = await deliver(localOf(gb.id), { id: 'sms-3', at: '2024-05-01T12:00:00Z', from: 'abc' });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'interactions[0].customer.identifiers[0].value', code: 'INVALID_IDENTIFIER' })]);
    expect(await phonesOf(gb.source)).toEqual(['+447911123456']);
  });

  test('defaultCountry is validated and can be changed or cleared', async () => {
    const bad = await t.gql(CreateConnectionDocument, {
      input: { connector: 'webhook', name: 'sms-bad', config: smsConfig, defaultCountry: 'United Kingdom' },
    });
    expect(bad.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION_FAILED', field: 'defaultCountry' } })]);
    const connection = await createConnection('webhook', 'sms-changed', smsConfig);
    const set = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { defaultCountry: 'FR' } });
    expect(set.data!.updateConnection.defaultCountry).toBe('FR');
    const cleared = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { defaultCountry: '' } });
    expect(cleared.data!.updateConnection.defaultCountry).toBeNull();
    const wrong = await t.gql(UpdateConnectionDocument, { id: connection.id, input: { defaultCountry: 'XX' } });
    expect(wrong.errors).toEqual([expect.objectContaining({ extensions: { code: 'VALIDATION_FAILED', field: 'defaultCountry' } })]);
  });
});

describe('deduplication scope: a connector may declare the remote account as its source key', () => {
  const storedIn = async (source: string) =>
    (await t.app.sql<{ count: number }>(`SELECT count(*)::int AS count FROM interactions WHERE source = $1`, [source]))[0]!.count;

  test('two connections to the same account share dedup, and so does one deleted and created again', async () => {
    const first = await createConnection('pager', 'account-a-1', { pages: 1, perPage: 2, account: 'acct-81' });
    expect(first.source).toBe('connector:pager:acct-81');
    expect(await t.runToEnd(first.id)).toMatchObject({ status: 'SUCCEEDED', accepted: 2, duplicates: 0 });

    const second = await createConnection('pager', 'account-a-2', { pages: 1, perPage: 2, account: 'acct-81' });
    expect(second.source).toBe('connector:pager:acct-81');
    expect(await t.runToEnd(second.id)).toMatchObject({ status: 'SUCCEEDED', accepted: 0, duplicates: 2 });

    expect((await t.gql(DeleteConnectionDocument, { id: first.id })).errors).toBeUndefined();
    const again = await createConnection('pager', 'account-a-3', { pages: 1, perPage: 2, account: 'acct-81' });
    expect(await t.runToEnd(again.id)).toMatchObject({ status: 'SUCCEEDED', accepted: 0, duplicates: 2 });
    expect(await storedIn('connector:pager:acct-81')).toBe(2);

    // Another account is a scope of its own; moving a connection to it moves its scope.
    const moved = await t.gql(UpdateConnectionDocument, { id: second.id, input: { config: { pages: 1, perPage: 2, account: 'acct-99' } } });
    expect(moved.data!.updateConnection.source).toBe('connector:pager:acct-99');
    expect(await t.runToEnd(second.id)).toMatchObject({ status: 'SUCCEEDED', accepted: 2, duplicates: 0 });
  });

  test('without a key each connection is its own scope: the same records are stored again', async () => {
    const one = await createConnection('pager', 'no-account-1', { pages: 1, perPage: 2 });
    const two = await createConnection('pager', 'no-account-2', { pages: 1, perPage: 2 });
    expect(one.source).toBe(`connector:${localOf(one.id)}`);
    expect(await t.runToEnd(one.id)).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await t.runToEnd(two.id)).toMatchObject({ accepted: 2, duplicates: 0 });
    // Naming the account later does not move it into the shared scope: it would import its records again.
    const named = await t.gql(UpdateConnectionDocument, { id: one.id, input: { config: { pages: 1, perPage: 2, account: 'acct-81' }, resetState: true } });
    expect(named.data!.updateConnection.source).toBe(`connector:${localOf(one.id)}`);
    expect(await t.runToEnd(one.id)).toMatchObject({ accepted: 0, duplicates: 2 });
  });
});

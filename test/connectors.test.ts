import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '@rapport/connector-kit';
import { createHttpHandler, type HttpHandler } from '../src/graphql/server';
import { loadPlugins } from '../src/modules/connectors/plugin-loader';
import { loadOrCreateKeyFile, resolveSecretKey, SecretBox } from '../src/modules/connectors/secret-box';
import {
  ConnectionRunsDocument,
  ConnectionsDocument,
  ConnectorsDocument,
  CreateConnectionDocument,
  DeleteConnectionDocument,
  UpdateConnectionDocument,
} from './generated/graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { startTestApp, type GraphQLErrorBody, type TestApp } from './helpers/app';

const root = path.join(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures/plugins');
const SECRET = 'whsec_generic_0123456789';
const mapping = { email: 'user.email', externalId: 'id', occurredAt: 'timestamp', type: 'event', value: 'amount', currency: 'currency' };

const ADMIN_KEY = `admin_${randomBytes(12).toString('hex')}`;
let app: TestApp;
let handler: HttpHandler;

/** Posts a typed operation through the handler that mounts the connector routes, as the bootstrap admin. */
async function gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<{ data?: R; errors?: GraphQLErrorBody[] }> {
  const response = await request(handler)
    .post('/graphql')
    .set('authorization', `Bearer ${ADMIN_KEY}`)
    .send({ query: print(document), variables });
  return response.body;
}

beforeAll(async () => {
  app = await startTestApp({
    env: {
      RAPPORT_PLUGINS_DIR: FIXTURES,
      RAPPORT_CONNECTOR_PACKAGES: [path.join(root, 'plugins/webhook'), path.join(root, 'plugins/helpdesk')].join(','),
      RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'),
      RAPPORT_WEBHOOK_MAX_BODY_BYTES: '4096',
      RAPPORT_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    },
  });
  handler = createHttpHandler(app.runtime.services, app.runtime.services.connectors.routes());
});
afterAll(() => app.close());

async function createWebhookConnection(name: string) {
  const { data, errors } = await gql(CreateConnectionDocument, { input: { connector: 'webhook', name, config: { signingSecret: SECRET, mapping } } });
  expect(errors).toBeUndefined();
  return data!.createConnection;
}

function deliver(hookPath: string, body: unknown, { secret = SECRET, at = new Date() }: { secret?: string | null; at?: Date } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const req = request(handler).post(hookPath).set('content-type', 'application/json');
  if (secret) req.set(WEBHOOK_SIGNATURE_HEADER, signWebhook(secret, text, at));
  return req.send(text);
}

const signup = (id: string, email = 'ada@example.com') => ({ id, event: 'signup', timestamp: '2024-05-01T12:00:00Z', user: { email } });

describe('plugin loading', () => {
  test('reports a plugin that throws at load and one with an unsupported contract, while the others work', async () => {
    const { data } = await gql(ConnectorsDocument, {});
    const byId = Object.fromEntries(data!.connectors.map((c) => [c.id, c]));
    expect(byId['broken']).toMatchObject({ status: 'FAILED', error: expect.stringContaining('cannot find the vendor SDK'), version: null });
    expect(byId['invalid-definition']).toMatchObject({
      status: 'FAILED',
      errorCode: 'CONNECTOR_LOAD_UNSUPPORTED_API_VERSION',
      error: expect.stringContaining('API version 99'),
    });
    expect(byId['pager']).toMatchObject({ status: 'LOADED', version: '0.0.1', pull: true, push: false });
    expect(byId['webhook']).toMatchObject({ status: 'LOADED', push: true, pull: false, displayName: 'Signed JSON webhook' });
    expect(byId['helpdesk']).toMatchObject({ status: 'LOADED', pull: true });
    expect(byId['webhook']!.configSchema).toContainEqual(expect.objectContaining({ name: 'signingSecret', secret: true, required: true }));
  });

  test('a second plugin with an id already taken fails with a clear error', () => {
    const plugins = loadPlugins({ packages: [path.join(root, 'plugins/webhook'), path.join(root, 'plugins/webhook/index.ts')] });
    expect(plugins.map((p) => p.status)).toEqual(['LOADED', 'FAILED']);
    expect(plugins[1]).toMatchObject({ code: 'CONNECTOR_LOAD_DUPLICATE_ID', error: expect.stringContaining('already used') });
  });

  test('every plugin shipped in plugins/ loads, and its own test runs the conformance suite', () => {
    const plugins = loadPlugins({ pluginsDir: path.join(root, 'plugins') });
    expect(plugins.map((p) => [p.id, p.status])).toEqual(plugins.map((p) => [p.id, 'LOADED']));
    expect(plugins.map((p) => p.id).sort()).toEqual(expect.arrayContaining(['csv-import', 'email-events', 'helpdesk', 'payments', 'web-tracking', 'webhook']));
    for (const plugin of plugins) {
      const folder = plugin.source.location;
      const tests = readdirSync(folder).filter((name) => name.endsWith('.test.ts'));
      expect(tests.some((name) => readFileSync(path.join(folder, name), 'utf8').includes('runConformanceSuite('))).toBe(true);
    }
  });

  test('creating a connection of a plugin that failed to load names the reason', async () => {
    const { errors } = await gql(CreateConnectionDocument, { input: { connector: 'broken', name: 'b', config: {} } });
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'CONNECTOR_UNAVAILABLE', field: 'connector' });
    expect(errors?.[0]?.message).toContain('cannot find the vendor SDK');
  });
});

describe('connections', () => {
  test('config errors name the field', async () => {
    const { errors } = await gql(CreateConnectionDocument, {
      input: { connector: 'webhook', name: 'bad', config: { signingSecret: 'short', mapping: { email: 'user.email', occurredAt: 'ts' } } },
    });
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'CONNECTOR_CONFIG_INVALID', field: 'config.signingSecret' });
    expect(errors?.[0]?.message).toContain('config.mapping.externalId');
    // Every issue, field by field, for a form to show beside its inputs.
    const issues = (errors?.[0]?.extensions?.details as { issues: { field: string; message: string }[] }).issues;
    expect(issues.map((i) => i.field)).toEqual(expect.arrayContaining(['config.signingSecret', 'config.mapping.externalId']));
  });

  test('an unknown connector and a bad schedule are refused', async () => {
    const unknown = await gql(CreateConnectionDocument, { input: { connector: 'nope', name: 'x', config: {} } });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'CONNECTOR_NOT_FOUND', field: 'connector' });
    const schedule = await gql(CreateConnectionDocument, { input: { connector: 'pager', name: 'x', config: {}, schedule: 'every tuesday' } });
    expect(schedule.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'schedule' });
    const pushOnly = await gql(CreateConnectionDocument, {
      input: { connector: 'webhook', name: 'x', config: { signingSecret: SECRET, mapping }, schedule: '60' },
    });
    expect(pushOnly.errors?.[0]?.extensions).toMatchObject({ field: 'schedule' });
  });

  test('secrets are encrypted in the table and never returned; an update keeps a secret sent back redacted', async () => {
    const connection = await createWebhookConnection('secrets');
    expect(connection.config).toMatchObject({ signingSecret: '[redacted]', channel: 'web' });
    const [row] = await app.sql<{ config: string }>(`SELECT config::text AS config FROM connections WHERE name = 'secrets'`);
    expect(row!.config).not.toContain(SECRET);
    expect(JSON.parse(row!.config).signingSecret).toMatch(/^enc:v1:/);

    const listed = await gql(ConnectionsDocument, { first: 50 });
    expect(JSON.stringify(listed)).not.toContain(SECRET);

    const updated = await gql(UpdateConnectionDocument, { id: connection.id, input: { config: { ...(connection.config as object), channel: 'email' } } });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateConnection.config).toMatchObject({ signingSecret: '[redacted]', channel: 'email' });
    // The kept secret still verifies deliveries.
    const response = await deliver(connection.webhookPath!, signup('evt_secret'));
    expect(response.status).toBe(200);
  });

  test('the same name twice is refused, and delete removes the connection and its runs', async () => {
    const connection = await createWebhookConnection('to-delete');
    await deliver(connection.webhookPath!, signup('evt_del'));
    const again = await gql(CreateConnectionDocument, { input: { connector: 'webhook', name: 'to-delete', config: { signingSecret: SECRET, mapping } } });
    expect(again.errors?.[0]?.extensions).toMatchObject({ field: 'name' });
    const deleted = await gql(DeleteConnectionDocument, { id: connection.id });
    expect(deleted.data!.deleteConnection.deletedId).toBe(connection.id);
    const runs = await app.sql(`SELECT 1 FROM connector_runs r JOIN connections c ON c.id = r.connection_id WHERE c.name = 'to-delete'`);
    expect(runs).toEqual([]);
    expect(await app.sql(`SELECT 1 FROM connections WHERE name = 'to-delete'`)).toEqual([]);
  });
});

describe('webhook deliveries', () => {
  let hook: string;
  let connectionId: string;
  beforeAll(async () => {
    const connection = await createWebhookConnection('hooks');
    hook = connection.webhookPath!;
    connectionId = connection.id;
  });

  const interactionsOf = (externalId: string) => app.sql(`SELECT id FROM interactions WHERE external_id = $1`, [externalId]);

  test('stores a signed delivery once, however often it is sent, and records a run per delivery', async () => {
    const body = signup('evt_triple', 'grace@example.com');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await deliver(hook, body));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => [a.body.accepted, a.body.duplicates])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
    ]);
    expect(await interactionsOf('evt_triple')).toHaveLength(1);
    const [stored] = await app.sql<{ source: string; type: string }>(`SELECT source, type FROM interactions WHERE external_id = 'evt_triple'`);
    expect(stored!.source).toMatch(/^connector:\d+$/);

    const { data } = await gql(ConnectionRunsDocument, { id: connectionId, first: 10 });
    const node = data!.node as { runs: { edges: { node: { kind: string; status: string; received: number; accepted: number; duplicates: number } }[] } };
    const runs = node.runs.edges.map((e) => e.node).filter((r) => r.kind === 'WEBHOOK');
    expect(runs.slice(0, 3).map((r) => [r.status, r.received, r.accepted, r.duplicates])).toEqual([
      ['SUCCEEDED', 1, 0, 1],
      ['SUCCEEDED', 1, 0, 1],
      ['SUCCEEDED', 1, 1, 0],
    ]);
  });

  test('401 for a missing, wrong or stale signature, storing nothing', async () => {
    expect((await deliver(hook, signup('evt_unsigned'), { secret: null })).status).toBe(401);
    expect((await deliver(hook, signup('evt_wrong'), { secret: 'whsec_not_the_secret_000' })).status).toBe(401);
    const stale = await deliver(hook, signup('evt_stale'), { at: new Date(Date.now() - 3_600_000) });
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('WEBHOOK_REFUSED');
    for (const id of ['evt_unsigned', 'evt_wrong', 'evt_stale']) expect(await interactionsOf(id)).toEqual([]);
  });

  test('400 with a reason for a body that is not JSON or misses a mapped field, storing nothing', async () => {
    const notJson = await deliver(hook, '{"id": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', reason: expect.stringContaining('not JSON') });
    const missing = await deliver(hook, { events: [signup('evt_ok_in_bad_batch'), { ...signup('x'), timestamp: undefined }] });
    expect(missing.status).toBe(400);
    expect(missing.body.reason).toContain('events[1].timestamp');
    const badDate = await deliver(hook, { ...signup('evt_bad_date'), timestamp: 'yesterday' });
    expect(badDate.status).toBe(400);
    expect(badDate.body.message).toContain('interactions[0].occurredAt');
    for (const id of ['evt_ok_in_bad_batch', 'evt_bad_date']) expect(await interactionsOf(id)).toEqual([]);
  });

  test('413 over the webhook body limit, the refusal answer (401) for an unknown connection', async () => {
    const big = await deliver(hook, { ...signup('evt_big'), padding: 'x'.repeat(8_000) });
    expect(big.status).toBe(413);
    expect(await interactionsOf('evt_big')).toEqual([]);
    expect((await deliver('/hooks/999999', signup('evt_404'))).status).toBe(401);
  });

  test('a paused connection refuses deliveries (401)', async () => {
    const connection = await createWebhookConnection('paused');
    await gql(UpdateConnectionDocument, { id: connection.id, input: { status: 'PAUSED' } });
    expect((await deliver(connection.webhookPath!, signup('evt_paused'))).status).toBe(401);
  });
});

describe('secret key', () => {
  test('embedded mode generates one key, keeps it in the data directory with mode 0600, and reuses it', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rapport-key-'));
    const key = resolveSecretKey({ dataDir, databaseUrl: undefined, secretKey: undefined })!;
    expect(key).toHaveLength(32);
    const file = path.join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(dataDir).equals(key)).toBe(true);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
  });

  test('AES-256-GCM envelopes round-trip and a changed byte fails authentication', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.encrypt('sk_live_123');
    expect(sealed).not.toContain('sk_live_123');
    expect(box.decrypt(sealed)).toBe('sk_live_123');
    expect(box.encrypt('sk_live_123')).not.toBe(sealed);
    const bytes = Buffer.from(sealed.slice('enc:v1:'.length), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => box.decrypt(`enc:v1:${bytes.toString('base64')}`)).toThrow();
    expect(() => new SecretBox(randomBytes(32)).decrypt(sealed)).toThrow();
  });
});

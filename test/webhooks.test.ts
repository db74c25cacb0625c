import { randomBytes } from 'node:crypto';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  RecordInteractionsDocument,
  ReplayWebhookDeliveriesDocument,
  ReplayWebhookDeliveryDocument,
  UpdateWebhookEndpointDocument,
  WebhookDeliveriesDocument,
  WebhookEndpointsDocument,
  type CreateWebhookEndpointInput,
  type InteractionInput,
  type WebhookDeliveryStatus,
} from './generated/graphql';
import { QUEUES } from '../src/infra/queue';
import { SCOPES } from '../src/modules/access/scopes';
import { verify } from '../src/modules/webhooks';
import { eventually, startTestApp, type TestApp } from './helpers/app';
import { createTestDatabase } from './helpers/database';
import { createKey } from './helpers/personal-data';
import { startReceiver, type ReceivedWebhook, type WebhookReceiver } from './helpers/webhook-receiver';

const SECRET_KEY = randomBytes(32).toString('base64');

/** Settings that make retries fast and the dead-letter window short enough to watch. */
const fastRetries = (receiver: WebhookReceiver, retryForSeconds = 3): Record<string, string> => ({
  RAPPORT_SECRET_KEY: SECRET_KEY,
  RAPPORT_OUTBOX_DISPATCH_MS: '100',
  RAPPORT_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
  RAPPORT_WEBHOOK_RETRY_BASE_MS: '50',
  RAPPORT_WEBHOOK_RETRY_MAX_DELAY_MS: '200',
  RAPPORT_WEBHOOK_RETRY_FOR_SECONDS: String(retryForSeconds),
  RAPPORT_WEBHOOK_SWEEP_MS: '500',
});

let sequence = 0;
const interaction = (email: string): InteractionInput => ({
  customer: { identifiers: [{ type: 'email', value: email }] },
  channel: 'web',
  type: 'visit',
  occurredAt: '2026-11-01T10:00:00Z',
  source: 'webhook-test',
  externalId: `wh-${++sequence}`,
});

async function record(app: TestApp, emails: string[]): Promise<string[]> {
  const { data, errors } = await app.graphql(RecordInteractionsDocument, { input: emails.map(interaction) });
  expect(errors).toBeUndefined();
  expect(data!.recordInteractions.accepted).toBe(emails.length);
  return data!.recordInteractions.results.map((r) => r.customerId!);
}

async function createEndpoint(app: TestApp, input: CreateWebhookEndpointInput) {
  const { data, errors } = await app.graphql(CreateWebhookEndpointDocument, { input });
  expect(errors).toBeUndefined();
  return data!.createWebhookEndpoint;
}

async function deliveries(app: TestApp, endpointId: string, status?: WebhookDeliveryStatus) {
  const { data, errors } = await app.graphql(WebhookDeliveriesDocument, { endpointId, status, first: 100 });
  expect(errors).toBeUndefined();
  return data!.webhookDeliveries.edges.map((e) => e.node);
}

/** Polls until every delivery of the endpoint is in one of `statuses` and there are `count` of them. */
async function settled(app: TestApp, endpointId: string, count: number, statuses: WebhookDeliveryStatus[] = ['DELIVERED']) {
  return eventually(
    async () => {
      const nodes = await deliveries(app, endpointId);
      return nodes.length === count && nodes.every((n) => statuses.includes(n.status)) ? nodes : undefined;
    },
    { timeoutMs: 30_000 },
  );
}

const headersOf = (r: ReceivedWebhook) => ({ id: r.id, timestamp: r.timestamp, signature: r.signature });

describe.each(['postgres', 'redis'] as const)('webhook delivery (%s queue)', (queue) => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  /** Requests per path so far, for receivers that fail a given number of times. */
  const calls = new Map<string, number>();
  /** Event ids /ordered has seen. */
  const orderedSeen = new Set<string>();

  beforeAll(async () => {
    receiver = await startReceiver((path, request) => {
      const n = (calls.get(path) ?? 0) + 1;
      calls.set(path, n);
      if (path === '/flaky') return n <= 2 ? { status: 500, body: `down for now (call ${n}) ${'x'.repeat(2000)}` } : { status: 204 };
      // Fails the first attempt of every other event: ordering must hold through retries.
      if (path === '/ordered') {
        const first = !orderedSeen.has(request.id);
        orderedSeen.add(request.id);
        return first && BigInt(request.id) % 2n === 0n ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' };
      }
      return { status: 200, body: 'ok' };
    });
    // A retry window long enough that no delivery goes DEAD on a loaded machine (dead letters are tested below).
    app = await startTestApp({ workers: true, queue, env: fastRetries(receiver, 120) });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  test('a receiver that fails, then succeeds, gets the event again with the same id, signed; each attempt is recorded', async () => {
    const { endpoint, secret } = await createEndpoint(app, { url: `${receiver.url}/flaky`, events: ['interaction.recorded'] });
    expect(secret).toMatch(/^whsec_/);
    const [customer] = await record(app, ['flaky.person@example.com']);
    const [delivery] = await settled(app, endpoint.id, 1);

    expect(delivery.eventType).toBe('interaction.recorded');
    expect(delivery.customerId).toBe(customer);
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([204, 500, 500]);
    for (const attempt of delivery.attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    // The answer is kept truncated to 1024 bytes.
    expect(delivery.attempts[1]!.responseBody).toMatch(/^down for now \(call 2\)/);
    expect(delivery.attempts[1]!.responseBody!.length).toBe(1024);
    expect(delivery.attempts[1]!.error).toBe('the receiver answered 500');

    const got = receiver.received.filter((r) => r.path === '/flaky');
    expect(got).toHaveLength(3);
    // One stable id (the outbox event id) on every attempt; every attempt verifies with the secret.
    expect(new Set(got.map((r) => r.id))).toEqual(new Set([delivery.eventId]));
    for (const r of got) expect(verify(secret!, headersOf(r), r.body)).toBe(true);
    // Payloads carry ids and impersonal fields only, never the person's data.
    const body = JSON.parse(got[2]!.body);
    expect(body).toMatchObject({ type: 'interaction.recorded', data: { customerId: expect.any(String), channel: 'web', type: 'visit' } });
    expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(got.map((r) => r.body).join('')).not.toContain('flaky.person');
  });

  test("one customer's events reach an endpoint in order, a later one waiting while an earlier one is retried", async () => {
    const { endpoint, secret } = await createEndpoint(app, { url: `${receiver.url}/ordered`, events: ['interaction.recorded'] });
    const people = ['ada', 'grace', 'alan'].map((name) => `${name}.ordered@example.com`);
    const customers: string[] = [];
    for (let round = 0; round < 4; round++) customers.push(...(await record(app, people)));
    const nodes = await settled(app, endpoint.id, 12);
    const eventOf = new Map(nodes.map((n) => [n.eventId, n]));
    const got = receiver.received.filter((r) => r.path === '/ordered');
    expect(got.length).toBeGreaterThanOrEqual(18);
    for (const r of got) expect(verify(secret!, headersOf(r), r.body)).toBe(true);
    for (const customer of new Set(customers)) {
      const mine = got.filter((r) => eventOf.get(r.id)?.customerId === customer);
      const order = nodes
        .filter((n) => n.customerId === customer)
        .map((n) => BigInt(n.eventId))
        .sort((a, b) => (a < b ? -1 : 1));
      // No request for an event before the one before it was accepted.
      const accepted: bigint[] = [];
      for (const r of mine) {
        const id = BigInt(r.id);
        expect(id).toBe(order[accepted.length]);
        if (r.status === 200) accepted.push(id);
      }
      expect(accepted).toEqual(order);
    }
  });

  test('nothing is lost between commit and dispatch: changes committed with no worker, and deliveries whose jobs were never queued, are all sent', async () => {
    const database = await createTestDatabase();
    const lost = await startReceiver();
    try {
      // A gateway alone: an endpoint, then changes committed with no worker running; only the outbox holds them.
      const gateway = await startTestApp({ database, queue, env: fastRetries(lost, 120) });
      const { endpoint } = await createEndpoint(gateway, { url: `${lost.url}/late`, events: ['interaction.recorded', 'customer.created'] });
      await record(gateway, ['late.one@example.com', 'late.two@example.com', 'late.one@example.com']);
      // The outbox is dispatched (deliveries committed, jobs queued after the commit), then the queue loses every job,
      // as when the process is killed between the commit and the enqueue.
      await gateway.runtime.services.events.dispatch();
      await gateway.runtime.services.webhooks.deliveries.flush();
      expect(await gateway.sql(`SELECT 1 FROM webhook_deliveries`)).toHaveLength(5);
      await gateway.runtime.services.queues.queue(QUEUES.webhooks).obliterate({ force: true });
      expect(await gateway.runtime.services.queues.queue(QUEUES.webhooks).getJobCounts('waiting', 'delayed', 'active')).toEqual({
        waiting: 0,
        delayed: 0,
        active: 0,
      });
      await gateway.close();
      expect(lost.received).toEqual([]);

      // The next worker's sweep finds them due and sends every one.
      const worker = await startTestApp({ database, queue, workers: true, env: fastRetries(lost, 120) });
      try {
        const nodes = await settled(worker, endpoint.id, 5);
        expect(nodes.filter((n) => n.eventType === 'customer.created')).toHaveLength(2);
        expect(new Set(lost.received.map((r) => r.id))).toEqual(new Set(nodes.map((n) => n.eventId)));
      } finally {
        await worker.close();
      }
    } finally {
      await lost.close();
      await database.drop();
    }
  });
});

describe('dead letters, replay, rotation, disabling and the egress guard', () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  /** A service on loopback that is not allowlisted: nothing may reach it. */
  let internal: WebhookReceiver;
  let down = true;

  beforeAll(async () => {
    internal = await startReceiver();
    receiver = await startReceiver((path) => {
      if (path === '/down') return down ? { status: 503, body: 'maintenance' } : { status: 200 };
      if (path === '/to-loopback') return { status: 307, location: `http://localhost:${internal.port}/steal` };
      if (path === '/to-private') return { status: 308, location: 'http://10.1.2.3/steal' };
      return { status: 200 };
    });
    app = await startTestApp({ workers: true, env: { ...fastRetries(receiver), LOG_LEVEL: process.env.WH_LOG ?? 'silent' } });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await internal?.close();
  });

  test('a delivery that fails for the whole retry window is DEAD; replaying it (alone or by range) delivers it with the same id', async () => {
    const { endpoint, secret } = await createEndpoint(app, { url: `${receiver.url}/down`, events: ['interaction.recorded'] });
    const started = new Date(Date.now() - 1_000);
    await record(app, ['dead.one@example.com', 'dead.two@example.com']);
    const dead = await settled(app, endpoint.id, 2, ['DEAD']);
    for (const node of dead) {
      expect(node.attemptCount).toBeGreaterThan(1);
      expect(node.nextAttemptAt).toBeNull();
      expect(node.lastStatusCode).toBe(503);
    }
    expect((await deliveries(app, endpoint.id, 'DEAD')).map((n) => n.id).sort()).toEqual(dead.map((n) => n.id).sort());

    down = false;
    const replayed = await app.graphql(ReplayWebhookDeliveryDocument, { id: dead[0]!.id });
    expect(replayed.errors).toBeUndefined();
    await eventually(async () => ((await deliveries(app, endpoint.id, 'DELIVERED')).length === 1 ? true : undefined));
    const range = await app.graphql(ReplayWebhookDeliveriesDocument, {
      endpointId: endpoint.id,
      from: started.toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
      status: 'DEAD',
    });
    expect(range.data?.replayWebhookDeliveries.replayed).toBe(1);
    const delivered = await settled(app, endpoint.id, 2);
    const accepted = receiver.received.filter((r) => r.path === '/down' && r.status === 200);
    expect(accepted.map((r) => r.id).sort()).toEqual(delivered.map((n) => n.eventId).sort());
    for (const r of accepted) expect(verify(secret!, headersOf(r), r.body)).toBe(true);

    const missing = await app.graphql(ReplayWebhookDeliveryDocument, { id: Buffer.from('WebhookDelivery:999999').toString('base64') });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'WEBHOOK_DELIVERY_NOT_FOUND', field: 'id' });
  });

  test('an endpoint failing for longer than RAPPORT_WEBHOOK_DISABLE_AFTER_DAYS is disabled, with an event and an audit entry', async () => {
    down = true;
    const { endpoint } = await createEndpoint(app, { url: `${receiver.url}/down`, events: ['customer.created'] });
    const localId = Buffer.from(endpoint.id, 'base64').toString().split(':')[1]!;
    // Its failures began six days ago (the default threshold is five).
    await app.sql(`UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1`, [localId]);
    await record(app, ['disable.me@example.com']);
    const listed = await eventually(async () => {
      const { data } = await app.graphql(WebhookEndpointsDocument);
      const mine = data!.webhookEndpoints.find((e) => e.id === endpoint.id);
      return mine?.status === 'DISABLED' ? mine : undefined;
    });
    expect(listed.disabledReason).toMatch(/^every delivery failed since /);
    expect(listed.disabledAt).not.toBeNull();
    const events = await app.sql<{ payload: { endpointId: string } }>(`SELECT payload FROM outbox_events WHERE type = 'webhook_endpoint.disabled'`);
    expect(events.map((e) => e.payload.endpointId)).toEqual([localId]);
    const audit = await app.sql<{ actor: string; actor_kind: string; records: string[] }>(
      `SELECT actor, actor_kind, records FROM audit_log WHERE operation = 'disableWebhookEndpoint'`,
    );
    expect(audit).toEqual([{ actor: 'system:webhooks', actor_kind: 'system', records: [`webhook_endpoint:${localId}`] }]);

    // Enabling it again clears the streak and sends what waited.
    down = false;
    const enabled = await app.graphql(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { status: 'ACTIVE' } });
    expect(enabled.data?.updateWebhookEndpoint.endpoint).toMatchObject({ status: 'ACTIVE', failingSince: null, disabledAt: null });
    await settled(app, endpoint.id, 1);
  });

  test('a rotated secret keeps signing beside the new one; a given secret is never answered back', async () => {
    const given = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const { endpoint, secret } = await createEndpoint(app, { url: `${receiver.url}/rotated`, events: ['customer.created'], secret: given });
    expect(secret).toBeNull();
    const rotated = await app.graphql(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { rotateSecret: true } });
    const fresh = rotated.data!.updateWebhookEndpoint.secret!;
    expect(fresh).toMatch(/^whsec_/);
    expect(rotated.data!.updateWebhookEndpoint.endpoint.previousSecretExpiresAt).not.toBeNull();
    await record(app, ['rotated.person@example.com']);
    await settled(app, endpoint.id, 1);
    const [got] = receiver.received.filter((r) => r.path === '/rotated');
    expect(got!.signature.split(' ')).toHaveLength(2);
    expect(verify(fresh, headersOf(got!), got!.body)).toBe(true);
    expect(verify(given, headersOf(got!), got!.body)).toBe(true);
    // The stored secrets are encrypted.
    const [row] = await app.sql<{ secret: string; previous_secret: string }>(
      `SELECT secret, previous_secret FROM webhook_endpoints WHERE url LIKE '%/rotated'`,
    );
    expect(row!.secret).toMatch(/^enc:v1:/);
    expect(row!.previous_secret).toMatch(/^enc:v1:/);
    expect(JSON.stringify(row)).not.toContain('MfKQ9r8G');
  });

  test('a filter on payload fields sends only the events whose payload matches', async () => {
    const customers = await record(app, ['filter.kept@example.com', 'filter.skipped@example.com']);
    const kept = Buffer.from(customers[0]!, 'base64').toString().split(':')[1]!;
    // An endpoint takes the events dispatched after it exists: wait until these are.
    await eventually(async () => ((await app.sql(`SELECT 1 FROM outbox_events WHERE dispatched_at IS NULL`)).length === 0 ? true : undefined));
    // Given as the API's global id, stored as the database id the payloads carry.
    const { endpoint } = await createEndpoint(app, {
      url: `${receiver.url}/filtered`,
      events: ['interaction.recorded'],
      filter: { customerId: [customers[0]] },
    });
    expect(endpoint.filter).toEqual({ customerId: [kept] });
    await record(app, ['filter.kept@example.com', 'filter.skipped@example.com', 'filter.kept@example.com']);
    const nodes = await settled(app, endpoint.id, 2);
    expect(new Set(nodes.map((n) => n.customerId))).toEqual(new Set([customers[0]]));
    const bad = await app.graphql(CreateWebhookEndpointDocument, {
      input: { url: `${receiver.url}/x`, events: ['interaction.recorded'], filter: { customerId: [{ nested: true }] } },
    });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'filter.customerId' });
    // The global id of another type could never match a customerId: refused, naming the value.
    const segmentId = Buffer.from('Segment:1').toString('base64');
    const wrongType = await app.graphql(CreateWebhookEndpointDocument, {
      input: { url: `${receiver.url}/x`, events: ['interaction.recorded'], filter: { customerId: [kept, segmentId] } },
    });
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', field: 'filter.customerId[1]' });
    const unknown = await app.graphql(CreateWebhookEndpointDocument, { input: { url: `${receiver.url}/x`, events: ['customer.created', 'no.such'] } });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'events[1]' });
  });

  test('loopback, private and metadata URLs are refused, a DNS name for loopback too, unless allowlisted (host:port)', async () => {
    for (const url of [
      `http://localhost:${internal.port}/hook`,
      `http://127.0.0.1:${internal.port}/hook`,
      'http://10.0.0.8/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://metadata.google.internal/',
      'ftp://example.com/hook',
    ]) {
      const { errors } = await app.graphql(CreateWebhookEndpointDocument, { input: { url, events: ['customer.created'] } });
      expect({ url, error: errors?.[0]?.extensions }).toMatchObject({ url, error: { code: 'WEBHOOK_URL_REFUSED', field: 'url' } });
    }
    const [localhostError] = (
      await app.graphql(CreateWebhookEndpointDocument, { input: { url: `http://localhost:${internal.port}/`, events: ['customer.created'] } })
    ).errors!;
    expect(localhostError!.message).toMatch(/a name for a loopback address/);
    // The allowlisted receiver (127.0.0.1 on its own port) is accepted.
    const allowed = await app.graphql(CreateWebhookEndpointDocument, { input: { url: `${receiver.url}/ok`, events: ['customer.created'] } });
    expect(allowed.errors).toBeUndefined();
    await app.graphql(DeleteWebhookEndpointDocument, { id: allowed.data!.createWebhookEndpoint.endpoint.id });
  });

  test('a redirect to a loopback or private address is checked and refused, and nothing reaches it', async () => {
    const toLoopback = await createEndpoint(app, { url: `${receiver.url}/to-loopback`, events: ['customer.created'] });
    const toPrivate = await createEndpoint(app, { url: `${receiver.url}/to-private`, events: ['customer.created'] });
    await record(app, ['redirected.person@example.com']);
    for (const { endpoint } of [toLoopback, toPrivate]) {
      const [node] = await eventually(async () => {
        const nodes = await deliveries(app, endpoint.id);
        return nodes.length === 1 && nodes[0]!.attemptCount >= 2 ? nodes : undefined;
      });
      expect(node!.status).not.toBe('DELIVERED');
      expect(node!.attempts[0]!.error).toMatch(/is not allowed: it is (a name for a loopback|a private) address/);
      expect(node!.attempts[0]!.statusCode).toBeNull();
    }
    expect(internal.received).toEqual([]);
    for (const { endpoint } of [toLoopback, toPrivate]) await app.graphql(DeleteWebhookEndpointDocument, { id: endpoint.id });
  });

  test('a key without webhooks:admin can neither read nor change endpoints or deliveries', async () => {
    const key = await createKey(
      app,
      SCOPES.filter((s) => s !== 'webhooks:admin' && s !== 'admin'),
    );
    const { data } = await app.graphql(WebhookEndpointsDocument);
    const endpointId = data!.webhookEndpoints[0]!.id;
    const attempts = [
      await app.graphqlAs(key, WebhookEndpointsDocument),
      await app.graphqlAs(key, WebhookDeliveriesDocument, { endpointId }),
      await app.graphqlAs(key, CreateWebhookEndpointDocument, { input: { url: `${receiver.url}/x`, events: ['customer.created'] } }),
      await app.graphqlAs(key, ReplayWebhookDeliveriesDocument, { endpointId, from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }),
      await app.graphqlAs(key, DeleteWebhookEndpointDocument, { id: endpointId }),
    ];
    for (const res of attempts) {
      expect(res.data).toBeUndefined();
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'webhooks:admin' });
    }
    const allowed = await createKey(app, ['webhooks:admin']);
    expect((await app.graphqlAs(allowed, WebhookEndpointsDocument)).errors).toBeUndefined();
  });

  test('segment membership events (segment.entered/exited, alert.fired) and their payloads need pii:read', async () => {
    const narrow = await createKey(app, ['webhooks:admin']);
    const steward = await createKey(app, ['webhooks:admin', 'pii:read']);
    const refused = await app.graphqlAs(narrow, CreateWebhookEndpointDocument, { input: { url: `${receiver.url}/members`, events: ['segment.entered'] } });
    expect(refused.data?.createWebhookEndpoint ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.events' });
    const created = await app.graphqlAs(steward, CreateWebhookEndpointDocument, { input: { url: `${receiver.url}/members`, events: ['segment.entered'] } });
    expect(created.errors).toBeUndefined();
    const endpointId = created.data!.createWebhookEndpoint.endpoint.id;
    // Nor can a key without pii:read point that endpoint elsewhere.
    const moved = await app.graphqlAs(narrow, UpdateWebhookEndpointDocument, { id: endpointId, input: { url: `${receiver.url}/elsewhere` } });
    expect(moved.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'id' });
    // A delivery of a membership event: its payload is refused without pii:read, shown with it.
    const [endpoint] = await app.sql<{ id: string }>(`SELECT id::text FROM webhook_endpoints WHERE url = $1`, [`${receiver.url}/members`]);
    await app.sql(
      `INSERT INTO webhook_deliveries (customer_id, endpoint_id, event_id, event_type, body, event_at, status)
       VALUES (42, $1, 987654, 'segment.entered', $2, now(), 'DEAD')`,
      [endpoint!.id, JSON.stringify({ type: 'segment.entered', timestamp: new Date().toISOString(), data: { customerId: '42', segmentId: '7' } })],
    );
    const hidden = await app.graphqlAs(narrow, WebhookDeliveriesDocument, { endpointId });
    expect(hidden.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', field: 'payload' });
    expect(JSON.stringify(hidden.data ?? null)).not.toContain('"segmentId"');
    const shown = await app.graphqlAs(steward, WebhookDeliveriesDocument, { endpointId });
    expect(shown.errors).toBeUndefined();
    expect(shown.data!.webhookDeliveries.edges[0]!.node.payload).toMatchObject({ data: { customerId: '42', segmentId: '7' } });
  });
});

import request from 'supertest';
import { inTransaction } from '../src/infra/database';
import { publish } from '../src/modules/events';
import { startTestApp, type TestApp } from './helpers/app';
import { createKey, seedPersonalWorld, SECRETS, VICTIM, type PersonalWorld } from './helpers/personal-data';
import { subscribeSse, subscribeWs, subscriptionsLive, type SubscriptionResult, type TestSubscription } from './helpers/realtime';

/**
 * GraphQL subscriptions end to end: a gateway that listens (SSE and
 * graphql-ws on /graphql) and a worker that dispatches the outbox, on one
 * database. Events come from real writes (recordInteractions), through the
 * outbox and the fan-out; each is read with the subscriber's scopes and masking.
 */

let app: TestApp;
let w: PersonalWorld;
let url: string;
let external = 0;

beforeAll(async () => {
  app = await startTestApp({ workers: true, gateway: true, env: { RAPPORT_OUTBOX_DISPATCH_MS: '100' } });
  url = app.runtime.url!;
  w = await seedPersonalWorld(app);
});
afterAll(() => app.close());
// Each test starts with no subscription left on the gateway, so that it can wait for its own to be live.
afterEach(() => subscriptionsLive(app, 0));

const record = async (customerId: string, properties: Record<string, unknown> = {}, count = 1) => {
  const input = Array.from({ length: count }, () => ({
    customer: { id: customerId },
    channel: 'web',
    type: 'page_view',
    occurredAt: new Date().toISOString(),
    properties,
    source: 'realtime-test',
    externalId: `rt-${++external}`,
  }));
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: 'mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted } }', variables: { input } });
  expect(res.body.data.recordInteractions.accepted).toBe(count);
};

/** Reads results until one matches, failing on any error. */
const until = async (sub: TestSubscription, match: (r: SubscriptionResult) => boolean): Promise<SubscriptionResult> => {
  for (;;) {
    const result = await sub.next();
    expect(result.errors).toBeUndefined();
    if (match(result)) return result;
  }
};

const noSecrets = (value: unknown) => {
  const text = JSON.stringify(value);
  for (const secret of SECRETS) expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
};

const CUSTOMER_CHANGED = `subscription($id: ID!) {
  customerChanged(id: $id) {
    __typename
    ... on CustomerChange { eventId reason customer { id displayName traits identifiers { value } } }
    ... on SubscriptionLagged { dropped }
  }
}`;
const INTERACTION_RECORDED = `subscription($id: ID!) {
  interactionRecorded(customerId: $id) { __typename ... on Interaction { externalId properties customer { displayName } } }
}`;

describe.each([
  ['SSE', subscribeSse],
  ['WebSocket', subscribeWs],
] as const)('over %s', (_transport, subscribe) => {
  test('customerChanged delivers the change, with personal data masked for a key without pii:read', async () => {
    const victim = w.cid(VICTIM.name);
    const narrow = await subscribe(url, w.narrow, CUSTOMER_CHANGED, { id: victim });
    const pii = await subscribe(url, w.pii, CUSTOMER_CHANGED, { id: victim });
    try {
      await subscriptionsLive(app, 2);
      await record(victim);
      const masked = await until(narrow, (r) => r.data?.customerChanged.reason === 'INTERACTION');
      expect(masked.data!.customerChanged.customer).toEqual({
        id: victim,
        displayName: 'A•••',
        traits: expect.objectContaining({ ssn: '•••' }),
        identifiers: [{ value: 'a•••' }],
      });
      noSecrets(masked);
      const clear = await until(pii, (r) => r.data?.customerChanged.reason === 'INTERACTION');
      expect(clear.data!.customerChanged.customer.displayName).toBe(VICTIM.name);
      expect(clear.data!.customerChanged.eventId).toBe(masked.data!.customerChanged.eventId);
    } finally {
      await narrow.close();
      await pii.close();
    }
  });

  test('interactionRecorded masks personal properties without pii:read', async () => {
    const victim = w.cid(VICTIM.name);
    const sub = await subscribe(url, w.narrow, INTERACTION_RECORDED, { id: victim });
    try {
      await subscriptionsLive(app, 1);
      await record(victim, { email: VICTIM.email, sku: 'B-2' });
      const result = await sub.next();
      expect(result.errors).toBeUndefined();
      expect(result.data!.interactionRecorded).toMatchObject({
        __typename: 'Interaction',
        properties: { email: '•••', sku: 'B-2' },
        customer: { displayName: 'A•••' },
      });
      noSecrets(result);
    } finally {
      await sub.close();
    }
  });

  test('a key without the scope is refused with FORBIDDEN', async () => {
    const key = await createKey(app, ['segments:read', 'scores:read']);
    const sub = await subscribe(url, key, CUSTOMER_CHANGED, { id: w.cid(VICTIM.name) });
    try {
      const result = await sub.next();
      expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'customers:read' });
    } finally {
      await sub.close();
    }
  });

  test('customerChanged shows score changes only with scores:read, as Customer.scores', async () => {
    const victim = w.cid(VICTIM.name);
    const id = Buffer.from(victim, 'base64').toString().split(':')[1]!;
    const limited = await subscribe(url, await createKey(app, ['customers:read']), CUSTOMER_CHANGED, { id: victim });
    const scored = await subscribe(url, w.narrow, CUSTOMER_CHANGED, { id: victim });
    try {
      await subscriptionsLive(app, 2);
      // A score change, then a profile change, of the same customer: delivered in this order.
      await inTransaction(app.dataSource, async (manager) => {
        await publish(manager, 'score.changed', [
          { customerId: id, payload: { customerId: id, kind: 'RFM', value: 3, label: 'Loyal', previousValue: 2, previousLabel: 'Hibernating' } },
        ]);
        await publish(manager, 'customer.updated', [{ customerId: id, payload: { customerId: id } }]);
      });
      expect((await until(scored, (r) => ['SCORE', 'PROFILE'].includes(r.data?.customerChanged.reason))).data!.customerChanged.reason).toBe('SCORE');
      expect((await until(limited, (r) => ['SCORE', 'PROFILE'].includes(r.data?.customerChanged.reason))).data!.customerChanged.reason).toBe('PROFILE');
    } finally {
      await limited.close();
      await scored.close();
    }
  });

  test('a nested field needs its own scope, as in a query', async () => {
    const key = await createKey(app, ['customers:read']);
    const sub = await subscribe(url, key, 'subscription($id: ID!) { customerChanged(id: $id) { ... on CustomerChange { customer { scores { kind } } } } }', {
      id: w.cid(VICTIM.name),
    });
    try {
      expect((await sub.next()).errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'scores:read' });
    } finally {
      await sub.close();
    }
  });

  test('a segment defined on personal data needs pii:read; another one delivers entries', async () => {
    const query = `subscription($s: ID!) { segmentMembershipChanged(segmentId: $s) { __typename ... on SegmentMembershipEvent { kind customer { displayName } segment { id } } } }`;
    const refused = await subscribe(url, w.narrow, query, { s: w.segments.personal });
    try {
      expect((await refused.next()).errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'segmentId' });
    } finally {
      await refused.close();
    }
    const allowed = await subscribe(url, w.pii, query, { s: w.segments.personal });
    try {
      await subscriptionsLive(app, 1);
      // Bob enters the personal segment when his ssn matches the rule.
      await app.sql(`UPDATE customers SET traits = traits || $2::jsonb, dirty_since = now() WHERE id = $1`, [
        w.ids.get('Bob Builder'),
        JSON.stringify({ ssn: VICTIM.ssn }),
      ]);
      await app.runtime.services.segments.memberships.refreshSegment(Buffer.from(w.segments.personal, 'base64').toString().split(':')[1]);
      const result = await allowed.next();
      expect(result.errors).toBeUndefined();
      expect(result.data!.segmentMembershipChanged).toEqual({
        __typename: 'SegmentMembershipEvent',
        kind: 'ENTERED',
        customer: { displayName: 'Bob Builder' },
        segment: { id: w.segments.personal },
      });
    } finally {
      await app.sql(`UPDATE customers SET traits = traits - 'ssn' WHERE id = $1`, [w.ids.get('Bob Builder')]);
      await app.runtime.services.segments.memberships.refreshSegment(Buffer.from(w.segments.personal, 'base64').toString().split(':')[1]);
      await allowed.close();
    }
  });

  test('an unknown customer is refused with CUSTOMER_NOT_FOUND', async () => {
    const sub = await subscribe(url, w.narrow, CUSTOMER_CHANGED, { id: Buffer.from('Customer:999999').toString('base64') });
    try {
      expect((await sub.next()).errors?.[0].extensions).toMatchObject({ code: 'CUSTOMER_NOT_FOUND', field: 'id' });
    } finally {
      await sub.close();
    }
  });
});

test('WebSocket: a connection without valid credentials is closed with 4401 UNAUTHENTICATED', async () => {
  const sub = subscribeWs(url, 'rk_notakey_0000000000000000', CUSTOMER_CHANGED, { id: w.cid(VICTIM.name) });
  const closed = await sub.closed;
  expect(closed.code).toBe(4401);
  expect(closed.reason).toMatch(/^UNAUTHENTICATED: /);
  await sub.close();
});

test('WebSocket: only subscriptions run; a mutation is refused with BAD_REQUEST and changes nothing', async () => {
  const sub = subscribeWs(url, w.pii, 'mutation { createSegmentFromTemplate(key: "rfm-champions", name: "over ws") { id } }');
  try {
    expect((await sub.next()).errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    expect(await app.sql(`SELECT 1 FROM segments WHERE name = 'over ws'`)).toEqual([]);
  } finally {
    await sub.close();
  }
});

test('SSE: a request without credentials is refused with 401 UNAUTHENTICATED', async () => {
  const sub = await subscribeSse(url, undefined, CUSTOMER_CHANGED, { id: w.cid(VICTIM.name) });
  expect((await sub.next()).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
});

test('a revoked key ends its live subscription with UNAUTHENTICATED at the next event', async () => {
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: 'mutation { createApiKey(name: "revoked later", scopes: ["customers:read"]) { key apiKey { id } } }' });
  const { key, apiKey } = res.body.data.createApiKey;
  const victim = w.cid(VICTIM.name);
  const sub = subscribeWs(url, key, CUSTOMER_CHANGED, { id: victim });
  try {
    await subscriptionsLive(app, 1);
    await record(victim);
    await until(sub, (r) => r.data?.customerChanged.reason === 'INTERACTION');
    await request(app.handler)
      .post('/graphql')
      .set('authorization', app.auth)
      .send({ query: `mutation { revokeApiKey(id: "${apiKey.id}") { id } }` });
    // Credentials are checked again at most once a second.
    await new Promise((r) => setTimeout(r, 1_100));
    await record(victim);
    let result: SubscriptionResult;
    do result = await sub.next();
    while (!result.errors);
    expect(result.errors[0].extensions?.code).toBe('UNAUTHENTICATED');
    await sub.ended;
  } finally {
    await sub.close();
  }
});

test('recomputeJobUpdated reports a job until it completes, without polling by the client', async () => {
  const res = await request(app.handler).post('/graphql').set('authorization', app.auth).send({ query: 'mutation { recomputeScores { id } }' });
  const id = res.body.data.recomputeScores.id;
  const sub = await subscribeSse(url, w.narrow, 'subscription($id: ID!) { recomputeJobUpdated(id: $id) { id status progress } }', { id });
  const statuses: string[] = [];
  for (;;) {
    const result = await sub.next(60_000);
    expect(result.errors).toBeUndefined();
    statuses.push(result.data!.recomputeJobUpdated.status);
    if (['COMPLETED', 'FAILED'].includes(result.data!.recomputeJobUpdated.status)) break;
  }
  // The last event is the job's final state, as the query reports it; then the subscription ends.
  const final = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: `{ recomputeJob(id: "${id}") { status progress } }` });
  expect(final.body.data.recomputeJob.status).toBe(statuses.at(-1));
  await sub.ended;
}, 90_000);

test('each event reads the customer as it is then, not as an earlier event saw it', async () => {
  const bob = w.ids.get('Bob Builder')!;
  const sub = subscribeWs(url, w.pii, CUSTOMER_CHANGED, { id: w.cid('Bob Builder') });
  const rename = (name: string) =>
    inTransaction(app.dataSource, async (manager) => {
      await manager.query(`UPDATE customers SET display_name = $2 WHERE id = $1`, [bob, name]);
      await publish(manager, 'customer.updated', [{ customerId: bob, payload: { customerId: bob } }]);
    });
  try {
    await subscriptionsLive(app, 1);
    await rename('Bob Renamed');
    expect((await until(sub, (r) => r.data?.customerChanged.reason === 'PROFILE')).data!.customerChanged.customer.displayName).toBe('Bob Renamed');
    await rename('Bob Builder');
    expect((await until(sub, (r) => r.data?.customerChanged.reason === 'PROFILE')).data!.customerChanged.customer.displayName).toBe('Bob Builder');
  } finally {
    await sub.close();
  }
});

test('scoreChanged delivers only the changes its filter accepts, with the customer masked', async () => {
  const query = `subscription($f: ScoreChangeFilter) {
    scoreChanged(kind: CHURN_RISK, filter: $f) { ... on ScoreChange { kind value previousValue customer { displayName } } }
  }`;
  const sub = await subscribeSse(url, w.narrow, query, { f: { crossesAbove: 0.7 } });
  try {
    await subscriptionsLive(app, 1);
    // Score changes as the score writers publish them, through the real outbox and dispatcher.
    const customerId = w.ids.get(VICTIM.name)!;
    const changes = [
      [0.5, 0.6],
      [0.6, 0.8],
      [0.8, 0.9],
    ];
    await inTransaction(app.dataSource, (manager) =>
      publish(
        manager,
        'score.changed',
        changes.map(([previousValue, value]) => ({
          customerId,
          payload: { customerId, kind: 'CHURN_RISK', value, label: null, previousValue, previousLabel: null },
        })),
      ),
    );
    const result = await sub.next();
    expect(result.data!.scoreChanged).toEqual({ kind: 'CHURN_RISK', value: 0.8, previousValue: 0.6, customer: { displayName: 'A•••' } });
    // Events reach a subscriber in outbox order: a later accepted change is next only if 0.8 → 0.9 was left out.
    await inTransaction(app.dataSource, (manager) =>
      publish(manager, 'score.changed', [
        { customerId, payload: { customerId, kind: 'CHURN_RISK', value: 0.75, label: null, previousValue: 0.5, previousLabel: null } },
      ]),
    );
    expect((await sub.next()).data!.scoreChanged).toEqual({ kind: 'CHURN_RISK', value: 0.75, previousValue: 0.5, customer: { displayName: 'A•••' } });
    expect(sub.pending()).toEqual([]);
  } finally {
    await sub.close();
  }
});

describe('limits', () => {
  let limited: TestApp;
  let lw: PersonalWorld;
  beforeAll(async () => {
    limited = await startTestApp({
      workers: true,
      gateway: true,
      env: { RAPPORT_OUTBOX_DISPATCH_MS: '100', RAPPORT_REALTIME_MAX_SUBSCRIPTIONS: '2', RAPPORT_REALTIME_EVENTS_PER_SECOND: '3' },
    });
    lw = await seedPersonalWorld(limited);
  });
  afterAll(() => limited.close());
  afterEach(() => subscriptionsLive(limited, 0));

  test('one subscription more than the key may hold is refused with SUBSCRIPTION_LIMIT_EXCEEDED, over either transport', async () => {
    const id = lw.cid(VICTIM.name);
    const first = await subscribeSse(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id });
    const second = subscribeWs(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id });
    try {
      await subscriptionsLive(limited, 2);
      const third = await subscribeSse(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id });
      expect((await third.next()).errors?.[0].extensions?.code).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
      const fourth = subscribeWs(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id });
      expect((await fourth.next()).errors?.[0].extensions?.code).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
      await fourth.close();
      // Another key is counted on its own.
      const other = await subscribeSse(limited.runtime.url!, lw.pii, CUSTOMER_CHANGED, { id });
      await subscriptionsLive(limited, 3);
      expect(other.pending()).toEqual([]);
      await other.close();
    } finally {
      await first.close();
      await second.close();
    }
    // Ended subscriptions give their slots back (a client closing its SSE request ends its subscription).
    await subscriptionsLive(limited, 0);
    const again = [
      await subscribeSse(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id }),
      await subscribeSse(limited.runtime.url!, lw.narrow, CUSTOMER_CHANGED, { id }),
    ];
    await subscriptionsLive(limited, 2);
    expect(again.flatMap((sub) => sub.pending())).toEqual([]);
    for (const sub of again) await sub.close();
  });

  test('more events in one second than allowed end the subscription with SUBSCRIPTION_EVENT_RATE_EXCEEDED', async () => {
    const id = lw.cid(VICTIM.name);
    // A key of its own: the slots of the previous test's subscriptions are given back as their connections close.
    const key = await createKey(limited, ['customers:read']);
    const sub = await subscribeSse(limited.runtime.url!, key, INTERACTION_RECORDED, { id });
    await subscriptionsLive(limited, 1);
    const input = Array.from({ length: 8 }, (_, i) => ({
      customer: { id },
      channel: 'web',
      type: 'page_view',
      occurredAt: new Date().toISOString(),
      source: 'realtime-test',
      externalId: `burst-${i}`,
    }));
    await request(limited.handler)
      .post('/graphql')
      .set('authorization', limited.auth)
      .send({ query: 'mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { accepted } }', variables: { input } });
    const results: SubscriptionResult[] = [];
    do results.push(await sub.next());
    while (!results.at(-1)!.errors);
    expect(results.length).toBe(4);
    expect(results.at(-1)!.errors![0].extensions?.code).toBe('SUBSCRIPTION_EVENT_RATE_EXCEEDED');
    await sub.ended;
  });
});

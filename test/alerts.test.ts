import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { inTransaction } from '../src/infra/database';
import { publish } from '../src/modules/events';
import { startTestApp, type TestApp } from './helpers/app';
import { createKey, WITHOUT_PII } from './helpers/personal-data';
import { subscribeSse, subscribeWs, subscriptionsLive } from './helpers/realtime';

/**
 * Alerts end to end: rules fire from real domain events (hand-made segment
 * changes, customer refreshes, the segment sweep, score changes in the
 * outbox) delivered by the dispatcher; the feed is read and worked through
 * the API; alertFired over SSE and WebSocket.
 */

let app: TestApp;
let narrowKey: string;
let external = 0;

beforeAll(async () => {
  app = await startTestApp({
    workers: true,
    gateway: true,
    env: { RAPPORT_OUTBOX_DISPATCH_MS: '100', RAPPORT_SEGMENT_SWEEP_MS: '1000' },
  });
  narrowKey = await createKey(app, WITHOUT_PII);
});
afterAll(() => app.close());
// Each test starts with no subscription left on the gateway, so that it can wait for its own to be live.
afterEach(() => subscriptionsLive(app, 0));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of inline operations, read by path
type Data = Record<string, any>;
interface Answer {
  data?: Data;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

const gql = async (query: string, variables?: Record<string, unknown>, bearer?: string): Promise<Answer> => {
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', bearer ? `Bearer ${bearer}` : app.auth)
    .send({ query, variables });
  return res.body as Answer;
};
const ok = async (query: string, variables?: Record<string, unknown>, bearer?: string): Promise<Data> => {
  const body = await gql(query, variables, bearer);
  expect(body.errors).toBeUndefined();
  return body.data!;
};
const errorOf = (body: Answer) => ({ code: body.errors?.[0]?.extensions?.code, field: body.errors?.[0]?.extensions?.field });

/** Polls `read` until `done` accepts its value (15 s at most), and returns that value. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
const dbId = (global: string) => Buffer.from(global, 'base64').toString().split(':')[1];

let customers = 0;
async function customer(traits: Record<string, unknown> = {}, owner = 'rm-anna'): Promise<string> {
  const n = ++customers;
  const data = await ok('mutation($i: [CustomerInput!]!) { upsertCustomers(input: $i) { results { customer { id } } } }', {
    i: [{ displayName: `Alert Person ${n}`, identifiers: [{ type: 'email', value: `alert-${n}@example.com` }], owner, traits }],
  });
  return data.upsertCustomers.results[0].customer.id;
}

async function staticSegment(name: string): Promise<string> {
  return (await ok('mutation($i: SegmentInput!) { createSegment(input: $i) { id } }', { i: { name, kind: 'STATIC' } })).createSegment.id;
}
const move = (action: 'addToSegment' | 'removeFromSegment', segmentId: string, customerId: string) =>
  ok(`mutation($s: ID!, $c: [CustomerRefInput!]!) { ${action}(segmentId: $s, customers: $c) { changed } }`, { s: segmentId, c: [{ id: customerId }] });

async function rule(input: Record<string, unknown>): Promise<string> {
  return (await ok('mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { id } }', { i: input })).createAlertRule.id;
}

const ALERT_FIELDS = 'id status owner suppressed trigger value previousValue ruleName customer { id } segment { id }';
const alertsOfRule = async (ruleId: string) =>
  (await ok(`query($r: ID) { alerts(ruleId: $r, first: 50) { totalCount edges { node { ${ALERT_FIELDS} } } } }`, { r: ruleId })).alerts.edges.map(
    (e: { node: Data }) => e.node,
  );

/** Publishes a CHURN_RISK change of `customerId` (database id) to the outbox, as a customer refresh does. */
async function scoreChange(customerId: string, previousValue: number | null, value: number | null) {
  await inTransaction(app.dataSource, (manager) =>
    publish(manager, 'score.changed', [{ customerId, payload: { customerId, kind: 'CHURN_RISK', value, label: null, previousValue, previousLabel: null } }]),
  );
}
/** Waits until the dispatcher has handed out every event published so far. */
const dispatched = () =>
  until(
    () => app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_events WHERE dispatched_at IS NULL`),
    (rows) => rows[0].n === 0,
    'the outbox to be dispatched',
  );

describe('segment entry', () => {
  test('fires once per customer within the cool-down: leaving and re-entering is counted, not alerted', async () => {
    const segment = await staticSegment('VIP watch');
    const calm = await rule({ name: 'VIP entered (a day of cool-down)', trigger: { segmentEntered: { segmentId: segment } }, cooldownSeconds: 86_400 });
    const eager = await rule({ name: 'VIP entered (no cool-down)', trigger: { segmentEntered: { segmentId: segment } }, cooldownSeconds: 0 });
    const c = await customer();

    await move('addToSegment', segment, c);
    await until(
      () => alertsOfRule(eager),
      (a) => a.length === 1,
      'the first alert',
    );
    await move('removeFromSegment', segment, c);
    await move('addToSegment', segment, c);
    // Both rules see each entry in the same dispatch: once the eager rule has fired twice, the calm one has seen both.
    await until(
      () => alertsOfRule(eager),
      (a) => a.length === 2,
      'the second alert of the rule without cool-down',
    );

    const [only] = await alertsOfRule(calm);
    expect(await alertsOfRule(calm)).toHaveLength(1);
    expect(only).toMatchObject({ status: 'OPEN', owner: 'rm-anna', suppressed: 1, trigger: 'SEGMENT_ENTERED', customer: { id: c }, segment: { id: segment } });
  });

  test('a customer refresh that moves a customer into a dynamic segment fires; the alert reaches the customer feed', async () => {
    const segment = (
      await ok('mutation($i: SegmentInput!) { createSegment(input: $i) { id } }', {
        i: { name: 'Many visits', rule: { behavior: { type: 'page_view', op: 'GTE', value: 3 } } },
      })
    ).createSegment.id;
    await until(
      () => ok('query($id: ID!) { segment(id: $id) { status } }', { id: segment }),
      (d) => d.segment.status === 'FRESH',
      'the new segment to be evaluated',
    );
    const id = await rule({ name: 'Three visits', trigger: { segmentEntered: { segmentId: segment } }, owner: 'marketing' });
    const c = await customer();
    await ok('mutation($i: [InteractionInput!]!) { recordInteractions(input: $i) { accepted } }', {
      i: [1, 2, 3].map(() => ({
        customer: { id: c },
        channel: 'web',
        type: 'page_view',
        occurredAt: new Date().toISOString(),
        source: 'alerts-test',
        externalId: `a-${++external}`,
      })),
    });
    const feed = await until(
      () => ok(`query($id: ID!) { customer(id: $id) { alerts { totalCount edges { node { ${ALERT_FIELDS} } } } } }`, { id: c }),
      (d) => d.customer.alerts.edges.length === 1,
      'the customer alert',
    );
    expect(feed.customer.alerts.edges[0].node).toMatchObject({ owner: 'marketing', ruleName: 'Three visits', segment: { id: segment } });
    expect(await alertsOfRule(id)).toHaveLength(1);
  });
});

describe('score triggers', () => {
  test('crossing a threshold fires going up only; re-crossing within the cool-down does not fire again', async () => {
    const crosses = await rule({ name: 'Churn risk crosses 0.7', trigger: { scoreCrosses: { kind: 'CHURN_RISK', threshold: 0.7 } }, cooldownSeconds: 3_600 });
    const changes = await rule({
      name: 'Churn risk moves by 0.2',
      trigger: { scoreChanges: { kind: 'CHURN_RISK', minChange: 0.2, direction: 'EITHER' } },
      cooldownSeconds: 0,
    });
    const c = await customer();
    const id = dbId(c);
    await scoreChange(id, 0.5, 0.8); // crosses up (fires both), moves 0.3
    await scoreChange(id, 0.8, 0.6); // crosses down: not watched; moves 0.2 (fires)
    await scoreChange(id, 0.6, 0.75); // crosses up again within the cool-down (counted); moves 0.15
    await scoreChange(id, 0.75, null); // removed: no move between two values
    await dispatched();

    const up = await alertsOfRule(crosses);
    expect(up).toEqual([expect.objectContaining({ value: 0.8, previousValue: 0.5, suppressed: 1, trigger: 'SCORE_CROSSES' })]);
    const moves = await alertsOfRule(changes);
    expect(moves.map((a: Data) => [a.previousValue, a.value])).toEqual([
      [0.8, 0.6],
      [0.5, 0.8],
    ]);
  });

  test('a disabled rule fires nothing, and a rule applies only to changes after it was created', async () => {
    const c = dbId(await customer());
    await scoreChange(c, 0.1, 0.9);
    await dispatched();
    const late = await rule({ name: 'Created after the change', trigger: { scoreCrosses: { kind: 'CHURN_RISK', threshold: 0.5 } } });
    const off = await rule({ name: 'Disabled', trigger: { scoreCrosses: { kind: 'CHURN_RISK', threshold: 0.5 } }, enabled: false });
    await scoreChange(c, 0.9, 0.2);
    await scoreChange(c, 0.2, 0.95);
    await dispatched();
    expect((await alertsOfRule(late)).map((a: Data) => a.value)).toEqual([0.95]);
    expect(await alertsOfRule(off)).toEqual([]);
  });
});

describe('destinations', () => {
  test('WEBHOOK publishes alert.fired with the rule id; FEED alone publishes nothing', async () => {
    const segment = await staticSegment('Webhook watch');
    const hooked = await rule({ name: 'To the webhook', trigger: { segmentEntered: { segmentId: segment } }, destinations: ['WEBHOOK'] });
    const feedOnly = await rule({ name: 'Feed only', trigger: { segmentEntered: { segmentId: segment } } });
    const c = await customer();
    await move('addToSegment', segment, c);
    const [alert] = await until(
      () => alertsOfRule(hooked),
      (a) => a.length === 1,
      'the alert',
    );
    await until(
      () => alertsOfRule(feedOnly),
      (a) => a.length === 1,
      'the feed alert',
    );
    const events = await app.sql<{ payload: Data }>(`SELECT payload FROM outbox_events WHERE type = 'alert.fired' AND payload->>'customerId' = $1`, [dbId(c)]);
    expect(events.map((e) => e.payload)).toEqual([
      {
        alertId: dbId(alert.id),
        ruleId: dbId(hooked),
        customerId: dbId(c),
        trigger: 'SEGMENT_ENTERED',
        segmentId: dbId(segment),
        destinations: ['WEBHOOK'],
      },
    ]);
  });

  test.each([
    ['SSE', subscribeSse],
    ['WebSocket', subscribeWs],
  ] as const)('SUBSCRIPTION delivers alertFired over %s, masked for a key without pii:read and narrowed by rule', async (transport, subscribe) => {
    const segment = await staticSegment(`Subscription watch ${transport}`);
    const wanted = await rule({ name: `Live ${transport}`, trigger: { segmentEntered: { segmentId: segment } }, destinations: ['SUBSCRIPTION'] });
    const other = await rule({ name: `Other ${transport}`, trigger: { segmentEntered: { segmentId: segment } }, destinations: ['SUBSCRIPTION'] });
    const query = `subscription($r: ID) { alertFired(ruleId: $r) { __typename ... on Alert { id rule { id } customer { id displayName } } } }`;
    const sub = await subscribe(app.runtime.url!, narrowKey, query, { r: wanted });
    try {
      await subscriptionsLive(app, 1); // the subscription is live before the change
      const c = await customer();
      await move('addToSegment', segment, c);
      const result = await sub.next();
      expect(result.errors).toBeUndefined();
      expect(result.data!.alertFired).toMatchObject({ __typename: 'Alert', rule: { id: wanted }, customer: { id: c, displayName: 'A•••' } });
      expect(result.data!.alertFired.rule.id).not.toBe(other);
      await until(
        () => alertsOfRule(other),
        (a) => a.length === 1,
        'the other rule’s alert',
      );
      expect(sub.pending()).toEqual([]);
    } finally {
      await sub.close();
    }
  });

  test('alertFired needs alerts:read and an existing rule', async () => {
    const noAlerts = await createKey(
      app,
      WITHOUT_PII.filter((s) => s !== 'alerts:read'),
    );
    const refused = await subscribeSse(app.runtime.url!, noAlerts, 'subscription { alertFired { __typename } }');
    expect((await refused.next()).errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'alerts:read' });
    const unknown = await subscribeSse(app.runtime.url!, narrowKey, `subscription { alertFired(ruleId: "${gid('AlertRule', '999999')}") { __typename } }`);
    expect((await unknown.next()).errors?.[0]?.extensions).toMatchObject({ code: 'ALERT_RULE_NOT_FOUND', field: 'ruleId' });
  });
});

describe('the worklist', () => {
  test('alerts by status and owner; acknowledge (reassigning), resolve, and no way back from RESOLVED', async () => {
    const segment = await staticSegment('Worklist watch');
    const id = await rule({ name: 'Worklist', trigger: { segmentEntered: { segmentId: segment } } });
    const [a, b] = [await customer({}, 'rm-bob'), await customer({}, 'rm-bob')];
    await move('addToSegment', segment, a);
    await move('addToSegment', segment, b);
    const [second, first] = await until(
      () => alertsOfRule(id),
      (list) => list.length === 2,
      'two alerts',
    );
    expect([first.customer.id, second.customer.id]).toEqual([a, b]);

    const worklist = `query($o: String, $s: AlertStatus) { alerts(owner: $o, status: $s) { totalCount edges { node { id } } } }`;
    expect((await ok(worklist, { o: 'rm-bob', s: 'OPEN' })).alerts).toEqual({
      totalCount: 2,
      edges: [{ node: { id: second.id } }, { node: { id: first.id } }],
    });

    const acked = await ok('mutation($id: ID!) { acknowledgeAlert(id: $id, owner: "rm-carol") { status owner acknowledgedBy acknowledgedAt } }', {
      id: first.id,
    });
    expect(acked.acknowledgeAlert).toMatchObject({ status: 'ACKNOWLEDGED', owner: 'rm-carol', acknowledgedBy: expect.any(String) });
    expect((await ok(worklist, { o: 'rm-bob', s: 'OPEN' })).alerts.totalCount).toBe(1);
    expect((await ok(worklist, { o: 'rm-carol', s: 'ACKNOWLEDGED' })).alerts.edges).toEqual([{ node: { id: first.id } }]);

    const resolved = await ok('mutation($id: ID!) { resolveAlert(id: $id) { status owner resolvedAt } }', { id: first.id });
    expect(resolved.resolveAlert).toMatchObject({ status: 'RESOLVED', owner: 'rm-carol' });
    expect(errorOf(await gql('mutation($id: ID!) { acknowledgeAlert(id: $id) { status } }', { id: first.id }))).toEqual({
      code: 'ALERT_STATUS_CONFLICT',
      field: 'id',
    });
    expect(errorOf(await gql('mutation($id: ID!) { resolveAlert(id: $id) { status } }', { id: first.id }))).toEqual({
      code: 'ALERT_STATUS_CONFLICT',
      field: 'id',
    });
    expect(errorOf(await gql('mutation($id: ID!) { resolveAlert(id: $id) { status } }', { id: gid('Alert', '999999') }))).toEqual({
      code: 'ALERT_NOT_FOUND',
      field: 'id',
    });

    // Pages: one at a time, newest first, through the sealed cursor.
    const page1 = await ok('query($r: ID) { alerts(ruleId: $r, first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } }', { r: id });
    const page2 = await ok('query($r: ID, $c: String) { alerts(ruleId: $r, first: 1, after: $c) { edges { node { id } } pageInfo { hasNextPage } } }', {
      r: id,
      c: page1.alerts.pageInfo.endCursor,
    });
    expect([page1.alerts.edges[0].node.id, page2.alerts.edges[0].node.id, page2.alerts.pageInfo.hasNextPage]).toEqual([second.id, first.id, false]);
  });

  test('a deleted rule keeps its alerts under its name', async () => {
    const segment = await staticSegment('Deleted rule watch');
    const id = await rule({ name: 'Soon deleted', trigger: { segmentEntered: { segmentId: segment } } });
    const c = await customer();
    await move('addToSegment', segment, c);
    await until(
      () => alertsOfRule(id),
      (list) => list.length === 1,
      'the alert',
    );
    expect((await ok('mutation($id: ID!) { deleteAlertRule(id: $id) { deletedId } }', { id })).deleteAlertRule.deletedId).toBe(id);
    const feed = await ok(`query($id: ID!) { customer(id: $id) { alerts { edges { node { rule { id } ruleName } } } } }`, { id: c });
    expect(feed.customer.alerts.edges).toEqual([{ node: { rule: null, ruleName: 'Soon deleted' } }]);
    expect(errorOf(await gql('mutation($id: ID!) { deleteAlertRule(id: $id) { deletedId } }', { id }))).toEqual({ code: 'ALERT_RULE_NOT_FOUND', field: 'id' });
  });
});

describe('rules are validated', () => {
  const create = (input: Record<string, unknown>) => gql('mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { id } }', { i: input });
  const CHURN = { scoreCrosses: { kind: 'CHURN_RISK', threshold: 0.7 } };

  test.each([
    [{ name: 'two triggers', trigger: { ...CHURN, scoreChanges: { kind: 'CLV', minChange: 10 } } }, 'VALIDATION_FAILED', 'input.trigger'],
    [{ name: 'no trigger', trigger: {} }, 'VALIDATION_FAILED', 'input.trigger'],
    [{ name: '  ', trigger: CHURN }, 'VALIDATION_FAILED', 'input.name'],
    [{ name: 'bad cool-down', trigger: CHURN, cooldownSeconds: -1 }, 'VALIDATION_FAILED', 'input.cooldownSeconds'],
    [{ name: 'zero change', trigger: { scoreChanges: { kind: 'CLV', minChange: 0 } } }, 'VALIDATION_FAILED', 'input.trigger.scoreChanges.minChange'],
    // Outside the kind's range: accepted, such a rule would never fire.
    [{ name: 'churn above 1', trigger: { scoreCrosses: { kind: 'CHURN_RISK', threshold: 70 } } }, 'VALIDATION_FAILED', 'input.trigger.scoreCrosses.threshold'],
    [{ name: 'rfm below 1', trigger: { scoreCrosses: { kind: 'RFM', threshold: 0.5 } } }, 'VALIDATION_FAILED', 'input.trigger.scoreCrosses.threshold'],
    [
      { name: 'engagement by 101', trigger: { scoreChanges: { kind: 'ENGAGEMENT', minChange: 101 } } },
      'VALIDATION_FAILED',
      'input.trigger.scoreChanges.minChange',
    ],
    [
      { name: 'no segment', trigger: { segmentEntered: { segmentId: gid('Segment', '999999') } } },
      'SEGMENT_NOT_FOUND',
      'input.trigger.segmentEntered.segmentId',
    ],
    [{ name: 'not a segment id', trigger: { segmentEntered: { segmentId: 'nope' } } }, 'BAD_REQUEST', 'input.trigger.segmentEntered.segmentId'],
  ])('%j answers %s on %s', async (input, code, field) => {
    expect(errorOf(await create(input))).toEqual({ code, field });
  });

  test('names are unique; nothing is written by a refused call', async () => {
    await rule({ name: 'Unique name', trigger: CHURN });
    expect(errorOf(await create({ name: 'Unique name', trigger: CHURN }))).toEqual({ code: 'ALERT_RULE_NAME_TAKEN', field: 'input.name' });
    const names = (await ok('{ alertRules { name } }')).alertRules.map((r: Data) => r.name);
    expect(names.filter((n: string) => n === 'Unique name')).toHaveLength(1);
    expect(names).not.toContain('two triggers');
  });

  test('alert rules need alerts:write', async () => {
    const readOnly = await createKey(
      app,
      WITHOUT_PII.filter((s) => s !== 'alerts:write'),
    );
    const body = await gql('mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { id } }', { i: { name: 'x', trigger: CHURN } }, readOnly);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'alerts:write' });
  });
});

describe('templates', () => {
  test('both templates are listed with their parameters', async () => {
    const templates = (await ok('{ alertTemplates { key name parameters { name default } } }')).alertTemplates;
    expect(templates.map((t: Data) => [t.key, t.parameters.map((p: Data) => `${p.name}=${p.default}`)])).toEqual([
      ['churn-risk-rising-high-value', ['minLifetimeValue=1000', 'churnRisk=0.7']],
      ['high-value-silent', ['minLifetimeValue=1000', 'days=30']],
    ]);
  });

  test('churn risk rising among high-value customers: a segment on CLV and CHURN_RISK, and a rule on entering it', async () => {
    const created = await ok(
      `mutation($i: AlertTemplateInput) { createAlertRuleFromTemplate(key: "churn-risk-rising-high-value", input: $i) {
         name trigger template cooldownSeconds destinations segment { name rule } } }`,
      { i: { parameters: [{ name: 'churnRisk', value: 0.8 }], destinations: ['SUBSCRIPTION'] } },
    );
    expect(created.createAlertRuleFromTemplate).toEqual({
      name: 'Churn risk rising among high-value customers',
      trigger: 'SEGMENT_ENTERED',
      template: 'churn-risk-rising-high-value',
      cooldownSeconds: 7 * 86_400,
      destinations: ['FEED', 'SUBSCRIPTION'],
      segment: {
        name: 'Alert: Churn risk rising among high-value customers',
        rule: {
          and: [{ score: { kind: 'CLV', op: 'GTE', value: 1000 } }, { score: { kind: 'CHURN_RISK', op: 'GTE', value: 0.8 } }],
        },
      },
    });
  });

  test('a refused template call writes neither the segment nor the rule', async () => {
    const before = (await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM segments`))[0].n;
    const tooRisky = await gql('mutation($i: AlertTemplateInput) { createAlertRuleFromTemplate(key: "churn-risk-rising-high-value", input: $i) { id } }', {
      i: { name: 'Too risky', parameters: [{ name: 'churnRisk', value: 1.5 }] },
    });
    expect(errorOf(tooRisky)).toEqual({ code: 'VALIDATION_FAILED', field: 'input.parameters.churnRisk' });
    const unknown = await gql('mutation { createAlertRuleFromTemplate(key: "nope") { id } }');
    expect(errorOf(unknown)).toEqual({ code: 'NOT_FOUND', field: 'key' });
    // The rule's name is free but the segment's is taken: the whole call is refused.
    await ok('mutation($i: SegmentInput!) { createSegment(input: $i) { id } }', { i: { name: 'Alert: Clash', kind: 'STATIC' } });
    const clash = await gql('mutation { createAlertRuleFromTemplate(key: "high-value-silent", input: { name: "Clash" }) { id } }');
    expect(errorOf(clash)).toEqual({ code: 'SEGMENT_NAME_TAKEN', field: 'input.name' });
    expect((await ok('{ alertRules { name } }')).alertRules.map((r: Data) => r.name)).not.toContain('Clash');
    expect((await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM segments`))[0].n).toBe(before + 1);
  });

  test('high-value customer silent for N days fires when the sweep finds the window has moved past their last interaction', async () => {
    const rm = 'rm-silent';
    const c = await customer({}, rm);
    // The last interaction falls out of a one-day window a few seconds from now.
    const lastSeen = new Date(Date.now() - 86_400_000 + 4_000);
    await ok('mutation($i: [InteractionInput!]!) { recordInteractions(input: $i) { accepted } }', {
      i: [{ customer: { id: c }, channel: 'email', type: 'reply', occurredAt: lastSeen.toISOString(), source: 'alerts-test', externalId: `a-${++external}` }],
    });
    await until(
      () => app.sql<{ dirty: boolean }>(`SELECT dirty_since IS NOT NULL AS dirty FROM customers WHERE id = $1`, [dbId(c)]),
      (rows) => rows[0].dirty === false,
      'the customer refresh',
    );
    // High value: a CLV score, as a score recompute writes it.
    await app.sql(
      `INSERT INTO scores (customer_id, kind, value, label, component_values, component_keys, model_version, computed_at)
       VALUES ($1, 'CLV', 5000, NULL, '{}', '{}', 1, now())`,
      [dbId(c)],
    );
    const created = await ok(
      `mutation { createAlertRuleFromTemplate(key: "high-value-silent", input: { name: "Silent a day", parameters: [{ name: "days", value: 1 }] }) {
         id cooldownSeconds segment { id rule } } }`,
    );
    const { id, cooldownSeconds, segment } = created.createAlertRuleFromTemplate;
    expect(cooldownSeconds).toBe(86_400);
    expect(segment.rule.and[1]).toEqual({ behavior: { lastDays: 1, aggregate: 'COUNT', op: 'EQ', value: 0 } });

    const [alert] = await until(
      () => alertsOfRule(id),
      (list) => list.length === 1,
      'the silence alert',
    );
    expect(alert).toMatchObject({ owner: rm, customer: { id: c }, segment: { id: segment.id } });
    // Not before the window moved: the change that fired it came after the last interaction left the window.
    const [{ triggered }] = await app.sql<{ triggered: Date }>(`SELECT triggered_at AS triggered FROM alerts WHERE id = $1`, [dbId(alert.id)]);
    expect(new Date(triggered).getTime()).toBeGreaterThanOrEqual(lastSeen.getTime() + 86_400_000);
  });
});

describe('docs/realtime.md', () => {
  test('every GraphQL block of the Alerts section runs as written', async () => {
    const doc = readFileSync(path.join(__dirname, '..', 'docs', 'realtime.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n# Alerts'));
    const blocks = [...section.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    // An alert to work on, owned by the manager the examples name.
    const segment = await staticSegment('Docs watch');
    const ruleId = await rule({ name: 'Docs rule', trigger: { segmentEntered: { segmentId: segment } }, owner: 'rm-anna' });
    const c = await customer();
    await move('addToSegment', segment, c);
    const [alert] = await until(
      () => alertsOfRule(ruleId),
      (list) => list.length === 1,
      'the alert',
    );
    const variables = { id: alert.id, customer: c };
    for (const block of blocks) {
      if (block.trimStart().startsWith('subscription')) {
        const sub = await subscribeSse(app.runtime.url!, narrowKey, block);
        expect(sub.pending()).toEqual([]);
        await sub.close();
        continue;
      }
      const used = Object.fromEntries(Object.entries(variables).filter(([name]) => block.includes(`$${name}`)));
      const body = await gql(block, used);
      expect({ block, errors: body.errors }).toEqual({ block, errors: undefined });
    }
  });
});

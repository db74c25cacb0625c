import request from 'supertest';
import { pick, parseSurvivorship, type Candidate } from '../src/modules/merges/survivorship';
import { eventually, startTestApp, type TestApp } from './helpers/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ workers: true });
});
afterAll(() => app.close());

/** A GraphQL answer; `data` is the parsed JSON body's, as untyped as supertest gives it. */
type Body = { data?: ReturnType<typeof JSON.parse>; errors?: { message: string; extensions?: { code?: string; field?: string } }[] };

async function gql(query: string, variables?: unknown, bearer = app.auth): Promise<Body> {
  const res = await request(app.handler).post('/graphql').set('authorization', bearer).send({ query, variables });
  return res.body as Body;
}

async function ok(query: string, variables?: unknown, bearer = app.auth): Promise<NonNullable<Body['data']>> {
  const body = await gql(query, variables, bearer);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
let seq = 0;
const unique = () => `${Date.now().toString(36)}${++seq}`;

async function person(
  identifiers: { type: string; value: string }[],
  profile: { displayName?: string; traits?: Record<string, unknown>; kind?: string } = {},
): Promise<string> {
  const data = await ok(
    `mutation($input: [CustomerInput!]!) { upsertCustomers(input: $input) { committed results { customer { id } errors { code field } } } }`,
    { input: [{ identifiers, ...profile }] },
  );
  const result = data.upsertCustomers.results[0];
  if (!result.customer) throw new Error(JSON.stringify(result));
  return Buffer.from(result.customer.id, 'base64').toString().split(':')[1];
}

async function interact(customerId: string, externalId: string, occurredAt = '2026-09-01T10:00:00Z', source = 'shop') {
  const data = await ok(`mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { committed results { status errors { code field } } } }`, {
    input: [{ customer: { id: gid('Customer', customerId) }, channel: 'payment', type: 'purchase', occurredAt, value: 10, source, externalId }],
  });
  expect(data.recordInteractions.results[0].status).toBe('ACCEPTED');
}

async function consent(customerId: string, purpose: string, status: string, recordedAt: string) {
  await ok(`mutation($input: [ConsentInput!]!) { setConsents(input: $input) { committed } }`, {
    input: [{ customer: { id: gid('Customer', customerId) }, purpose, channel: 'email', status, source: 'form', recordedAt }],
  });
}

const MERGE = `mutation($survivorId: ID!, $mergedIds: [ID!]!, $survivorship: JSON, $reason: String) {
  mergeCustomers(survivorId: $survivorId, mergedIds: $mergedIds, survivorship: $survivorship, reason: $reason) {
    id mergedIds automatic actor reason unmergedAt survivor { id } } }`;
const UNMERGE = `mutation($mergeId: ID!) { unmergeCustomer(mergeId: $mergeId) { id unmergedAt unmergedBy } }`;

function merge(survivorId: string, mergedIds: string[], survivorship?: unknown, bearer = app.auth) {
  return gql(
    MERGE,
    { survivorId: gid('Customer', survivorId), mergedIds: mergedIds.map((id) => gid('Customer', id)), survivorship, reason: 'same person' },
    bearer,
  );
}

/** Everything an unmerge must give back, read from the tables. */
async function state(customerId: string) {
  const [customer] = await app.sql(
    `SELECT kind, display_name, organization_id::text, lifecycle_stage, owner, traits, deleted_at FROM customers WHERE id = $1`,
    [customerId],
  );
  return {
    customer,
    identifiers: (await app.sql(`SELECT type, value FROM customer_identifiers WHERE customer_id = $1 ORDER BY type, value`, [customerId])) as unknown[],
    interactions: (await app.sql(`SELECT external_id FROM interactions WHERE customer_id = $1 ORDER BY external_id`, [customerId])) as unknown[],
    consents: (await app.sql(`SELECT purpose, channel, status, source, recorded_at FROM customer_consents WHERE customer_id = $1 ORDER BY purpose`, [
      customerId,
    ])) as unknown[],
    members: (await app.sql(`SELECT id::text FROM customers WHERE organization_id = $1 ORDER BY id`, [customerId])) as unknown[],
    staticSegments: (await app.sql(
      `SELECT m.segment_id::text FROM segment_memberships m JOIN segments s ON s.id = m.segment_id AND s.kind = 'STATIC' WHERE m.customer_id = $1 ORDER BY 1`,
      [customerId],
    )) as unknown[],
  };
}

async function staticSegment(name: string, customerIds: string[]): Promise<string> {
  const data = await ok(`mutation($input: SegmentInput!) { createSegment(input: $input) { id } }`, { input: { name, kind: 'STATIC' } });
  const segmentId = data.createSegment.id as string;
  await ok(`mutation($s: ID!, $c: [CustomerRefInput!]!) { addToSegment(segmentId: $s, customers: $c) { results { status } } }`, {
    s: segmentId,
    c: customerIds.map((id) => ({ id: gid('Customer', id) })),
  });
  return Buffer.from(segmentId, 'base64').toString().split(':')[1];
}

describe('survivorship rules', () => {
  const at = (iso: string) => new Date(iso);
  const candidates: Candidate[] = [
    { customerId: '1', isSurvivor: true, updatedAt: at('2026-01-01T00:00:00Z'), sources: ['web'], value: 'Paris' },
    { customerId: '2', isSurvivor: false, updatedAt: at('2026-03-01T00:00:00Z'), sources: ['crm'], value: 'Lyon' },
    { customerId: '3', isSurvivor: false, updatedAt: at('2026-02-01T00:00:00Z'), sources: ['shop'], value: 'Paris' },
    { customerId: '4', isSurvivor: false, updatedAt: at('2026-04-01T00:00:00Z'), sources: ['shop'], value: null },
  ];
  test('MOST_RECENT takes the value of the latest updated customer that has one', () => {
    expect(pick('MOST_RECENT', candidates, [])).toBe('Lyon');
  });
  test('MOST_FREQUENT takes the value most customers hold', () => {
    expect(pick('MOST_FREQUENT', candidates, [])).toBe('Paris');
  });
  test('MOST_TRUSTED_SOURCE ranks by the trust list, then recency', () => {
    expect(pick('MOST_TRUSTED_SOURCE', candidates, ['shop', 'crm'])).toBe('Paris');
    expect(pick('MOST_TRUSTED_SOURCE', candidates, ['crm'])).toBe('Lyon');
  });
  test("NEVER_OVERWRITE keeps the survivor's value, or takes the most recent when it has none", () => {
    expect(pick('NEVER_OVERWRITE', candidates, [])).toBe('Paris');
    expect(pick('NEVER_OVERWRITE', candidates.slice(1), [])).toBe('Lyon');
  });
  test('a value nobody holds stays absent', () => {
    expect(pick('MOST_RECENT', [candidates[3]], [])).toBeUndefined();
  });
  test('rules are validated with the path at fault', () => {
    expect(() => parseSurvivorship({ traits: { city: 'LOUDEST' } })).toThrow(
      expect.objectContaining({ code: 'SURVIVORSHIP_INVALID', field: 'survivorship.traits.city' }),
    );
    expect(() => parseSurvivorship({ colour: 1 })).toThrow(expect.objectContaining({ code: 'SURVIVORSHIP_INVALID', field: 'survivorship.colour' }));
    expect(() => parseSurvivorship({ fields: { email: 'MOST_RECENT' } })).toThrow(expect.objectContaining({ code: 'SURVIVORSHIP_INVALID' }));
  });
});

describe('mergeCustomers and unmergeCustomer', () => {
  test('a merge moves everything to the survivor, redirects the old ids, and an unmerge restores every customer exactly', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `a-${u}@example.com` }], { displayName: 'Ada A', traits: { city: 'Paris', tier: 'gold' } });
    const b = await person(
      [
        { type: 'email', value: `b-${u}@example.com` },
        { type: 'phone', value: '+14155550101' },
      ],
      { displayName: 'Ada B', traits: { city: 'Lyon', vip: true } },
    );
    const c = await person([{ type: 'email', value: `c-${u}@example.com` }], { traits: { city: 'Nice', tier: 'silver' } });
    const member = await person([{ type: 'email', value: `m-${u}@example.com` }]);
    await app.sql(`UPDATE customers SET organization_id = $1 WHERE id = $2`, [b, member]);
    await interact(a, `a1-${u}`);
    await interact(b, `b1-${u}`);
    await interact(b, `b2-${u}`);
    await interact(c, `c1-${u}`);
    await consent(a, 'marketing', 'GRANTED', '2026-09-03T00:00:00Z');
    await consent(b, 'marketing', 'DENIED', '2026-09-01T00:00:00Z');
    await consent(c, 'analytics', 'GRANTED', '2026-09-02T00:00:00Z');
    const segment = await staticSegment(`vip-${u}`, [b]);
    const before = { a: await state(a), b: await state(b), c: await state(c) };

    const merged = await merge(a, [b, c], { traits: { city: 'NEVER_OVERWRITE' } });
    expect(merged.errors).toBeUndefined();
    const m = merged.data!.mergeCustomers;
    expect(m.survivor.id).toBe(gid('Customer', a));
    expect(m.mergedIds).toEqual([gid('Customer', b), gid('Customer', c)]);
    expect(m.automatic).toBe(false);
    expect(m.reason).toBe('same person');

    // Everything moved to the survivor.
    const after = await state(a);
    expect(after.identifiers).toHaveLength(4);
    expect(after.interactions).toHaveLength(4);
    expect(after.members).toEqual([{ id: member }]);
    expect(after.staticSegments).toEqual([{ segment_id: segment }]);
    // Survivorship: city never overwritten; other traits from the most recent holder.
    expect(after.customer.traits).toMatchObject({ city: 'Paris', vip: true });
    expect(['gold', 'silver']).toContain((after.customer.traits as Record<string, unknown>).tier);
    // The most restrictive consent wins; consents nobody else held move as they were.
    expect(after.consents).toEqual([
      expect.objectContaining({ purpose: 'analytics', status: 'GRANTED' }),
      expect.objectContaining({ purpose: 'marketing', status: 'DENIED' }),
    ]);
    // The merged customers left their segment with events, and are gone from lists.
    expect(await app.sql(`SELECT kind FROM segment_membership_events WHERE customer_id = $1 AND segment_id = $2 ORDER BY id`, [b, segment])).toEqual([
      { kind: 'ENTERED' },
      { kind: 'EXITED' },
    ]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM outbox_events WHERE type = 'segment.exited' AND customer_id = $1`, [b])).toEqual([{ n: 1 }]);
    // Old ids answer with the survivor: customer(id) and node(id).
    const byOld = await ok(`query($id: ID!) { customer(id: $id) { id } node(id: $id) { id ... on Customer { displayName } } }`, { id: gid('Customer', b) });
    expect(byOld.customer.id).toBe(gid('Customer', a));
    expect(byOld.node.id).toBe(gid('Customer', a));
    // Event and audit.
    const [event] = await app.sql<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM outbox_events WHERE type = 'customer.merged' AND customer_id = $1`,
      [a],
    );
    expect(event.payload).toMatchObject({ customerId: a, mergedIds: [b, c], automatic: false });
    const audit = await app.sql<{ records: string[] }>(`SELECT records FROM audit_log WHERE operation LIKE '%mergeCustomers%' ORDER BY id DESC LIMIT 1`);
    expect(audit[0].records).toEqual(expect.arrayContaining([`customer:${a}`, `customer:${b}`, `customer:${c}`]));
    // Stats are recomputed for the survivor.
    await eventually(async () => {
      const data = await ok(`query($id: ID!) { customer(id: $id) { stats { interactionCount } } }`, { id: gid('Customer', a) });
      return data.customer.stats?.interactionCount === 4 ? true : undefined;
    });

    // After the merge: an interaction reaches the survivor through an old identifier and stays with it.
    await ok(`mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { committed } }`, {
      input: [
        {
          customer: { identifiers: [{ type: 'email', value: `b-${u}@example.com` }] },
          channel: 'web',
          type: 'visit',
          occurredAt: '2026-09-05T10:00:00Z',
          source: 'web',
          externalId: `late-${u}`,
        },
      ],
    });

    // A write naming the merged customer by its old id reaches the survivor too.
    await interact(c, `late-by-id-${u}`);
    expect(await app.sql(`SELECT customer_id::text FROM interactions WHERE external_id = $1`, [`late-by-id-${u}`])).toEqual([{ customer_id: a }]);

    const undone = await ok(UNMERGE, { mergeId: m.id });
    expect(undone.unmergeCustomer.unmergedAt).not.toBeNull();
    const restored = { a: await state(a), b: await state(b), c: await state(c) };
    expect(restored.b).toEqual(before.b);
    expect(restored.c).toEqual(before.c);
    // Interactions recorded after the merge stay with the survivor, whichever id or identifier they named.
    const late = new Set([`late-${u}`, `late-by-id-${u}`]);
    expect({ ...restored.a, interactions: restored.a.interactions.filter((i) => !late.has((i as { external_id: string }).external_id)) }).toEqual(before.a);
    expect(restored.a.interactions).toEqual(expect.arrayContaining([{ external_id: `late-${u}` }, { external_id: `late-by-id-${u}` }]));
    // The old id is its own customer again; the snapshot is gone.
    expect((await ok(`query($id: ID!) { customer(id: $id) { id } }`, { id: gid('Customer', b) })).customer.id).toBe(gid('Customer', b));
    expect(
      await app.sql(`SELECT count(*)::int AS n FROM customer_merge_members m JOIN customer_merges g ON g.id = m.merge_id WHERE g.survivor_id = $1`, [a]),
    ).toEqual([{ n: 0 }]);
    // Undoing twice is refused.
    const again = await gql(UNMERGE, { mergeId: m.id });
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'UNMERGE_BLOCKED', field: 'mergeId' });
  });

  test('more than ten customers merge in one transaction', async () => {
    const u = unique();
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await person([{ type: 'email', value: `many${i}-${u}@example.com` }], { traits: { n: i } }));
    for (const [i, id] of ids.entries()) await interact(id, `many${i}-${u}`);
    const merged = await merge(ids[0], ids.slice(1));
    expect(merged.errors).toBeUndefined();
    expect(await app.sql(`SELECT count(*)::int AS n FROM interactions WHERE customer_id = $1`, [ids[0]])).toEqual([{ n: 12 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_identifiers WHERE customer_id = $1`, [ids[0]])).toEqual([{ n: 12 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE survivor_id = $1`, [ids[0]])).toEqual([{ n: 11 }]);
    await ok(UNMERGE, { mergeId: merged.data!.mergeCustomers.id });
    for (const id of ids) expect(await app.sql(`SELECT count(*)::int AS n FROM interactions WHERE customer_id = $1`, [id])).toEqual([{ n: 1 }]);
  });

  test('nested merges are undone last first; redirects follow the latest survivor', async () => {
    const u = unique();
    const [a, b, c] = [
      await person([{ type: 'email', value: `na-${u}@x.io` }]),
      await person([{ type: 'email', value: `nb-${u}@x.io` }]),
      await person([{ type: 'email', value: `nc-${u}@x.io` }]),
    ];
    const first = (await merge(b, [a])).data!.mergeCustomers.id as string;
    const second = (await merge(c, [b])).data!.mergeCustomers.id as string;
    expect((await ok(`query($id: ID!) { customer(id: $id) { id } }`, { id: gid('Customer', a) })).customer.id).toBe(gid('Customer', c));
    // Each customer's merges, newest first, by its old id too.
    const listed = await ok(`query($id: ID!) { customerMerges(customerId: $id) { id } }`, { id: gid('Customer', b) });
    expect(listed.customerMerges.map((x: { id: string }) => x.id)).toEqual([second, first]);
    expect(
      (await gql(`query($id: ID!) { customerMerges(customerId: $id, first: 0) { id } }`, { id: gid('Customer', b) })).errors?.[0].extensions,
    ).toMatchObject({
      code: 'INVALID_FIELD',
      field: 'first',
    });
    const blocked = await gql(UNMERGE, { mergeId: first });
    expect(blocked.errors?.[0].extensions).toMatchObject({ code: 'UNMERGE_BLOCKED', field: 'mergeId' });
    await ok(UNMERGE, { mergeId: second });
    expect((await ok(`query($id: ID!) { customer(id: $id) { id } }`, { id: gid('Customer', a) })).customer.id).toBe(gid('Customer', b));
    await ok(UNMERGE, { mergeId: first });
    expect(await app.sql(`SELECT customer_id::text FROM customer_identifiers WHERE value = $1`, [`na-${u}@x.io`])).toEqual([{ customer_id: a }]);
  });

  test('invalid merges are refused with a stable code and the field at fault, writing nothing', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `va-${u}@x.io` }]);
    const b = await person([{ type: 'email', value: `vb-${u}@x.io` }]);
    const org = await person([{ type: 'crm', value: `org-${u}` }], { kind: 'ORGANIZATION', displayName: 'Acme' });
    const cases: [Body, string, string][] = [
      [await merge(a, ['999999999']), 'CUSTOMER_NOT_FOUND', 'mergedIds[0]'],
      [await merge(a, [b, a]), 'MERGE_INVALID', 'mergedIds[1]'],
      [await merge(a, [b, b]), 'MERGE_INVALID', 'mergedIds[1]'],
      [await merge(a, []), 'MERGE_INVALID', 'mergedIds'],
      [await merge(a, [org]), 'MERGE_INVALID', 'mergedIds[0]'],
      [await merge(a, [b], { default: 'LOUDEST' }), 'SURVIVORSHIP_INVALID', 'survivorship.default'],
    ];
    for (const [body, code, field] of cases) expect(body.errors?.[0].extensions).toMatchObject({ code, field });
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_merges WHERE survivor_id = $1`, [a])).toEqual([{ n: 0 }]);
    await merge(a, [b]);
    expect((await merge(b, [a])).errors?.[0].extensions).toMatchObject({ code: 'MERGE_INVALID', field: 'survivorId' });
    expect((await gql(UNMERGE, { mergeId: gid('CustomerMerge', '999999999') })).errors?.[0].extensions).toMatchObject({
      code: 'MERGE_NOT_FOUND',
      field: 'mergeId',
    });
  });
});

describe('identity policies on ingest', () => {
  const RECORD = `mutation($input: [InteractionInput!]!) { recordInteractions(input: $input) { committed results { status errors { code field } } } }`;
  const conflictRow = (u: string, email: string, phone: string) => ({
    customer: {
      identifiers: [
        { type: 'email', value: email },
        { type: 'phone', value: phone },
      ],
    },
    channel: 'web',
    type: 'visit',
    occurredAt: '2026-09-05T10:00:00Z',
    source: 'web',
    externalId: `conflict-${u}`,
  });
  const setPolicies = (policies: unknown) =>
    gql(`mutation($p: JSON!) { updateIdentityPolicies(policies: $p) { policies uniqueTypes maxClusterSize } }`, { p: policies });

  afterEach(async () => {
    await setPolicies({ policies: {}, uniqueTypes: [], maxClusterSize: 10 });
  });

  test('REJECT is the default: a row naming two customers is refused', async () => {
    const u = unique();
    await person([{ type: 'email', value: `r-${u}@x.io` }]);
    await person([{ type: 'phone', value: '+14155550111' }]);
    const data = await ok(RECORD, { input: [conflictRow(u, `r-${u}@x.io`, '+14155550111')] });
    expect(data.recordInteractions.results[0].errors[0]).toMatchObject({ code: 'IDENTITY_CONFLICT' });
  });

  test('MERGE merges the customers into the first one named and records the row for it, with an undo', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `m-${u}@x.io` }]);
    const b = await person([{ type: 'phone', value: '+14155550122' }]);
    expect((await setPolicies({ policies: { email: 'MERGE', phone: 'MERGE' } })).data?.updateIdentityPolicies.policies).toEqual({
      email: 'MERGE',
      phone: 'MERGE',
    });
    const data = await ok(RECORD, { input: [conflictRow(u, `m-${u}@x.io`, '+14155550122')] });
    expect(data.recordInteractions.results[0].status).toBe('ACCEPTED');
    expect(await app.sql(`SELECT customer_id::text FROM interactions WHERE external_id = $1`, [`conflict-${u}`])).toEqual([{ customer_id: a }]);
    const [redirect] = await app.sql<{ survivor_id: string; merge_id: string }>(
      `SELECT survivor_id::text, merge_id::text FROM customer_redirects WHERE customer_id = $1`,
      [b],
    );
    expect(redirect.survivor_id).toBe(a);
    const [merge] = await app.sql(`SELECT automatic, actor FROM customer_merges WHERE id = $1`, [redirect.merge_id]);
    expect(merge).toEqual({ automatic: true, actor: 'identity-policy' });
    await ok(UNMERGE, { mergeId: gid('CustomerMerge', redirect.merge_id) });
    expect(await app.sql(`SELECT customer_id::text FROM customer_identifiers WHERE type = 'phone' AND value = '+14155550122'`)).toEqual([{ customer_id: b }]);
  });

  test('FLAG accepts the row for the first customer and flags the pair, merging nothing', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `f-${u}@x.io` }]);
    const b = await person([{ type: 'phone', value: '+14155550133' }]);
    await setPolicies({ policies: { email: 'FLAG', phone: 'MERGE' } });
    const data = await ok(RECORD, { input: [conflictRow(u, `f-${u}@x.io`, '+14155550133')] });
    expect(data.recordInteractions.results[0].status).toBe('ACCEPTED');
    expect(await app.sql(`SELECT customer_id::text FROM interactions WHERE external_id = $1`, [`conflict-${u}`])).toEqual([{ customer_id: a }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = $1`, [b])).toEqual([{ n: 0 }]);
    const flagged = await app.sql<{ payload: unknown }>(`SELECT payload FROM outbox_events WHERE type = 'identity.conflict_flagged' AND customer_id = $1`, [a]);
    expect(flagged.map((f) => f.payload)).toEqual([{ customerIds: [a, b], identifierType: 'email,phone' }]);
    // The identity module takes the flag as a candidate pair, open for review.
    const [first, second] = BigInt(a) < BigInt(b) ? [a, b] : [b, a];
    const pairs = await eventually(
      async () => {
        const rows = await app.sql<{ status: string }>(`SELECT status FROM duplicate_pairs WHERE customer_a = $1 AND customer_b = $2`, [first, second]);
        return rows.length > 0 ? rows : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(pairs).toEqual([{ status: 'OPEN' }]);
  });

  test('guard rails: two different values of a unique type are never merged automatically (flagged instead), nor clusters past the cap', async () => {
    const u = unique();
    const a = await person([
      { type: 'email', value: `g-${u}@x.io` },
      { type: 'nationalId', value: `A-${u}` },
    ]);
    const b = await person([
      { type: 'phone', value: '+14155550144' },
      { type: 'nationalId', value: `B-${u}` },
    ]);
    await setPolicies({ policies: { email: 'MERGE', phone: 'MERGE' }, uniqueTypes: ['nationalId'] });
    const data = await ok(RECORD, { input: [conflictRow(u, `g-${u}@x.io`, '+14155550144')] });
    expect(data.recordInteractions.results[0].status).toBe('ACCEPTED');
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = $1`, [b])).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM outbox_events WHERE type = 'identity.conflict_flagged' AND customer_id = $1`, [a])).toEqual([
      { n: 1 },
    ]);

    // The same guard rail reads a trait of that name (the matching module's conventional nationalId), formatting aside.
    const w = unique();
    await person([{ type: 'email', value: `gt-${w}@x.io` }], { traits: { nationalId: '1-85-02-75' } });
    const q = await person([{ type: 'phone', value: '+14155550145' }], { traits: { nationalId: '2850275' } });
    await ok(RECORD, { input: [conflictRow(w, `gt-${w}@x.io`, '+14155550145')] });
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = $1`, [q])).toEqual([{ n: 0 }]);
    const same = unique();
    await person([{ type: 'email', value: `gs-${same}@x.io` }], { traits: { nationalId: '1 85 02 75' } });
    const r = await person([{ type: 'phone', value: '+14155550146' }], { traits: { nationalId: '1-85-02-75' } });
    await ok(RECORD, { input: [conflictRow(same, `gs-${same}@x.io`, '+14155550146')] });
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = $1`, [r])).toEqual([{ n: 1 }]);

    // The cap counts earlier merges: a survivor already holding two customers does not take a third automatically with a cap of 3.
    const v = unique();
    const s = await person([{ type: 'email', value: `cap-${v}@x.io` }]);
    await merge(s, [await person([{ type: 'crm', value: `c1-${v}` }]), await person([{ type: 'crm', value: `c2-${v}` }])]);
    const t = await person([{ type: 'phone', value: '+14155550155' }]);
    await setPolicies({ policies: { email: 'MERGE', phone: 'MERGE' }, maxClusterSize: 3 });
    await ok(RECORD, { input: [conflictRow(v, `cap-${v}@x.io`, '+14155550155')] });
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = $1`, [t])).toEqual([{ n: 0 }]);
  });

  test('upsertCustomers follows the policies too', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `up-${u}@x.io` }]);
    const b = await person([{ type: 'phone', value: '+14155550166' }]);
    await setPolicies({ policies: { email: 'MERGE', phone: 'MERGE' } });
    const upserted = await person(
      [
        { type: 'email', value: `up-${u}@x.io` },
        { type: 'phone', value: '+14155550166' },
      ],
      { traits: { seen: true } },
    );
    expect(upserted).toBe(a);
    expect(await app.sql(`SELECT survivor_id::text FROM customer_redirects WHERE customer_id = $1`, [b])).toEqual([{ survivor_id: a }]);
  });

  test('policies are validated with the field at fault', async () => {
    const cases: [unknown, string][] = [
      [{ policies: { email: 'MAYBE' } }, 'policies.policies.email'],
      [{ maxClusterSize: 1 }, 'policies.maxClusterSize'],
      [{ colour: 'red' }, 'policies.colour'],
      [{ policies: { nationalid: 'MERGE' }, uniqueTypes: ['nationalId'] }, 'policies.policies.nationalid'],
    ];
    for (const [input, field] of cases) expect((await setPolicies(input)).errors?.[0].extensions).toMatchObject({ code: 'IDENTITY_POLICY_INVALID', field });
  });
});

describe('erasure after a merge', () => {
  test('erasing a merged id erases the survivor, everything merged into it, and the snapshots', async () => {
    const u = unique();
    const a = await person([{ type: 'email', value: `ea-${u}@x.io` }], { displayName: 'Erin A' });
    const b = await person([{ type: 'email', value: `eb-${u}@x.io` }], { displayName: 'Erin B' });
    const c = await person([{ type: 'email', value: `ec-${u}@x.io` }]);
    await interact(b, `eb1-${u}`);
    await merge(b, [c]);
    const mergeId = (await merge(a, [b])).data!.mergeCustomers.id as string;
    const receipt = await ok(`mutation($id: ID!) { eraseCustomer(id: $id) { customerId tables { table rows } tombstones } }`, { id: gid('Customer', c) });
    expect(receipt.eraseCustomer.tombstones).toBe(3);
    for (const id of [a, b, c]) expect(await app.sql(`SELECT count(*)::int AS n FROM customers WHERE id = $1`, [id])).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM interactions WHERE external_id = $1`, [`eb1-${u}`])).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_merges WHERE survivor_id = ANY($1::bigint[])`, [[a, b, c]])).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_merge_members WHERE customer_id = ANY($1::bigint[])`, [[a, b, c]])).toEqual([{ n: 0 }]);
    expect(await app.sql(`SELECT count(*)::int AS n FROM customer_redirects WHERE customer_id = ANY($1::bigint[])`, [[a, b, c]])).toEqual([{ n: 0 }]);
    expect((await gql(UNMERGE, { mergeId })).errors?.[0].extensions).toMatchObject({ code: 'MERGE_NOT_FOUND' });
    expect((await ok(`query($id: ID!) { customer(id: $id) { id } }`, { id: gid('Customer', b) })).customer).toBeNull();
  });
});

describe('scopes', () => {
  test('a key without pii:read sees merges with their reason masked; merging needs customers:write, policies admin', async () => {
    const key = async (scopes: string[]) =>
      `Bearer ${(await ok(`mutation($s: [String!]!) { createApiKey(name: "narrow", scopes: $s) { key } }`, { s: scopes })).createApiKey.key}`;
    const writer = await key(['customers:read', 'customers:write']);
    const reader = await key(['customers:read']);
    const u = unique();
    const a = await person([{ type: 'email', value: `sa-${u}@x.io` }], { displayName: 'Sam A' });
    const b = await person([{ type: 'email', value: `sb-${u}@x.io` }]);
    const merged = await merge(a, [b], undefined, writer);
    expect(merged.errors).toBeUndefined();
    expect(merged.data!.mergeCustomers.reason).toBe('s•••');
    const read = await gql(`query($id: ID!) { customerMerge(id: $id) { reason survivor { displayName } } }`, { id: merged.data!.mergeCustomers.id }, reader);
    expect(read.data?.customerMerge).toEqual({ reason: 's•••', survivor: { displayName: 'S•••' } });
    expect((await gql(UNMERGE, { mergeId: merged.data!.mergeCustomers.id }, reader)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gql(`mutation { updateIdentityPolicies(policies: {}) { maxClusterSize } }`, undefined, writer)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await gql(`{ identityPolicies { maxClusterSize } }`, undefined, writer)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});
